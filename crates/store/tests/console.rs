//! The console's store: figures kept as rows are written and deleted,
//! pending decisions and their marks, newest-first lists with bounded
//! examination, full-text search, referrers, and the sign-in tables.

use sharing::console::CountClass;
use sharing::{AudienceKey, Owner};
use stix::{Timestamp, Tlp, Validator};
use store::{
    AuditEntry, ConsoleFacts, ConsoleStore, CountScope, DirectoryStore, Ingest, ListQuery,
    NewCollection, NewSession, NewSignInLink, ObjectStore, SessionStore, SqliteOptions,
    SqliteStore, VersionMatch, day_of,
};

fn open(dir: &tempfile::TempDir) -> (SqliteStore, i64) {
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
    let c = collection(&store, "91a7b528-80eb-42ed-a74d-c6fbd5a26116", "c");
    (store, c)
}

/// A node-owned, signed collection of `api1`; its key.
fn collection(store: &SqliteStore, id: &str, title: &str) -> i64 {
    store
        .create_collection(
            &NewCollection {
                id: id.into(),
                api_root: "api1".into(),
                title: title.into(),
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

fn malware(n: u32, name: &str) -> Ingest {
    let raw = format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"malware--00000000-0000-4000-8000-{n:012x}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"{name}","is_family":true}}"#
    );
    let object = Validator::new().validate_str(0, &raw).unwrap();
    Ingest {
        audience: vec![AudienceKey::Green],
        tlp: Some(Tlp::Green),
        ..Ingest::open(object)
    }
}

fn relationship(n: u32, target: &str, audience: AudienceKey) -> Ingest {
    let raw = format!(
        r#"{{"type":"relationship","spec_version":"2.1","id":"relationship--00000000-0000-4000-8000-{n:012x}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"uses","source_ref":"malware--00000000-0000-4000-8000-ffffffffffff","target_ref":"{target}"}}"#
    );
    let object = Validator::new().validate_str(0, &raw).unwrap();
    Ingest {
        audience: vec![audience],
        tlp: Some(Tlp::Green),
        refs: vec![target.to_string()],
        console: ConsoleFacts {
            ranked: vec![target.to_string()],
            ..Default::default()
        },
        ..Ingest::open(object)
    }
}

fn add(store: &SqliteStore, c: i64, objects: &[Ingest]) {
    store
        .add_objects(c, objects, &mut |_, _| None, &AuditEntry::default())
        .unwrap();
}

/// The count classes of `scope`'s collection whose audience it admits and
/// whose TLP is within its ceiling (these tests' pointers are settled
/// under classes without targets: which readers see a pointer is
/// `sharing::console`'s, tested there and in `node`).
fn classes_of(store: &SqliteStore, scope: &CountScope) -> Vec<i64> {
    let audiences: std::collections::HashMap<i64, Vec<AudienceKey>> =
        store.audiences(0).unwrap().into_iter().collect();
    store
        .count_classes(0)
        .unwrap()
        .into_iter()
        .filter(|(_, class)| {
            class.collection == scope.collection
                && scope
                    .audience
                    .as_ref()
                    .is_none_or(|keys| audiences[&class.audience].iter().any(|k| keys.contains(k)))
                && scope
                    .max_tlp
                    .is_none_or(|max| class.tlp.is_some_and(|t| t <= max))
        })
        .map(|(id, _)| id)
        .collect()
}

/// The class a pending row is settled under here.
fn settled(p: &store::PendingCount) -> Option<CountClass> {
    Some(CountClass {
        depth: 1,
        ..CountClass::plain(p.collection, p.audience_id, p.tlp, p.origin_org)
    })
}

fn total(store: &SqliteStore, c: i64, keys: Option<Vec<AudienceKey>>) -> u64 {
    let scope = CountScope {
        collection: c,
        audience: keys,
        max_tlp: None,
    };
    store
        .day_counts(&classes_of(store, &scope), 0)
        .unwrap()
        .iter()
        .map(|d| d.count)
        .sum()
}

#[test]
fn figures_follow_writes_decisions_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir);
    add(&store, c, &[malware(1, "alpha"), malware(2, "beta")]);
    let green = Some(vec![AudienceKey::Green]);
    assert_eq!(total(&store, c, green.clone()), 2);
    assert_eq!(total(&store, c, Some(vec![AudienceKey::Clear])), 0);
    assert_eq!(total(&store, c, Some(Vec::new())), 0, "no keys: nothing");

    // A pointer row waits for a decision and is meanwhile left to the gate.
    let target = "malware--00000000-0000-4000-8000-000000000001";
    add(&store, c, &[relationship(10, target, AudienceKey::Green)]);
    assert_eq!(total(&store, c, green.clone()), 2);
    let pending = store.pending_counts(10).unwrap();
    assert_eq!(pending.len(), 1);
    let scope = CountScope {
        collection: c,
        audience: green.clone(),
        max_tlp: None,
    };
    assert_eq!(
        store
            .uncounted(&scope, Timestamp::from_micros(0), 10)
            .unwrap()
            .len(),
        1
    );
    // A stale mark is ignored; the current one counts it.
    let p = &pending[0];
    assert_eq!(
        store
            .settle_counts(&[(p.date_added, p.mark - 1, settled(p))])
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .settle_counts(&[(p.date_added, p.mark, settled(p))])
            .unwrap(),
        1
    );
    assert_eq!(total(&store, c, green.clone()), 3);
    assert!(
        store
            .uncounted(&scope, Timestamp::from_micros(0), 10)
            .unwrap()
            .is_empty()
    );
    let ranked = store.ranked_counts(&classes_of(&store, &scope), 0).unwrap();
    assert_eq!(ranked, vec![(target.to_string(), 1)]);

    // A new version of the target changes what the decision rested on.
    let mut v2 = malware(1, "alpha two");
    let raw = v2.object.raw.replace(
        "2026-01-01T00:00:00.000Z\",\"name",
        "2026-02-01T00:00:00.000Z\",\"name",
    );
    v2.object = Validator::new().validate_str(0, &raw).unwrap();
    add(&store, c, &[v2]);
    assert_eq!(
        total(&store, c, green.clone()),
        3,
        "the new version counts, the relationship no longer"
    );
    assert_eq!(store.pending_counts(10).unwrap().len(), 1);
    assert!(
        store
            .ranked_counts(&classes_of(&store, &scope), 0)
            .unwrap()
            .is_empty()
    );

    // Deleting a counted row takes it out of the figures.
    let rows: Vec<Timestamp> = store
        .query_objects(
            c,
            &store::ObjectQuery {
                ids: vec!["malware--00000000-0000-4000-8000-000000000002".into()],
                versions: VersionMatch::all(),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap()
        .items
        .iter()
        .map(|o| o.date_added)
        .collect();
    store
        .delete_rows(
            c,
            "malware--00000000-0000-4000-8000-000000000002",
            &rows,
            &AuditEntry::default(),
        )
        .unwrap();
    assert_eq!(total(&store, c, green), 2);
    assert_eq!(day_of(Timestamp::from_micros(86_400_000_000 + 5)), 1);
}

#[test]
fn newest_first_lists_page_exactly_and_examine_a_bounded_number_of_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir);
    let objects: Vec<Ingest> = (0..300)
        .map(|n| {
            let mut m = malware(n, &format!("name{n}"));
            if n % 100 == 7 {
                m.tlp = Some(Tlp::Amber);
            }
            m
        })
        .collect();
    add(&store, c, &objects);
    let scopes = [CountScope {
        collection: c,
        audience: None,
        max_tlp: None,
    }];
    // Pages of 40 newest first: every object once, in order.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_newest(
                &scopes,
                &ListQuery {
                    added_before: before,
                    limit: 40,
                    max_examined: 1000,
                    ..Default::default()
                },
            )
            .unwrap();
        seen.extend(page.items.iter().map(|(_, o)| o.id.clone()));
        match page.resume_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    let expected: Vec<String> = objects.iter().rev().map(|o| o.object.id.clone()).collect();
    assert_eq!(seen, expected);
    // A rare filter: each page examines at most 50 rows, so it comes in
    // short pages that still find everything.
    let mut found = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_newest(
                &scopes,
                &ListQuery {
                    added_before: before,
                    tlps: vec![Some(Tlp::Amber)],
                    limit: 40,
                    max_examined: 50,
                    ..Default::default()
                },
            )
            .unwrap();
        pages += 1;
        found.extend(page.items.iter().map(|(_, o)| o.id.clone()));
        match page.resume_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    assert_eq!(found.len(), 3);
    assert!(pages >= 6, "{pages} pages");
}

#[test]
fn full_text_search_and_referrers() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir);
    add(
        &store,
        c,
        &[malware(1, "Nightowl implant"), malware(2, "Glass lantern")],
    );
    let target = "malware--00000000-0000-4000-8000-000000000001";
    add(&store, c, &[relationship(5, target, AudienceKey::Green)]);
    let scopes = [CountScope {
        collection: c,
        audience: Some(vec![AudienceKey::Green]),
        max_tlp: None,
    }];
    let search = |text: &str| -> Vec<String> {
        store
            .list_newest(
                &scopes,
                &ListQuery {
                    text: Some(text.into()),
                    limit: 10,
                    max_examined: 100,
                    ..Default::default()
                },
            )
            .unwrap()
            .items
            .into_iter()
            .map(|(_, o)| o.id)
            .collect()
    };
    assert_eq!(search("\"night\"*"), vec![target.to_string()]);
    assert_eq!(
        search("\"lantern\""),
        vec!["malware--00000000-0000-4000-8000-000000000002".to_string()]
    );
    assert!(search("\"nothing\"").is_empty());
    // Malformed FTS syntax is a refusal, not a failure of the node.
    let bad = store.list_newest(
        &scopes,
        &ListQuery {
            text: Some("\"unbalanced".into()),
            limit: 1,
            max_examined: 1,
            ..Default::default()
        },
    );
    assert!(matches!(bad, Err(store::StoreError::Invalid(_))), "{bad:?}");
    let refs = store.referrers(target, 10).unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].1.object_type, "relationship");
}

#[test]
fn sessions_links_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    let org = store
        .create_org(
            "o",
            "identity--00000000-0000-4000-8000-000000000001",
            &AuditEntry::default(),
        )
        .unwrap();
    let user = store
        .create_user(org.id, "u", sharing::Role::Analyst, &AuditEntry::default())
        .unwrap();
    let t = |s: i64| Timestamp::from_micros(s * 1_000_000);
    store
        .set_password(user.id, "$argon2id$x", &AuditEntry::default())
        .unwrap();
    assert_eq!(
        store.password(user.id).unwrap().as_deref(),
        Some("$argon2id$x")
    );
    let hash = [7u8; 32];
    store
        .create_session(
            &NewSession {
                secret_hash: hash,
                user: Some(user.id),
                token: None,
                csrf: "c".into(),
                created: t(100),
            },
            &AuditEntry::default(),
        )
        .unwrap();
    store.touch_session(&hash, t(150)).unwrap();
    store.touch_session(&hash, t(120)).unwrap();
    assert_eq!(store.session(&hash).unwrap().unwrap().last_seen, t(150));
    assert_eq!(store.purge_sessions(t(140), t(0)).unwrap(), 0);
    assert_eq!(store.purge_sessions(t(151), t(0)).unwrap(), 1);
    assert!(store.session(&hash).unwrap().is_none());

    let link = [9u8; 32];
    store
        .create_sign_in_link(
            &NewSignInLink {
                secret_hash: link,
                user: user.id,
                created: t(0),
                expires: t(1000),
            },
            &AuditEntry::default(),
        )
        .unwrap();
    assert_eq!(
        store.use_sign_in_link(&link, t(5)).unwrap().unwrap().used,
        None
    );
    assert_eq!(
        store.use_sign_in_link(&link, t(6)).unwrap().unwrap().used,
        Some(t(5))
    );
    assert!(store.use_sign_in_link(&[1u8; 32], t(6)).unwrap().is_none());

    for i in 1..=3 {
        assert_eq!(
            store
                .record_sign_in_failure("o/u", t(i), &AuditEntry::default())
                .unwrap()
                .count,
            i as u32
        );
    }
    assert_eq!(store.sign_in_failures("o/u").unwrap().last, Some(t(3)));
    store.clear_sign_in_failures("o/u").unwrap();
    assert_eq!(store.sign_in_failures("o/u").unwrap().count, 0);
}

/// A row the console does not list (what `node` says of signed manifests):
/// served like any other, but never counted, pending, listed, searched nor
/// a referrer, whatever facts it carries, and deleted without a trace.
#[test]
fn unlisted_rows_stay_out_of_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir);
    add(&store, c, &[malware(1, "alpha")]);
    let target = "malware--00000000-0000-4000-8000-000000000001";
    let green = Some(vec![AudienceKey::Green]);
    let raw = format!(
        r#"{{"type":"x-entente-manifest","spec_version":"2.1","id":"x-entente-manifest--00000000-0000-4000-8000-000000000009","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"batch","object_refs":["{target}"]}}"#
    );
    let manifest = Ingest {
        audience: vec![AudienceKey::Green],
        tlp: Some(Tlp::Green),
        refs: vec![target.to_string()],
        console: ConsoleFacts {
            ranked: vec![target.to_string()],
            listed: false,
        },
        ..Ingest::open(Validator::new().validate_str(0, &raw).unwrap())
    };
    let manifest_id = manifest.object.id.clone();
    add(&store, c, &[manifest]);
    let scope = CountScope {
        collection: c,
        audience: green.clone(),
        max_tlp: None,
    };
    assert_eq!(total(&store, c, green.clone()), 1);
    assert!(store.pending_counts(10).unwrap().is_empty());
    assert!(
        store
            .uncounted(&scope, Timestamp::from_micros(0), 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .ranked_counts(&classes_of(&store, &scope), 0)
            .unwrap()
            .is_empty()
    );
    let list = |text: Option<&str>| -> Vec<String> {
        store
            .list_newest(
                std::slice::from_ref(&scope),
                &ListQuery {
                    text: text.map(str::to_owned),
                    limit: 10,
                    max_examined: 100,
                    ..Default::default()
                },
            )
            .unwrap()
            .items
            .into_iter()
            .map(|(_, o)| o.id)
            .collect()
    };
    assert_eq!(list(None), vec![target.to_string()]);
    assert!(list(Some("\"batch\"")).is_empty());
    assert!(store.referrers(target, 10).unwrap().is_empty());
    // TAXII still serves it.
    let rows: Vec<Timestamp> = store
        .query_objects(
            c,
            &store::ObjectQuery {
                ids: vec![manifest_id.clone()],
                versions: VersionMatch::all(),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap()
        .items
        .iter()
        .map(|o| o.date_added)
        .collect();
    assert_eq!(rows.len(), 1);
    // A new version of what it lists leaves it alone; deleting it changes
    // no figure.
    let mut v2 = malware(1, "alpha two");
    let raw = v2.object.raw.replace(
        "2026-01-01T00:00:00.000Z\",\"name",
        "2026-02-01T00:00:00.000Z\",\"name",
    );
    v2.object = Validator::new().validate_str(0, &raw).unwrap();
    add(&store, c, &[v2]);
    assert!(store.pending_counts(10).unwrap().is_empty());
    assert_eq!(total(&store, c, green.clone()), 2);
    store
        .delete_rows(c, &manifest_id, &rows, &AuditEntry::default())
        .unwrap();
    assert_eq!(total(&store, c, green), 2);
}

/// A token's TLP ceiling: counted rows, ranked references, rows left to the
/// gate and lists stop at it; rows without a TLP are above any ceiling.
#[test]
fn a_ceiling_narrows_figures_rankings_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir);
    let mut amber = malware(2, "amber");
    amber.tlp = Some(Tlp::Amber);
    let mut private = malware(3, "private");
    private.tlp = None;
    add(&store, c, &[malware(1, "green"), amber, private]);
    let green_target = "malware--00000000-0000-4000-8000-000000000001";
    let mut amber_pointer = relationship(11, green_target, AudienceKey::Green);
    amber_pointer.tlp = Some(Tlp::Amber);
    add(
        &store,
        c,
        &[
            relationship(10, green_target, AudienceKey::Green),
            amber_pointer,
        ],
    );
    let scope = |max_tlp: Option<Tlp>| CountScope {
        collection: c,
        audience: Some(vec![AudienceKey::Green]),
        max_tlp,
    };
    let gated = |max_tlp| {
        store
            .uncounted(&scope(max_tlp), Timestamp::from_micros(0), 10)
            .unwrap()
            .len()
    };
    assert_eq!(gated(None), 2);
    assert_eq!(gated(Some(Tlp::Green)), 1);
    assert_eq!(gated(Some(Tlp::Clear)), 0);
    let pending = store.pending_counts(10).unwrap();
    let decisions: Vec<(Timestamp, i64, Option<CountClass>)> = pending
        .iter()
        .map(|p| (p.date_added, p.mark, settled(p)))
        .collect();
    assert_eq!(store.settle_counts(&decisions).unwrap(), 2);
    let figures = |max_tlp| -> (u64, Vec<(String, u64)>) {
        (
            store
                .day_counts(&classes_of(&store, &scope(max_tlp)), 0)
                .unwrap()
                .iter()
                .map(|d| d.count)
                .sum(),
            store
                .ranked_counts(&classes_of(&store, &scope(max_tlp)), 0)
                .unwrap(),
        )
    };
    assert_eq!(figures(None), (5, vec![(green_target.to_string(), 2)]));
    assert_eq!(
        figures(Some(Tlp::Green)),
        (2, vec![(green_target.to_string(), 1)])
    );
    assert_eq!(figures(Some(Tlp::AmberStrict)).0, 4, "no TLP: above any");
    assert_eq!(figures(Some(Tlp::Clear)), (0, Vec::new()));
    let listed = |max_tlp| -> Vec<Option<Tlp>> {
        store
            .list_newest(
                &[scope(max_tlp)],
                &ListQuery {
                    limit: 10,
                    max_examined: 100,
                    ..Default::default()
                },
            )
            .unwrap()
            .items
            .into_iter()
            .map(|(_, o)| o.tlp)
            .collect()
    };
    assert_eq!(listed(None).len(), 5);
    assert_eq!(listed(Some(Tlp::Green)), vec![Some(Tlp::Green); 2]);
}

/// Unlisted rows (a pseudonymous source's manifests, one per object, written
/// after the objects they sign) do not take a list page's examination
/// budget: behind more of them than the budget, the newest listed object is
/// still found on the first page (it was "Nothing matches" with "Older
/// objects", at a million objects, for every reader of such a collection).
#[test]
fn unlisted_rows_do_not_starve_the_newest_page() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir);
    add(&store, c, &[malware(1, "alpha")]);
    let manifests: Vec<Ingest> = (0..150u32)
        .map(|n| {
            let raw = format!(
                r#"{{"type":"x-entente-manifest","spec_version":"2.1","id":"x-entente-manifest--00000000-0000-4000-8000-{n:012x}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"}}"#
            );
            Ingest {
                audience: vec![AudienceKey::Green],
                tlp: Some(Tlp::Green),
                console: ConsoleFacts {
                    listed: false,
                    ..Default::default()
                },
                ..Ingest::open(Validator::new().validate_str(0, &raw).unwrap())
            }
        })
        .collect();
    add(&store, c, &manifests);
    let scope = CountScope {
        collection: c,
        audience: Some(vec![AudienceKey::Green]),
        max_tlp: None,
    };
    let page = store
        .list_newest(
            std::slice::from_ref(&scope),
            &ListQuery {
                limit: 10,
                max_examined: 100,
                ..Default::default()
            },
        )
        .unwrap();
    let ids: Vec<String> = page.items.into_iter().map(|(_, o)| o.id).collect();
    assert_eq!(ids, vec!["malware--00000000-0000-4000-8000-000000000001"]);
}

fn search(store: &SqliteStore, c: i64, text: &str) -> Vec<String> {
    store
        .list_newest(
            &[CountScope {
                collection: c,
                audience: None,
                max_tlp: None,
            }],
            &ListQuery {
                text: Some(text.into()),
                limit: 10,
                max_examined: 100,
                ..Default::default()
            },
        )
        .unwrap()
        .items
        .into_iter()
        .map(|(_, o)| o.id)
        .collect()
}

fn malware_id(n: u32) -> String {
    format!("malware--00000000-0000-4000-8000-{n:012x}")
}

/// Rows of the index file matching `word`, read with a connection of the
/// test's own.
fn indexed(db: &std::path::Path, word: &str) -> i64 {
    let mut name = db.as_os_str().to_owned();
    name.push(".search");
    let conn = rusqlite::Connection::open(std::path::PathBuf::from(name)).unwrap();
    conn.query_row(
        "SELECT count(*) FROM object_text WHERE object_text MATCH ?1",
        [word],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn search_finds_what_was_just_written_and_forgets_what_was_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.db");
    let (store, c) = open(&dir);
    add(&store, c, &[malware(1, "alpha"), malware(2, "beta")]);
    // Read straight after the write: the search takes in what its thread
    // has not yet.
    assert_eq!(search(&store, c, "\"alpha\""), vec![malware_id(1)]);
    let rows: Vec<Timestamp> = store
        .query_objects(
            c,
            &store::ObjectQuery {
                ids: vec![malware_id(1)],
                versions: VersionMatch::all(),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap()
        .items
        .iter()
        .map(|o| o.date_added)
        .collect();
    store
        .delete_rows(c, &malware_id(1), &rows, &AuditEntry::default())
        .unwrap();
    assert!(search(&store, c, "\"alpha\"").is_empty());
    assert_eq!(search(&store, c, "\"beta\""), vec![malware_id(2)]);
    // Out of the index file's own matches, not only filtered out of
    // results. (Its words may remain in freed or tombstoned pages until
    // FTS5 merges them away: tests/search_review.rs pins that.)
    assert_eq!(indexed(&db, "alpha"), 0);
    assert_eq!(indexed(&db, "beta"), 1);
    let main = rusqlite::Connection::open(&db).unwrap();
    let queued: i64 = main
        .query_row("SELECT count(*) FROM text_deletes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(queued, 0, "applied deletions leave the queue");
}

#[test]
fn the_search_index_is_rebuilt_when_lost_damaged_or_another_databases() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.db");
    let index = dir.path().join("node.db.search");
    {
        let (store, c) = open(&dir);
        add(&store, c, &[malware(1, "alpha")]);
        assert_eq!(search(&store, c, "\"alpha\""), vec![malware_id(1)]);
    }
    // Removed: built again from the stored objects.
    std::fs::remove_file(&index).unwrap();
    let _ = std::fs::remove_file(dir.path().join("node.db.search-wal"));
    let _ = std::fs::remove_file(dir.path().join("node.db.search-shm"));
    {
        let store = SqliteStore::open(&db, SqliteOptions::default()).unwrap();
        let c = store.collections("api1").unwrap()[0].key;
        assert_eq!(search(&store, c, "\"alpha\""), vec![malware_id(1)]);
    }
    // Damaged: the same.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("node.db.search{suffix}")));
    }
    std::fs::write(&index, b"this is not a database, it is a note").unwrap();
    {
        let store = SqliteStore::open(&db, SqliteOptions::default()).unwrap();
        let c = store.collections("api1").unwrap()[0].key;
        assert_eq!(search(&store, c, "\"alpha\""), vec![malware_id(1)]);
    }
    // Another database's index (here: one that knows a word this one
    // never stored) is emptied, not trusted.
    let other = tempfile::tempdir().unwrap();
    {
        let (store, c) = open(&other);
        add(&store, c, &[malware(1, "gamma")]);
        assert_eq!(search(&store, c, "\"gamma\""), vec![malware_id(1)]);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("node.db.search{suffix}")));
        let from = other.path().join(format!("node.db.search{suffix}"));
        if from.exists() {
            std::fs::copy(from, dir.path().join(format!("node.db.search{suffix}"))).unwrap();
        }
    }
    let store = SqliteStore::open(&db, SqliteOptions::default()).unwrap();
    let c = store.collections("api1").unwrap()[0].key;
    assert_eq!(search(&store, c, "\"alpha\""), vec![malware_id(1)]);
    assert_eq!(indexed(&db, "gamma"), 0);
}

#[test]
fn a_search_examines_only_the_matches_of_the_collections_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(&dir);
    let other = collection(&store, "0c1f4b5e-4b0e-4c55-9a36-2f6f3f0b1c2d", "other");
    add(&store, c, &[malware(1, "common ours")]);
    // Newer matches elsewhere, more than the search may examine.
    let theirs: Vec<Ingest> = (2..40).map(|n| malware(n, "common theirs")).collect();
    add(&store, other, &theirs);
    let page = store
        .list_newest(
            &[CountScope {
                collection: c,
                audience: None,
                max_tlp: None,
            }],
            &ListQuery {
                text: Some("\"common\"".into()),
                limit: 10,
                max_examined: 10,
                ..Default::default()
            },
        )
        .unwrap();
    let found: Vec<String> = page.items.into_iter().map(|(_, o)| o.id).collect();
    assert_eq!(found, vec![malware_id(1)]);
    assert!(!page.search_incomplete);
    // The collection token is not searchable text.
    assert!(search(&store, c, &format!("\"c{c}\"")).is_empty());
}
