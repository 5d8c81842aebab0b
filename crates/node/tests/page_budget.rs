//! A page read through the node holds at most `store::PAGE_BYTES` of JSON
//! (or one larger object), however many store queries it takes to fill it.

use std::sync::Arc;

use store::{DirectoryStore, NewCollection, ObjectQuery, SqliteOptions, SqliteStore};

fn indicator(n: u32, description_bytes: usize) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{n:08x}-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","description":"{}","pattern":"[domain-name:value = 'c2-{n}.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#,
        "x".repeat(description_bytes)
    )
}

#[test]
fn pages_stop_at_the_byte_budget_without_skipping_or_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(dir.path().join("p.db"), SqliteOptions::default()).unwrap());
    store
        .create_api_root(
            &store::ApiRoot {
                path: "api1".into(),
                title: "p".into(),
                description: None,
                max_content_length: 1 << 30,
            },
            &store::AuditEntry::default(),
        )
        .unwrap();
    let collection = store
        .create_collection(
            &NewCollection {
                id: "0c9e4b7a-3f21-4d58-8a6e-2b1f9d7c5e43".into(),
                api_root: "api1".into(),
                title: "p".into(),
                description: None,
                alias: None,
                owner: sharing::Owner::Node,
                default_tlp: Some(sharing::Tlp::Green),
                public: false,
                signed: true,
                hide_expired: false,
            },
            &store::AuditEntry::default(),
        )
        .unwrap();
    let node = node::Node::new(store.clone(), stix::Validator::new()).unwrap();
    let operator = sharing::Principal::operator();
    // Five objects of a third of the budget each, then two small ones.
    let third = store::PAGE_BYTES / 3;
    let sizes = [third, third, third, third, third, 10, 10];
    for (n, size) in sizes.iter().enumerate() {
        let body = format!(r#"{{"objects":[{}]}}"#, indicator(n as u32, *size));
        let report = node
            .ingest_envelope(&operator, &collection, body.as_bytes())
            .unwrap();
        assert_eq!(report.stored(), 1);
    }
    let mut query = ObjectQuery {
        limit: 1000,
        with_raw: true,
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = node.read(&operator, &collection, &query).unwrap();
        let bytes: usize = page.items.iter().map(|o| o.raw.len()).sum();
        assert!(bytes <= store::PAGE_BYTES, "a page of {bytes} bytes");
        pages.push(page.items.iter().map(|o| o.id.clone()).collect::<Vec<_>>());
        if !page.more {
            break;
        }
        query.added_after = page.resume_after;
    }
    let counts: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(counts, [2, 2, 3], "{pages:?}");
    let expected: Vec<String> = (0..sizes.len())
        .map(|n| format!("indicator--{n:08x}-0000-4000-8000-000000000000"))
        .collect();
    assert_eq!(pages.concat(), expected);
}
