//! The console's full-text index, in a database file of its own beside the
//! node's (`<database>.search`), kept up by a thread of its own.
//!
//! Why apart: FTS5's upkeep (tokenising, writing and merging segments) cost
//! a quarter of every write when it ran in the write's transaction, and a
//! SQLite file has one writer at a time. Here it runs on another core, in
//! batches of thousands of rows, and a write only wakes it.
//!
//! The index is derived, never a source of truth:
//! - it follows `objects` by row key: the one writer gives rows increasing
//!   keys and commits them in that order, so everything up to the highest
//!   key indexed (`indexed_to`) is in, and what comes after is read from
//!   `objects` itself (each object's stored bytes, through
//!   [`crate::search_text`]);
//! - a deleted row's key goes to `text_deletes` in the delete's own
//!   transaction, and the indexer takes it out of the index, then out of
//!   the queue (applying a deletion twice is harmless);
//! - the file carries the node database's `search_epoch`, set when the
//!   node's database was made: another database's index, a newer format,
//!   or an index ahead of the database (a restored backup) is emptied and
//!   built again, and so is a deleted or unreadable file.
//!
//! Readers call [`SearchIndex::catch_up`] before a query, so a search sees
//! what was written before it (up to a bound; past it the page says it is
//! incomplete).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::{cached_exec, cached_row, cached_rows, db, lock};
use crate::{Result, StoreError};

/// The format of the index file; another one is rebuilt. (2: each row's
/// collection is indexed too, so that a search reads only the matches of
/// the collections it may read; 3: no STIX identifiers in the text.)
const FORMAT: i64 = 3;
/// Rows the background thread indexes per transaction.
const BATCH: usize = 5_000;
/// How long the thread lets writes gather after a wake-up: bigger batches
/// make fewer, larger segments for FTS5 to merge.
const GATHER: Duration = Duration::from_millis(50);
/// How often the thread looks without being woken (writes of other
/// processes on the same database do not wake it).
const IDLE: Duration = Duration::from_secs(1);

/// The index file of the node database at `database`.
pub(crate) fn path_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".search");
    PathBuf::from(name)
}

/// The full-text index and its one connection.
pub(crate) struct SearchIndex {
    conn: Mutex<Connection>,
}

/// What one round reads of the node's database: the deleted rows' keys,
/// the new rows (key, collection, stored bytes), and whether more follow.
type Snapshot = (Vec<i64>, Vec<(i64, i64, String)>, bool);

/// The index: the three columns searched, and `coll`, the row's collection
/// as one token (`c<key>`), which only [`SearchIndex::matches`] queries.
const TABLE: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS object_text USING fts5(
    name, description, pattern, coll, content = '', contentless_delete = 1
);";

/// What one round of [`SearchIndex::catch_up`] left.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Every row committed when the round began is in the index.
    Done,
    /// Rows remain (the round stopped at its bound); every listed row up
    /// to this key is in.
    Behind(i64),
}

impl SearchIndex {
    /// Opens the index at `path` for the node database that `main` is
    /// connected to, emptying it when it is not that database's.
    pub(crate) fn open(path: &Path, main: &Connection) -> Result<SearchIndex> {
        let epoch = epoch_of(main)?;
        let conn = match Self::open_file(path, &epoch, main) {
            Ok(c) => c,
            Err(_) => {
                // Unreadable (truncated, not a database): it is derived, so
                // start it again from nothing.
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.as_os_str().to_owned();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
                Self::open_file(path, &epoch, main)?
            }
        };
        Ok(SearchIndex {
            conn: Mutex::new(conn),
        })
    }

    fn open_file(path: &Path, epoch: &[u8], main: &Connection) -> Result<Connection> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        // FULL: a round's deletions are on disk before they leave the
        // node database's queue (a power loss must not keep a deleted
        // object's words).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
             {TABLE}
             COMMIT;"
        ))
        .map_err(db)?;
        let meta = |key: &str| -> Result<Option<rusqlite::types::Value>> {
            conn.query_row("SELECT value FROM search_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(db)
        };
        let newest: i64 = main
            .query_row(
                "SELECT coalesce(max(date_added), 0) FROM objects",
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
        let theirs = matches!(meta("epoch")?, Some(rusqlite::types::Value::Blob(b)) if b == epoch);
        let format_ok =
            matches!(meta("format")?, Some(rusqlite::types::Value::Integer(f)) if f == FORMAT);
        let indexed_to = match meta("indexed_to")? {
            Some(rusqlite::types::Value::Integer(i)) => i,
            _ => 0,
        };
        if !theirs || !format_ok || indexed_to > newest {
            conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
            let reset = (|| -> rusqlite::Result<()> {
                // Made again: an older format's table has other columns.
                conn.execute_batch(&format!("DROP TABLE object_text; {TABLE}"))?;
                conn.execute(
                    "INSERT OR REPLACE INTO search_meta (key, value) VALUES
                         ('epoch', ?1), ('format', ?2), ('indexed_to', 0)",
                    params![epoch, FORMAT],
                )?;
                Ok(())
            })();
            match reset {
                Ok(()) => conn.execute_batch("COMMIT").map_err(db)?,
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(db(e));
                }
            }
        }
        Ok(conn)
    }

    /// Brings the index up to what `main` (a connection to the node's
    /// database, used for reads) shows, indexing at most `max_rows` rows,
    /// oldest first; applies the deletions waiting in `text_deletes`, then
    /// has `forget` take them out of that queue.
    pub(crate) fn catch_up(
        &self,
        main: &Connection,
        max_rows: usize,
        forget: impl FnOnce(&[i64]) -> Result<()>,
    ) -> Result<Progress> {
        let mut conn = lock(&self.conn);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let indexed_to: i64 = cached_row(
            &tx,
            "SELECT value FROM search_meta WHERE key = 'indexed_to'",
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
        // One snapshot of the node's database for the deletions and the new
        // rows: a row is either still there (and indexed; its deletion, to
        // come, will take it out) or deleted with its key queued.
        main.execute_batch("BEGIN").map_err(db)?;
        let read = (|| -> Result<Snapshot> {
            let deleted: Vec<i64> =
                cached_rows(main, "SELECT row FROM text_deletes ORDER BY row", [], |r| {
                    r.get(0)
                })
                .map_err(db)?;
            let mut rows: Vec<(i64, i64, String)> = cached_rows(
                main,
                "SELECT date_added, collection, raw FROM objects WHERE date_added > ?1 AND listed = 1
                 ORDER BY date_added LIMIT ?2",
                params![indexed_to, max_rows as i64 + 1],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(db)?;
            let behind = rows.len() > max_rows;
            rows.truncate(max_rows);
            Ok((deleted, rows, behind))
        })();
        let _ = main.execute_batch("COMMIT");
        let (deleted, rows, behind) = read?;
        let mut newest = indexed_to;
        for (row, collection, raw) in &rows {
            let text = crate::search_text(raw);
            if !text.is_empty() {
                cached_exec(
                    &tx,
                    "INSERT INTO object_text (rowid, name, description, pattern, coll)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        row,
                        text.name,
                        text.description,
                        text.pattern,
                        format!("c{collection}")
                    ],
                )
                .map_err(db)?;
            }
            newest = *row;
        }
        for row in &deleted {
            cached_exec(&tx, "DELETE FROM object_text WHERE rowid = ?1", [row]).map_err(db)?;
        }
        if newest != indexed_to {
            cached_exec(
                &tx,
                "UPDATE search_meta SET value = ?1 WHERE key = 'indexed_to'",
                [newest],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        drop(conn);
        if !deleted.is_empty() {
            forget(&deleted)?;
        }
        Ok(if behind {
            Progress::Behind(newest)
        } else {
            Progress::Done
        })
    }

    /// Rows of `collections` whose name, description or pattern match
    /// `query` (FTS5 syntax, made safe by the caller), with keys in
    /// `[since, before)`, newest first, at most `limit`. The collections
    /// narrow the match inside the index, so that the rows examined are
    /// the reader's collections' only.
    pub(crate) fn matches(
        &self,
        query: &str,
        collections: &[i64],
        before: i64,
        since: i64,
        limit: usize,
    ) -> Result<Vec<i64>> {
        if collections.is_empty() {
            return Ok(Vec::new());
        }
        let within = collections
            .iter()
            .map(|c| format!("c{c}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let query = format!("{{name description pattern}} : ({query}) AND coll : ({within})");
        let conn = lock(&self.conn);
        cached_rows(
            &conn,
            "SELECT rowid FROM object_text WHERE object_text MATCH ?1 AND rowid < ?2 AND rowid >= ?3
             ORDER BY rowid DESC LIMIT ?4",
            params![query, before, since, limit as i64],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            // SQLITE_ERROR from MATCH is the query text's fault (FTS5
            // syntax); I/O and corruption come with codes of their own.
            rusqlite::Error::SqliteFailure(e, Some(m)) if e.code == rusqlite::ErrorCode::Unknown => {
                StoreError::Invalid(format!("the search text cannot be read: {m}"))
            }
            other => db(other),
        })
    }
}

/// The node database's `search_epoch` (set by schema step 12).
fn epoch_of(main: &Connection) -> Result<Vec<u8>> {
    main.query_row(
        "SELECT value FROM node_meta WHERE key = 'search_epoch'",
        [],
        |r| r.get(0),
    )
    .map_err(db)
}

/// The thread that keeps the index up with the node's writes.
pub(crate) struct Indexer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Indexer {
    /// Starts the thread for the node database at `database`, with
    /// connections of its own to it.
    pub(crate) fn start(index: Arc<SearchIndex>, database: &Path) -> Option<Indexer> {
        let reader = Connection::open_with_flags(
            database,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        reader.busy_timeout(Duration::from_secs(30)).ok()?;
        let writer = Connection::open(database).ok()?;
        writer.busy_timeout(Duration::from_secs(30)).ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("search-index".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    loop {
                        let round = index.catch_up(&reader, BATCH, |rows| forget(&writer, rows));
                        match round {
                            Ok(Progress::Behind(_)) if !flag.load(Ordering::Relaxed) => continue,
                            Ok(_) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "full-text indexing failed; retrying");
                                break;
                            }
                        }
                    }
                    std::thread::park_timeout(IDLE);
                    if !flag.load(Ordering::Relaxed) {
                        std::thread::sleep(GATHER);
                    }
                }
            })
            .ok()?;
        Some(Indexer {
            stop,
            thread: Some(thread),
        })
    }

    /// Tells the thread that rows were written or deleted.
    pub(crate) fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Takes deletions the index has applied out of `text_deletes`.
pub(crate) fn forget(main: &Connection, rows: &[i64]) -> Result<()> {
    let tx = main.unchecked_transaction().map_err(db)?;
    for row in rows {
        cached_exec(&tx, "DELETE FROM text_deletes WHERE row = ?1", [row]).map_err(db)?;
    }
    tx.commit().map_err(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node database with `n` listed malware rows named `word<k>`, and
    /// one signed manifest (not listed) among them.
    fn node_db(dir: &Path, n: i64) -> Connection {
        let mut conn = Connection::open(dir.join("n.db")).unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO api_roots (path, title, max_content_length) VALUES ('api1', 't', 1000);
             INSERT INTO collections (key, id, api_root, title, created, default_tlp)
                 VALUES (1, '91a7b528-80eb-42ed-a74d-c6fbd5a26116', 'api1', 'c', 0, 1);
             INSERT INTO audiences (id, keys) VALUES (2, 'green');",
        )
        .unwrap();
        for k in 1..=n {
            let (kind, listed) = if k == 2 {
                ("x-entente-manifest", 0)
            } else {
                ("malware", 1)
            };
            conn.execute(
                "INSERT INTO objects (date_added, collection, stix_id, type, version, versioned,
                                      is_latest, is_first, spec_version, raw, audience, listed)
                 VALUES (?1, 1, ?2, ?3, 1, 1, 1, 1, '2.1', ?4, 2, ?5)",
                params![
                    k * 1000,
                    format!("{kind}--{k}"),
                    kind,
                    format!(r#"{{"type":"{kind}","name":"word{k}"}}"#),
                    listed
                ],
            )
            .unwrap();
        }
        conn
    }

    fn hits(index: &SearchIndex, word: &str) -> Vec<i64> {
        index.matches(word, &[1], i64::MAX, 0, 100).unwrap()
    }

    #[test]
    fn catch_up_is_bounded_resumes_where_it_stopped_and_skips_unlisted_rows() {
        let dir = tempfile::tempdir().unwrap();
        let main = node_db(dir.path(), 5);
        let index = SearchIndex::open(&path_for(&dir.path().join("n.db")), &main).unwrap();
        let none = |_: &[i64]| -> Result<()> { Ok(()) };
        // Two listed rows per round: 1 and 3 (2 is a manifest), then 4 and 5.
        assert_eq!(
            index.catch_up(&main, 2, none).unwrap(),
            Progress::Behind(3000)
        );
        assert_eq!(hits(&index, "word3"), [3000]);
        assert!(hits(&index, "word4").is_empty(), "not reached yet");
        assert_eq!(index.catch_up(&main, 2, none).unwrap(), Progress::Done);
        for k in [1, 3, 4, 5] {
            assert_eq!(hits(&index, &format!("word{k}")), [k * 1000]);
        }
        assert!(
            hits(&index, "word2").is_empty(),
            "manifests are not indexed"
        );
        // Nothing new: nothing done, and nothing indexed twice.
        assert_eq!(index.catch_up(&main, 2, none).unwrap(), Progress::Done);
        assert_eq!(hits(&index, "word1"), [1000]);
    }

    #[test]
    fn the_words_an_object_is_found_by() {
        let t = crate::search_text(
            r#"{"type":"indicator","name":"C2","description":"Beacon","pattern":"[ipv4-addr:value = '1.2.3.4']"}"#,
        );
        assert_eq!(
            (t.name.as_str(), t.description.as_str(), t.pattern.as_str()),
            ("C2", "Beacon", "[ipv4-addr:value = '1.2.3.4']")
        );
        // An observable without a name is found by its value.
        assert_eq!(
            crate::search_text(r#"{"type":"domain-name","value":"evil.example"}"#).name,
            "evil.example"
        );
        assert!(crate::search_text(r#"{"type":"ipv4-addr","value":7}"#).is_empty());
        assert!(crate::search_text("not json").is_empty());
        // STIX identifiers are not searchable (a pseudonymous member's real
        // identity id would find what it posts under its pseudonym).
        let t = crate::search_text(
            r#"{"type":"note","name":"seen by identity--0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d today","description":"x-acme-thing--0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d, and a--b and identity--not-a-uuid"}"#,
        );
        assert_eq!(t.name, "seen by  today");
        assert_eq!(t.description, ", and a--b and identity--not-a-uuid");
    }

    #[test]
    fn deletions_apply_whether_or_not_the_row_was_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let main = node_db(dir.path(), 4);
        let index = SearchIndex::open(&path_for(&dir.path().join("n.db")), &main).unwrap();
        let none = |_: &[i64]| -> Result<()> { Ok(()) };
        assert_eq!(
            index.catch_up(&main, 1, none).unwrap(),
            Progress::Behind(1000)
        );
        // Row 1000 indexed, row 4000 not yet: both deleted.
        main.execute_batch(
            "DELETE FROM objects WHERE date_added IN (1000, 4000);
             INSERT INTO text_deletes (row) VALUES (1000), (4000);",
        )
        .unwrap();
        let mut forgotten = Vec::new();
        assert_eq!(
            index
                .catch_up(&main, 100, |rows| {
                    forgotten.extend_from_slice(rows);
                    forget(&main, rows)
                })
                .unwrap(),
            Progress::Done
        );
        assert_eq!(forgotten, [1000, 4000]);
        assert!(hits(&index, "word1").is_empty());
        assert!(hits(&index, "word4").is_empty());
        assert_eq!(hits(&index, "word3"), [3000]);
        let queued: i64 = main
            .query_row("SELECT count(*) FROM text_deletes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(queued, 0);
    }
}
