//! Hostile and malformed input against a real server on loopback: every
//! refusal is a TAXII error resource with the right status code, nothing
//! already stored is lost, and no client can hold the node's connections,
//! memory or time beyond fixed bounds.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sharing::{Principal, Tlp};
mod common;

use entente_http::{AppState, ConnectionLimits, HttpConfig};

/// A node serving on an ephemeral loopback port, with one collection, a
/// token that reads and writes it and a token that only reads it.
struct Server {
    addr: SocketAddr,
    writer: String,
    /// A second token that reads and writes the collection.
    other_writer: String,
    reader: String,
    collection: String,
    _dir: tempfile::TempDir,
}

fn token(node: &node::Node, name: &str, collection: &str, write: bool) -> String {
    let request = node::TokenRequest {
        name: Some(name.into()),
        read: vec![collection.into()],
        write: if write {
            vec![collection.into()]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    node.create_token(&Principal::operator(), &request)
        .unwrap()
        .1
}

fn start(max_content_length: u64, limits: ConnectionLimits) -> Server {
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
            title: "hostile".into(),
            description: None,
            max_content_length,
        },
    )
    .unwrap();
    let collection = node
        .create_collection(
            &operator,
            node::CollectionRequest {
                title: "target".into(),
                default_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap()
        .id;
    let writer = token(&node, "writer", &collection, true);
    let other_writer = token(&node, "other writer", &collection, true);
    let reader = token(&node, "reader", &collection, false);
    let state = AppState::new(node, HttpConfig::default(), false);
    let addr = common::serve_on_loopback(state, limits);
    Server {
        addr,
        writer,
        other_writer,
        reader,
        collection,
        _dir: dir,
    }
}

fn default_server() -> Server {
    start(1 << 20, ConnectionLimits::default())
}

/// An answer as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a TAXII error resource with `status`, and returns its description.
    fn taxii_error(&self, status: u16) -> String {
        let text = String::from_utf8_lossy(&self.body);
        assert_eq!(
            self.status,
            status,
            "{}",
            text.chars().take(600).collect::<String>()
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/taxii+json;version=2.1"),
            "{self:?}"
        );
        let error = self.json();
        assert_eq!(error["http_status"], status.to_string(), "{error}");
        assert!(error["title"].is_string(), "{error}");
        error["description"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Reads one HTTP/1.1 response (Content-Length framed, or up to EOF).
fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[head_end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    loop {
        if length.is_some_and(|l| body.len() >= l) {
            break;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(Answer {
        status,
        headers,
        body,
    })
}

impl Server {
    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    fn objects_path(&self) -> String {
        format!("/api1/collections/{}/objects/", self.collection)
    }

    /// Sends `head` (request line and headers, without the blank line), then `body`.
    fn raw(&self, head: &str, body: &[u8]) -> Answer {
        let mut s = self.connect();
        let mut request = format!("{head}\r\nHost: test\r\nConnection: close\r\n\r\n").into_bytes();
        request.extend_from_slice(body);
        s.write_all(&request).unwrap();
        read_answer(&mut s).expect("the server answered nothing")
    }

    fn get(&self, path: &str, token: &str) -> Answer {
        self.raw(
            &format!("GET {path} HTTP/1.1\r\nAuthorization: Bearer {token}"),
            b"",
        )
    }

    fn post(&self, body: &[u8]) -> Answer {
        self.post_as(&self.writer, body)
    }

    fn post_as(&self, token: &str, body: &[u8]) -> Answer {
        self.raw(
            &format!(
                "POST {} HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: {}",
                self.objects_path(),
                body.len()
            ),
            body,
        )
    }

    /// Every object the writer can read back, paging to the end.
    fn stored_ids(&self) -> Vec<String> {
        let a = self.get(
            &format!("{}?match[version]=all", self.objects_path()),
            &self.writer,
        );
        assert_eq!(a.status, 200);
        a.json()["objects"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|o| o["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn indicator() -> serde_json::Value {
    serde_json::json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '203.0.113.7']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z"
    })
}

fn envelope(objects: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "objects": objects })).unwrap()
}

/// Waits until the server closes `stream` (read returns 0 or an error), up to `max`.
fn closed_within(stream: &mut TcpStream, max: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < max {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

fn short_limits() -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 8,
        header_timeout: Duration::from_secs(1),
        body_idle_timeout: Duration::from_secs(1),
        write_stall_timeout: Duration::from_secs(1),
        concurrent_writes: 4,
        writes_per_token: 2,
    }
}

#[test]
fn silent_and_slow_header_connections_are_closed() {
    let server = start(1 << 20, short_limits());
    let mut silent = server.connect();
    let mut partial = server.connect();
    partial
        .write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: test\r\n")
        .unwrap();
    let mut idle = server.connect();
    idle.write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let first = read_answer(&mut idle).expect("a first answer on the keep-alive connection");
    assert_eq!(first.status, 200);
    assert!(closed_within(&mut silent, Duration::from_secs(5)));
    assert!(closed_within(&mut partial, Duration::from_secs(5)));
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
}

#[test]
fn a_stalled_body_gets_408_and_stores_nothing_but_a_slow_one_goes_through() {
    let server = start(1 << 20, short_limits());
    let body = envelope(&[indicator()]);
    let mut s = server.connect();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: {}\r\n\r\n",
        server.objects_path(),
        server.writer,
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body[..body.len() / 2]).unwrap();
    let started = Instant::now();
    let answer = read_answer(&mut s).expect("an answer to the stalled upload");
    assert!(started.elapsed() < Duration::from_secs(5));
    let why = answer.taxii_error(408);
    assert!(why.contains("stopped arriving"), "{why}");
    assert!(server.stored_ids().is_empty());

    // A slow upload that never pauses for the whole limit goes through.
    let mut s = server.connect();
    s.write_all(head.as_bytes()).unwrap();
    for piece in body.chunks(body.len() / 4 + 1) {
        std::thread::sleep(Duration::from_millis(400));
        s.write_all(piece).unwrap();
    }
    let answer = read_answer(&mut s).expect("an answer to the slow upload");
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(server.stored_ids().len(), 1);

    // A stalled chunked upload, too.
    let mut s = server.connect();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nContent-Type: application/taxii+json;version=2.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"obj",
        server.objects_path(),
        server.writer,
    );
    s.write_all(head.as_bytes()).unwrap();
    read_answer(&mut s)
        .expect("an answer to the stalled chunked upload")
        .taxii_error(408);

    // And on Entente's own JSON API.
    let mut s = server.connect();
    let head = format!(
        "POST /entente/v1/incidents/ HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\"",
        server.writer,
    );
    s.write_all(head.as_bytes()).unwrap();
    let answer = read_answer(&mut s).expect("an answer to the stalled incident upload");
    assert_eq!(answer.status, 408, "{answer:?}");
}

#[test]
fn connections_beyond_the_limit_are_refused_and_the_node_recovers() {
    let server = start(
        1 << 20,
        ConnectionLimits {
            max_connections: 4,
            header_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            write_stall_timeout: Duration::from_secs(30),
            concurrent_writes: 4,
            writes_per_token: 2,
        },
    );
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(b"GET /taxii2/ HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    // Give the server time to accept all four.
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = server.connect();
    assert!(
        closed_within(&mut extra, Duration::from_secs(3)),
        "a fifth connection was kept open"
    );
    held.clear();
    std::thread::sleep(Duration::from_millis(300));
    let a = server.get("/taxii2/", &server.reader);
    assert_eq!(a.status, 200);
}

#[test]
fn an_envelope_of_countless_tiny_objects_is_refused_whole() {
    // `0,` is two bytes but costs a full rejection record and status detail:
    // a megabyte of them made a status of 70 MB and a gigabyte of memory.
    let server = default_server();
    let kept = indicator();
    assert_eq!(
        server.post(&envelope(std::slice::from_ref(&kept))).status,
        202
    );
    let count = node::MAX_ENVELOPE_OBJECTS + 1;
    let mut body = b"{\"objects\":[".to_vec();
    body.extend(std::iter::repeat_n(&b"0,"[..], count - 1).flatten());
    body.extend_from_slice(b"0]}");
    let started = Instant::now();
    let answer = server.post(&body);
    let why = answer.taxii_error(422);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        why.contains(&count.to_string()) && why.contains("split"),
        "{why}"
    );
    assert_eq!(server.stored_ids(), [kept["id"].as_str().unwrap()]);
}

#[test]
fn wrong_methods_get_405_error_resources_with_allow() {
    let server = default_server();
    for (method, path, allowed) in [
        ("PUT", server.objects_path(), vec!["GET", "POST"]),
        ("PATCH", "/taxii2/".to_string(), vec!["GET"]),
        (
            "POST",
            format!(
                "{}indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f/",
                server.objects_path()
            ),
            vec!["GET", "DELETE"],
        ),
    ] {
        let a = server.raw(
            &format!(
                "{method} {path} HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Length: 0",
                server.writer
            ),
            b"",
        );
        let why = a.taxii_error(405);
        assert!(why.contains(method), "{why}");
        let allow = a.header("allow").unwrap_or_default().to_string();
        for m in allowed {
            assert!(allow.contains(m), "{method} {path}: Allow {allow:?}");
            assert!(why.contains(m), "{why}");
        }
    }
}

#[test]
fn undecodable_path_segments_get_error_resources() {
    let server = default_server();
    for path in [
        format!("{}%ff/", server.objects_path()),
        format!("{}%c3%28/versions/", server.objects_path()),
        "/api1/status/%fe/".to_string(),
        "/api1/collections/%ff/".to_string(),
    ] {
        let a = server.get(&path, &server.writer);
        let why = a.taxii_error(400);
        assert!(why.contains("UTF-8"), "{path}: {why}");
    }
}

#[test]
fn empty_match_filters_are_refused_not_dropped() {
    // A dropped filter answers more than was asked for: the whole collection.
    let server = default_server();
    assert_eq!(server.post(&envelope(&[indicator()])).status, 202);
    let objects = server.objects_path();
    let manifest = format!("/api1/collections/{}/manifest/", server.collection);
    for (path, query, param) in [
        (&objects, "match[type]=", "match[type]"),
        (&objects, "match[id]=,,", "match[id]"),
        (&manifest, "match[version]=", "match[version]"),
        (&objects, "match[spec_version]=%20", "match[spec_version]"),
        (&objects, "match%5Btype%5D=", "match[type]"),
    ] {
        let a = server.get(&format!("{path}?{query}"), &server.reader);
        let why = a.taxii_error(400);
        assert!(why.contains(param), "{query}: {why}");
    }
}

#[test]
fn compressed_bodies_get_415_naming_the_encoding() {
    // The node reads bodies as sent; a gzip body was answered 422 "not UTF-8".
    let server = default_server();
    let body = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03";
    let a = server.raw(
        &format!(
            "POST {} HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Encoding: gzip\r\nContent-Length: {}",
            server.objects_path(),
            server.writer,
            body.len()
        ),
        body,
    );
    let why = a.taxii_error(415);
    assert!(why.contains("gzip"), "{why}");
    // `identity` is no encoding at all.
    let body = envelope(&[indicator()]);
    let a = server.raw(
        &format!(
            "POST {} HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Encoding: identity\r\nContent-Length: {}",
            server.objects_path(),
            server.writer,
            body.len()
        ),
        &body,
    );
    assert_eq!(a.status, 202);
}

#[test]
fn http2_connections_cannot_sit_idle_in_a_connection_slot() {
    // hyper closes idle HTTP/1 connections, never idle HTTP/2 ones.
    let server = start(1 << 20, short_limits());
    let mut s = server.connect();
    // The connection preface, an empty SETTINGS frame, then one GET / (a
    // HEADERS frame ending the stream: :method GET, :scheme http, :path /,
    // :authority x), after which the client sits idle.
    let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    preface.extend_from_slice(&[0, 0, 6, 1, 5, 0, 0, 0, 1]);
    preface.extend_from_slice(&[0x82, 0x86, 0x84, 0x41, 0x01, b'x']);
    s.write_all(&preface).unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(5)));
}

#[test]
fn a_client_that_stops_reading_is_dropped() {
    let server = start(32 << 20, short_limits());
    let padding = "x".repeat(10_000);
    let objects: Vec<_> = (0..1000)
        .map(|_| {
            let mut o = indicator();
            o["description"] = padding.clone().into();
            o
        })
        .collect();
    assert_eq!(server.post(&envelope(&objects)).status, 202);
    let mut s = server.connect();
    s.write_all(
        format!(
            "GET {} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\r\n",
            server.objects_path(),
            server.reader
        )
        .as_bytes(),
    )
    .unwrap();
    // Read nothing for a while: a 10 MB answer fills the socket buffers.
    std::thread::sleep(Duration::from_secs(4));
    let a = read_answer(&mut s).expect("the start of the answer");
    assert_eq!(a.status, 200);
    let length: usize = a.header("content-length").unwrap().parse().unwrap();
    assert!(
        a.body.len() < length,
        "the whole answer of {length} bytes was still there"
    );
    assert!(server.get("/taxii2/", &server.reader).status == 200);
}

#[test]
fn malformed_authorization_headers_are_told_what_is_wrong() {
    let server = default_server();
    let path = server.objects_path();
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    for (value, expected) in [
        (format!("Basic {}", b64(&server.reader)), "user:password"),
        ("Basic ***".to_string(), "base64"),
        (format!("Basic {}", b64(":")), "empty"),
        ("Bearer".to_string(), "no token"),
        ("Bearer    ".to_string(), "no token"),
        ("Digest username=\"x\"".to_string(), "Digest"),
        (format!("Bearer {}", "a".repeat(600)), "512"),
        (format!("Bearer {} extra", server.reader), "not valid"),
    ] {
        let a = server.raw(
            &format!("GET {path} HTTP/1.1\r\nAuthorization: {value}"),
            b"",
        );
        let why = a.taxii_error(401);
        assert!(why.contains(expected), "{value:?}: {why}");
        assert!(a.header("www-authenticate").is_some());
    }
    // What works keeps working: any user name, or the token as user name.
    for value in [
        format!("Basic {}", b64(&format!("anyone:{}", server.reader))),
        format!("Basic {}", b64(&format!("{}:", server.reader))),
        format!("bearer  {}", server.reader),
    ] {
        let a = server.raw(
            &format!("GET {path} HTTP/1.1\r\nAuthorization: {value}"),
            b"",
        );
        assert_eq!(a.status, 200, "{value:?}");
    }
}

#[test]
fn request_bodies_are_read_a_few_at_a_time_and_a_few_per_token() {
    // Every envelope read is held in memory up to max_content_length, then
    // parsed: without a bound, N writers cost N times that at once. And one
    // writer sending slowly must not make every other writer wait.
    let server = start(
        1 << 20,
        ConnectionLimits {
            concurrent_writes: 2,
            writes_per_token: 1,
            ..short_limits()
        },
    );
    let body = envelope(&[indicator()]);
    let mut stalled = server.connect();
    stalled
        .write_all(
            format!(
                "POST {} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: {}\r\n\r\n{{",
                server.objects_path(),
                server.writer,
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(server.post_as(&server.other_writer, &body).status, 202);
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "another token's envelope waited for the stalled one"
    );
    let started = Instant::now();
    assert_eq!(server.post(&envelope(&[indicator()])).status, 202);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the stalled token's second envelope was read while its first was still arriving"
    );
    read_answer(&mut stalled)
        .expect("an answer to the stalled upload")
        .taxii_error(408);
}
