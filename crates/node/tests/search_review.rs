//! Hostile review of console search: what a user types, made safe by
//! `node::search_expression`, against the store's full-text index (which
//! also indexes each row's collection as a token in a `coll` column).
//! Attacks that held.

use sharing::{AudienceKey, Owner};
use stix::{Tlp, Validator};
use store::{
    AuditEntry, ConsoleStore, CountScope, DirectoryStore, Ingest, ListQuery, NewCollection,
    ObjectStore, SqliteOptions, SqliteStore,
};

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

fn malware(n: u32, name: &str, description: &str) -> Ingest {
    let raw = serde_json::json!({
        "type": "malware", "spec_version": "2.1",
        "id": format!("malware--00000000-0000-4000-8000-{n:012x}"),
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": name, "description": description, "is_family": true
    })
    .to_string();
    Ingest {
        audience: vec![AudienceKey::Green],
        tlp: Some(Tlp::Green),
        ..Ingest::open(Validator::new().validate_str(0, &raw).unwrap())
    }
}

/// HELD: no user text reaches the `coll` column or escapes the column
/// filter: with the reader's collection A empty of matches, every hostile
/// query finds nothing of collection B and none errors out with FTS5
/// syntax (or, when it does, it is refused, never widened).
#[test]
fn hostile_search_text_cannot_reach_other_collections_or_the_coll_column() {
    let dir = tempfile::tempdir().unwrap();
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
    let a = collection(&store, "91a7b528-80eb-42ed-a74d-c6fbd5a26116");
    let b = collection(&store, "0c1f4b5e-4b0e-4c55-9a36-2f6f3f0b1c2d");
    store
        .add_objects(
            a,
            &[malware(1, "harmless", "public thing")],
            &mut |_, _| None,
            &AuditEntry::default(),
        )
        .unwrap();
    store
        .add_objects(
            b,
            &[malware(
                2,
                "secretsource",
                &format!("c{a} c{b} coll NEAR informant"),
            )],
            &mut |_, _| None,
            &AuditEntry::default(),
        )
        .unwrap();
    let long = "x".repeat(100_000);
    let many_words = (0..500)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let hostile = [
        format!("c{b}"),
        format!("coll:c{b}"),
        format!("coll : c{b}"),
        format!("\"\" OR coll : c{b}"),
        format!("x\") OR coll : (c{b}) OR (\"x"),
        format!("x\" OR coll:c{b} OR \"x"),
        format!("{{coll}} : c{b}"),
        format!("- coll : c{b}"),
        "secretsource".to_string(),
        "secret*".to_string(),
        "s*".to_string(),
        "NEAR(secretsource informant, 10)".to_string(),
        "^secretsource".to_string(),
        "secretsource OR harmless".to_string(),
        "harmless OR secretsource".to_string(),
        "(secretsource)".to_string(),
        "\"secretsource\"".to_string(),
        "ＳＥＣＲＥＴＳＯＵＲＣＥ".to_string(),
        "sécrétsource".to_string(),
        "secret\u{0}source".to_string(),
        "secret\u{200b}source".to_string(),
        "*".to_string(),
        "\"".to_string(),
        ")".to_string(),
        long,
        many_words,
    ];
    for text in &hostile {
        let Some(expr) = node::search_expression(text) else {
            continue;
        };
        let scopes = [CountScope {
            collection: a,
            audience: None,
            max_tlp: None,
        }];
        let page = store.list_newest(
            &scopes,
            &ListQuery {
                text: Some(expr.clone()),
                limit: 10,
                max_examined: 100,
                ..Default::default()
            },
        );
        match page {
            Ok(p) => {
                assert!(
                    p.items.iter().all(|(c, _)| *c == a),
                    "{text:?} -> {expr:?} reached another collection"
                );
                assert!(
                    p.resume_before.is_none(),
                    "{text:?}: cursor {:?}",
                    p.resume_before
                );
            }
            Err(store::StoreError::Invalid(_)) => {}
            Err(e) => panic!("{text:?} -> {expr:?}: {e}"),
        }
    }
    // The same words do find B's object for a reader of B (the attack
    // above was not vacuous).
    let page = store
        .list_newest(
            &[CountScope {
                collection: b,
                audience: None,
                max_tlp: None,
            }],
            &ListQuery {
                text: node::search_expression("secretsource"),
                limit: 10,
                max_examined: 100,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.items.len(), 1);
}
