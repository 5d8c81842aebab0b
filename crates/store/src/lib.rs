//! Persistence for an Entente node, behind focused traits.
//!
//! [`ObjectStore`] (objects and their audiences), [`DirectoryStore`] (API
//! roots, collections, organisations, users, communities, tokens),
//! [`AuditStore`] (the hash-chained log), [`StatusStore`] (TAXII status
//! resources) and [`IncidentStore`] (incident records) are what `node` uses;
//! [`Store`] is all of them, for one backend. [`SqliteStore`] is the embedded
//! implementation (one writer, readers in parallel, WAL). The store keeps
//! objects exactly as received and indexes the few facts queries need; it
//! knows nothing about HTTP, and it does not decide who may see what: it
//! answers the questions it is asked, each through an index.
//!
//! Every write that the audit log records takes its [`AuditEntry`] and
//! commits it in the write's own transaction: a committed write always has
//! its entry, and an entry never describes a write that did not commit.
//!
//! Time: every `date_added` is a [`stix::Timestamp`] in microseconds, strictly
//! increasing across the whole database (so also per collection). It doubles
//! as the row key, which makes "after this point" paging exact: a page never
//! skips nor repeats an object, whatever else is written meanwhile.

mod audit;
mod console;
mod incidents;
mod sessions;
mod sqlite;

pub use console::{
    ConsoleFacts, ConsoleStore, CountScope, DayCount, ListPage, ListQuery, PendingCount, day_of,
};
pub use sessions::{
    NewSession, NewSignInLink, SessionRecord, SessionStore, SignInFailures, SignInLinkRecord,
};

pub use incidents::{
    IncidentStore, IncidentVersion, NewIncident, NewSubmission, RecordChange, StoredIncident,
    SubmissionRecord,
};
pub use sqlite::{SqliteOptions, SqliteStore, now};

use sharing::{AudienceKey, CollectionPolicy, CommunityId, OrgId, Owner, Role, Tlp, UserId};
use stix::{StixObject, Timestamp};

pub use audit::{entry_hash, verify_chain};

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

/// How busy one pool of a backend's database connections is, for
/// monitoring (each backend reports its own pools).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// The pool's name, e.g. `read` or `write`.
    pub pool: &'static str,
    /// Connections an operation holds now.
    pub busy: u64,
    /// Connections open and free.
    pub idle: u64,
    /// Operations waiting for one of its connections; `None` for a pool
    /// that never makes them wait.
    pub waiting: Option<u64>,
}

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
    pub owner: Owner,
    /// TLP of objects posted without a TLP marking.
    pub default_tlp: Option<Tlp>,
    /// Readable (its TLP:CLEAR objects) without authentication.
    pub public: bool,
    /// What is posted into it is listed in manifests the node signs.
    pub signed: bool,
    /// TAXII readers do not see its indicators whose `valid_until` has
    /// passed (decided at read time). Kept in `node_meta`, not a column of
    /// `collections` (see `sqlite::directory::HIDE_EXPIRED`).
    pub hide_expired: bool,
}

impl Collection {
    /// What the sharing policy needs to know about this collection.
    pub fn policy(&self) -> CollectionPolicy {
        CollectionPolicy {
            id: self.id.clone(),
            owner: self.owner,
            default_tlp: self.default_tlp,
            public: self.public,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewCollection {
    pub id: String,
    pub api_root: String,
    pub title: String,
    pub description: Option<String>,
    pub alias: Option<String>,
    pub owner: Owner,
    pub default_tlp: Option<Tlp>,
    pub public: bool,
    pub signed: bool,
    pub hide_expired: bool,
}

/// An organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    /// The organisation's STIX identity id.
    pub identity_id: String,
    pub created: Timestamp,
}

/// A user of an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub org: OrgId,
    pub org_name: String,
    pub name: String,
    pub role: Role,
    pub created: Timestamp,
}

/// A community of organisations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    /// Members may see the list of member organisations.
    pub show_members: bool,
    pub created: Timestamp,
}

/// An organisation's place in a community.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub community: CommunityId,
    pub org: OrgId,
    /// The organisation's objects reach this community under a pseudonym.
    pub pseudonymous: bool,
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
    /// The user the token belongs to; `None` for node-level tokens.
    pub user: Option<User>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub grants: Vec<Grant>,
    /// The most restrictive TLP it may read (`None`: its user's rights).
    pub max_tlp: Option<Tlp>,
}

#[derive(Clone, Debug)]
pub struct NewToken {
    pub name: String,
    pub secret_hash: [u8; 32],
    pub admin: bool,
    pub user: Option<UserId>,
    pub expires: Option<Timestamp>,
    pub grants: Vec<Grant>,
    pub max_tlp: Option<Tlp>,
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
    /// Only objects whose audience has one of these keys (`None`: all).
    pub audience: Option<Vec<AudienceKey>>,
    /// Stop before the objects' JSON passes this many bytes (`None`:
    /// [`PAGE_BYTES`]); the first object comes whatever its size.
    pub max_bytes: Option<usize>,
    /// Only objects handled at this TLP or a less restrictive one (objects
    /// without a TLP, private to their source, are left out too).
    pub max_tlp: Option<Tlp>,
    /// Leave out objects these organisations posted above TLP:GREEN (or
    /// without a TLP): what other nodes sent, kept from a reader that is a
    /// node itself.
    pub relay_guard: Vec<OrgId>,
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
    /// The organisation that posted it.
    pub origin_org: Option<OrgId>,
    /// The TLP it is handled at (`None`: private to its source).
    pub tlp: Option<Tlp>,
    /// The identifiers it points at that decide whether it may be shown
    /// (see `sharing`); empty for most objects.
    pub refs: Vec<String>,
    /// An observable stored while other sources' copies of it were already
    /// in the collection: a reader who may see an earlier copy receives
    /// that one instead (one copy per reader).
    pub prior_copies: bool,
    /// Where it came from and whether that is proven.
    pub provenance: Provenance,
    /// The fingerprint of the node whose signed manifest vouches for it
    /// (received objects whose provenance is verified).
    pub origin_node: Option<String>,
    /// For a manifest this node signed: when the first indicator it lists
    /// expires, in a collection that hides expired indicators (see
    /// [`ObjectStore::add_manifest`]).
    pub expires: Option<Timestamp>,
}

/// An object's provenance as the node records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// Posted on this node; its signed manifest is still to be written.
    LocalPending,
    /// Posted on this node and listed in a manifest this node signed.
    LocalSigned,
    /// Received from a peer without a manifest by a pinned key.
    Unsigned,
    /// Received from a peer and listed, byte for byte, in a manifest signed
    /// by a pinned key.
    Verified,
    /// Received from a peer and not what its signed manifest lists (or the
    /// manifest's signature does not hold).
    Invalid,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::LocalPending => "local",
            Provenance::LocalSigned => "local-signed",
            Provenance::Unsigned => "unsigned",
            Provenance::Verified => "verified",
            Provenance::Invalid => "invalid",
        }
    }

    /// Its code in the database.
    pub fn code(self) -> i64 {
        match self {
            Provenance::LocalPending => 0,
            Provenance::LocalSigned => 1,
            Provenance::Unsigned => 2,
            Provenance::Verified => 3,
            Provenance::Invalid => 4,
        }
    }

    pub fn from_code(code: i64) -> Provenance {
        match code {
            1 => Provenance::LocalSigned,
            2 => Provenance::Unsigned,
            3 => Provenance::Verified,
            4 => Provenance::Invalid,
            _ => Provenance::LocalPending,
        }
    }
}

/// How an object enters the store: the object and what the policy decided.
#[derive(Clone, Debug)]
pub struct Ingest {
    pub object: StixObject,
    /// Audience keys (see `sharing::audience`).
    pub audience: Vec<AudienceKey>,
    pub origin_org: Option<OrgId>,
    pub origin_user: Option<UserId>,
    pub tlp: Option<Tlp>,
    /// Identifiers whose visibility gates this object's.
    pub refs: Vec<String>,
    /// [`Provenance::LocalPending`] for what is posted on this node.
    pub provenance: Provenance,
    /// See [`StoredObject::origin_node`].
    pub origin_node: Option<String>,
    /// What the console's indexes hold of it, chosen by `node`.
    pub console: ConsoleFacts,
}

/// The searchable text of an object (all empty: not indexed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchText {
    pub name: String,
    pub description: String,
    pub pattern: String,
}

impl SearchText {
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.description.is_empty() && self.pattern.is_empty()
    }
}

/// What the console's search finds an object by, read from its stored
/// bytes: its `name` (an observable's `value` when it has no name), its
/// `description` and its `pattern`, without the STIX identifiers written
/// in them. Anything else, or JSON that does not parse, gives nothing to
/// find.
///
/// Why no identifiers: readers are served a pseudonymous member's objects
/// with its pseudonym's identity id in place of its real one, wherever the
/// id is written (`sharing::pseudonym`), while the index reads the bytes as
/// stored. Searching the real id would find what the pseudonym posted, and
/// so tie the pseudonym to the organisation.
pub fn search_text(raw: &str) -> SearchText {
    #[derive(serde::Deserialize, Default)]
    struct Fields {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        pattern: Option<String>,
        #[serde(default)]
        value: Option<serde_json::Value>,
    }
    let fields: Fields = serde_json::from_str(raw).unwrap_or_default();
    let value = match fields.value {
        Some(serde_json::Value::String(s)) => s,
        _ => String::new(),
    };
    SearchText {
        name: without_stix_ids(&fields.name.unwrap_or(value)),
        description: without_stix_ids(&fields.description.unwrap_or_default()),
        pattern: without_stix_ids(&fields.pattern.unwrap_or_default()),
    }
}

/// `text` with every STIX identifier (`<type>--<UUID>`) taken out.
fn without_stix_ids(text: &str) -> String {
    const UUID: usize = 36;
    let bytes = text.as_bytes();
    let is_uuid = |s: &[u8]| {
        s.len() == UUID
            && s.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut kept = 0;
    let mut at = 0;
    while let Some(found) = text[at..].find("--") {
        let dash = at + found;
        let tail = dash + 2;
        if tail + UUID <= bytes.len() && is_uuid(&bytes[tail..tail + UUID]) {
            // The type before it: letters, digits and single hyphens.
            let mut start = dash;
            while start > kept
                && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'-')
            {
                start -= 1;
            }
            out.push_str(&text[kept..start]);
            kept = tail + UUID;
            at = kept;
        } else {
            at = dash + 1;
        }
    }
    if kept == 0 {
        return text.to_string();
    }
    out.push_str(&text[kept..]);
    out
}

impl Ingest {
    /// An object visible to every reader of its collection (TLP:CLEAR
    /// audience), with no source organisation: for node-level tooling.
    pub fn open(object: StixObject) -> Ingest {
        Ingest {
            object,
            audience: vec![AudienceKey::Clear],
            origin_org: None,
            origin_user: None,
            tlp: Some(Tlp::Clear),
            refs: Vec::new(),
            provenance: Provenance::LocalPending,
            origin_node: None,
            console: ConsoleFacts::default(),
        }
    }
}

/// An object posted on this node that no manifest lists yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingObject {
    pub date_added: Timestamp,
    pub collection: i64,
    pub id: String,
    pub raw: String,
    pub audience: Vec<AudienceKey>,
    pub tlp: Option<Tlp>,
    pub origin_org: Option<OrgId>,
    /// The references that gate its visibility (see [`StoredObject::refs`]).
    pub refs: Vec<String>,
    /// A later copy of an observable (see [`StoredObject::prior_copies`]).
    pub prior_copies: bool,
    /// Queued again by the withdrawal of a manifest that listed it (a
    /// delete or an expiry of another object of that manifest), rather
    /// than as posted.
    pub again: bool,
}

/// A remote TAXII server this node exchanges objects with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub id: i64,
    /// The operator's name for it (also the name of its credential file).
    pub name: String,
    /// Its TAXII API root URL.
    pub url: String,
    /// The local organisation that stands for it.
    pub org: OrgId,
    /// The local user that acts for it (pulled objects are posted as it).
    pub user: UserId,
    /// Fingerprints of the signing keys whose content counts as verified.
    pub keys: Vec<String>,
    /// The highest TLP it may receive (below what its organisation may see).
    pub max_tlp: Tlp,
    /// Refuse content that is not verified.
    pub refuse_unsigned: bool,
    /// A PEM file of the CA to verify its TLS certificate with (instead of
    /// the platform's roots).
    pub ca_file: Option<String>,
    pub created: Timestamp,
    /// The local organisation that receives the TLP:AMBER+STRICT content
    /// the peer sends without naming recipients here (`None`: node
    /// administrators only).
    pub strict_recipient: Option<OrgId>,
}

#[derive(Clone, Debug)]
pub struct NewPeer {
    pub name: String,
    pub url: String,
    pub org: OrgId,
    pub user: UserId,
    pub keys: Vec<String>,
    pub max_tlp: Tlp,
    pub refuse_unsigned: bool,
    pub ca_file: Option<String>,
    /// See [`Peer::strict_recipient`].
    pub strict_recipient: Option<OrgId>,
}

/// Which way a sync job moves objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Pull,
    Push,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Pull => "pull",
            Direction::Push => "push",
        }
    }
}

/// A pull (remote collection into a local one) or a push (local into remote).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncJob {
    pub id: i64,
    pub peer: i64,
    pub direction: Direction,
    pub remote_collection: String,
    /// The local collection's key.
    pub collection: i64,
    /// Pull: the remote `date_added` up to which everything is stored (the
    /// next poll asks from there, a little before, since identical versions
    /// are no-ops). Push: the local `date_added` up to which everything the
    /// peer may receive was accepted by it.
    pub cursor: Option<Timestamp>,
    pub stats: SyncStats,
    pub last_run: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// What a job has moved, in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    pub stored: u64,
    pub duplicates: u64,
    pub refused: u64,
    pub verified: u64,
    pub unsigned: u64,
    pub invalid: u64,
}

impl std::ops::AddAssign for SyncStats {
    fn add_assign(&mut self, other: SyncStats) {
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.refused += other.refused;
        self.verified += other.verified;
        self.unsigned += other.unsigned;
        self.invalid += other.invalid;
    }
}

/// Where a pull stands once a batch is stored (see [`PeerStore::add_pulled`]).
pub struct PullProgress<'a> {
    pub job: i64,
    /// The job's cursor after this batch (`None`: unchanged).
    pub cursor: Option<Timestamp>,
    /// What the batch adds to the job's totals, given its outcomes.
    pub stats: &'a dyn Fn(&[AddOutcome]) -> SyncStats,
}

/// One object a peer refused on a push, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushFailure {
    pub job: i64,
    pub id: String,
    pub version: Option<String>,
    pub message: String,
    pub at: Timestamp,
}

/// A stored copy of an object, for onward-sharing and reference checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyRecord {
    pub id: String,
    pub collection: i64,
    pub date_added: Timestamp,
    /// Its version (`modified`, else `created`); `None` for observables,
    /// which have none.
    pub version: Option<Timestamp>,
    pub origin_org: Option<OrgId>,
    pub tlp: Option<Tlp>,
    pub audience: Vec<AudienceKey>,
    /// The identifiers this copy's visibility depends on (see [`Ingest::refs`]).
    pub refs: Vec<String>,
    /// Its JSON, given to an add's guard for the copies of exactly the
    /// version being added (to tell an unchanged copy from a changed one);
    /// `None` elsewhere.
    pub raw: Option<String>,
}

/// One entry of the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditEntry {
    pub token: Option<i64>,
    pub user: Option<UserId>,
    pub org: Option<OrgId>,
    /// What happened: `write`, `read-restricted`, `token-use`, `org-create`, …
    pub action: String,
    pub collection: Option<String>,
    /// Object ids concerned.
    pub objects: Vec<String>,
    pub detail: String,
}

/// An audit entry as recorded, with its place in the hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: Timestamp,
    pub entry: AuditEntry,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// Which audit records to list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub org: Option<OrgId>,
    pub user: Option<UserId>,
    pub object: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: usize,
}

/// One page of a query.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub items: Vec<StoredObject>,
    /// More items match after the last one returned.
    pub more: bool,
}

/// A page of objects stops before its objects' JSON passes this many bytes
/// (it holds at least one object, however large): a reader cannot make the
/// node hold a thousand objects of the largest size a POST allows at once.
pub const PAGE_BYTES: usize = 32 << 20;

/// What became of one object of an add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// Stored now, with this `date_added`.
    Added(Timestamp),
    /// This exact version was already in the collection (added at that time); nothing changed.
    Duplicate(Timestamp),
    /// A different object with the same id and version is in the collection
    /// (added at that time); the new one was not stored.
    Conflict(Timestamp),
    /// The guard refused it (see [`ObjectStore::add_objects`]); not stored.
    Refused(String),
}

/// Decides on each object of an add before it is written: called with the
/// object's position in the batch and every stored copy of its id (all
/// collections, oldest first; empty for an id the node does not hold);
/// `Some(reason)` refuses it.
pub type CopyGuard<'a> = dyn FnMut(usize, &[CopyRecord]) -> Option<String> + 'a;

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

/// Objects in collections, with the facts the sharing policy decided at ingest.
///
/// Methods block; async callers run them on a blocking thread. Every read
/// is served by an index: none scans a whole collection.
pub trait ObjectStore: Send + Sync + 'static {
    /// Adds objects to a collection in one transaction: when this returns
    /// `Ok`, every object is durably committed, and so is `audit` (with
    /// `objects` set to the ids added) when anything was added. `guard` sees
    /// the stored copies of every object before it is written and may refuse
    /// it (the rules live with the caller).
    ///
    /// A versioned object is one row per (collection, id, version). An
    /// observable is one row per (collection, id, source organisation): each
    /// source keeps its own copy, so a copy hidden from a poster never
    /// decides what happens to the poster's.
    fn add_objects(
        &self,
        collection: i64,
        objects: &[Ingest],
        guard: &mut CopyGuard<'_>,
        audit: &AuditEntry,
    ) -> Result<Vec<AddOutcome>>;
    fn query_objects(&self, collection: i64, query: &ObjectQuery) -> Result<Page>;
    /// Deletes the rows of `id` in `collection` added at `rows` (their
    /// `date_added`), and appends `audit` in the same transaction; returns
    /// how many were deleted. The manifests this node signed that list a
    /// deleted row are withdrawn in the same transaction, as
    /// [`ObjectStore::withdraw_manifests`] does.
    fn delete_rows(
        &self,
        collection: i64,
        id: &str,
        rows: &[Timestamp],
        audit: &AuditEntry,
    ) -> Result<usize>;
    /// Every stored copy (any collection, any version) of these ids, oldest first.
    fn copies(&self, ids: &[String]) -> Result<Vec<CopyRecord>>;
    /// The stored marking definitions among `ids`, as (id, JSON).
    fn marking_definitions(&self, ids: &[String]) -> Result<Vec<(String, String)>>;

    /// Objects posted on this node that no manifest lists yet, oldest
    /// first, at most `limit` (served by a queue of row keys).
    fn pending_signature(&self, limit: usize) -> Result<Vec<PendingObject>>;
    /// Stores a manifest this node signed into `collection` and marks the
    /// rows it lists (`covers`, by `date_added`) as signed (they leave the
    /// signer's queue), in one transaction. A manifest that lists a later
    /// copy of an observable is stored as one too (its `prior_copies` set):
    /// a reader served an earlier copy must not receive it (see
    /// [`ObjectStore::manifest_listing`]). `expires`: when an indicator it
    /// lists expires first (in a collection that hides expired ones), after
    /// which readers must not receive it; see
    /// [`ObjectStore::withdraw_expired_manifests`].
    fn add_manifest(
        &self,
        collection: i64,
        manifest: &Ingest,
        covers: &[Timestamp],
        expires: Option<Timestamp>,
        audit: &AuditEntry,
    ) -> Result<()>;
    /// Records what is now known of received rows (by `date_added`): their
    /// provenance and, when verified, the node that vouches for them.
    fn set_provenance(&self, rows: &[(Timestamp, Provenance, Option<String>)]) -> Result<()>;
    /// Withdraws the manifests this node signed that list any of `rows`
    /// (by `date_added`): deletes them and marks every row they listed
    /// (`rows` among them) pending signature again, with an `unsign` audit
    /// entry on behalf of `audit`'s actor, in one transaction; returns the
    /// withdrawn manifests' ids. For when what readers receive of a row
    /// changes after it was signed; the signer then lists the rows anew.
    fn withdraw_manifests(&self, rows: &[Timestamp], audit: &AuditEntry) -> Result<Vec<String>>;
    /// Withdraws, as [`ObjectStore::withdraw_manifests`] does, the
    /// manifests this node signed whose `expires` is at or before `now`
    /// (served by a partial index); returns their ids.
    fn withdraw_expired_manifests(&self, now: Timestamp, audit: &AuditEntry)
    -> Result<Vec<String>>;
    /// For each of these manifests (rows this node signed), the rows it
    /// lists and their ids, as (manifest, row, id).
    fn manifest_listing(
        &self,
        manifests: &[Timestamp],
    ) -> Result<Vec<(Timestamp, Timestamp, String)>>;
    /// The rows of `collection` posted here (listed in a manifest this node
    /// signed, or waiting for the signer) whose JSON contains `text`, with
    /// their source organisation, oldest first.
    /// Scans the collection: for rare administrative changes only.
    fn signed_rows_mentioning(
        &self,
        collection: i64,
        text: &str,
    ) -> Result<Vec<(Timestamp, Option<OrgId>)>>;
}

/// Peers and the jobs that move objects to and from them.
pub trait PeerStore: Send + Sync + 'static {
    fn create_peer(&self, new: &NewPeer, audit: &AuditEntry) -> Result<Peer>;
    fn peers(&self) -> Result<Vec<Peer>>;
    fn peer(&self, name: &str) -> Result<Option<Peer>>;
    /// Replaces the signing keys pinned for a peer (`NotFound` without it).
    fn set_peer_keys(&self, peer: i64, keys: &[String], audit: &AuditEntry) -> Result<()>;
    /// Sets (or clears) the organisation that receives the peer's
    /// TLP:AMBER+STRICT content (see [`Peer::strict_recipient`]).
    fn set_peer_strict_recipient(
        &self,
        peer: i64,
        org: Option<OrgId>,
        audit: &AuditEntry,
    ) -> Result<()>;
    /// Adds a pull or push of a peer (the same one twice is a conflict).
    fn create_job(
        &self,
        peer: i64,
        direction: Direction,
        remote_collection: &str,
        collection: i64,
        audit: &AuditEntry,
    ) -> Result<SyncJob>;
    fn jobs(&self, peer: i64) -> Result<Vec<SyncJob>>;
    /// Adds pulled objects exactly as [`ObjectStore::add_objects`] does, and
    /// in the same transaction moves the pull's cursor to `cursor` and adds
    /// `stats` to its totals: a crash never separates the objects from the
    /// cursor that covers them.
    fn add_pulled(
        &self,
        collection: i64,
        objects: &[Ingest],
        guard: &mut CopyGuard<'_>,
        audit: &AuditEntry,
        progress: &PullProgress<'_>,
    ) -> Result<Vec<AddOutcome>>;
    /// Records a run of a job: its cursor (pushes), what it added to the
    /// totals, and its error (`None`: it succeeded).
    fn record_run(
        &self,
        job: i64,
        cursor: Option<Timestamp>,
        stats: SyncStats,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<()>;
    fn record_push_failures(&self, failures: &[PushFailure]) -> Result<()>;
    /// The most recent push failures of a job, newest first.
    fn push_failures(&self, job: i64, limit: usize) -> Result<Vec<PushFailure>>;
}

/// Who and what the node knows: API roots, collections, organisations,
/// users, communities and tokens. Every write takes its audit entry.
pub trait DirectoryStore: Send + Sync + 'static {
    fn api_roots(&self) -> Result<Vec<ApiRoot>>;
    fn api_root(&self, path: &str) -> Result<Option<ApiRoot>>;
    fn create_api_root(&self, root: &ApiRoot, audit: &AuditEntry) -> Result<()>;
    fn collections(&self, api_root: &str) -> Result<Vec<Collection>>;
    fn all_collections(&self) -> Result<Vec<Collection>>;
    /// By TAXII id.
    fn collection(&self, id: &str) -> Result<Option<Collection>>;
    /// By internal key.
    fn collection_by_key(&self, key: i64) -> Result<Option<Collection>>;
    fn create_collection(&self, new: &NewCollection, audit: &AuditEntry) -> Result<Collection>;
    /// Sets whether TAXII readers see the collection's expired indicators.
    fn set_hide_expired(&self, collection: i64, hide: bool, audit: &AuditEntry) -> Result<()>;

    fn create_org(&self, name: &str, identity_id: &str, audit: &AuditEntry) -> Result<Org>;
    fn orgs(&self) -> Result<Vec<Org>>;
    fn org_by_id(&self, id: OrgId) -> Result<Option<Org>>;
    /// By name (case-insensitive) or STIX identity id.
    fn org(&self, name_or_identity: &str) -> Result<Option<Org>>;
    fn create_user(&self, org: OrgId, name: &str, role: Role, audit: &AuditEntry) -> Result<User>;
    fn users(&self) -> Result<Vec<User>>;
    /// By `org/user`, or by user name when it is unique on the node.
    fn user(&self, path: &str) -> Result<Option<User>>;
    fn create_community(
        &self,
        name: &str,
        show_members: bool,
        audit: &AuditEntry,
    ) -> Result<Community>;
    fn communities(&self) -> Result<Vec<Community>>;
    fn community(&self, name: &str) -> Result<Option<Community>>;
    /// Adds an organisation to a community; `StoreError::Conflict` when it
    /// is a member already (a membership's terms never change).
    fn add_member(
        &self,
        community: CommunityId,
        org: OrgId,
        pseudonymous: bool,
        audit: &AuditEntry,
    ) -> Result<()>;
    fn members(&self, community: CommunityId) -> Result<Vec<Membership>>;
    fn memberships(&self, org: OrgId) -> Result<Vec<Membership>>;
    /// Every pseudonymous membership of the node (few: served by an index).
    fn pseudonymous_memberships(&self) -> Result<Vec<Membership>>;
    /// A random secret of this node (pseudonym derivation), created once.
    fn node_secret(&self) -> Result<Vec<u8>>;

    fn create_token(&self, new: &NewToken, audit: &AuditEntry) -> Result<TokenRecord>;
    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>>;
    fn tokens(&self) -> Result<Vec<TokenRecord>>;
    /// Revokes by id or name; returns the revoked token.
    fn revoke_token(
        &self,
        id_or_name: &str,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> Result<TokenRecord>;
    /// Records a token's use (and its audit entry) at `at`.
    fn touch_token(&self, id: i64, at: Timestamp, audit: &AuditEntry) -> Result<()>;
}

/// The audit log: append-only, hash-chained.
pub trait AuditStore: Send + Sync + 'static {
    /// Appends entries that record no write of their own (reads), in order,
    /// in one transaction.
    fn append_audit_batch(&self, entries: &[AuditEntry]) -> Result<()>;
    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>>;
    /// Every record in order, for verification.
    fn audit_chain(&self) -> Result<Vec<AuditRecord>>;
}

/// TAXII status resources.
pub trait StatusStore: Send + Sync + 'static {
    fn put_status(&self, status: &StatusRecord) -> Result<()>;
    fn status(&self, id: &str) -> Result<Option<StatusRecord>>;
    /// Drops status resources created before `before`; returns how many.
    fn purge_statuses(&self, before: Timestamp) -> Result<usize>;
}

/// Everything a node persists, on one backend.
pub trait Store:
    ObjectStore
    + DirectoryStore
    + AuditStore
    + StatusStore
    + IncidentStore
    + PeerStore
    + ConsoleStore
    + SessionStore
{
}

impl<T> Store for T where
    T: ObjectStore
        + DirectoryStore
        + AuditStore
        + StatusStore
        + IncidentStore
        + PeerStore
        + ConsoleStore
        + SessionStore
{
}
