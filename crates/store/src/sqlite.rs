//! The embedded store: SQLite in WAL mode, one writer connection, a pool of
//! read-only connections so reads run in parallel with each other and with
//! the writer.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};
use stix::{ObjectKind, Timestamp};

use crate::id_index::IdIndex;
use crate::schema;
use sharing::{CommunityId, OrgId, Owner, Role, Tlp};

use crate::{
    AddOutcome, ApiRoot, AuditEntry, AuditFilter, AuditRecord, Collection, Community, CopyGuard,
    CopyRecord, Grant, Ingest, Membership, NewCollection, NewToken, ObjectQuery, Org, PAGE_BYTES,
    Page, Result, StatusRecord, Store, StoreError, StoredObject, TokenRecord, User, VersionMatch,
};

/// How to open the database.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// `synchronous=FULL`: survive power loss too, at some write speed. With the
    /// default (`NORMAL` in WAL mode) a committed write survives a crash or kill
    /// of the process, which is the promise made to TAXII clients.
    pub synchronous_full: bool,
    /// Page cache of the writer connection, in MiB (readers get an eighth each).
    pub cache_mib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous_full: false,
            cache_mib: 48,
        }
    }
}

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    ids: std::sync::RwLock<IdIndex>,
    _checkpointer: Option<Checkpointer>,
}

/// Copies the write-ahead log into the database from a thread of its own,
/// so that no request waits for a checkpoint (and its fsync).
struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How often the checkpointer runs, and the WAL size (in pages) past which
/// it truncates the log even if that makes a writer wait a moment.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
const WAL_TRUNCATE_PAGES: i64 = 65_536;
/// Past this many log frames the checkpointer also restarts the log: most
/// frames are already copied by then, so the writer waits only briefly, and
/// the log stays small instead of growing under a steady stream of adds.
const WAL_RESTART_PAGES: i64 = 8_192;

impl Checkpointer {
    fn start(path: &Path) -> Option<Checkpointer> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).ok()?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::park_timeout(CHECKPOINT_EVERY);
                    let log: rusqlite::Result<(i64, i64, i64)> =
                        cached_row(&conn, "PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        });
                    if let Ok((_, frames, _)) = log {
                        if frames > WAL_TRUNCATE_PAGES {
                            let _ = cached_row(
                                &conn,
                                "PRAGMA wal_checkpoint(TRUNCATE)",
                                [],
                                |_| Ok(()),
                            );
                        } else if frames > WAL_RESTART_PAGES {
                            let _ =
                                cached_row(&conn, "PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
                        }
                    }
                }
            })
            .ok()?;
        Some(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

pub(crate) fn db(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, ref msg)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()))
        }
        other => StoreError::Database(other.to_string()),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves nothing half-done in SQLite (the
    // transaction rolls back when dropped), so the connection is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The current time, microseconds since the epoch (the clock every layer
/// stamps `date_added`, status and audit times with).
pub fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    Timestamp::from_micros(micros)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path).map_err(db)?;
        configure(&writer, &options, false)?;
        if let Ok(ps) = std::env::var("EXPERIMENT_PAGE_SIZE") {
            writer
                .pragma_update(None, "page_size", ps.parse::<i64>().unwrap_or(4096))
                .map_err(db)?;
        }
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        schema::migrate(&mut writer)?;
        // Checkpoints happen on the checkpointer thread; the writer itself
        // only checkpoints if the log grows very large (a safety net).
        writer
            .pragma_update(None, "wal_autocheckpoint", 4 * WAL_TRUNCATE_PAGES)
            .map_err(db)?;
        let checkpointer = Checkpointer::start(&path);
        let mut ids = IdIndex::default();
        {
            // A covering scan of the date index: every id, in one pass.
            let mut stmt = writer
                .prepare("SELECT date_added, stix_id FROM objects INDEXED BY objects_by_added")
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                let at: i64 = r.get(0).map_err(db)?;
                let id: String = r.get(1).map_err(db)?;
                ids.insert(&id, at);
                ids.advance(at);
            }
        }
        Ok(SqliteStore {
            path,
            options,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            ids: std::sync::RwLock::new(ids),
            _checkpointer: checkpointer,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The single writer connection, for the other store traits' writes.
    pub(crate) fn write_connection(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
    }

    /// A pooled read-only connection, for the other store traits' reads.
    pub(crate) fn read_connection(&self) -> Result<impl std::ops::Deref<Target = Connection> + '_> {
        self.reader()
    }

    fn reader(&self) -> Result<Reader<'_>> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(db)?;
                configure(&c, &self.options, true)?;
                c
            }
        };
        Ok(Reader {
            conn: Some(conn),
            pool: &self.readers,
        })
    }
}

fn configure(conn: &Connection, options: &SqliteOptions, reader: bool) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(db)?;
    let cache_kib = if reader {
        options.cache_mib * 1024 / 8
    } else {
        options.cache_mib * 1024
    };
    conn.pragma_update(None, "cache_size", -(i64::from(cache_kib)))
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(db)?;
    if !reader {
        let sync = if options.synchronous_full {
            "FULL"
        } else {
            "NORMAL"
        };
        conn.pragma_update(None, "synchronous", sync).map_err(db)?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Idle read connections kept open (each holds its own page cache).
const MAX_POOLED_READERS: usize = 8;

/// A pooled read-only connection, returned to the pool when dropped.
struct Reader<'a> {
    conn: Option<Connection>,
    pool: &'a Mutex<Vec<Connection>>,
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut pool = lock(self.pool);
            if pool.len() < MAX_POOLED_READERS {
                pool.push(c);
            }
        }
    }
}

/// Interns audience key sets within one write transaction.
#[derive(Default)]
struct AudienceInterner {
    known: std::collections::HashMap<String, i64>,
}

impl AudienceInterner {
    fn id(&mut self, tx: &rusqlite::Transaction<'_>, keys: &[String]) -> Result<i64> {
        let mut sorted: Vec<&str> = keys.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let text = sorted.join(" ");
        if let Some(id) = self.known.get(&text) {
            return Ok(*id);
        }
        let found: Option<i64> = cached_row(
            tx,
            "SELECT id FROM audiences WHERE keys = ?1",
            [&text],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
        let id = match found {
            Some(id) => id,
            None => {
                cached_exec(tx, "INSERT INTO audiences (keys) VALUES (?1)", [&text]).map_err(db)?;
                let id = tx.last_insert_rowid();
                for k in &sorted {
                    cached_exec(
                        tx,
                        "INSERT INTO audience_keys (key, audience) VALUES (?1, ?2)",
                        params![k, id],
                    )
                    .map_err(db)?;
                }
                id
            }
        };
        self.known.insert(text, id);
        Ok(id)
    }
}

/// Equal as JSON values (key order and whitespace do not matter).
fn same_json(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

fn ts(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

fn opt_ts(micros: Option<i64>) -> Option<Timestamp> {
    micros.map(Timestamp::from_micros)
}

fn collection_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Collection> {
    let owner = match (r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?) {
        (Some(org), _) => Owner::Org(org),
        (None, Some(community)) => Owner::Community(community),
        (None, None) => Owner::Node,
    };
    Ok(Collection {
        key: r.get(0)?,
        id: r.get(1)?,
        api_root: r.get(2)?,
        title: r.get(3)?,
        description: r.get(4)?,
        alias: r.get(5)?,
        created: ts(r.get(6)?),
        owner,
        default_tlp: tlp_from(r.get(9)?),
        public: r.get(10)?,
    })
}

const COLLECTION_COLUMNS: &str = "key, id, api_root, title, description, alias, created, owner_org, owner_community, default_tlp, public";

/// `query_row` through the connection's statement cache: the statements of
/// the request paths are prepared once per connection, not per request.
fn cached_row<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// Every row of a query through the connection's statement cache.
pub(crate) fn cached_rows<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    stmt.query_map(params, f)?.collect()
}

/// `execute` through the connection's statement cache.
fn cached_exec<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// TLP levels are stored as their rank (0 CLEAR … 4 RED).
fn tlp_rank(t: Option<Tlp>) -> Option<i64> {
    t.map(|t| match t {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    })
}

fn tlp_from(rank: Option<i64>) -> Option<Tlp> {
    rank.and_then(|r| {
        Some(match r {
            0 => Tlp::Clear,
            1 => Tlp::Green,
            2 => Tlp::Amber,
            3 => Tlp::AmberStrict,
            4 => Tlp::Red,
            _ => return None,
        })
    })
}

fn role_from(text: &str) -> rusqlite::Result<Role> {
    text.parse().map_err(|e: sharing::model::UnknownRole| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const USER_COLUMNS: &str = "u.id, u.org, o.name, u.name, u.role, u.created";

fn user_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(at)?,
        org: r.get(at + 1)?,
        org_name: r.get(at + 2)?,
        name: r.get(at + 3)?,
        role: role_from(&r.get::<_, String>(at + 4)?)?,
        created: ts(r.get(at + 5)?),
    })
}

fn org_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Org> {
    Ok(Org {
        id: r.get(0)?,
        name: r.get(1)?,
        identity_id: r.get(2)?,
        created: ts(r.get(3)?),
    })
}

fn community_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Community> {
    Ok(Community {
        id: r.get(0)?,
        name: r.get(1)?,
        show_members: r.get(2)?,
        created: ts(r.get(3)?),
    })
}

fn conflict_as(what: String) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| match db(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        other => other,
    }
}

fn load_token(conn: &Connection, r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let id: i64 = r.get(0)?;
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, g.can_read, g.can_write FROM token_grants g
         JOIN collections c ON c.key = g.collection WHERE g.token = ?1 ORDER BY c.id",
    )?;
    let grants = stmt
        .query_map([id], |g| {
            Ok(Grant {
                collection_id: g.get(0)?,
                can_read: g.get(1)?,
                can_write: g.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let user_id: Option<i64> = r.get(7)?;
    let user = match user_id {
        Some(u) => cached_row(
            conn,
            &format!(
                "SELECT {USER_COLUMNS} FROM users u JOIN orgs o ON o.id = u.org WHERE u.id = ?1"
            ),
            [u],
            |row| user_from_row(row, 0),
        )
        .optional()?,
        None => None,
    };
    Ok(TokenRecord {
        id,
        name: r.get(1)?,
        admin: r.get(2)?,
        user,
        created: ts(r.get(3)?),
        expires: opt_ts(r.get(4)?),
        revoked: opt_ts(r.get(5)?),
        last_used: opt_ts(r.get(6)?),
        grants,
    })
}

const TOKEN_COLUMNS: &str = "id, name, admin, created, expires, revoked, last_used, user";

/// The index each query shape must use. Left to itself, SQLite may prefer
/// the `date_added` index to satisfy `ORDER BY` and then test every row of
/// the collection for an id: a scan. Naming the index keeps every shape an
/// index range.
fn index_for(restriction: Option<(&str, &[String])>) -> &'static str {
    match restriction {
        Some(("type", _)) => "objects_by_type",
        _ => "objects_by_added",
    }
}

/// SQL for a version selector, with its parameters appended to `params`.
fn version_sql(v: &VersionMatch, params: &mut Vec<rusqlite::types::Value>) -> String {
    let v = if v.is_empty() {
        std::borrow::Cow::Owned(VersionMatch::last_only())
    } else {
        std::borrow::Cow::Borrowed(v)
    };
    if v.all {
        return "1".into();
    }
    let mut parts = Vec::new();
    if v.last {
        parts.push("is_latest = 1".to_string());
    }
    if v.first {
        parts.push("is_first = 1".to_string());
    }
    if !v.at.is_empty() {
        let marks = vec!["?"; v.at.len()].join(",");
        parts.push(format!(
            "(versioned = 1 AND version IN ({marks})) OR (versioned = 0 AND date_added IN ({marks}))"
        ));
        for t in &v.at {
            params.push(t.as_micros().into());
        }
        for t in &v.at {
            params.push(t.as_micros().into());
        }
    }
    format!("({})", parts.join(" OR "))
}

fn in_list(column: &str, values: &[String], params: &mut Vec<rusqlite::types::Value>) -> String {
    let marks = vec!["?"; values.len()].join(",");
    params.extend(
        values
            .iter()
            .map(|v| rusqlite::types::Value::from(v.clone())),
    );
    format!("{column} IN ({marks})")
}

const STORED_COLUMNS: &str =
    "date_added, stix_id, type, version, versioned, spec_version, origin_org, tlp, refs";

fn stored_from_row(r: &rusqlite::Row<'_>, with_raw: bool) -> rusqlite::Result<StoredObject> {
    let date_added: i64 = r.get(0)?;
    let versioned: bool = r.get(4)?;
    let version: i64 = r.get(3)?;
    let refs: Option<String> = r.get(8)?;
    Ok(StoredObject {
        date_added: ts(date_added),
        id: r.get(1)?,
        object_type: r.get(2)?,
        version: ts(if versioned { version } else { date_added }),
        spec_version: r.get(5)?,
        origin_org: r.get(6)?,
        tlp: tlp_from(r.get(7)?),
        refs: refs
            .map(|t| t.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
        raw: if with_raw { r.get(9)? } else { String::new() },
    })
}

impl SqliteStore {
    /// Memberships matching `condition` (on `?1` = `key`).
    fn membership_rows(&self, condition: &str, key: i64) -> Result<Vec<Membership>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            &format!(
                "SELECT community, org, pseudonymous FROM community_members WHERE {condition}"
            ),
            [key],
            |r| {
                Ok(Membership {
                    community: r.get(0)?,
                    org: r.get(1)?,
                    pseudonymous: r.get(2)?,
                })
            },
        )
        .map_err(db)
    }

    /// Brings the id index up to what `conn` sees: rows appended since the
    /// last one indexed, by this process or another.
    fn catch_up(&self, conn: &Connection) -> Result<()> {
        let from = self
            .ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .high_water;
        let mut stmt = conn
            .prepare_cached("SELECT date_added, stix_id FROM objects WHERE date_added > ?1")
            .map_err(db)?;
        let mut rows = stmt.query([from]).map_err(db)?;
        let mut fresh = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            fresh.push((
                r.get::<_, i64>(0).map_err(db)?,
                r.get::<_, String>(1).map_err(db)?,
            ));
        }
        if !fresh.is_empty() {
            let mut ids = self.ids.write().unwrap_or_else(|p| p.into_inner());
            for (at, id) in fresh {
                ids.insert(&id, at);
                ids.advance(at);
            }
        }
        Ok(())
    }

    /// Rows that may hold any of `ids` (every collection), up to date with `conn`.
    fn rows_of(&self, conn: &Connection, ids: &[String]) -> Result<Vec<i64>> {
        self.catch_up(conn)?;
        let index = self.ids.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for id in ids {
            index.candidates(id, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Runs one query shape: `restriction` narrows to an index prefix
    /// (collection, and maybe one type) or to the rows of a set of ids.
    /// The SQL and parameters of one index-ordered query shape, or `None`
    /// when it cannot match anything.
    fn query_shape(
        &self,
        conn: &Connection,
        collection: i64,
        restriction: Option<(&str, &[String])>,
        query: &ObjectQuery,
        limit: usize,
    ) -> Result<Option<(String, Vec<rusqlite::types::Value>)>> {
        let mut params: Vec<rusqlite::types::Value> = vec![collection.into()];
        let mut clauses = vec!["collection = ?".to_string()];
        let mut by_rows = false;
        if let Some((column, values)) = restriction {
            if column == "stix_id" {
                let rows = self.rows_of(conn, values)?;
                if rows.is_empty() {
                    return Ok(None);
                }
                let marks = vec!["?"; rows.len()].join(",");
                clauses.push(format!("date_added IN ({marks})"));
                params.extend(rows.into_iter().map(rusqlite::types::Value::from));
                by_rows = true;
            }
            clauses.push(in_list(column, values, &mut params));
        }
        if let Some(after) = query.added_after {
            clauses.push("date_added > ?".into());
            params.push(after.as_micros().into());
        }
        if !query.types.is_empty() && restriction.is_none_or(|(c, _)| c != "type") {
            clauses.push(in_list("type", &query.types, &mut params));
        }
        clauses.push(version_sql(&query.versions, &mut params));
        if !query.spec_versions.is_empty() {
            clauses.push(in_list("spec_version", &query.spec_versions, &mut params));
        }
        if let Some(keys) = &query.audience {
            if keys.is_empty() {
                return Ok(None);
            }
            // The reader's audiences form a small set SQLite builds once per statement.
            clauses.push(format!(
                "audience IN (SELECT audience FROM audience_keys WHERE {})",
                in_list("key", keys, &mut params)
            ));
        }
        let raw_col = if query.with_raw { ", raw" } else { "" };
        // Rows of known ids are read by their key; other shapes name the
        // index that bounds them.
        let index = if by_rows {
            String::new()
        } else {
            format!("INDEXED BY {}", index_for(restriction))
        };
        let sql = format!(
            "SELECT {STORED_COLUMNS}{raw_col}
             FROM objects {index} WHERE {} ORDER BY date_added LIMIT {}",
            clauses.join(" AND "),
            limit
        );
        Ok(Some((sql, params)))
    }

    fn explain(&self, collection: i64, query: &ObjectQuery) -> Vec<String> {
        // The very statements query_objects runs, with their plans.
        let conn = self.reader().expect("reader");
        let types = distinct(&query.types);
        let mut plans = Vec::new();
        for restriction in restrictions(query, &types) {
            let Some((sql, params)) = self
                .query_shape(
                    &conn,
                    collection,
                    restriction,
                    query,
                    query.limit.max(1) + 1,
                )
                .expect("shape")
            else {
                continue;
            };
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("prepare");
            let rows = stmt
                .query_map(params_from_iter(params), |r| r.get::<_, String>(3))
                .expect("plan")
                .collect::<rusqlite::Result<Vec<_>>>()
                .expect("rows");
            plans.push(rows.join(" | "));
        }
        plans
    }
}

/// `values` sorted, each once.
fn distinct(values: &[String]) -> Vec<String> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// The index-ordered shapes a query reads, merged by `date_added`: the rows
/// of its ids, or one index range per type (a single `type IN (…)` would
/// make SQLite sort every matching row before applying the limit), or the
/// whole collection's range.
fn restrictions<'q>(
    query: &'q ObjectQuery,
    types: &'q [String],
) -> Vec<Option<(&'static str, &'q [String])>> {
    if !query.ids.is_empty() {
        vec![Some(("stix_id", &query.ids))]
    } else if types.is_empty() {
        vec![None]
    } else {
        types
            .iter()
            .map(|t| Some(("type", std::slice::from_ref(t))))
            .collect()
    }
}

impl Store for SqliteStore {
    fn api_roots(&self) -> Result<Vec<ApiRoot>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT path, title, description, max_content_length FROM api_roots ORDER BY path",
            [],
            |r| {
                Ok(ApiRoot {
                    path: r.get(0)?,
                    title: r.get(1)?,
                    description: r.get(2)?,
                    max_content_length: r.get::<_, i64>(3)? as u64,
                })
            },
        )
        .map_err(db)
    }

    fn api_root(&self, path: &str) -> Result<Option<ApiRoot>> {
        Ok(self.api_roots()?.into_iter().find(|r| r.path == path))
    }

    fn create_api_root(&self, root: &ApiRoot) -> Result<()> {
        let conn = lock(&self.writer);
        cached_exec(&conn,
            "INSERT INTO api_roots (path, title, description, max_content_length) VALUES (?1, ?2, ?3, ?4)",
            params![root.path, root.title, root.description, root.max_content_length as i64],
        )
        .map_err(db)?;
        Ok(())
    }

    fn collections(&self, api_root: &str) -> Result<Vec<Collection>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            &format!(
                "SELECT {COLLECTION_COLUMNS} FROM collections WHERE api_root = ?1 ORDER BY id"
            ),
            [api_root],
            collection_from_row,
        )
        .map_err(db)
    }

    fn all_collections(&self) -> Result<Vec<Collection>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            &format!("SELECT {COLLECTION_COLUMNS} FROM collections ORDER BY created, key"),
            [],
            collection_from_row,
        )
        .map_err(db)
    }

    fn collection(&self, id: &str) -> Result<Option<Collection>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            &format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE id = ?1"),
            [id],
            collection_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn collection_by_key(&self, key: i64) -> Result<Option<Collection>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            &format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE key = ?1"),
            [key],
            collection_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn create_collection(&self, new: &NewCollection) -> Result<Collection> {
        let conn = lock(&self.writer);
        let root_exists: bool = cached_row(
            &conn,
            "SELECT EXISTS(SELECT 1 FROM api_roots WHERE path = ?1)",
            [&new.api_root],
            |r| r.get(0),
        )
        .map_err(db)?;
        if !root_exists {
            return Err(StoreError::NotFound(format!("API root {:?}", new.api_root)));
        }
        let created = now();
        let (owner_org, owner_community) = match new.owner {
            Owner::Node => (None, None),
            Owner::Org(o) => (Some(o), None),
            Owner::Community(c) => (None, Some(c)),
        };
        cached_exec(
            &conn,
            "INSERT INTO collections (id, api_root, title, description, alias, created,
                                      owner_org, owner_community, default_tlp, public)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                new.id,
                new.api_root,
                new.title,
                new.description,
                new.alias,
                created.as_micros(),
                owner_org,
                owner_community,
                tlp_rank(new.default_tlp),
                new.public
            ],
        )
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a collection with id {} already exists", new.id))
            }
            other => other,
        })?;
        Ok(Collection {
            key: conn.last_insert_rowid(),
            id: new.id.clone(),
            api_root: new.api_root.clone(),
            title: new.title.clone(),
            description: new.description.clone(),
            alias: new.alias.clone(),
            created,
            owner: new.owner,
            default_tlp: new.default_tlp,
            public: new.public,
        })
    }

    fn create_token(&self, new: &NewToken) -> Result<TokenRecord> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(db)?;
        let created = now();
        cached_exec(&tx,
            "INSERT INTO tokens (name, secret_hash, admin, created, expires, user) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new.name,
                &new.secret_hash[..],
                new.admin,
                created.as_micros(),
                new.expires.map(Timestamp::as_micros),
                new.user
            ],
        )
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a token named {:?} already exists", new.name))
            }
            other => other,
        })?;
        let id = tx.last_insert_rowid();
        for grant in &new.grants {
            let key: Option<i64> = cached_row(
                &tx,
                "SELECT key FROM collections WHERE id = ?1",
                [&grant.collection_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
            let key = key.ok_or_else(|| {
                StoreError::NotFound(format!("collection {}", grant.collection_id))
            })?;
            cached_exec(&tx,
                "INSERT INTO token_grants (token, collection, can_read, can_write) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (token, collection) DO UPDATE SET
                   can_read = can_read OR excluded.can_read, can_write = can_write OR excluded.can_write",
                params![id, key, grant.can_read, grant.can_write],
            )
            .map_err(db)?;
        }
        let record = cached_row(
            &tx,
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
            [id],
            |r| load_token(&tx, r),
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(record)
    }

    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?1"),
            [&secret_hash[..]],
            |r| load_token(&conn, r),
        )
        .optional()
        .map_err(db)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))
            .map_err(db)?;
        stmt.query_map([], |r| load_token(&conn, r))
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }

    fn revoke_token(&self, id_or_name: &str, at: Timestamp) -> Result<TokenRecord> {
        let conn = lock(&self.writer);
        let id: Option<i64> = cached_row(&conn,
                "SELECT id FROM tokens WHERE name = ?1 OR CAST(id AS TEXT) = ?1 ORDER BY name = ?1 DESC LIMIT 1",
                [id_or_name],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let id = id.ok_or_else(|| StoreError::NotFound(format!("token {id_or_name:?}")))?;
        cached_exec(
            &conn,
            "UPDATE tokens SET revoked = coalesce(revoked, ?2) WHERE id = ?1",
            params![id, at.as_micros()],
        )
        .map_err(db)?;
        cached_row(
            &conn,
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
            [id],
            |r| load_token(&conn, r),
        )
        .map_err(db)
    }

    fn touch_token(&self, id: i64, at: Timestamp) -> Result<()> {
        let conn = lock(&self.writer);
        cached_exec(
            &conn,
            "UPDATE tokens SET last_used = ?2 WHERE id = ?1",
            params![id, at.as_micros()],
        )
        .map_err(db)?;
        Ok(())
    }

    fn add_objects(
        &self,
        collection: i64,
        objects: &[Ingest],
        guard: &mut CopyGuard<'_>,
    ) -> Result<Vec<AddOutcome>> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut outcomes = Vec::with_capacity(objects.len());
        {
            let last: i64 = cached_row(
                &tx,
                "SELECT coalesce(max(date_added), 0) FROM objects",
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
            let mut next = now().as_micros().max(last + 1);
            // Inside the write transaction no other process can append, so
            // after this the id index knows every stored row.
            self.catch_up(&tx)?;
            let mut probe = tx
                .prepare_cached(
                    "SELECT o.collection, o.version, o.date_added, o.origin_org, o.tlp, a.keys, o.refs, o.stix_id
                     FROM objects o JOIN audiences a ON a.id = o.audience
                     WHERE o.date_added = ?1",
                )
                .map_err(db)?;
            let mut same_version = tx
                .prepare_cached("SELECT raw FROM objects WHERE date_added = ?1")
                .map_err(db)?;
            let mut clear_latest = tx
                .prepare_cached(
                    "UPDATE objects SET is_latest = 0 WHERE date_added = ?1 AND is_latest = 1",
                )
                .map_err(db)?;
            let mut clear_first = tx
                .prepare_cached(
                    "UPDATE objects SET is_first = 0 WHERE date_added = ?1 AND is_first = 1",
                )
                .map_err(db)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO objects (date_added, collection, stix_id, type, version, versioned,
                                          is_latest, is_first, spec_version, raw,
                                          audience, origin_org, origin_user, tlp, refs)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .map_err(db)?;
            let mut audiences = AudienceInterner::default();
            let mut candidates: Vec<i64> = Vec::new();
            for (position, ingest) in objects.iter().enumerate() {
                let object = &ingest.object;
                let versioned = object.kind != ObjectKind::Observable;
                let version = match (versioned, object.version()) {
                    (true, Some(v)) => v.as_micros(),
                    _ => 0,
                };
                // Every stored copy of this id, in any collection, oldest first.
                candidates.clear();
                self.ids
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .candidates(&object.id, &mut candidates);
                candidates.sort_unstable();
                let mut copies: Vec<CopyRecord> = Vec::new();
                let mut here: Vec<i64> = Vec::new();
                let (mut max, mut min, mut existing) = (None::<i64>, None::<i64>, None::<i64>);
                for row in &candidates {
                    let mut rows = probe.query([row]).map_err(db)?;
                    while let Some(r) = rows.next().map_err(db)? {
                        let stored_id: String = r.get(7).map_err(db)?;
                        if stored_id != object.id {
                            continue;
                        }
                        let c: i64 = r.get(0).map_err(db)?;
                        let v: i64 = r.get(1).map_err(db)?;
                        let at: i64 = r.get(2).map_err(db)?;
                        if c == collection {
                            here.push(at);
                            max = Some(max.map_or(v, |m: i64| m.max(v)));
                            min = Some(min.map_or(v, |m: i64| m.min(v)));
                            if v == version {
                                existing = Some(at);
                            }
                        }
                        let keys: String = r.get(5).map_err(db)?;
                        let refs: Option<String> = r.get(6).map_err(db)?;
                        copies.push(CopyRecord {
                            id: object.id.clone(),
                            collection: c,
                            date_added: ts(at),
                            origin_org: r.get(3).map_err(db)?,
                            tlp: tlp_from(r.get(4).map_err(db)?),
                            audience: keys
                                .split(' ')
                                .filter(|k| !k.is_empty())
                                .map(str::to_owned)
                                .collect(),
                            refs: refs
                                .map(|t| t.split(' ').map(str::to_owned).collect())
                                .unwrap_or_default(),
                        });
                    }
                }
                // The guard sees every object the node holds already, re-posts too.
                let refusal = if copies.is_empty() {
                    None
                } else {
                    guard(position, &copies)
                };
                if let Some(at) = existing {
                    let stored: String = same_version
                        .query_row(params![at], |r| r.get(0))
                        .map_err(db)?;
                    outcomes.push(if same_json(&stored, &object.raw) {
                        AddOutcome::Duplicate(ts(at))
                    } else {
                        AddOutcome::Conflict(ts(at))
                    });
                    continue;
                }
                if let Some(reason) = refusal {
                    outcomes.push(AddOutcome::Refused(reason));
                    continue;
                }
                let is_latest = max.is_none_or(|m| version > m);
                let is_first = min.is_none_or(|m| version < m);
                for row in &here {
                    if is_latest {
                        clear_latest.execute([row]).map_err(db)?;
                    }
                    if is_first {
                        clear_first.execute([row]).map_err(db)?;
                    }
                }
                let date_added = next;
                next += 1;
                let audience = audiences.id(&tx, &ingest.audience)?;
                let refs = (!ingest.refs.is_empty()).then(|| ingest.refs.join(" "));
                insert
                    .execute(params![
                        date_added,
                        collection,
                        object.id,
                        object.object_type,
                        version,
                        versioned,
                        is_latest,
                        is_first,
                        object.effective_spec_version(),
                        &*object.raw,
                        audience,
                        ingest.origin_org,
                        ingest.origin_user,
                        tlp_rank(ingest.tlp),
                        refs,
                    ])
                    .map_err(db)?;
                // Later objects of this batch must find this one. Should the
                // transaction fail, the entry points at no row and is ignored.
                self.ids
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(&object.id, date_added);
                outcomes.push(AddOutcome::Added(ts(date_added)));
            }
        }
        tx.commit().map_err(db)?;
        // Committed while holding the write lock, after catching up: every
        // row up to the last one written here is now indexed.
        if let Some(AddOutcome::Added(at)) = outcomes
            .iter()
            .rev()
            .find(|o| matches!(o, AddOutcome::Added(_)))
        {
            self.ids
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .advance(at.as_micros());
        }
        Ok(outcomes)
    }

    fn query_objects(&self, collection: i64, query: &ObjectQuery) -> Result<Page> {
        let limit = query.limit.max(1);
        let conn = self.reader()?;
        let types = distinct(&query.types);
        let restrictions = restrictions(query, &types);
        let mut shapes = Vec::with_capacity(restrictions.len());
        for restriction in restrictions {
            if let Some(shape) =
                self.query_shape(&conn, collection, restriction, query, limit + 1)?
            {
                shapes.push(shape);
            }
        }
        let mut statements = Vec::with_capacity(shapes.len());
        for (sql, _) in &shapes {
            statements.push(conn.prepare_cached(sql).map_err(db)?);
        }
        let mut streams = Vec::with_capacity(shapes.len());
        for (statement, (_, params)) in statements.iter_mut().zip(&shapes) {
            streams.push(
                statement
                    .query(params_from_iter(params.iter()))
                    .map_err(db)?,
            );
        }
        let next_of = |rows: &mut rusqlite::Rows<'_>| -> Result<Option<StoredObject>> {
            match rows.next().map_err(db)? {
                Some(row) => Ok(Some(stored_from_row(row, query.with_raw).map_err(db)?)),
                None => Ok(None),
            }
        };
        // The head of each stream, smallest `date_added` first (it is the
        // row key: no two rows share it).
        let mut heads: Vec<Option<StoredObject>> = Vec::with_capacity(streams.len());
        let mut order = BinaryHeap::new();
        for (i, rows) in streams.iter_mut().enumerate() {
            let head = next_of(rows)?;
            if let Some(o) = &head {
                order.push(Reverse((o.date_added, i)));
            }
            heads.push(head);
        }
        let budget = query.max_bytes.unwrap_or(PAGE_BYTES);
        let mut items = Vec::new();
        let mut bytes = 0usize;
        let mut more = false;
        while let Some(Reverse((_, i))) = order.pop() {
            let Some(item) = heads[i].take() else {
                continue;
            };
            if items.len() == limit || (!items.is_empty() && bytes + item.raw.len() > budget) {
                more = true;
                break;
            }
            bytes += item.raw.len();
            items.push(item);
            heads[i] = next_of(&mut streams[i])?;
            if let Some(o) = &heads[i] {
                order.push(Reverse((o.date_added, i)));
            }
        }
        Ok(Page { items, more })
    }

    fn delete_object(
        &self,
        collection: i64,
        id: &str,
        versions: &VersionMatch,
        spec_versions: &[String],
    ) -> Result<usize> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let rows = self.rows_of(&tx, std::slice::from_ref(&id.to_string()))?;
        if rows.is_empty() {
            return Ok(0);
        }
        let marks = vec!["?"; rows.len()].join(",");
        let key_params: Vec<rusqlite::types::Value> = rows
            .iter()
            .copied()
            .map(rusqlite::types::Value::from)
            .collect();
        let mut params = key_params.clone();
        params.push(collection.into());
        params.push(id.to_owned().into());
        let mut clauses = vec![
            format!("date_added IN ({marks})"),
            "collection = ?".to_string(),
            "stix_id = ?".to_string(),
            version_sql(versions, &mut params),
        ];
        if !spec_versions.is_empty() {
            clauses.push(in_list("spec_version", spec_versions, &mut params));
        }
        let deleted = cached_exec(
            &tx,
            &format!("DELETE FROM objects WHERE {}", clauses.join(" AND ")),
            params_from_iter(params),
        )
        .map_err(db)?;
        if deleted > 0 {
            // Re-mark the first and last of what remains.
            let scope = format!("date_added IN ({marks}) AND collection = ? AND stix_id = ?");
            let mut p = key_params.clone();
            p.push(collection.into());
            p.push(id.to_owned().into());
            let mut all = p.clone();
            all.extend(p.clone());
            all.extend(p);
            cached_exec(
                &tx,
                &format!(
                    "UPDATE objects SET
                       is_latest = (version = (SELECT max(version) FROM objects WHERE {scope})),
                       is_first = (version = (SELECT min(version) FROM objects WHERE {scope}))
                     WHERE {scope}"
                ),
                params_from_iter(all),
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(deleted)
    }

    fn create_org(&self, name: &str, identity_id: &str) -> Result<Org> {
        let conn = lock(&self.writer);
        let created = now();
        cached_exec(
            &conn,
            "INSERT INTO orgs (name, identity_id, created) VALUES (?1, ?2, ?3)",
            params![name, identity_id, created.as_micros()],
        )
        .map_err(conflict_as(format!(
            "an organisation named {name:?} already exists"
        )))?;
        Ok(Org {
            id: conn.last_insert_rowid(),
            name: name.to_string(),
            identity_id: identity_id.to_string(),
            created,
        })
    }

    fn orgs(&self) -> Result<Vec<Org>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT id, name, identity_id, created FROM orgs ORDER BY name",
            [],
            org_from_row,
        )
        .map_err(db)
    }

    fn org_by_id(&self, id: OrgId) -> Result<Option<Org>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT id, name, identity_id, created FROM orgs WHERE id = ?1",
            [id],
            org_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn org(&self, name_or_identity: &str) -> Result<Option<Org>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT id, name, identity_id, created FROM orgs WHERE name = ?1 OR identity_id = ?1",
            [name_or_identity],
            org_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn create_user(&self, org: OrgId, name: &str, role: Role) -> Result<User> {
        let conn = lock(&self.writer);
        let created = now();
        let org_name: Option<String> =
            cached_row(&conn, "SELECT name FROM orgs WHERE id = ?1", [org], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db)?;
        let org_name =
            org_name.ok_or_else(|| StoreError::NotFound(format!("organisation {org}")))?;
        cached_exec(
            &conn,
            "INSERT INTO users (org, name, role, created) VALUES (?1, ?2, ?3, ?4)",
            params![org, name, role.as_str(), created.as_micros()],
        )
        .map_err(conflict_as(format!(
            "{org_name} already has a user named {name:?}"
        )))?;
        Ok(User {
            id: conn.last_insert_rowid(),
            org,
            org_name,
            name: name.to_string(),
            role,
            created,
        })
    }

    fn users(&self) -> Result<Vec<User>> {
        let conn = self.reader()?;
        cached_rows(&conn, &format!(
                "SELECT {USER_COLUMNS} FROM users u JOIN orgs o ON o.id = u.org ORDER BY o.name, u.name"
            ), [], |r| user_from_row(r, 0))
            .map_err(db)
    }

    fn user(&self, path: &str) -> Result<Option<User>> {
        let conn = self.reader()?;
        let found: Vec<User> = match path.split_once('/') {
            Some((org, name)) => {
                cached_rows(&conn, &format!(
                        "SELECT {USER_COLUMNS} FROM users u JOIN orgs o ON o.id = u.org WHERE o.name = ?1 AND u.name = ?2"
                    ), [org, name], |r| user_from_row(r, 0))
                    .map_err(db)?
            }
            None => {
                cached_rows(&conn, &format!(
                        "SELECT {USER_COLUMNS} FROM users u JOIN orgs o ON o.id = u.org WHERE u.name = ?1"
                    ), [path], |r| user_from_row(r, 0))
                    .map_err(db)?
            }
        };
        if found.len() > 1 {
            return Err(StoreError::Invalid(format!(
                "several organisations have a user named {path:?}; write it as ORG/USER"
            )));
        }
        Ok(found.into_iter().next())
    }

    fn create_community(&self, name: &str, show_members: bool) -> Result<Community> {
        let conn = lock(&self.writer);
        let created = now();
        cached_exec(
            &conn,
            "INSERT INTO communities (name, show_members, created) VALUES (?1, ?2, ?3)",
            params![name, show_members, created.as_micros()],
        )
        .map_err(conflict_as(format!(
            "a community named {name:?} already exists"
        )))?;
        Ok(Community {
            id: conn.last_insert_rowid(),
            name: name.to_string(),
            show_members,
            created,
        })
    }

    fn communities(&self) -> Result<Vec<Community>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT id, name, show_members, created FROM communities ORDER BY name",
            [],
            community_from_row,
        )
        .map_err(db)
    }

    fn community(&self, name: &str) -> Result<Option<Community>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT id, name, show_members, created FROM communities WHERE name = ?1",
            [name],
            community_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn add_member(&self, community: CommunityId, org: OrgId, pseudonymous: bool) -> Result<()> {
        let conn = lock(&self.writer);
        cached_exec(&conn,
            "INSERT INTO community_members (community, org, pseudonymous, added) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (community, org) DO UPDATE SET pseudonymous = excluded.pseudonymous",
            params![community, org, pseudonymous, now().as_micros()],
        )
        .map_err(db)?;
        Ok(())
    }

    fn members(&self, community: CommunityId) -> Result<Vec<Membership>> {
        self.membership_rows("community = ?1 ORDER BY org", community)
    }

    fn memberships(&self, org: OrgId) -> Result<Vec<Membership>> {
        self.membership_rows("org = ?1 ORDER BY community", org)
    }

    fn node_secret(&self) -> Result<Vec<u8>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT value FROM node_meta WHERE key = 'pseudonym_secret'",
            [],
            |r| r.get(0),
        )
        .map_err(db)
    }

    fn copies(&self, ids: &[String]) -> Result<Vec<CopyRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.reader()?;
        let rows = self.rows_of(&conn, ids)?;
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut stmt = conn
            .prepare_cached(
                "SELECT o.stix_id, o.collection, o.date_added, o.origin_org, o.tlp, a.keys, o.refs
                 FROM objects o JOIN audiences a ON a.id = o.audience WHERE o.date_added = ?1",
            )
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let mut found = stmt.query([row]).map_err(db)?;
            while let Some(r) = found.next().map_err(db)? {
                let id: String = r.get(0).map_err(db)?;
                if !wanted.contains(id.as_str()) {
                    continue;
                }
                let keys: String = r.get(5).map_err(db)?;
                let refs: Option<String> = r.get(6).map_err(db)?;
                out.push(CopyRecord {
                    id,
                    collection: r.get(1).map_err(db)?,
                    date_added: ts(r.get(2).map_err(db)?),
                    origin_org: r.get(3).map_err(db)?,
                    tlp: tlp_from(r.get(4).map_err(db)?),
                    audience: keys
                        .split(' ')
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    refs: refs
                        .map(|t| t.split(' ').map(str::to_owned).collect())
                        .unwrap_or_default(),
                });
            }
        }
        out.sort_by_key(|c| c.date_added);
        Ok(out)
    }

    fn marking_definitions(&self, ids: &[String]) -> Result<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.reader()?;
        let rows = self.rows_of(&conn, ids)?;
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut stmt = conn
            .prepare_cached(
                "SELECT stix_id, raw FROM objects WHERE date_added = ?1 AND type = 'marking-definition'",
            )
            .map_err(db)?;
        let mut out: Vec<(String, String)> = Vec::new();
        for row in rows {
            let found: Option<(String, String)> = stmt
                .query_row([row], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db)?;
            if let Some((id, raw)) = found
                && wanted.contains(id.as_str())
                && !out.iter().any(|(seen, _)| *seen == id)
            {
                out.push((id, raw));
            }
        }
        Ok(out)
    }

    fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        self.append_audit_batch(std::slice::from_ref(entry))
    }

    fn append_audit_batch(&self, entries: &[AuditEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let last: Option<(i64, Vec<u8>, i64)> = cached_row(
            &tx,
            "SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db)?;
        let (mut seq, mut prev, last_at) = match last {
            Some((seq, hash, at)) => {
                let mut prev = [0u8; 32];
                if hash.len() == 32 {
                    prev.copy_from_slice(&hash);
                }
                (seq + 1, prev, at)
            }
            None => (1, [0u8; 32], 0),
        };
        let at = Timestamp::from_micros(now().as_micros().max(last_at));
        for entry in entries {
            let hash = crate::audit::entry_hash(&prev, seq, at, entry);
            cached_exec(
                &tx,
                "INSERT INTO audit (seq, at, token, user, org, action, collection, objects, detail, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    seq,
                    at.as_micros(),
                    entry.token,
                    entry.user,
                    entry.org,
                    entry.action,
                    entry.collection,
                    entry.objects.join(" "),
                    entry.detail,
                    &prev[..],
                    &hash[..]
                ],
            )
            .map_err(db)?;
            prev = hash;
            seq += 1;
        }
        tx.commit().map_err(db)?;
        Ok(())
    }

    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let conn = self.reader()?;
        let mut clauses = vec!["1".to_string()];
        let mut params: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(o) = filter.org {
            clauses.push("org = ?".into());
            params.push(o.into());
        }
        if let Some(u) = filter.user {
            clauses.push("user = ?".into());
            params.push(u.into());
        }
        if let Some(obj) = &filter.object {
            // Audit queries are an operator's tool, not a request path: a scan is fine.
            clauses.push("instr(objects, ?) > 0".into());
            params.push(obj.clone().into());
        }
        if let Some(t) = filter.since {
            clauses.push("at >= ?".into());
            params.push(t.as_micros().into());
        }
        if let Some(t) = filter.until {
            clauses.push("at <= ?".into());
            params.push(t.as_micros().into());
        }
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE {} ORDER BY seq LIMIT {}",
            clauses.join(" AND "),
            filter.limit.max(1)
        );
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        stmt.query_map(params_from_iter(params), audit_from_row)
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }

    fn audit_chain(&self) -> Result<Vec<AuditRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"))
            .map_err(db)?;
        stmt.query_map([], audit_from_row)
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }

    fn put_status(&self, status: &StatusRecord) -> Result<()> {
        let conn = lock(&self.writer);
        cached_exec(&conn,
            "INSERT INTO statuses (id, api_root, owner_token, created, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            params![
                status.id,
                status.api_root,
                status.owner_token,
                status.created.as_micros(),
                status.body
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    fn status(&self, id: &str) -> Result<Option<StatusRecord>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT id, api_root, owner_token, created, body FROM statuses WHERE id = ?1",
            [id],
            |r| {
                Ok(StatusRecord {
                    id: r.get(0)?,
                    api_root: r.get(1)?,
                    owner_token: r.get(2)?,
                    created: ts(r.get(3)?),
                    body: r.get(4)?,
                })
            },
        )
        .optional()
        .map_err(db)
    }

    fn purge_statuses(&self, before: Timestamp) -> Result<usize> {
        let conn = lock(&self.writer);
        cached_exec(
            &conn,
            "DELETE FROM statuses WHERE created < ?1",
            [before.as_micros()],
        )
        .map_err(db)
    }
}

const AUDIT_COLUMNS: &str =
    "seq, at, token, user, org, action, collection, objects, detail, prev_hash, hash";

fn audit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    let hash32 = |v: Vec<u8>| {
        let mut out = [0u8; 32];
        if v.len() == 32 {
            out.copy_from_slice(&v);
        }
        out
    };
    let objects: String = r.get(7)?;
    Ok(AuditRecord {
        seq: r.get(0)?,
        at: ts(r.get(1)?),
        entry: AuditEntry {
            token: r.get(2)?,
            user: r.get(3)?,
            org: r.get(4)?,
            action: r.get(5)?,
            collection: r.get(6)?,
            objects: objects
                .split(' ')
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            detail: r.get(8)?,
        },
        prev_hash: hash32(r.get(9)?),
        hash: hash32(r.get(10)?),
    })
}

impl SqliteStore {
    /// The query plans SQLite chooses for each statement `query_objects`
    /// would run: lets tests prove that no request path scans a collection.
    #[doc(hidden)]
    pub fn query_plans(&self, collection: i64, query: &ObjectQuery) -> Vec<String> {
        self.explain(collection, query)
    }
}
