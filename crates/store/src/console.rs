//! What the web console reads beyond TAXII's queries: figures kept up to
//! date as objects are written, full-text search, newest-first listings,
//! and who refers to an object.
//!
//! **Figures.** Every stored row either has a *count class* or not (see
//! `sharing::console::CountClass`: who sees the row, exactly as the read
//! gate decides, written as its collection, audience, TLP, source and the
//! classes of its targets' copies; interned in `count_classes`, each row's
//! kept in `row_classes`). A row with a class that is not a later copy of
//! an observable is *counted*: added to `object_counts` (per class, day of
//! `date_added`, type and TLP) and, for its ranked references, to
//! `ranked_counts`, in the transaction that gives it its class. A figure
//! for a reader is then a sum over the classes it is admitted to (`node`
//! decides which, over the few distinct classes): ranges of a small table,
//! never a scan of objects. Rows without a class (pointer objects until
//! `node` has settled them, or that it leaves to the gate; later copies of
//! observables) are listed per collection through a partial index and
//! decided one by one by the read gate.
//!
//! Which class a pointer row has is never decided here. A row with no
//! gating references gets the class of its own facts as it is written; any
//! other row starts *pending* and `node` settles it
//! ([`ConsoleStore::settle_counts`]). Any write or delete of an id takes the
//! rows that refer to it out of the figures, forgets their classes and
//! marks them pending again, in the same transaction, transitively: a fact
//! a class rested on has changed, so it is decided again, and what the row
//! added is taken back under the class it was added under.
//!
//! **Unlisted rows.** A row `node` stores as not listed
//! ([`ConsoleFacts::listed`]: the signed manifests nodes write for
//! provenance) is never counted nor pending, has no entry in the reference
//! index or the full-text index, and no list returns it; TAXII serves it
//! like any row. Every write path (a post, a pull, the signer) says which
//! rows are listed when it writes them.
//!
//! **Ceilings.** A token may read at most some TLP: its figures and
//! rankings leave out the classes above it (a class knows its TLP and its
//! targets' classes theirs), exactly as the read gate narrows what it
//! serves; its lists and the rows left to the gate are narrowed by
//! `CountScope::max_tlp`.

use sharing::AudienceKey;
use sharing::console::CountClass;
use stix::{Timestamp, Tlp};

use crate::{Result, StoredObject};

/// Microseconds in a day: days are counted from the Unix epoch, in UTC.
const DAY_MICROS: i64 = 86_400_000_000;

/// The day (since the Unix epoch, UTC) of an instant.
pub fn day_of(t: Timestamp) -> i64 {
    t.as_micros().div_euclid(DAY_MICROS)
}

/// Which rows of one collection a list or the rows left to the gate cover:
/// those whose audience holds one of `audience` (`None`: every row, for
/// node administrators) and,
/// with `max_tlp` (a token's ceiling), whose TLP is at most that (rows
/// without a TLP are then left out, as the read gate leaves them out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountScope {
    pub collection: i64,
    pub audience: Option<Vec<AudienceKey>>,
    pub max_tlp: Option<Tlp>,
}

/// Counted rows added on one day, of one type, at one TLP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCount {
    pub day: i64,
    pub object_type: String,
    pub tlp: Option<Tlp>,
    pub count: u64,
}

/// What the console's indexes hold of one object, as `node` chose it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleFacts {
    /// The identifiers the overview ranks the object as referring to (see
    /// [`ConsoleStore::ranked_counts`]).
    pub ranked: Vec<String>,
    /// Whether the console lists, counts, searches and shows it as a
    /// referrer at all; `false` for records of the node's own machinery
    /// (signed manifests), which TAXII still serves like any object.
    pub listed: bool,
}

impl Default for ConsoleFacts {
    /// Listed, with nothing to rank.
    fn default() -> Self {
        ConsoleFacts {
            ranked: Vec::new(),
            listed: true,
        }
    }
}

/// A row waiting for `node` to decide whether it is counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCount {
    pub date_added: Timestamp,
    /// When the row became pending: [`ConsoleStore::settle_counts`] ignores
    /// a decision about an older mark (a write changed the facts since).
    pub mark: i64,
    pub collection: i64,
    pub id: String,
    pub audience: Vec<AudienceKey>,
    pub origin_org: Option<sharing::OrgId>,
    pub tlp: Option<Tlp>,
    pub refs: Vec<String>,
    /// The id of its audience (as [`sharing::console::CountClass`] names it).
    pub audience_id: i64,
}

/// A newest-first read of a collection's latest versions, for lists and
/// search. Every shape examines at most `max_examined` rows of the index
/// it walks, so a rare filter gives a short page (with `more`) instead of a
/// long scan; the page's `resume_before` says where to continue.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Only rows added strictly before this instant (the page cursor).
    pub added_before: Option<Timestamp>,
    /// Only rows added at or after this instant.
    pub added_since: Option<Timestamp>,
    /// Any of these types (empty: any type).
    pub types: Vec<String>,
    /// Any of these TLPs (`None` in the list: objects without one; empty: any).
    pub tlps: Vec<Option<Tlp>>,
    /// Full-text query in SQLite FTS5 syntax, already made safe by the caller
    /// (`None`: no text condition).
    pub text: Option<String>,
    pub limit: usize,
    pub max_examined: usize,
    pub with_raw: bool,
}

/// A page of a [`ListQuery`].
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    /// (collection key, row), newest first.
    pub items: Vec<(i64, StoredObject)>,
    /// Where the next page starts (the oldest row examined); `None` at the end.
    pub resume_before: Option<Timestamp>,
    /// For a text query: the full-text index had not yet taken in every row
    /// written before the query (it was far behind, after a bulk import or
    /// when it is being rebuilt), so newer matches may be missing.
    pub search_incomplete: bool,
}

/// The console's reads and the upkeep of its figures.
///
/// Methods block; every read is a range of an index or of a small table.
pub trait ConsoleStore: Send + Sync + 'static {
    /// Counted rows of the count classes `classes` per day, type and TLP,
    /// from `since_day` on.
    fn day_counts(&self, classes: &[i64], since_day: i64) -> Result<Vec<DayCount>>;
    /// References from counted rows of `classes` added from `since_day` on,
    /// per target (every ranked target: they are the few objects rows were
    /// ranked as referring to), most referenced first.
    fn ranked_counts(&self, classes: &[i64], since_day: i64) -> Result<Vec<(String, u64)>>;
    /// The count classes interned after id `after`, by id. A class never
    /// changes once interned.
    fn count_classes(&self, after: i64) -> Result<Vec<(i64, CountClass)>>;
    /// The audiences (sets of keys) interned after id `after`, by id. An
    /// audience never changes once interned.
    fn audiences(&self, after: i64) -> Result<Vec<(i64, Vec<AudienceKey>)>>;
    /// The ids of indicators in `collection` with a version whose
    /// `valid_until` is at or before `at`, at most `limit`, found through
    /// an index of those times (a value SQLite could not read when the
    /// index was filled counts as expired: the read gate decides).
    fn expired_indicators(
        &self,
        collection: i64,
        at: Timestamp,
        limit: usize,
    ) -> Result<Vec<String>>;
    /// Rows of `scope` added from `since` on that are not counted, oldest
    /// first, at most `limit` (with raw JSON when asked).
    fn uncounted(
        &self,
        scope: &CountScope,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<(StoredObject, Vec<String>)>>;
    /// Up to `limit` rows waiting for a decision, oldest first.
    fn pending_counts(&self, limit: usize) -> Result<Vec<PendingCount>>;
    /// Records decisions about pending rows (`date_added`, `mark`, class):
    /// a class counts the row under it (a later copy of an observable only
    /// keeps it, for what points at it), `None` leaves it to the read gate.
    /// A decision whose mark is not the row's current one (it became
    /// pending again) and rows deleted meanwhile are skipped. Returns how
    /// many rows became counted.
    fn settle_counts(&self, decisions: &[(Timestamp, i64, Option<CountClass>)]) -> Result<usize>;
    /// Fills the console's indexes for rows stored before they existed
    /// (once, after the migration that added them): `extract` gives a row's
    /// search text, ranked references and whether it is listed from its
    /// JSON (rows it does not list leave the figures). Returns how many
    /// rows it filled; 0 once done.
    fn backfill_console(&self, extract: &mut dyn FnMut(&str) -> ConsoleFacts) -> Result<usize>;
    /// Each row's class (`None`: none) and whether it is counted, by
    /// `date_added` (absent rows: not listed).
    fn row_classes(&self, rows: &[Timestamp]) -> Result<Vec<(Timestamp, Option<i64>, bool)>>;
    /// Newest-first latest versions of the collections of `scopes` whose
    /// audience the scope admits (see [`ListQuery`]; its own `audience` is
    /// ignored here).
    fn list_newest(&self, scopes: &[CountScope], query: &ListQuery) -> Result<ListPage>;
    /// Rows of any collection whose gating references include `id`, newest
    /// first, at most `limit`: relationships in and out, sightings, reports.
    fn referrers(&self, id: &str, limit: usize) -> Result<Vec<(i64, StoredObject)>>;
    /// The newest `limit` audit records, newest first; each names at most
    /// its first ids (an import's entry names thousands), for display only:
    /// verification reads [`crate::AuditStore::audit_chain`].
    fn latest_audit(&self, limit: usize) -> Result<Vec<crate::AuditRecord>>;
}
