//! Persistence for an Entente node, behind one trait.
//!
//! [`Store`] is what the HTTP layer and the CLI use; [`SqliteStore`] is the
//! embedded implementation (one writer, readers in parallel, WAL). The store
//! keeps objects exactly as received and indexes the few facts queries need;
//! it knows nothing about HTTP, and it does not decide who may see what: it
//! answers the questions it is asked, each through an index.
//!
//! Time: every `date_added` is a [`stix::Timestamp`] in microseconds, strictly
//! increasing across the whole database (so also per collection). It doubles
//! as the row key, which makes "after this point" paging exact: a page never
//! skips nor repeats an object, whatever else is written meanwhile.

mod schema;
mod sqlite;

pub use sqlite::{SqliteOptions, SqliteStore};

use stix::{StixObject, Timestamp};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(String),
    #[error(
        "the database schema is version {found}, newer than this program understands ({supported}); upgrade entente"
    )]
    SchemaTooNew { found: i64, supported: i64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A TAXII API root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRoot {
    /// The URL path segment, e.g. `api1` for `/api1/`.
    pub path: String,
    pub title: String,
    pub description: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_content_length: u64,
}

/// A TAXII collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    /// Internal key, stable for the life of the collection.
    pub key: i64,
    /// The TAXII collection id (a UUID).
    pub id: String,
    /// The API root path it belongs to.
    pub api_root: String,
    pub title: String,
    pub description: Option<String>,
    pub alias: Option<String>,
    pub created: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewCollection {
    pub id: String,
    pub api_root: String,
    pub title: String,
    pub description: Option<String>,
    pub alias: Option<String>,
}

/// Per-collection rights of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub collection_id: String,
    pub can_read: bool,
    pub can_write: bool,
}

/// An API token as stored: never the secret itself, only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub admin: bool,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub grants: Vec<Grant>,
}

#[derive(Clone, Debug)]
pub struct NewToken {
    pub name: String,
    pub secret_hash: [u8; 32],
    pub admin: bool,
    pub expires: Option<Timestamp>,
    pub grants: Vec<Grant>,
}

/// Which versions of each object a query returns. Several selectors are
/// OR'd; an empty selector set means [`VersionMatch::last_only`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionMatch {
    pub first: bool,
    pub last: bool,
    pub all: bool,
    pub at: Vec<Timestamp>,
}

impl VersionMatch {
    pub fn last_only() -> Self {
        VersionMatch {
            last: true,
            ..Default::default()
        }
    }

    pub fn all() -> Self {
        VersionMatch {
            all: true,
            ..Default::default()
        }
    }

    fn is_empty(&self) -> bool {
        !self.first && !self.last && !self.all && self.at.is_empty()
    }
}

/// A read of a collection's objects, in `date_added` order.
#[derive(Clone, Debug, Default)]
pub struct ObjectQuery {
    /// Only objects added strictly after this instant.
    pub added_after: Option<Timestamp>,
    /// `match[id]`: any of these ids (empty: any id).
    pub ids: Vec<String>,
    /// `match[type]`: any of these types (empty: any type).
    pub types: Vec<String>,
    /// `match[version]`.
    pub versions: VersionMatch,
    /// `match[spec_version]` (empty: no restriction; every stored object is 2.1).
    pub spec_versions: Vec<String>,
    /// At most this many items (at least 1).
    pub limit: usize,
    /// Also load each object's JSON (manifests do not need it).
    pub with_raw: bool,
}

/// One stored object version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub date_added: Timestamp,
    pub id: String,
    pub object_type: String,
    /// `modified`, else `created`, else (unversioned objects) `date_added`.
    pub version: Timestamp,
    pub spec_version: String,
    /// The object as received; empty unless asked for.
    pub raw: String,
}

/// One page of a query.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub items: Vec<StoredObject>,
    /// More items match after the last one returned.
    pub more: bool,
}

/// What became of one object of an add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// Stored now, with this `date_added`.
    Added(Timestamp),
    /// This exact version was already in the collection (added at that time); nothing changed.
    Duplicate(Timestamp),
    /// A different object with the same id and version is in the collection
    /// (added at that time); the new one was not stored.
    Conflict(Timestamp),
}

/// A status resource as stored: the TAXII layer owns its JSON shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRecord {
    pub id: String,
    pub api_root: String,
    /// The token that made the request: only it (or an admin) may read the status.
    pub owner_token: Option<i64>,
    pub created: Timestamp,
    pub body: String,
}

/// Everything the node persists.
///
/// Methods block; async callers run them on a blocking thread. Every read
/// is served by an index: none scans a whole collection.
pub trait Store: Send + Sync + 'static {
    // API roots and collections.
    fn api_roots(&self) -> Result<Vec<ApiRoot>>;
    fn api_root(&self, path: &str) -> Result<Option<ApiRoot>>;
    fn create_api_root(&self, root: &ApiRoot) -> Result<()>;
    fn collections(&self, api_root: &str) -> Result<Vec<Collection>>;
    fn all_collections(&self) -> Result<Vec<Collection>>;
    fn collection(&self, id: &str) -> Result<Option<Collection>>;
    fn create_collection(&self, new: &NewCollection) -> Result<Collection>;

    // Tokens.
    fn create_token(&self, new: &NewToken) -> Result<TokenRecord>;
    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>>;
    fn tokens(&self) -> Result<Vec<TokenRecord>>;
    /// Revokes by id or name; returns the revoked token.
    fn revoke_token(&self, id_or_name: &str, at: Timestamp) -> Result<TokenRecord>;
    fn touch_token(&self, id: i64, at: Timestamp) -> Result<()>;

    // Objects.
    /// Adds objects to a collection in one transaction: when this returns
    /// `Ok`, every object is durably committed.
    fn add_objects(&self, collection: i64, objects: &[StixObject]) -> Result<Vec<AddOutcome>>;
    fn query_objects(&self, collection: i64, query: &ObjectQuery) -> Result<Page>;
    /// Deletes the versions of `id` that `versions` and `spec_versions`
    /// select; returns how many were deleted.
    fn delete_object(
        &self,
        collection: i64,
        id: &str,
        versions: &VersionMatch,
        spec_versions: &[String],
    ) -> Result<usize>;

    // Status resources.
    fn put_status(&self, status: &StatusRecord) -> Result<()>;
    fn status(&self, id: &str) -> Result<Option<StatusRecord>>;
    /// Drops status resources created before `before`; returns how many.
    fn purge_statuses(&self, before: Timestamp) -> Result<usize>;
}
