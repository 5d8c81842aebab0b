//! Policy leaks through the HTTP surface, found by probing a real server on
//! loopback: what a member may do to, or learn about, object versions it may
//! not see.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sharing::{Principal, Role, Tlp};
mod common;

use entente_http::{AppState, ConnectionLimits, HttpConfig};

/// A node with a CERT and a vendor in one community, one community
/// collection (default TLP:GREEN), and an analyst's token in each.
struct Server {
    addr: SocketAddr,
    cert: String,
    vendor: String,
    collection: String,
    _dir: tempfile::TempDir,
}

fn user_token(node: &node::Node, org: &str, name: &str) -> String {
    let operator = Principal::operator();
    node.create_user(&operator, org, name, Role::Analyst)
        .unwrap();
    let request = node::TokenRequest {
        name: Some(name.into()),
        user: Some(format!("{org}/{name}")),
        ..Default::default()
    };
    node.create_token(&operator, &request).unwrap().1
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let node = node::Node::open(
        &node::Database::Sqlite {
            path: dir.path().join("node.db"),
            options: node::SqliteOptions::default(),
        },
        stix::Validator::new(),
    )
    .unwrap();
    let operator = Principal::operator();
    node.create_api_root(
        &operator,
        &node::ApiRoot {
            path: "api1".into(),
            title: "leaks".into(),
            description: None,
            max_content_length: 1 << 20,
        },
    )
    .unwrap();
    node.create_org(
        &operator,
        "National CERT",
        Some("identity--00000002-0000-4000-8000-000000000000"),
    )
    .unwrap();
    node.create_org(
        &operator,
        "Vendor",
        Some("identity--00000003-0000-4000-8000-000000000000"),
    )
    .unwrap();
    node.create_community(&operator, "Dialogue", false).unwrap();
    node.add_member(&operator, "Dialogue", "National CERT", false)
        .unwrap();
    node.add_member(&operator, "Dialogue", "Vendor", false)
        .unwrap();
    let collection = node
        .create_collection(
            &operator,
            node::CollectionRequest {
                title: "Dialogue".into(),
                community: Some("Dialogue".into()),
                default_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap()
        .id;
    let cert = user_token(&node, "National CERT", "ana");
    let vendor = user_token(&node, "Vendor", "vera");
    let state = AppState::new(node, HttpConfig::default(), false);
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
    // The CERT shares version 1 with the community, and keeps version 2
    // for itself alone.
    let v1 = indicator(id, "2026-01-01T00:00:00.000Z", "");
    let v2 = indicator(
        id,
        "2026-02-01T00:00:00.000Z",
        &format!(
            r#","object_marking_refs":["{}","marking-definition--0000000f-0000-4000-8000-000000000000"]"#,
            stix::Tlp::Amber.marking_id()
        ),
    );
    let (status, body) = call(
        &server,
        "POST",
        &objects,
        &server.cert,
        &format!(r#"{{"objects":[{v1},{RECIPIENTS},{v2}]}}"#),
    );
    assert_eq!(
        (status, body.contains(r#""success_count":3"#)),
        (202, true),
        "{body}"
    );
    let versions = format!("{objects}{id}/versions/");
    let (_, body) = call(&server, "GET", &versions, &server.cert, "");
    assert!(body.contains("2026-02-01"), "{body}");
    let (_, body) = call(&server, "GET", &versions, &server.vendor, "");
    assert!(!body.contains("2026-02-01"), "{body}");

    // The vendor deletes "the last version", then "every version": what it
    // sees is the CERT's, so it may delete nothing; what it does not see
    // it does not even learn about.
    for path in [
        format!("{objects}{id}/?match[version]=last"),
        format!("{objects}{id}/"),
    ] {
        let (status, body) = call(&server, "DELETE", &path, &server.vendor, "");
        assert_eq!(status, 403, "{body}");
        assert!(!body.contains("2026-02-01"), "{body}");
    }
    let (_, body) = call(&server, "GET", &versions, &server.cert, "");
    assert!(
        body.contains("2026-01-01") && body.contains("2026-02-01"),
        "a version is gone: {body}"
    );
    // The CERT removes its own.
    let (status, body) = call(
        &server,
        "DELETE",
        &format!("{objects}{id}/"),
        &server.cert,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(&server, "GET", &versions, &server.cert, "");
    assert_eq!(status, 404);
}
