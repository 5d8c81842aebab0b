//! Policy leaks through the HTTP surface, found by probing a real server on
//! loopback: what a member may do to, or learn about, object versions it may
//! not see.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use sharing::{Owner, Role, Tlp};
use store::{ApiRoot, NewCollection, NewToken, SqliteOptions, SqliteStore, Store};
mod common;

use taxii::{AppState, ConnectionLimits, TaxiiConfig};

/// A node with a CERT and a vendor in one community, one community
/// collection (default TLP:GREEN), and an analyst's token in each.
struct Server {
    addr: SocketAddr,
    cert: String,
    vendor: String,
    collection: String,
    _dir: tempfile::TempDir,
}

fn user_token(store: &SqliteStore, org: &store::Org, name: &str) -> String {
    let user = store.create_user(org.id, name, Role::Analyst).unwrap();
    let secret = sharing::token::generate().unwrap();
    store
        .create_token(&NewToken {
            name: name.into(),
            secret_hash: sharing::token::digest(&secret),
            admin: false,
            user: Some(user.id),
            expires: None,
            grants: Vec::new(),
        })
        .unwrap();
    secret
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("node.db"), SqliteOptions::default()).unwrap();
    store
        .create_api_root(&ApiRoot {
            path: "api1".into(),
            title: "leaks".into(),
            description: None,
            max_content_length: 1 << 20,
        })
        .unwrap();
    let cert = store
        .create_org(
            "National CERT",
            "identity--00000002-0000-4000-8000-000000000000",
        )
        .unwrap();
    let vendor = store
        .create_org("Vendor", "identity--00000003-0000-4000-8000-000000000000")
        .unwrap();
    let community = store.create_community("Dialogue", false).unwrap();
    store.add_member(community.id, cert.id, false).unwrap();
    store.add_member(community.id, vendor.id, false).unwrap();
    let collection = uuid::Uuid::new_v4().to_string();
    store
        .create_collection(&NewCollection {
            id: collection.clone(),
            api_root: "api1".into(),
            title: "Dialogue".into(),
            description: None,
            alias: None,
            owner: Owner::Community(community.id),
            default_tlp: Some(Tlp::Green),
            public: false,
        })
        .unwrap();
    let cert = user_token(&store, &cert, "ana");
    let vendor = user_token(&store, &vendor, "vera");
    let node = node::Node::new(Arc::new(store), stix::Validator::new()).unwrap();
    let state = AppState::new(node, TaxiiConfig::default(), false);
    let addr = common::serve_on_loopback(state, ConnectionLimits::default());
    Server {
        addr,
        cert,
        vendor,
        collection,
        _dir: dir,
    }
}

/// One request on its own connection; the status and the body.
fn call(server: &Server, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let content = if body.is_empty() {
        String::new()
    } else {
        format!(
            "Content-Type: application/taxii+json;version=2.1\r\nContent-Length: {}\r\n",
            body.len()
        )
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/taxii+json;version=2.1\r\nAuthorization: Bearer {token}\r\n{content}Connection: close\r\n\r\n{body}"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn indicator(id: &str, modified: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"2026-01-01T00:00:00.000Z","modified":"{modified}","name":"ioc","pattern":"[domain-name:value = 'ioc.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"{extra}}}"#
    )
}

const RECIPIENTS: &str = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--0000000f-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","organizations":["National CERT"]}}}"#;

#[test]
fn a_member_cannot_delete_versions_it_may_not_see() {
    let server = start();
    let objects = format!("/api1/collections/{}/objects/", server.collection);
    let id = "indicator--0000000f-0000-4000-8000-000000000000";
    // The vendor shares version 1; the CERT adds version 2 for itself alone.
    let v1 = indicator(id, "2026-01-01T00:00:00.000Z", "");
    let (status, body) = call(
        &server,
        "POST",
        &objects,
        &server.vendor,
        &format!(r#"{{"objects":[{v1}]}}"#),
    );
    assert_eq!(
        (status, body.contains(r#""success_count":1"#)),
        (202, true),
        "{body}"
    );
    let v2 = indicator(
        id,
        "2026-02-01T00:00:00.000Z",
        &format!(
            r#","object_marking_refs":["{}","marking-definition--0000000f-0000-4000-8000-000000000000"]"#,
            sharing::tlp::TLP2_AMBER
        ),
    );
    let (status, body) = call(
        &server,
        "POST",
        &objects,
        &server.cert,
        &format!(r#"{{"objects":[{RECIPIENTS},{v2}]}}"#),
    );
    assert_eq!(
        (status, body.contains(r#""success_count":2"#)),
        (202, true),
        "{body}"
    );
    let versions = format!("{objects}{id}/versions/");
    let (_, body) = call(&server, "GET", &versions, &server.cert, "");
    assert!(body.contains("2026-02-01"), "{body}");

    // The vendor deletes "the last version", then "every version": only
    // what it may see goes.
    let (status, body) = call(
        &server,
        "DELETE",
        &format!("{objects}{id}/?match[version]=last"),
        &server.vendor,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let (_, body) = call(&server, "GET", &versions, &server.cert, "");
    assert!(
        body.contains("2026-02-01"),
        "the CERT's version is gone: {body}"
    );
    let (status, body) = call(
        &server,
        "DELETE",
        &format!("{objects}{id}/"),
        &server.vendor,
        "",
    );
    assert!(status == 200 || status == 404, "{status} {body}");
    let (_, body) = call(&server, "GET", &versions, &server.cert, "");
    assert!(
        body.contains("2026-02-01"),
        "the CERT's version is gone: {body}"
    );
}
