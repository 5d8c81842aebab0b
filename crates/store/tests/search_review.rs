//! Hostile review of the console's full-text index in its own file
//! (`entente.db.search`, `crates/store/src/sqlite/search.rs`).
//!
//! Tests marked `#[ignore = "FINDING: ..."]` fail today and pin a finding
//! (run them with `cargo test -p store --test search_review -- --ignored`);
//! the others are attacks that held.

use sharing::{AudienceKey, Owner};
use stix::{Timestamp, Tlp, Validator};
use store::ConsoleStore;
use store::{
    AuditEntry, CountScope, DirectoryStore, Ingest, ListQuery, NewCollection, ObjectStore,
    SqliteOptions, SqliteStore, VersionMatch,
};

const COLL_A: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
const COLL_B: &str = "0c1f4b5e-4b0e-4c55-9a36-2f6f3f0b1c2d";

fn collection(store: &SqliteStore, id: &str) -> i64 {
    store
        .create_collection(
            &NewCollection {
                id: id.into(),
                api_root: "api1".into(),
                title: id.into(),
                description: None,
                alias: None,
                owner: Owner::Node,
                default_tlp: None,
                public: false,
                signed: true,
                hide_expired: false,
            },
            &AuditEntry::default(),
        )
        .unwrap()
        .key
}

/// A store with two collections (A, B).
fn open(dir: &tempfile::TempDir) -> (SqliteStore, i64, i64) {
    let store = SqliteStore::open(dir.path().join("node.db"), SqliteOptions::default()).unwrap();
    store
        .create_api_root(
            &store::ApiRoot {
                path: "api1".into(),
                title: "t".into(),
                description: None,
                max_content_length: 1 << 20,
            },
            &AuditEntry::default(),
        )
        .unwrap();
    let a = collection(&store, COLL_A);
    let b = collection(&store, COLL_B);
    (store, a, b)
}

fn reopen(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("node.db"), SqliteOptions::default()).unwrap()
}

fn malware_id(n: u32) -> String {
    format!("malware--00000000-0000-4000-8000-{n:012x}")
}

fn malware(n: u32, name: &str, audience: AudienceKey) -> Ingest {
    let raw = format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"{}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"{name}","is_family":true}}"#,
        malware_id(n)
    );
    let object = Validator::new().validate_str(0, &raw).unwrap();
    Ingest {
        audience: vec![audience],
        tlp: Some(Tlp::Green),
        ..Ingest::open(object)
    }
}

fn add(store: &SqliteStore, c: i64, objects: &[Ingest]) {
    store
        .add_objects(c, objects, &mut |_, _| None, &AuditEntry::default())
        .unwrap();
}

fn scope(c: i64, audience: Option<Vec<AudienceKey>>) -> CountScope {
    CountScope {
        collection: c,
        audience,
        max_tlp: None,
    }
}

fn page(
    store: &SqliteStore,
    scopes: &[CountScope],
    text: &str,
    limit: usize,
    budget: usize,
) -> store::ListPage {
    store
        .list_newest(
            scopes,
            &ListQuery {
                text: Some(text.into()),
                limit,
                max_examined: budget,
                ..Default::default()
            },
        )
        .unwrap()
}

fn search(store: &SqliteStore, c: i64, text: &str) -> Vec<String> {
    page(store, &[scope(c, None)], text, 10, 100)
        .items
        .into_iter()
        .map(|(_, o)| o.id)
        .collect()
}

fn rows_of(store: &SqliteStore, c: i64, id: &str) -> Vec<Timestamp> {
    store
        .query_objects(
            c,
            &store::ObjectQuery {
                ids: vec![id.to_string()],
                versions: VersionMatch::all(),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap()
        .items
        .iter()
        .map(|o| o.date_added)
        .collect()
}

fn delete(store: &SqliteStore, c: i64, id: &str) {
    let rows = rows_of(store, c, id);
    assert!(!rows.is_empty());
    store
        .delete_rows(c, id, &rows, &AuditEntry::default())
        .unwrap();
}

/// The bytes of the index file and its WAL.
fn index_bytes(dir: &tempfile::TempDir) -> Vec<u8> {
    let mut out = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(b) = std::fs::read(dir.path().join(format!("node.db.search{suffix}"))) {
            out.extend(b);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// FINDING (medium): a deleted object's words stay on disk in
/// `entente.db.search` after the deletion has been applied.
///
/// The table is `contentless_delete = 1`: a DELETE writes a tombstone, the
/// term stays in the FTS5 segment (and in `object_text_idx`'s leaf keys)
/// until a merge rewrites it, and SQLite does not zero freed pages
/// (`secure_delete` is off). The store's own test checks only that MATCH no
/// longer finds the row, and the README's promise ("a deleted object's
/// words do not stay on disk", tests/console.rs) is not kept: whoever gets
/// the index file (a backup of the data directory, a support bundle, a
/// copied-in index) reads the names/descriptions/patterns of objects that
/// were deleted, e.g. because they exposed a hidden source.
///
/// Reproduction: add an object named with a unique word, search (indexes
/// it), delete it, search (applies the deletion), close the store, grep the
/// index file and its WAL for the word.
///
/// Suggested fix: `PRAGMA secure_delete = ON` on the index connection, and
/// after applying deletions run `INSERT INTO object_text(object_text)
/// VALUES('optimize')` (or a `merge` that rewrites the segments holding
/// tombstones) before COMMIT, then `wal_checkpoint(TRUNCATE)`; or keep the
/// deleted rows' terms out of the file by rebuilding the segment.
#[test]
#[ignore = "FINDING: a deleted object's words stay on disk in entente.db.search (tombstoned, not erased)"]
fn a_deleted_objects_words_do_not_stay_in_the_index_file() {
    let dir = tempfile::tempdir().unwrap();
    let word = "qzxjvkwhistleblowersource";
    {
        let (store, a, _) = open(&dir);
        let filler: Vec<Ingest> = (10..60)
            .map(|n| malware(n, &format!("filler{n} common"), AudienceKey::Green))
            .collect();
        add(&store, a, &filler);
        add(&store, a, &[malware(1, word, AudienceKey::Green)]);
        assert_eq!(
            search(&store, a, &format!("\"{word}\"")),
            vec![malware_id(1)]
        );
        delete(&store, a, &malware_id(1));
        assert!(search(&store, a, &format!("\"{word}\"")).is_empty());
        // More writes and searches afterwards: still there.
        add(&store, a, &[malware(2, "later", AudienceKey::Green)]);
        assert_eq!(search(&store, a, "\"later\""), vec![malware_id(2)]);
    }
    // Closed: the WAL is checkpointed into the file.
    let bytes = index_bytes(&dir);
    assert!(
        !contains(&bytes, word.as_bytes()) && !contains(&bytes, &word.as_bytes()[4..]),
        "the deleted object's word is still in the index file"
    );
}

/// FINDING (low, availability): deleting the newest object and restarting
/// throws the whole index away and rebuilds it.
///
/// `open_file` treats `indexed_to > max(date_added)` as "the database was
/// restored from an older copy"; but deleting the newest row (a withdrawn
/// report, `entente delete`, a retention sweep) makes exactly that true.
/// With a million objects every restart after such a delete rebuilds the
/// index from nothing; meanwhile searches say they are incomplete and
/// miss most matches.
///
/// Reproduction: add two objects, search, delete the newer, close, plant a
/// marker row in the index file, reopen: the marker is gone (index dropped).
///
/// Suggested fix: compare with the highest key ever allocated rather than
/// the highest key present (e.g. keep `last_row` in node_meta, updated in
/// the write transaction, or compare `indexed_to` with
/// `max(max(date_added), max(text_deletes.row))` and remember the epoch of
/// a restore explicitly); or detect a restored database by its own epoch
/// changing (a restore tool rewriting `search_epoch`).
#[test]
#[ignore = "FINDING: deleting the newest object makes the next start rebuild the whole search index"]
fn deleting_the_newest_object_does_not_make_the_next_start_rebuild_the_index() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, a, _) = open(&dir);
        add(&store, a, &[malware(1, "alpha", AudienceKey::Green)]);
        add(&store, a, &[malware(2, "beta", AudienceKey::Green)]);
        assert_eq!(search(&store, a, "\"alpha\""), vec![malware_id(1)]);
        delete(&store, a, &malware_id(2));
        assert!(search(&store, a, "\"beta\"").is_empty());
    }
    // A marker only the existing index holds.
    {
        let conn = rusqlite::Connection::open(dir.path().join("node.db.search")).unwrap();
        conn.execute(
            "INSERT INTO object_text (rowid, name, description, pattern, coll) VALUES (1, 'keptmarker', '', '', 'c0')",
            [],
        )
        .unwrap();
    }
    let store = reopen(&dir);
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("node.db.search")).unwrap();
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM object_text WHERE object_text MATCH 'keptmarker'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1, "the index was dropped and rebuilt at start");
}

/// FINDING (low, information): "the search is incomplete" tells a reader of
/// one collection that more than 10,000 objects were just written to
/// collections it may not read.
///
/// `search_catch_up` counts every unindexed row of the node, whatever its
/// collection, so a member that reads only collection A, searching right
/// after another member's bulk import into B, sees the incomplete note
/// (and the search takes longer, indexing B's rows inline): an oracle on
/// other collections' activity (who is reporting, when, how much).
///
/// Suggested fix: decide "incomplete" from the reader's collections only
/// (`SELECT 1 FROM objects WHERE date_added > indexed_to AND collection IN
/// (...) AND listed = 1 LIMIT 1` after the bounded catch-up).
#[test]
fn the_incomplete_note_does_not_reveal_writes_to_other_collections() {
    let dir = tempfile::tempdir().unwrap();
    let (store, a, b) = open(&dir);
    add(&store, a, &[malware(1, "ours", AudienceKey::Green)]);
    assert_eq!(search(&store, a, "\"ours\""), vec![malware_id(1)]);
    // Far more than the catch-up bound (10,000) plus what the index's
    // thread may take in (5,000 a round) before the search runs.
    let theirs: Vec<Ingest> = (2..30_000u32)
        .map(|n| malware(n, "theirs", AudienceKey::Green))
        .collect();
    // Hold the index file's write lock while B is written, as a busy
    // indexer would be: the thread cannot take B's rows in meanwhile.
    let blocker = rusqlite::Connection::open(dir.path().join("node.db.search")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    add(&store, b, &theirs);
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    let p = page(&store, &[scope(a, None)], "\"ours\"", 10, 100);
    assert_eq!(p.items.len(), 1);
    assert!(
        !p.search_incomplete,
        "a reader of A learns that B received a bulk import"
    );
}

/// FINDING (medium, pre-existing in the search path, kept by this change):
/// the "older objects" cursor of a search points at a match the reader may
/// not see.
///
/// When the index returns `max_examined` matches of the reader's
/// collections and fewer than `limit` of them are visible, `resume_before`
/// is the key (= `date_added`, to the microsecond) of the oldest match
/// examined, which may be a hidden one (another audience, above the
/// token's ceiling). The node passes it on as the "Older objects" link. A
/// member that pads the budget with objects it cannot see through a
/// narrowed (low-ceiling) token learns whether some hidden object matches
/// a word (e.g. a hidden source's name), and when it was added.
///
/// Suggested fix: for a text query, resume at the oldest *visible* item (or
/// at the examined boundary only when it is visible), and give no cursor
/// (or a coarse one) when the examined rows end in hidden ones; or
/// filter by audience inside the index (an audience token like `coll`).
#[test]
#[ignore = "FINDING: a search's resume_before is the date_added of a hidden match"]
fn a_searchs_cursor_does_not_point_at_a_hidden_match() {
    let dir = tempfile::tempdir().unwrap();
    let (store, a, _) = open(&dir);
    add(
        &store,
        a,
        &[malware(1, "informant visible", AudienceKey::Green)],
    );
    let hidden: Vec<Ingest> = (2..8)
        .map(|n| malware(n, "informant hidden", AudienceKey::Members))
        .collect();
    add(&store, a, &hidden);
    let hidden_rows: Vec<Timestamp> = (2..8)
        .flat_map(|n| rows_of(&store, a, &malware_id(n)))
        .collect();
    let reader = [scope(a, Some(vec![AudienceKey::Green, AudienceKey::Clear]))];
    // A page of 2, at most 3 matches examined: the three newest are hidden.
    let p = page(&store, &reader, "\"informant\"", 2, 3);
    assert!(p.items.is_empty(), "the hidden matches are not listed");
    if let Some(at) = p.resume_before {
        assert!(
            !hidden_rows.contains(&at),
            "the cursor is the date_added of a hidden match: {at:?}"
        );
    }
}

/// HELD: another process (a CLI `import`/`delete` on the same data
/// directory) deletes an object: the serving process's next search does
/// not find it, and the other process's index upkeep does not disturb it.
#[test]
fn a_delete_by_another_process_is_applied_before_the_next_search() {
    let dir = tempfile::tempdir().unwrap();
    let (serve, a, b) = open(&dir);
    add(
        &serve,
        a,
        &[malware(1, "sharedword first", AudienceKey::Green)],
    );
    assert_eq!(search(&serve, a, "\"sharedword\""), vec![malware_id(1)]);
    {
        let cli = reopen(&dir);
        add(
            &cli,
            b,
            &[malware(2, "sharedword second", AudienceKey::Green)],
        );
        delete(&cli, a, &malware_id(1));
        add(
            &cli,
            a,
            &[malware(3, "sharedword third", AudienceKey::Green)],
        );
    }
    assert_eq!(search(&serve, a, "\"sharedword\""), vec![malware_id(3)]);
    assert_eq!(search(&serve, b, "\"sharedword\""), vec![malware_id(2)]);
    // Interleaved writes of both processes are all found.
    let cli = reopen(&dir);
    for n in 10..20u32 {
        let target = if n % 2 == 0 { &serve } else { &cli };
        add(
            target,
            a,
            &[malware(n, &format!("interleaved n{n}"), AudienceKey::Green)],
        );
    }
    assert_eq!(search(&serve, a, "\"interleaved\"").len(), 10);
    assert_eq!(search(&cli, a, "\"interleaved\"").len(), 10);
}

/// HELD: a search never returns, nor examines, rows of a collection that
/// is not in the reader's scopes (lost access), nor deleted rows, and a
/// re-versioned object is listed once (its latest version).
#[test]
fn lost_collections_deleted_and_superseded_rows_stay_out() {
    let dir = tempfile::tempdir().unwrap();
    let (store, a, b) = open(&dir);
    add(&store, a, &[malware(1, "topic in a", AudienceKey::Green)]);
    add(&store, b, &[malware(2, "topic in b", AudienceKey::Green)]);
    let only_a = [scope(a, None)];
    let p = page(&store, &only_a, "\"topic\"", 10, 1);
    assert_eq!(
        p.items
            .iter()
            .map(|(_, o)| o.id.clone())
            .collect::<Vec<_>>(),
        vec![malware_id(1)]
    );
    assert!(p.resume_before.is_none() || p.items.len() == 1);
    // A new version (same id, later modified) replaces the old in lists.
    let raw = format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"{}","created":"2026-01-01T00:00:00.000Z","modified":"2026-02-01T00:00:00.000Z","name":"topic renamed","is_family":true}}"#,
        malware_id(1)
    );
    let v2 = Ingest {
        audience: vec![AudienceKey::Green],
        tlp: Some(Tlp::Green),
        ..Ingest::open(Validator::new().validate_str(0, &raw).unwrap())
    };
    add(&store, a, &[v2]);
    assert_eq!(search(&store, a, "\"topic\""), vec![malware_id(1)]);
    assert_eq!(search(&store, a, "\"renamed\""), vec![malware_id(1)]);
    assert!(
        search(&store, a, "\"in\" \"a\"").is_empty(),
        "the old version is not listed"
    );
    delete(&store, a, &malware_id(1));
    assert!(search(&store, a, "\"topic\"").is_empty());
    // After a restart too.
    drop(store);
    let store = reopen(&dir);
    assert!(search(&store, a, "\"topic\"").is_empty());
    assert_eq!(search(&store, b, "\"topic\""), vec![malware_id(2)]);
}

/// The store of `dir` after 299 rows named `bulk<n>` were indexed; the
/// index file's length.
fn indexed_store(dir: &tempfile::TempDir) -> u64 {
    {
        let (store, a, _) = open(dir);
        let many: Vec<Ingest> = (1..300u32)
            .map(|n| malware(n, &format!("bulk{n} wordy description"), AudienceKey::Green))
            .collect();
        add(&store, a, &many);
        assert_eq!(search(&store, a, "\"bulk7\""), vec![malware_id(7)]);
    }
    std::fs::metadata(dir.path().join("node.db.search"))
        .unwrap()
        .len()
}

fn bulk7(dir: &tempfile::TempDir) -> store::Result<Vec<String>> {
    let store = reopen(dir);
    let a = store
        .collections("api1")
        .unwrap()
        .into_iter()
        .find(|c| c.id == COLL_A)
        .unwrap()
        .key;
    Ok(store
        .list_newest(
            &[scope(a, None)],
            &ListQuery {
                text: Some("\"bulk7\"".into()),
                limit: 10,
                max_examined: 100,
                ..Default::default()
            },
        )?
        .items
        .into_iter()
        .map(|(_, o)| o.id)
        .collect())
}

/// HELD: the index file emptied, replaced by a non-database, or made
/// read-only is started again, and search answers exactly.
#[test]
fn an_empty_garbage_or_readonly_index_file_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    indexed_store(&dir);
    let index = dir.path().join("node.db.search");
    for damage in 0..3 {
        match damage {
            0 => std::fs::write(&index, b"").unwrap(),
            1 => std::fs::write(&index, vec![0xA5u8; 70_000]).unwrap(),
            _ => {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o444)).unwrap();
            }
        }
        assert_eq!(bulk7(&dir).unwrap(), vec![malware_id(7)], "damage {damage}");
    }
}

/// HELD: an index file cut short (a partial copy of the data directory, a
/// disk filling up) fails to open and is started again; search answers
/// exactly.
#[test]
fn a_truncated_index_file_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let len = indexed_store(&dir);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("node.db.search"))
        .unwrap();
    f.set_len(len / 2 + 17).unwrap();
    drop(f);
    assert_eq!(bulk7(&dir).unwrap(), vec![malware_id(7)]);
}

/// FINDING (low, availability): an index file whose SQLite structure is
/// sound but whose FTS5 segments are damaged (a bad sector, a partial
/// copy, a disk-full during a merge) is not rebuilt: `open_file` only
/// checks `search_meta`, so every search errors until an operator deletes
/// the file by hand, although the README says the index "is rebuilt from
/// [the database] when it is ... damaged".
///
/// Reproduction: index some rows, overwrite the `object_text_data` blocks,
/// reopen the store, search.
///
/// Suggested fix: on SQLITE_CORRUPT(_VTAB) from the index (MATCH, INSERT,
/// DELETE) mark it for rebuild (reset `indexed_to` after dropping the
/// table, as for another database's index), answer the search as
/// incomplete; and run `INSERT INTO object_text(object_text, rank)
/// VALUES('integrity-check', 0)` at open.
#[test]
#[ignore = "FINDING: an index with damaged FTS5 segments is not rebuilt; search fails until the file is deleted by hand"]
fn an_index_with_damaged_segments_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    indexed_store(&dir);
    {
        let conn = rusqlite::Connection::open(dir.path().join("node.db.search")).unwrap();
        conn.execute(
            "UPDATE object_text_data SET block = zeroblob(length(block)) WHERE id > 10",
            [],
        )
        .unwrap();
    }
    let found = bulk7(&dir).expect("the search answers (the index is rebuilt)");
    assert_eq!(found, vec![malware_id(7)]);
}

/// FINDING (medium): a deletion the index file loses (power loss: the index
/// commits with `synchronous = NORMAL` and then `forget` empties
/// `text_deletes` in the other file, so the two files' durability is not
/// ordered; or an index file restored from an older copy than the
/// database, which the epoch and `indexed_to` checks accept) is never
/// applied again: the deleted object's words stay in the index for good,
/// match searches (each such hit is examined, counts against the budget,
/// and can become the page's "Older objects" cursor), and stay on disk.
///
/// Reproduction: index an object, copy the closed index file, delete the
/// object and search (deletion applied and forgotten), close, put the old
/// index file back, reopen and search: the index still matches the word.
///
/// Suggested fix: make the index authoritative about what it has applied
/// rather than forgetting deletions: keep `text_deletes` rows until the
/// index records a checkpointed "applied up to" sequence (e.g. a delete
/// sequence number in node_meta mirrored in `search_meta`, compared at
/// open: an index behind the database's delete sequence is rebuilt), or
/// sync the index (`synchronous = FULL`) before `forget` and treat an index
/// older than the database's last forget as another database's.
#[test]
#[ignore = "FINDING: a deletion lost by the index file (crash, older copy) is never re-applied; the words stay searchable in the index"]
fn a_deletion_lost_by_the_index_file_is_applied_again() {
    let dir = tempfile::tempdir().unwrap();
    let word = "vanishedinformantword";
    {
        let (store, a, _) = open(&dir);
        add(&store, a, &[malware(1, word, AudienceKey::Green)]);
        add(&store, a, &[malware(2, "keeper", AudienceKey::Green)]);
        assert_eq!(
            search(&store, a, &format!("\"{word}\"")),
            vec![malware_id(1)]
        );
    }
    let index = dir.path().join("node.db.search");
    let before = std::fs::read(&index).unwrap();
    {
        let store = reopen(&dir);
        let a = store
            .collections("api1")
            .unwrap()
            .into_iter()
            .find(|c| c.id == COLL_A)
            .unwrap()
            .key;
        delete(&store, a, &malware_id(1));
        assert!(search(&store, a, &format!("\"{word}\"")).is_empty());
    }
    std::fs::write(&index, before).unwrap();
    {
        let store = reopen(&dir);
        let a = store
            .collections("api1")
            .unwrap()
            .into_iter()
            .find(|c| c.id == COLL_A)
            .unwrap()
            .key;
        assert!(search(&store, a, &format!("\"{word}\"")).is_empty());
    }
    let conn = rusqlite::Connection::open(&index).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM object_text WHERE object_text MATCH ?1",
            [word],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0, "the deleted object's words are still indexed");
}
