//! What an Entente node does, whoever asks: authenticate a token, find the
//! collections a principal may use, ingest objects under the sharing
//! policy, read objects under it, delete, administer, keep incidents and
//! the audit log.
//!
//! The HTTP API (`http`) and the CLI (`entente`) both call these use cases,
//! and this is the only crate that talks to the store: there is exactly one
//! ingest path and one read path, and every read passes the same gate. This
//! crate owns no rules itself: TLP, audiences, onward sharing, authorship
//! and pseudonyms come from `sharing`; persistence from `store`; validity
//! from `stix`. Every write commits its audit entry in its own transaction.
//!
//! The store's plain data types that callers handle (collections,
//! organisations, tokens, queries, pages) are re-exported here, so that no
//! crate above this one depends on `store`.

mod admin;
mod audit_queue;
mod auth;
mod collections;
mod console;
mod export;
mod federation;
mod fresh;
mod incidents;
mod ingest;
mod metrics;
mod objects;
mod read;
mod sessions;
mod signer;

use std::path::PathBuf;
use std::sync::Arc;

use reporting::RuleSet;
use sharing::Principal;
use stix::Validator;
use store::{AuditEntry, Store};

/// The decay model and the assessments `Node::indicator_freshness` returns.
pub use ::freshness;
pub use admin::{AuditVerdict, CollectionRequest, CommunityAdminView, TokenRequest, valid_name};
pub use auth::AuthFailure;
pub use collections::CommunityView;
pub use console::{
    Listed, OVERVIEW_WINDOWS, ObjectDetail, ObjectFilter, ObjectList, Overview, Ranked,
    ShareTarget, attack_id, display_name, search_expression,
};
pub use export::ExportPage;
pub use federation::{PeerRequest, SyncRun};
pub use incidents::{
    DeadlineItem, FirmedDeadline, IncidentError, IncidentList, IncidentSummary, IncidentView,
    ShareOutcome, ShareRequest, SharedObject, SubmissionOutcome, SubmissionRequest, SubmissionView,
    VersionSummary, VersionView,
};
pub use ingest::{IngestOutcome, IngestReport, MAX_ENVELOPE_OBJECTS, Outcome, RefusalReason};
pub use read::{Expired, ReadPage};
pub use sessions::{
    ConsoleSession, DEFAULT_LINK_MICROS, MAX_LINK_MICROS, MIN_PASSWORD_CHARS, SignIn,
    password_problem,
};
pub use signer::Signer;
pub use store::{
    ApiRoot, AuditFilter, AuditRecord, Collection, Community, Direction, Grant, ObjectQuery, Org,
    PAGE_BYTES, Peer, PoolUse, Provenance, PushFailure, SqliteOptions, StatusRecord, StoreError,
    StoredObject, SyncJob, SyncStats, TokenRecord, User, VersionMatch, now,
};

/// Why a use case failed, in terms a caller can map to its own surface.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Absent, or not disclosed to this principal (the two read alike).
    #[error("{0}")]
    NotFound(String),
    /// Visible but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The request is not even well-formed (a body that is not JSON).
    #[error("{0}")]
    Malformed(String),
    /// The request as a whole cannot be processed (e.g. not an envelope).
    #[error("{0}")]
    Unprocessable(String),
    /// It contradicts what is stored (a name already taken, a stale version).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for NodeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(why) => NodeError::Conflict(why),
            other => NodeError::Store(other),
        }
    }
}

pub type Result<T, E = NodeError> = std::result::Result<T, E>;

/// Where a node keeps its data.
#[derive(Clone, Debug)]
pub enum Database {
    /// An SQLite file (created and migrated on open).
    Sqlite {
        path: PathBuf,
        options: SqliteOptions,
    },
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
    rules: Arc<RuleSet>,
    read_audit: Arc<audit_queue::AuditQueue>,
    signer: Option<signer::Signer>,
    signer_thread: Arc<std::sync::Mutex<Option<signer::SignerThread>>>,
    /// Where metrics are recorded, once [`Node::with_metrics`] says so.
    metrics: Option<Arc<entente_metrics::Metrics>>,
    /// How busy the backend's connections are, when it tells.
    connection_use: Option<metrics::ConnectionUse>,
    /// The store's count classes and audiences read so far (both never
    /// change once interned): see `console.rs`.
    console_classes: Arc<std::sync::Mutex<console::ClassCache>>,
}

impl Node {
    /// Opens (creating and migrating if needed) the node's database.
    /// Incidents are assessed with the embedded reporting rules until
    /// [`Node::with_reporting_rules`] says otherwise.
    pub fn open(database: &Database, validator: Validator) -> Result<Node> {
        let (store, connection_use): (Arc<dyn Store>, metrics::ConnectionUse) = match database {
            Database::Sqlite { path, options } => {
                let sqlite = Arc::new(store::SqliteStore::open(path, options.clone())?);
                let used = sqlite.clone();
                (sqlite, Arc::new(move || used.connection_use()))
            }
        };
        let mut node = Node::new(store, validator)?;
        node.connection_use = Some(connection_use);
        Ok(node)
    }

    /// The use cases over a store the caller opened.
    pub fn new(store: Arc<dyn Store>, validator: Validator) -> Result<Node> {
        let pseudonym_secret = Arc::new(store.node_secret()?);
        let read_audit = Arc::new(audit_queue::AuditQueue::start(store.clone()));
        let rules = RuleSet::embedded().map_err(|errors| {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            NodeError::Unprocessable(format!(
                "the embedded reporting rules do not load: {}",
                errors.join("; ")
            ))
        })?;
        let node = Node {
            store,
            validator,
            pseudonym_secret,
            rules: Arc::new(rules),
            read_audit,
            signer: None,
            signer_thread: Arc::new(std::sync::Mutex::new(None)),
            metrics: None,
            connection_use: None,
            console_classes: Arc::default(),
        };
        node.prepare_console()?;
        Ok(node)
    }

    /// Assesses incidents with `rules` instead of the embedded ones.
    pub fn with_reporting_rules(mut self, rules: RuleSet) -> Node {
        self.rules = Arc::new(rules);
        self
    }

    /// The reporting rules incidents are assessed with (the console renders
    /// notifications with them).
    pub fn reporting_rules(&self) -> &RuleSet {
        &self.rules
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
            Node::entry(
                principal,
                "read-restricted",
                Some(collection),
                objects,
                String::new(),
            ),
        )?;
        Ok(())
    }

    /// Appends an entry that records no write of its own (an export, a
    /// refused attempt) on behalf of `principal`.
    pub(crate) fn audit_event(&self, entry: AuditEntry) -> Result<()> {
        self.store
            .append_audit_batch(std::slice::from_ref(&entry))?;
        Ok(())
    }
}
