//! What an Entente node does, whoever asks: authenticate a token, find the
//! collections a principal may use, ingest objects under the sharing
//! policy, read objects under it, and keep the audit log.
//!
//! The HTTP API (`taxii`) and the CLI (`entente`) both call these use cases,
//! so there is exactly one ingest path and one read path, and every read
//! passes the same gate. This crate owns no rules itself: TLP, audiences,
//! onward sharing and pseudonyms come from `sharing`; persistence from
//! `store`; validity from `stix`.

mod audit_queue;
mod auth;
mod incidents;
mod ingest;
mod read;

use std::sync::Arc;

use sharing::{Access, Principal};
use stix::Validator;
use store::{AuditEntry, Collection, Store, StoreError};

pub use auth::AuthFailure;
pub use incidents::{
    DeadlineItem, FirmedDeadline, IncidentError, IncidentList, IncidentSummary, IncidentView,
    ShareOutcome, ShareRequest, SharedObject, SubmissionOutcome, SubmissionRequest, SubmissionView,
    VersionSummary, VersionView,
};
pub use ingest::{IngestOutcome, IngestReport, MAX_ENVELOPE_OBJECTS, Outcome};
pub use read::ReadPage;

/// Why a use case failed, in terms a caller can map to its own surface.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Absent, or not disclosed to this principal (the two read alike).
    #[error("{0}")]
    NotFound(String),
    /// Visible but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The request as a whole cannot be processed (e.g. an unreadable envelope).
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = NodeError> = std::result::Result<T, E>;

/// A community as one of its members sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommunityView {
    pub name: String,
    /// Member organisations, when the community shows them.
    pub members: Option<Vec<String>>,
    /// Ids of its collections the principal may use.
    pub collections: Vec<String>,
}

/// The one answer for a collection that is absent or hidden from the
/// principal, whichever use case looked for it.
pub(crate) fn collection_missing(id_or_alias: &str) -> String {
    format!("collection {id_or_alias} does not exist or is not shared with this token")
}

/// What a request needs from a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any right: enough to see the collection resource.
    Any,
    Read,
    Write,
    /// Read and write (deleting).
    ReadWrite,
}

/// The node's use cases over a store.
#[derive(Clone)]
pub struct Node {
    store: Arc<dyn Store>,
    validator: Validator,
    pseudonym_secret: Arc<Vec<u8>>,
    incidents: Option<incidents::IncidentDesk>,
    read_audit: Arc<audit_queue::AuditQueue>,
}

impl Node {
    pub fn new(store: Arc<dyn Store>, validator: Validator) -> Result<Node> {
        let pseudonym_secret = Arc::new(store.node_secret()?);
        let read_audit = Arc::new(audit_queue::AuditQueue::start(store.clone()));
        Ok(Node {
            store,
            validator,
            pseudonym_secret,
            incidents: None,
            read_audit,
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// A collection of `api_root` the principal may use as `need` says. A
    /// collection it has no right on is reported like an absent one.
    pub fn collection_for(
        &self,
        principal: &Principal,
        api_root: &str,
        id_or_alias: &str,
        need: Need,
    ) -> Result<(Collection, Access)> {
        let missing = || NodeError::NotFound(collection_missing(id_or_alias));
        let found = match self.store.collection(id_or_alias)? {
            Some(c) => Some(c),
            // Among those it has a right on: a hidden collection with the
            // same alias must not shadow the principal's own.
            None => self.store.collections(api_root)?.into_iter().find(|c| {
                c.alias.as_deref() == Some(id_or_alias) && principal.access(&c.policy()).is_some()
            }),
        };
        let collection = found
            .filter(|c| c.api_root == api_root)
            .ok_or_else(missing)?;
        let access = principal.access(&collection.policy()).ok_or_else(missing)?;
        let allowed = match need {
            Need::Any => true,
            Need::Read => access.read,
            Need::Write => access.write,
            Need::ReadWrite => access.read && access.write,
        };
        if !allowed {
            let what = match need {
                Need::Read => "read this collection",
                Need::Write => "write to this collection",
                _ => "both read and write this collection (needed to delete)",
            };
            return Err(NodeError::Forbidden(format!("this token may not {what}")));
        }
        Ok((collection, access))
    }

    /// The collections of `api_root` the principal has any right on, by id.
    pub fn visible_collections(
        &self,
        principal: &Principal,
        api_root: &str,
    ) -> Result<Vec<(Collection, Access)>> {
        let mut out: Vec<_> = self
            .store
            .collections(api_root)?
            .into_iter()
            .filter_map(|c| principal.access(&c.policy()).map(|a| (c, a)))
            .collect();
        out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        Ok(out)
    }

    /// The communities the principal's organisation belongs to (all of them
    /// for node administrators), with the collections it can use there, and
    /// the member organisations where the community shows them.
    pub fn communities_of(&self, principal: &Principal) -> Result<Vec<CommunityView>> {
        let mine: Vec<i64> = match principal.org() {
            Some(org) => self
                .store
                .memberships(org)?
                .into_iter()
                .map(|m| m.community)
                .collect(),
            None if principal.node_admin => self
                .store
                .communities()?
                .into_iter()
                .map(|c| c.id)
                .collect(),
            None => Vec::new(),
        };
        let all = self.store.communities()?;
        let collections = self.store.all_collections()?;
        let mut out = Vec::new();
        for c in all.into_iter().filter(|c| mine.contains(&c.id)) {
            let members = if c.show_members || principal.node_admin {
                let mut names = Vec::new();
                for m in self.store.members(c.id)? {
                    // A pseudonymous member is never named to others.
                    if m.pseudonymous && principal.org() != Some(m.org) && !principal.node_admin {
                        continue;
                    }
                    if let Some(o) = self.store.org_by_id(m.org)? {
                        names.push(o.name);
                    }
                }
                Some(names)
            } else {
                None
            };
            let ids = collections
                .iter()
                .filter(|x| {
                    x.owner == sharing::Owner::Community(c.id)
                        && principal.access(&x.policy()).is_some()
                })
                .map(|x| x.id.clone())
                .collect();
            out.push(CommunityView {
                name: c.name,
                members,
                collections: ids,
            });
        }
        Ok(out)
    }

    /// Queues an audit entry of a read; it is written within
    /// [`audit_queue::FLUSH_AFTER`], in order with the others.
    pub(crate) fn audit_read(
        &self,
        principal: &Principal,
        collection: &str,
        objects: Vec<String>,
    ) -> Result<()> {
        self.read_audit.push(
            self.store.as_ref(),
            AuditEntry {
                token: principal.token_id,
                user: principal.user_id(),
                org: principal.org(),
                action: "read-restricted".into(),
                collection: Some(collection.to_string()),
                objects,
                detail: String::new(),
            },
        )?;
        Ok(())
    }

    /// Appends to the audit log on behalf of `principal`.
    pub fn audit(
        &self,
        principal: &Principal,
        action: &str,
        collection: Option<&str>,
        objects: Vec<String>,
        detail: String,
    ) -> Result<()> {
        self.store.append_audit(&AuditEntry {
            token: principal.token_id,
            user: principal.user_id(),
            org: principal.org(),
            action: action.to_string(),
            collection: collection.map(str::to_owned),
            objects,
            detail,
        })?;
        Ok(())
    }
}
