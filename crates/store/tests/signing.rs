//! The signer's queue: what is posted here waits for its manifest, leaves
//! the queue when a manifest lists it, when its provenance is settled
//! otherwise, or when it is deleted; rows are never rewritten for it, and
//! reads report each row's state.

use rusqlite::Connection;
use sharing::{AudienceKey, Owner};
use stix::{Timestamp, Tlp, Validator};
use store::{
    AuditEntry, DirectoryStore, Ingest, NewCollection, ObjectQuery, ObjectStore, Provenance,
    SqliteOptions, SqliteStore, VersionMatch,
};

const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

fn open(path: &std::path::Path) -> (SqliteStore, i64) {
    let store = SqliteStore::open(path, SqliteOptions::default()).unwrap();
    let c = match store.collection(COLLECTION).unwrap() {
        Some(c) => c.key,
        None => {
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
            store
                .create_collection(
                    &NewCollection {
                        id: COLLECTION.into(),
                        api_root: "api1".into(),
                        title: "c".into(),
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
    };
    (store, c)
}

fn malware(n: u32) -> Ingest {
    let raw = format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"malware--00000000-0000-4000-8000-{n:012x}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"m{n}","is_family":true}}"#
    );
    let object = Validator::new().validate_str(0, &raw).unwrap();
    Ingest {
        audience: vec![AudienceKey::Green],
        tlp: Some(Tlp::Green),
        ..Ingest::open(object)
    }
}

fn manifest(n: u32) -> Ingest {
    let raw = format!(
        r#"{{"type":"x-entente-manifest","spec_version":"2.1","id":"x-entente-manifest--00000000-0000-4000-8000-{n:012x}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"}}"#
    );
    let object = Validator::new().validate_str(0, &raw).unwrap();
    Ingest {
        audience: vec![AudienceKey::Green],
        tlp: Some(Tlp::Green),
        provenance: Provenance::LocalSigned,
        ..Ingest::open(object)
    }
}

fn pending_ids(store: &SqliteStore) -> Vec<String> {
    store
        .pending_signature(100)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect()
}

/// Each stored row of the collection: (id, provenance, raw).
fn rows(store: &SqliteStore, c: i64) -> Vec<(String, Provenance, String)> {
    let page = store
        .query_objects(
            c,
            &ObjectQuery {
                versions: VersionMatch::all(),
                limit: 1000,
                with_raw: true,
                ..Default::default()
            },
        )
        .unwrap();
    page.items
        .into_iter()
        .map(|o| (o.id, o.provenance, o.raw))
        .collect()
}

fn id(n: u32) -> String {
    format!("malware--00000000-0000-4000-8000-{n:012x}")
}

#[test]
fn posted_rows_wait_for_a_manifest_and_leave_the_queue_when_one_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir.path().join("node.db"));
    let objects: Vec<Ingest> = (1..=4).map(malware).collect();
    store
        .add_objects(c, &objects, &mut |_, _| None, &AuditEntry::default())
        .unwrap();
    assert_eq!(pending_ids(&store), (1..=4).map(id).collect::<Vec<_>>());
    assert!(
        rows(&store, c)
            .iter()
            .all(|(_, p, _)| *p == Provenance::LocalPending)
    );

    let pending = store.pending_signature(2).unwrap();
    assert_eq!(pending.len(), 2, "oldest first, at most the limit");
    let covers: Vec<Timestamp> = pending.iter().map(|p| p.date_added).collect();
    let before = rows(&store, c);
    store
        .add_manifest(c, &manifest(1), &covers, None, &AuditEntry::default())
        .unwrap();
    assert_eq!(pending_ids(&store), vec![id(3), id(4)]);
    let after = rows(&store, c);
    let state = |n: u32| after.iter().find(|(i, ..)| *i == id(n)).unwrap().1;
    assert_eq!(state(1), Provenance::LocalSigned);
    assert_eq!(state(2), Provenance::LocalSigned);
    assert_eq!(state(3), Provenance::LocalPending);
    // The objects themselves are byte for byte what was stored.
    for (i, _, raw) in &before {
        assert_eq!(
            &after.iter().find(|(j, ..)| j == i).unwrap().2,
            raw,
            "{i} unchanged"
        );
    }
    let manifest_state = after
        .iter()
        .find(|(i, ..)| i.starts_with("x-entente-manifest--"))
        .unwrap()
        .1;
    assert_eq!(manifest_state, Provenance::LocalSigned);
}

/// A withdrawn manifest's rows wait for the signer again, those signed
/// before step 11 (flagged signed in their own column) too.
#[test]
fn a_withdrawn_manifests_rows_go_back_to_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let (store, c) = open(&path);
    let objects: Vec<Ingest> = (1..=3).map(malware).collect();
    store
        .add_objects(c, &objects, &mut |_, _| None, &AuditEntry::default())
        .unwrap();
    let covers: Vec<Timestamp> = store
        .pending_signature(10)
        .unwrap()
        .iter()
        .map(|p| p.date_added)
        .collect();
    store
        .add_manifest(c, &manifest(1), &covers, None, &AuditEntry::default())
        .unwrap();
    assert!(pending_ids(&store).is_empty());
    // Object 3 as a row signed before the queue existed.
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE objects SET provenance = 1 WHERE stix_id = ?1",
            [id(3)],
        )
        .unwrap();
    let withdrawn = store
        .withdraw_manifests(&covers[..1], &AuditEntry::default())
        .unwrap();
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(pending_ids(&store), (1..=3).map(id).collect::<Vec<_>>());
    let state: Vec<Provenance> = rows(&store, c).into_iter().map(|(_, p, _)| p).collect();
    assert_eq!(state, vec![Provenance::LocalPending; 3]);
}

#[test]
fn deleted_and_settled_rows_leave_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir.path().join("node.db"));
    let objects: Vec<Ingest> = (1..=3).map(malware).collect();
    store
        .add_objects(c, &objects, &mut |_, _| None, &AuditEntry::default())
        .unwrap();
    let pending = store.pending_signature(10).unwrap();
    store
        .delete_rows(c, &id(1), &[pending[0].date_added], &AuditEntry::default())
        .unwrap();
    assert_eq!(pending_ids(&store), vec![id(2), id(3)]);
    store
        .set_provenance(&[(pending[1].date_added, Provenance::Unsigned, None)])
        .unwrap();
    assert_eq!(pending_ids(&store), vec![id(3)]);
    let state: Vec<Provenance> = rows(&store, c).into_iter().map(|(_, p, _)| p).collect();
    assert_eq!(state, vec![Provenance::Unsigned, Provenance::LocalPending]);
}

/// A database of schema 10 flagged pending rows with provenance 0 and signed
/// ones with 1: step 11 queues the former and leaves the latter signed.
#[test]
fn schema_eleven_queues_what_schema_ten_left_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    {
        let (store, c) = open(&path);
        let objects: Vec<Ingest> = (1..=3).map(malware).collect();
        store
            .add_objects(c, &objects, &mut |_, _| None, &AuditEntry::default())
            .unwrap();
    }
    {
        // What schema 10 held: object 1 signed (flag 1), 2 and 3 pending
        // (flag 0), the partial index, and no queue (nor what step 12
        // adds to objects).
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "DROP INDEX objects_expiring;
             ALTER TABLE objects DROP COLUMN valid_until;
             DROP TRIGGER sign_queue_forget;
             DROP TABLE sign_queue;
             CREATE INDEX objects_pending_signature ON objects(date_added) WHERE provenance = 0;
             UPDATE objects SET provenance = 1 WHERE stix_id = '{}';
             PRAGMA user_version = 10;",
            id(1)
        ))
        .unwrap();
    }
    let (store, c) = open(&path);
    assert_eq!(pending_ids(&store), vec![id(2), id(3)]);
    let state: Vec<Provenance> = rows(&store, c).into_iter().map(|(_, p, _)| p).collect();
    assert_eq!(
        state,
        vec![
            Provenance::LocalSigned,
            Provenance::LocalPending,
            Provenance::LocalPending
        ]
    );
    let conn = Connection::open(&path).unwrap();
    let index: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'objects_pending_signature'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 0, "the partial index is gone");
}
