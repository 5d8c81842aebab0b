//! The embedded store: SQLite in WAL mode, one writer connection, a pool of
//! read-only connections so reads run in parallel with each other and with
//! the writer.
//!
//! One module per store trait: `objects`, `directory`, `audit`, `statuses`,
//! `incidents`; this one owns the connections and the helpers they share.

mod audit;
mod console;
mod directory;
mod id_index;
mod incidents;
mod objects;
mod peers;
pub(crate) mod schema;
mod search;
mod sessions;
mod statuses;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};
use sharing::Tlp;
use stix::Timestamp;

use crate::{PoolUse, Result, StoreError};
use id_index::IdIndex;

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

/// The SQLite implementation of [`crate::Store`].
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    ids: std::sync::RwLock<IdIndex>,
    /// The console's full-text index (a file of its own, `search.rs`).
    search: std::sync::Arc<search::SearchIndex>,
    /// Its thread; `None` only if the thread could not be started (then
    /// searches catch the index up themselves).
    indexer: Option<search::Indexer>,
    _checkpointer: Option<Checkpointer>,
    /// Connection use, for monitoring ([`SqliteStore::connection_use`]).
    usage: Usage,
}

/// What the connections are doing now.
#[derive(Default)]
struct Usage {
    /// Read connections handed out and not yet returned.
    readers_busy: AtomicU64,
    /// 1 while an operation holds the writer.
    writer_busy: AtomicU64,
    /// Operations waiting for the writer.
    writer_waiting: AtomicU64,
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
        let search = std::sync::Arc::new(search::SearchIndex::open(
            &search::path_for(&path),
            &writer,
        )?);
        let indexer = search::Indexer::start(search.clone(), &path);
        Ok(SqliteStore {
            path,
            options,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            ids: std::sync::RwLock::new(ids),
            search,
            indexer,
            _checkpointer: checkpointer,
            usage: Usage::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tells the full-text index's thread that rows were written or
    /// deleted.
    pub(crate) fn wake_indexer(&self) {
        if let Some(i) = &self.indexer {
            i.wake();
        }
    }

    /// Brings the full-text index up to the rows `conn` shows before a
    /// search of `collections` reads it, taking in at most
    /// [`SEARCH_CATCH_UP`] rows; returns whether rows of those collections
    /// were left out (the search is then incomplete). Rows of other
    /// collections left out do not count: the reader would otherwise learn
    /// of a bulk import into a collection it cannot read.
    fn search_catch_up(&self, conn: &Connection, collections: &[i64]) -> Result<bool> {
        let progress = self.search.catch_up(conn, SEARCH_CATCH_UP, |rows| {
            search::forget(&self.write_connection(), rows)
        })?;
        let search::Progress::Behind(indexed_to) = progress else {
            return Ok(false);
        };
        for c in collections {
            let left: Option<i64> = rusqlite::OptionalExtension::optional(cached_row(
                conn,
                "SELECT 1 FROM objects INDEXED BY objects_by_added
                 WHERE collection = ?1 AND date_added > ?2 AND listed = 1 LIMIT 1",
                rusqlite::params![c, indexed_to],
                |r| r.get(0),
            ))
            .map_err(db)?;
            if left.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The single writer connection, for the other store traits' writes.
    pub(crate) fn write_connection(&self) -> Writer<'_> {
        self.usage.writer_waiting.fetch_add(1, Ordering::Relaxed);
        let conn = lock(&self.writer);
        self.usage.writer_waiting.fetch_sub(1, Ordering::Relaxed);
        self.usage.writer_busy.fetch_add(1, Ordering::Relaxed);
        Writer {
            conn,
            busy: &self.usage.writer_busy,
        }
    }

    /// How busy the connections are: the pool of read connections (never
    /// waited for: another one is opened when none is free) and the single
    /// writer (operations queue for it).
    pub fn connection_use(&self) -> Vec<PoolUse> {
        let idle_readers = lock(&self.readers).len() as u64;
        let writer_busy = self.usage.writer_busy.load(Ordering::Relaxed).min(1);
        vec![
            PoolUse {
                pool: "read",
                busy: self.usage.readers_busy.load(Ordering::Relaxed),
                idle: idle_readers,
                waiting: None,
            },
            PoolUse {
                pool: "write",
                busy: writer_busy,
                idle: 1 - writer_busy,
                waiting: Some(self.usage.writer_waiting.load(Ordering::Relaxed)),
            },
        ]
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
        self.usage.readers_busy.fetch_add(1, Ordering::Relaxed);
        Ok(Reader {
            conn: Some(conn),
            pool: &self.readers,
            busy: &self.usage.readers_busy,
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
    // One plan per statement whatever its bound values. Otherwise SQLite
    // (3.54) re-prepares a statement whose `LIMIT ?` (or a parameter a
    // partial index is matched against) gets a new value, and rusqlite
    // clears the values each time a cached statement goes back to its
    // cache: every such statement was compiled again at every use (half
    // the time of an import of MISP events went there). Queries spell the
    // conditions of partial indexes as literals, so no plan changes.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(db)?;
    Ok(())
}

/// Most rows a search indexes itself before it reads the full-text index
/// (the index's thread normally leaves none: this bounds the wait after a
/// bulk import, or while the index is rebuilt).
const SEARCH_CATCH_UP: usize = 10_000;

/// Idle read connections kept open (each holds its own page cache).
const MAX_POOLED_READERS: usize = 8;

/// A pooled read-only connection, returned to the pool when dropped.
struct Reader<'a> {
    conn: Option<Connection>,
    pool: &'a Mutex<Vec<Connection>>,
    busy: &'a AtomicU64,
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
        self.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The writer connection, held by one operation until dropped.
pub(crate) struct Writer<'a> {
    conn: MutexGuard<'a, Connection>,
    busy: &'a AtomicU64,
}

impl std::ops::Deref for Writer<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Equal as JSON values (key order and whitespace do not matter).
pub(crate) fn same_json(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

pub(crate) fn ts(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

pub(crate) fn opt_ts(micros: Option<i64>) -> Option<Timestamp> {
    micros.map(Timestamp::from_micros)
}
/// `query_row` through the connection's statement cache: the statements of
/// the request paths are prepared once per connection, not per request.
pub(crate) fn cached_row<T, P: rusqlite::Params>(
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
pub(crate) fn cached_exec<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}
/// TLP levels are stored as their rank (0 CLEAR … 4 RED).
pub(crate) fn tlp_rank(t: Option<Tlp>) -> Option<i64> {
    t.map(|t| match t {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    })
}

pub(crate) fn tlp_from(rank: Option<i64>) -> Option<Tlp> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(store: &SqliteStore, name: &str) -> PoolUse {
        store
            .connection_use()
            .into_iter()
            .find(|p| p.pool == name)
            .unwrap()
    }

    #[test]
    fn connection_use_follows_the_connections() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("use.db"), SqliteOptions::default()).unwrap();
        let read = pool(&store, "read");
        assert_eq!((read.busy, read.waiting), (0, None));
        let write = pool(&store, "write");
        assert_eq!((write.busy, write.idle, write.waiting), (0, 1, Some(0)));

        let (a, b) = (store.reader().unwrap(), store.reader().unwrap());
        assert_eq!(pool(&store, "read").busy, 2);
        drop((a, b));
        let read = pool(&store, "read");
        assert_eq!((read.busy, read.idle), (0, 2));

        let held = store.write_connection();
        let write = pool(&store, "write");
        assert_eq!((write.busy, write.idle), (1, 0));
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let _conn = store.write_connection();
            });
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while pool(&store, "write").waiting != Some(1) {
                assert!(std::time::Instant::now() < deadline, "no waiter seen");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            drop(held);
            waiter.join().unwrap();
        });
        let write = pool(&store, "write");
        assert_eq!((write.busy, write.idle, write.waiting), (0, 1, Some(0)));
    }
}
