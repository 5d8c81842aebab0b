//! Deleting objects, and the status resources and token bookkeeping that
//! requests leave behind.

use sharing::Principal;
use sharing::authorship::{may_delete, may_read_status};
use stix::Timestamp;
use store::{Collection, ObjectQuery, StatusRecord, VersionMatch};

use crate::{Expired, Node, NodeError, Result};

/// Most versions of one object a delete considers.
const MAX_DELETED_VERSIONS: usize = 10_000;

impl Node {
    /// Deletes the versions of `id` in `collection` that `versions` and
    /// `spec_versions` select among those the principal may see, and that
    /// its organisation posted (node administrators: any). An object the
    /// principal cannot see is absent (404); one it sees but whose selected
    /// versions are all another organisation's is forbidden (403). Returns
    /// how many versions were deleted.
    pub fn delete_object(
        &self,
        principal: &Principal,
        collection: &Collection,
        id: &str,
        versions: &VersionMatch,
        spec_versions: &[String],
    ) -> Result<usize> {
        let probe = |versions: VersionMatch, spec_versions: Vec<String>| ObjectQuery {
            ids: vec![id.to_string()],
            versions,
            spec_versions,
            limit: MAX_DELETED_VERSIONS,
            ..Default::default()
        };
        // Expired indicators hidden from readers may still be deleted.
        let visible = self.read_with(
            principal,
            collection,
            &probe(VersionMatch::all(), Vec::new()),
            Expired::Include,
        )?;
        if visible.items.is_empty() {
            return Err(NodeError::NotFound(format!(
                "object {id} is not in this collection"
            )));
        }
        let selector = if *versions == VersionMatch::default() {
            VersionMatch::all()
        } else {
            versions.clone()
        };
        let chosen = self.read_with(
            principal,
            collection,
            &probe(selector, spec_versions.to_vec()),
            Expired::Include,
        )?;
        if chosen.items.is_empty() {
            return Ok(0);
        }
        let own: Vec<Timestamp> = chosen
            .items
            .iter()
            .filter(|v| may_delete(principal, author(v)))
            .map(|v| v.date_added)
            .collect();
        if own.is_empty() {
            return Err(NodeError::Forbidden(
                "only the organisation that shared this object may delete it".into(),
            ));
        }
        let entry = Node::entry(
            principal,
            "delete",
            Some(&collection.id),
            vec![id.to_string()],
            format!("{} versions", own.len()),
        );
        // The store withdraws the manifests that list what goes; their
        // other objects are signed again, without it.
        let deleted = self.store.delete_rows(collection.key, id, &own, &entry)?;
        if deleted > 0 && collection.signed {
            self.sign_again()?;
        }
        Ok(deleted)
    }

    /// Keeps the status resource of a request the principal made.
    pub fn record_status(
        &self,
        principal: &Principal,
        api_root: &str,
        id: &str,
        created: Timestamp,
        body: String,
    ) -> Result<()> {
        self.store.put_status(&StatusRecord {
            id: id.to_string(),
            api_root: api_root.to_string(),
            owner_token: principal.token_id,
            created,
            body,
        })?;
        Ok(())
    }

    /// A status resource of `api_root`, if the principal made its request
    /// (or administers the node); any other reads as absent.
    pub fn status(&self, principal: &Principal, api_root: &str, id: &str) -> Result<StatusRecord> {
        self.api_root(api_root)?;
        match self.store.status(id)? {
            Some(s) if s.api_root == api_root && may_read_status(principal, s.owner_token) => Ok(s),
            _ => Err(NodeError::NotFound(
                "no status resource with this id is visible to this token (statuses are kept for the node's retention period)".into(),
            )),
        }
    }

    /// Drops status resources created before `before`; returns how many.
    pub fn purge_statuses(&self, before: Timestamp) -> Result<usize> {
        Ok(self.store.purge_statuses(before)?)
    }

    /// Records that the token behind `principal` was used at `at` (its
    /// `last_used`, and a `token-use` audit entry, in one transaction).
    pub fn token_used(&self, principal: &Principal, at: Timestamp) -> Result<()> {
        let Some(token) = principal.token_id else {
            return Ok(());
        };
        let entry = Node::entry(principal, "token-use", None, Vec::new(), String::new());
        Ok(self.store.touch_token(token, at, &entry)?)
    }
}

/// Who posted a stored version, for the rules of who may change it: a
/// manifest this node signed is the node's (`None`), though it is stored
/// with the source organisation of the objects it lists (see `signer`).
pub(crate) fn author(v: &store::StoredObject) -> Option<sharing::OrgId> {
    if v.provenance == store::Provenance::LocalSigned
        && v.object_type == provenance::extension::MANIFEST_TYPE
    {
        None
    } else {
        v.origin_org
    }
}
