//! Behaviour of the SQLite store through the `Store` trait.

use std::sync::Arc;

use sharing::Owner;
use stix::{StixObject, Timestamp, Validator};
use store::{
    AddOutcome, ApiRoot, AuditEntry, AuditStore, DirectoryStore, Ingest, NewCollection,
    ObjectQuery, ObjectStore, SqliteOptions, SqliteStore, VersionMatch,
};

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("node.db"), SqliteOptions::default()).unwrap()
}

fn setup(store: &SqliteStore) -> i64 {
    if store.api_root("api1").unwrap().is_none() {
        store
            .create_api_root(
                &ApiRoot {
                    path: "api1".into(),
                    title: "Test root".into(),
                    description: None,
                    max_content_length: 1 << 20,
                },
                &AuditEntry::default(),
            )
            .unwrap();
    }
    store
        .create_collection(
            &NewCollection {
                id: "91a7b528-80eb-42ed-a74d-c6fbd5a26116".into(),
                api_root: "api1".into(),
                title: "Spyware indicators".into(),
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

trait AddAll {
    fn add_objects_all(&self, c: i64, objects: &[Ingest]) -> store::Result<Vec<AddOutcome>>;
}

impl AddAll for SqliteStore {
    fn add_objects_all(&self, c: i64, objects: &[Ingest]) -> store::Result<Vec<AddOutcome>> {
        self.add_objects(c, objects, &mut |_, _| None, &write_entry())
    }
}

fn write_entry() -> AuditEntry {
    AuditEntry {
        action: "write".into(),
        ..Default::default()
    }
}

/// The rows of `id` that `versions` selects, by `date_added`.
fn rows(store: &SqliteStore, c: i64, id: &str, versions: VersionMatch) -> Vec<Timestamp> {
    let q = ObjectQuery {
        ids: vec![id.to_string()],
        versions,
        limit: 100,
        ..Default::default()
    };
    store
        .query_objects(c, &q)
        .unwrap()
        .items
        .iter()
        .map(|o| o.date_added)
        .collect()
}

fn open_all(objects: &[StixObject]) -> Vec<Ingest> {
    objects.iter().cloned().map(Ingest::open).collect()
}

fn uuid(n: u32) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

fn indicator(n: u32, modified: &str) -> StixObject {
    let raw = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{}","created":"2020-01-01T00:00:00.000Z","modified":"{modified}","pattern":"[domain-name:value = 'e{n}.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00.000Z"}}"#,
        uuid(n)
    );
    Validator::new().validate_str(0, &raw).unwrap()
}

fn domain(n: u32) -> StixObject {
    let raw = format!(
        r#"{{"type":"domain-name","id":"domain-name--{}","value":"d{n}.example"}}"#,
        uuid(n)
    );
    Validator::new().validate_str(0, &raw).unwrap()
}

fn query() -> ObjectQuery {
    ObjectQuery {
        limit: 1000,
        with_raw: true,
        ..Default::default()
    }
}

#[test]
fn objects_come_back_byte_for_byte_in_date_added_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    let objs: Vec<_> = (0..10)
        .map(|n| indicator(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    let outcomes = store.add_objects_all(c, &open_all(&objs)).unwrap();
    assert!(outcomes.iter().all(|o| matches!(o, AddOutcome::Added(_))));
    let page = store.query_objects(c, &query()).unwrap();
    assert_eq!(page.items.len(), 10);
    assert!(!page.more);
    for (item, obj) in page.items.iter().zip(&objs) {
        assert_eq!(item.raw, &*obj.raw);
    }
    assert!(
        page.items
            .windows(2)
            .all(|w| w[0].date_added < w[1].date_added)
    );
}

#[test]
fn duplicates_are_reported_and_not_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    let first = store
        .add_objects_all(
            c,
            &open_all(&[indicator(1, "2020-01-01T00:00:00.000Z"), domain(1)]),
        )
        .unwrap();
    let again = store
        .add_objects_all(
            c,
            &open_all(&[indicator(1, "2020-01-01T00:00:00.000Z"), domain(1)]),
        )
        .unwrap();
    let AddOutcome::Added(t0) = first[0] else {
        panic!()
    };
    assert_eq!(again[0], AddOutcome::Duplicate(t0));
    assert!(matches!(again[1], AddOutcome::Duplicate(_)));
    let mut q = query();
    q.versions = VersionMatch::all();
    assert_eq!(store.query_objects(c, &q).unwrap().items.len(), 2);
}

#[test]
fn version_selectors_pick_first_last_all_and_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    // Versions arrive out of order: middle, last, first.
    store
        .add_objects_all(
            c,
            &open_all(&[
                indicator(7, "2021-01-01T00:00:00.000Z"),
                indicator(7, "2022-01-01T00:00:00.000Z"),
                indicator(7, "2020-06-01T00:00:00.000Z"),
            ]),
        )
        .unwrap();
    let versions = |v: VersionMatch| {
        let mut q = query();
        q.versions = v;
        store
            .query_objects(c, &q)
            .unwrap()
            .items
            .into_iter()
            .map(|o| o.version.format_with_precision(3))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        versions(VersionMatch::default()),
        ["2022-01-01T00:00:00.000Z"]
    );
    assert_eq!(
        versions(VersionMatch {
            first: true,
            ..Default::default()
        }),
        ["2020-06-01T00:00:00.000Z"]
    );
    assert_eq!(versions(VersionMatch::all()).len(), 3);
    assert_eq!(
        versions(VersionMatch {
            first: true,
            last: true,
            ..Default::default()
        }),
        ["2022-01-01T00:00:00.000Z", "2020-06-01T00:00:00.000Z"]
    );
    assert_eq!(
        versions(VersionMatch {
            at: vec![Timestamp::parse("2021-01-01T00:00:00.000Z").unwrap()],
            ..Default::default()
        }),
        ["2021-01-01T00:00:00.000Z"]
    );
}

#[test]
fn deleting_the_latest_version_promotes_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    store
        .add_objects_all(
            c,
            &open_all(&[
                indicator(3, "2020-01-01T00:00:00.000Z"),
                indicator(3, "2021-01-01T00:00:00.000Z"),
            ]),
        )
        .unwrap();
    let id = indicator(3, "2020-01-01T00:00:00.000Z").id;
    let latest = rows(&store, c, &id, VersionMatch::last_only());
    assert_eq!(
        store
            .delete_rows(c, &id, &latest, &AuditEntry::default())
            .unwrap(),
        1
    );
    let page = store.query_objects(c, &query()).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].version.format_with_precision(3),
        "2020-01-01T00:00:00.000Z"
    );
    let all = rows(&store, c, &id, VersionMatch::all());
    assert_eq!(
        store
            .delete_rows(c, &id, &all, &AuditEntry::default())
            .unwrap(),
        1
    );
    assert!(store.query_objects(c, &query()).unwrap().items.is_empty());
}

#[test]
fn type_and_id_filters_page_through_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    let mut objs = Vec::new();
    for n in 0..50 {
        objs.push(indicator(n, "2020-01-01T00:00:00.000Z"));
        objs.push(domain(n));
    }
    store.add_objects_all(c, &open_all(&objs)).unwrap();
    let mut q = query();
    q.types = vec!["domain-name".into(), "indicator".into()];
    q.limit = 7;
    let mut seen = Vec::new();
    loop {
        let page = store.query_objects(c, &q).unwrap();
        seen.extend(page.items.iter().map(|o| o.id.clone()));
        if !page.more {
            break;
        }
        q.added_after = page.items.last().map(|o| o.date_added);
    }
    let expected: Vec<_> = objs.iter().map(|o| o.id.clone()).collect();
    assert_eq!(seen, expected);

    for shape in [
        ObjectQuery {
            limit: 10,
            ..Default::default()
        },
        ObjectQuery {
            limit: 10,
            types: vec!["indicator".into(), "domain-name".into()],
            ..Default::default()
        },
        ObjectQuery {
            limit: 10,
            ids: vec![objs[0].id.clone(), objs[1].id.clone()],
            ..Default::default()
        },
        ObjectQuery {
            limit: 10,
            added_after: Some(Timestamp::from_micros(5)),
            versions: VersionMatch::all(),
            ..Default::default()
        },
    ] {
        let expected = if !shape.ids.is_empty() {
            "USING INTEGER PRIMARY KEY (rowid=?)"
        } else if !shape.types.is_empty() {
            "objects_by_type (collection=? AND type=?"
        } else {
            "objects_by_added (collection=?"
        };
        for plan in store_plans(&store, c, &shape) {
            // The plan must seek by the restricting columns, not walk the collection.
            assert!(plan.contains(expected), "{plan}");
        }
    }
}

#[test]
fn a_type_named_twice_matches_each_object_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    let objs: Vec<_> = (0..5)
        .flat_map(|n| [indicator(n, "2020-01-01T00:00:00.000Z"), domain(n)])
        .collect();
    store.add_objects_all(c, &open_all(&objs)).unwrap();
    let mut q = query();
    q.types = vec!["indicator".into(), "domain-name".into(), "indicator".into()];
    let page = store.query_objects(c, &q).unwrap();
    let seen: Vec<_> = page.items.iter().map(|o| o.id.clone()).collect();
    let expected: Vec<_> = objs.iter().map(|o| o.id.clone()).collect();
    assert_eq!(seen, expected);
    assert!(!page.more);
}

#[test]
fn a_page_stops_before_its_json_passes_the_byte_budget() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    // Four objects of a third of the budget each, a small one, and one
    // larger than the budget: pages of two, then two and the small one,
    // then the large one alone, whatever the limit.
    let big = |n: u32, size: usize| {
        let raw = format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{}","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","description":"{}","pattern":"[domain-name:value = 'e{n}.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00.000Z"}}"#,
            uuid(n),
            "x".repeat(size)
        );
        Validator::new().validate_str(0, &raw).unwrap()
    };
    let third = store::PAGE_BYTES / 3;
    let objs = vec![
        big(1, third),
        big(2, third),
        big(3, third),
        big(4, third),
        indicator(5, "2020-01-01T00:00:00.000Z"),
        big(6, store::PAGE_BYTES + 1),
    ];
    for o in &objs {
        store
            .add_objects_all(c, &open_all(std::slice::from_ref(o)))
            .unwrap();
    }
    for types in [
        vec![],
        vec!["indicator".to_string(), "domain-name".to_string()],
    ] {
        let mut q = query();
        q.types = types;
        let mut pages = Vec::new();
        loop {
            let page = store.query_objects(c, &q).unwrap();
            assert!(!page.items.is_empty());
            let bytes: usize = page.items.iter().map(|o| o.raw.len()).sum();
            assert!(page.items.len() == 1 || bytes <= store::PAGE_BYTES);
            pages.push(page.items.iter().map(|o| o.id.clone()).collect::<Vec<_>>());
            if !page.more {
                break;
            }
            q.added_after = page.items.last().map(|o| o.date_added);
        }
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 3, 1], "{pages:?}");
        let seen: Vec<_> = pages.concat();
        let expected: Vec<_> = objs.iter().map(|o| o.id.clone()).collect();
        assert_eq!(seen, expected);
    }
}

fn store_plans(store: &SqliteStore, c: i64, q: &ObjectQuery) -> Vec<String> {
    store.query_plans(c, q)
}

#[test]
fn paging_never_skips_nor_repeats_under_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let c = setup(&store);
    // A second store on the same file stands in for a second server process.
    let other = Arc::new(open(&dir));
    let writers: Vec<_> = [store.clone(), other.clone()]
        .into_iter()
        .enumerate()
        .map(|(w, s)| {
            std::thread::spawn(move || {
                for batch in 0..20u32 {
                    let objs: Vec<_> = (0..25u32)
                        .map(|i| {
                            indicator(
                                w as u32 * 100_000 + batch * 100 + i,
                                "2020-01-01T00:00:00.000Z",
                            )
                        })
                        .collect();
                    s.add_objects_all(c, &open_all(&objs)).unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut q = query();
    q.limit = 13;
    let mut idle_rounds = 0;
    while idle_rounds < 3 {
        let page = store.query_objects(c, &q).unwrap();
        if page.items.is_empty() {
            if writers.iter().all(|w| w.is_finished()) {
                idle_rounds += 1;
            }
            std::thread::yield_now();
            continue;
        }
        q.added_after = page.items.last().map(|o| o.date_added);
        seen.extend(page.items.into_iter().map(|o| o.id));
    }
    for w in writers {
        w.join().unwrap();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "an object was delivered twice");
    assert_eq!(seen.len(), 2 * 20 * 25, "an object was skipped");
}

#[test]
fn reopening_keeps_everything_and_schema_is_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let c;
    {
        let store = open(&dir);
        c = setup(&store);
        store.add_objects_all(c, &open_all(&[domain(9)])).unwrap();
    }
    let store = open(&dir);
    assert_eq!(store.query_objects(c, &query()).unwrap().items.len(), 1);
    assert_eq!(store.collections("api1").unwrap().len(), 1);
}

#[test]
fn an_add_commits_its_audit_entry_in_the_same_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    let before = store.audit_chain().unwrap().len();
    let objs = [indicator(1, "2020-01-01T00:00:00.000Z"), domain(1)];
    store.add_objects_all(c, &open_all(&objs)).unwrap();
    let chain = store.audit_chain().unwrap();
    assert_eq!(chain.len(), before + 1);
    let last = &chain.last().unwrap().entry;
    assert_eq!(last.action, "write");
    assert_eq!(last.objects, [objs[0].id.clone(), objs[1].id.clone()]);
    // A re-post adds nothing, so it writes no entry.
    store.add_objects_all(c, &open_all(&objs)).unwrap();
    assert_eq!(store.audit_chain().unwrap().len(), before + 1);
    // A write that fails (an unknown collection key) leaves no entry either.
    let failed = store.add_objects(
        c,
        &open_all(&[indicator(2, "2020-01-01T00:00:00.000Z")]),
        &mut |_, _| Some("refused".into()),
        &write_entry(),
    );
    assert!(matches!(failed.unwrap()[0], AddOutcome::Refused(_)));
    assert_eq!(store.audit_chain().unwrap().len(), before + 1);
    assert!(store::verify_chain(&store.audit_chain().unwrap()).is_ok());
}

#[test]
fn each_source_keeps_its_own_copy_of_an_observable() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    let from = |org: i64| {
        let mut i = Ingest::open(domain(7));
        i.origin_org = Some(org);
        i
    };
    let first = store.add_objects_all(c, &[from(1)]).unwrap();
    let second = store.add_objects_all(c, &[from(2)]).unwrap();
    let again = store.add_objects_all(c, &[from(2)]).unwrap();
    let (AddOutcome::Added(a), AddOutcome::Added(b)) = (&first[0], &second[0]) else {
        panic!("both sources' copies are stored: {first:?} {second:?}");
    };
    assert_eq!(again[0], AddOutcome::Duplicate(*b));
    let page = store
        .query_objects(
            c,
            &ObjectQuery {
                limit: 10,
                with_raw: true,
                ..Default::default()
            },
        )
        .unwrap();
    let copies: Vec<_> = page
        .items
        .iter()
        .map(|o| (o.date_added, o.origin_org, o.prior_copies))
        .collect();
    assert_eq!(copies, [(*a, Some(1), false), (*b, Some(2), true)]);
    // Deleting one source's copy leaves the other's, still the latest of its own.
    store
        .delete_rows(c, &domain(7).id, &[*a], &AuditEntry::default())
        .unwrap();
    let left = rows(&store, c, &domain(7).id, VersionMatch::last_only());
    assert_eq!(left, [*b]);
}

/// A manifest-shaped object standing for one this node signed.
fn manifest(n: u32) -> StixObject {
    let raw = format!(
        r#"{{"type":"x-entente-manifest","spec_version":"2.1","id":"x-entente-manifest--{}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","extensions":{{"extension-definition--817b0600-b211-4176-83a9-67f4594d0db7":{{"extension_type":"new-sdo"}}}}}}"#,
        uuid(n)
    );
    Validator::new().validate_str(0, &raw).unwrap()
}

fn pending(store: &SqliteStore) -> Vec<String> {
    store
        .pending_signature(100)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect()
}

fn manifests_in(store: &SqliteStore, c: i64) -> Vec<String> {
    let q = ObjectQuery {
        types: vec!["x-entente-manifest".into()],
        limit: 100,
        ..Default::default()
    };
    store
        .query_objects(c, &q)
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.id)
        .collect()
}

/// A delete withdraws the manifests that list a deleted row, in its own
/// transaction: they are gone, and what else they listed is pending again
/// (the signer lists it anew), with an `unsign` audit entry after the
/// delete's. `withdraw_manifests` does the same for rows that stay.
#[test]
fn deleting_a_signed_row_withdraws_the_manifests_that_list_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    let objs = [
        indicator(1, "2020-01-01T00:00:00.000Z"),
        indicator(2, "2020-01-01T00:00:00.000Z"),
        indicator(3, "2020-01-01T00:00:00.000Z"),
    ];
    let added: Vec<Timestamp> = store
        .add_objects_all(c, &open_all(&objs))
        .unwrap()
        .into_iter()
        .map(|o| match o {
            AddOutcome::Added(at) => at,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(pending(&store).len(), 3);
    let first = manifest(100);
    store
        .add_manifest(
            c,
            &Ingest::open(first.clone()),
            &added,
            None,
            &write_entry(),
        )
        .unwrap();
    assert!(pending(&store).is_empty());
    // Another manifest lists only the third object.
    let other = manifest(101);
    store
        .add_objects_all(c, &open_all(&[indicator(4, "2020-01-01T00:00:00.000Z")]))
        .unwrap();
    let fourth = rows(
        &store,
        c,
        &indicator(4, "2020-01-01T00:00:00.000Z").id,
        VersionMatch::all(),
    );
    store
        .add_manifest(
            c,
            &Ingest::open(other.clone()),
            &fourth,
            None,
            &write_entry(),
        )
        .unwrap();
    assert_eq!(
        manifests_in(&store, c),
        [first.id.clone(), other.id.clone()]
    );

    let delete = AuditEntry {
        action: "delete".into(),
        ..Default::default()
    };
    assert_eq!(
        store
            .delete_rows(c, &objs[1].id, &added[1..2], &delete)
            .unwrap(),
        1
    );
    assert_eq!(manifests_in(&store, c), std::slice::from_ref(&other.id));
    assert_eq!(pending(&store), [objs[0].id.clone(), objs[2].id.clone()]);
    let chain = store.audit_chain().unwrap();
    let n = chain.len();
    assert_eq!(chain[n - 2].entry.action, "delete");
    assert_eq!(chain[n - 1].entry.action, "unsign");
    assert_eq!(chain[n - 1].entry.objects, std::slice::from_ref(&first.id));
    assert!(store::verify_chain(&chain).is_ok());

    // Rows no manifest lists withdraw nothing; a listed row withdraws its.
    assert!(
        store
            .withdraw_manifests(&added, &delete)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.withdraw_manifests(&fourth, &delete).unwrap(),
        std::slice::from_ref(&other.id)
    );
    assert!(manifests_in(&store, c).is_empty());
    assert_eq!(pending(&store).len(), 3);

    // Signed rows that mention a text, with their source.
    store
        .add_manifest(
            c,
            &Ingest::open(manifest(102)),
            &[added[0], added[2], fourth[0]],
            None,
            &write_entry(),
        )
        .unwrap();
    let found = store.signed_rows_mentioning(c, "e3.example").unwrap();
    assert_eq!(found, [(added[2], None)]);
    assert!(
        store
            .signed_rows_mentioning(c, "e2.example")
            .unwrap()
            .is_empty()
    );
}

/// A manifest that lists a later copy of an observable, alone or with
/// other rows, is stored as a later copy too, so that the read gate finds
/// it; `manifest_listing` gives the rows and ids each manifest lists.
#[test]
fn a_manifest_of_a_later_copy_is_marked_and_lists_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let c = setup(&store);
    let from = |org: i64| {
        let mut i = Ingest::open(domain(7));
        i.origin_org = Some(org);
        i
    };
    let added = |o: Vec<AddOutcome>| match o[0] {
        AddOutcome::Added(at) => at,
        ref other => panic!("{other:?}"),
    };
    let a = added(store.add_objects_all(c, &[from(1)]).unwrap());
    let b = added(store.add_objects_all(c, &[from(2)]).unwrap());
    let pending = store.pending_signature(10).unwrap();
    assert_eq!(
        pending.iter().map(|p| p.prior_copies).collect::<Vec<_>>(),
        [false, true]
    );
    let (first, later) = (manifest(200), manifest(201));
    store
        .add_manifest(c, &Ingest::open(first.clone()), &[a], None, &write_entry())
        .unwrap();
    store
        .add_manifest(c, &Ingest::open(later.clone()), &[b], None, &write_entry())
        .unwrap();
    let both = manifest(202);
    store
        .add_manifest(
            c,
            &Ingest::open(both.clone()),
            &[a, b],
            None,
            &write_entry(),
        )
        .unwrap();
    let q = ObjectQuery {
        types: vec!["x-entente-manifest".into()],
        limit: 10,
        ..Default::default()
    };
    let manifests: Vec<(String, bool, Timestamp)> = store
        .query_objects(c, &q)
        .unwrap()
        .items
        .into_iter()
        .map(|o| (o.id, o.prior_copies, o.date_added))
        .collect();
    assert_eq!(
        manifests
            .iter()
            .map(|(id, later, _)| (id.clone(), *later))
            .collect::<Vec<_>>(),
        [
            (first.id.clone(), false),
            (later.id.clone(), true),
            (both.id.clone(), true)
        ]
    );
    let listing = store
        .manifest_listing(&[manifests[0].2, manifests[1].2])
        .unwrap();
    assert_eq!(
        listing,
        [
            (manifests[0].2, a, domain(7).id),
            (manifests[1].2, b, domain(7).id)
        ]
    );
}
