//! The TAXII 2.1 API through HTTP, against a real server process.

mod common;

use common::*;

fn collection_url(server: &Server, c: &str, rest: &str) -> String {
    server.url(&format!("/api1/collections/{c}/{rest}"))
}

#[test]
fn discovery_root_and_collections_describe_the_node() {
    let node = Node::init();
    let visible = node.collection("Spyware IOCs");
    let hidden = node.collection("Internal");
    let reader = node.token("reader", &[&visible], &[]);
    let server = node.serve();

    let d = get(&server.url("/taxii2/"), &reader);
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, TAXII);
    let d = d.json();
    assert_eq!(d["api_roots"][0], format!("{}/api1/", server.base));
    assert_eq!(d["default"], d["api_roots"][0]);

    let root = get(&server.url("/api1/"), &reader).json();
    assert_eq!(root["versions"][0], TAXII);
    assert!(root["max_content_length"].as_u64().unwrap() > 0);

    let list = get(&server.url("/api1/collections/"), &reader).json();
    let ids: Vec<_> = list["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [visible.as_str()],
        "a collection without rights must not be listed"
    );
    let c = get(&collection_url(&server, &visible, ""), &reader).json();
    assert_eq!(
        (c["can_read"].as_bool(), c["can_write"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(c["media_types"][0], "application/stix+json;version=2.1");

    // Unslashed URLs work too.
    assert_eq!(get(&server.url("/api1/collections"), &reader).status, 200);
    // Hidden and absent collections answer alike.
    let h = get(&collection_url(&server, &hidden, "objects/"), &reader);
    let a = get(&collection_url(&server, &uuid(99), "objects/"), &reader);
    assert_eq!((h.status, a.status), (404, 404));
    assert!(!h.body.contains("Internal"));
    assert_eq!(get(&server.url("/nope/collections/"), &reader).status, 404);
    assert_eq!(get(&server.url("/api1/nothing/here/"), &reader).status, 404);
}

#[test]
fn negotiation_and_authentication_failures_are_taxii_errors() {
    let node = Node::init();
    let c = node.collection("IOCs");
    let writer_only = node.token("writer", &[], &[&c]);
    let server = node.serve();
    let objects = collection_url(&server, &c, "objects/");
    let bearer = format!("Bearer {}", node.admin);

    let r = get_with(
        &objects,
        &[("Accept", "application/json"), ("Authorization", &bearer)],
    );
    assert_eq!(r.status, 406);
    assert_eq!(r.content_type, TAXII);
    assert_eq!(r.json()["http_status"], "406");
    let r = get_with(
        &objects,
        &[
            ("Accept", "application/taxii+json;version=2.0"),
            ("Authorization", &bearer),
        ],
    );
    assert_eq!(r.status, 406);
    for ok in [
        "application/taxii+json",
        "*/*",
        "application/taxii+json; version=2.1",
    ] {
        assert_eq!(
            get_with(&objects, &[("Accept", ok), ("Authorization", &bearer)]).status,
            200,
            "{ok}"
        );
    }

    let r = post_with(
        &objects,
        &[
            ("Accept", TAXII),
            ("Content-Type", "application/json"),
            ("Authorization", &bearer),
        ],
        &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
    );
    assert_eq!(r.status, 415);

    let r = get_with(&objects, &[("Accept", TAXII)]);
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().contains("Basic"));
    assert_eq!(r.json()["http_status"], "401");
    assert_eq!(get(&objects, "ent_not-a-real-token").status, 401);

    // HTTP Basic with the token as password, any user name.
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("anyone:{}", node.admin))
    );
    assert_eq!(
        get_with(&objects, &[("Accept", TAXII), ("Authorization", &basic)]).status,
        200
    );

    // A write-only token sees the collection but may not read it.
    let r = get(&objects, &writer_only);
    assert_eq!(r.status, 403);
    assert_eq!(r.content_type, TAXII);
    let r = post(
        &objects,
        &writer_only,
        &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
    );
    assert_eq!(r.status, 202);

    // Revoked and expired tokens stop working at once.
    let short = node.token("short", &[&c], &[]);
    assert_eq!(get(&objects, &short).status, 200);
    node.ok(&["token", "revoke", "short"]);
    assert_eq!(get(&objects, &short).status, 401);

    // Malformed filters name the parameter.
    let r = get(&format!("{objects}?limit=0"), &node.admin);
    assert_eq!(r.status, 400);
    assert!(r.json()["description"].as_str().unwrap().contains("limit"));
    assert_eq!(
        get(&format!("{objects}?match[version]=newest"), &node.admin).status,
        400
    );
    assert_eq!(
        get(&format!("{objects}?next=forged"), &node.admin).status,
        400
    );
}

#[test]
fn oversized_bodies_are_refused_while_reading() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["init", "--max-content-length", "2000"]);
    assert!(out.status.success());
    let admin = text(&out.stdout).lines().last().unwrap().trim().to_string();
    let c = text(&run(dir.path(), &["collection", "create", "--title", "small"]).stdout)
        .trim()
        .to_string();
    let server = Server::start(dir.path(), &[]);
    let objects = server.url(&format!("/api1/collections/{c}/objects/"));
    let big = envelope(
        &(0..20)
            .map(|n| indicator(n, "2020-01-01T00:00:00.000Z"))
            .collect::<Vec<_>>(),
    );
    assert!(big.len() > 2000);
    let r = post(&objects, &admin, &big);
    assert_eq!(r.status, 413);
    assert_eq!(r.content_type, TAXII);
    let small = envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]);
    assert_eq!(post(&objects, &admin, &small).status, 202);
    assert_eq!(
        get(&objects, &admin).json()["objects"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_mixed_envelope_stores_the_valid_objects_and_reports_the_rest() {
    let node = Node::init();
    let c = node.collection("IOCs");
    let other = node.token("other", &[&c], &[&c]);
    let server = node.serve();
    let objects = collection_url(&server, &c, "objects/");
    let bad_time = indicator(2, "2020-01-01T00:00:00.000Z").replace(
        "\"valid_from\":\"2020-01-01T00:00:00Z\"",
        "\"valid_from\":\"2020-01-01 00:00:00\"",
    );
    let no_pattern = indicator(3, "2020-01-01T00:00:00.000Z")
        .replace("\"pattern\":\"[domain-name:value = 'x3.example']\",", "");
    let body = envelope(&[
        indicator(1, "2020-01-01T00:00:00.000Z"),
        bad_time,
        no_pattern,
        "42".to_string(),
    ]);
    let r = post(&objects, &node.admin, &body);
    assert_eq!(r.status, 202);
    assert_eq!(r.content_type, TAXII);
    let status = r.json();
    assert_eq!(status["status"], "complete");
    assert_eq!(status["total_count"], 4);
    assert_eq!(status["success_count"], 1);
    assert_eq!(status["failure_count"], 3);
    assert_eq!(status["pending_count"], 0);
    let failures = status["failures"].as_array().unwrap();
    assert_eq!(failures[0]["id"], format!("indicator--{}", uuid(2)));
    assert!(
        failures[0]["message"]
            .as_str()
            .unwrap()
            .contains("$.valid_from"),
        "{}",
        failures[0]
    );
    assert!(
        failures[1]["message"]
            .as_str()
            .unwrap()
            .contains("$.pattern"),
        "{}",
        failures[1]
    );
    assert!(
        failures[2]["message"]
            .as_str()
            .unwrap()
            .contains("object 3"),
        "{}",
        failures[2]
    );

    let stored = get(&objects, &node.admin).json();
    assert_eq!(stored["objects"].as_array().unwrap().len(), 1);

    // The status resource is kept and readable by its submitter only.
    let status_url = server.url(&format!("/api1/status/{}/", status["id"].as_str().unwrap()));
    let again = get(&status_url, &node.admin);
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), status);
    assert_eq!(get(&status_url, &other).status, 404);

    // Re-posting the same object is a success that changes nothing;
    // different content under the same version is refused.
    let r = post(
        &objects,
        &other,
        &envelope(&[indicator(1, "2020-01-01T00:00:00.000Z")]),
    )
    .json();
    assert_eq!(
        (r["success_count"].as_u64(), r["failure_count"].as_u64()),
        (Some(1), Some(0))
    );
    let changed = indicator(1, "2020-01-01T00:00:00.000Z").replace("Spyware domain 1", "Renamed");
    let r = post(&objects, &other, &envelope(&[changed])).json();
    assert_eq!(r["failure_count"], 1);
    assert!(
        r["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("new modified")
    );

    // Indicator patterns are parsed when stored; the parser's message is returned.
    let bad_pattern = indicator(4, "2020-01-01T00:00:00.000Z").replace(
        "[domain-name:value = 'x4.example']",
        "[domain-name:value = 'x4.example'",
    );
    let r = post(&objects, &other, &envelope(&[bad_pattern])).json();
    assert_eq!(r["failure_count"], 1);
    let message = r["failures"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("$.pattern") && message.contains("expected"),
        "{message}"
    );

    // Unreadable envelopes store nothing: a body that is not JSON is a bad
    // request (400); JSON that is not an envelope is unprocessable (422): a
    // bare array or a single object is not one (a bundle carries its
    // objects as an envelope does, and the stix2 library sends bundles).
    assert_eq!(
        post(&objects, &node.admin, "{\"objects\": [ {\"type\": ").status,
        400
    );
    assert_eq!(post(&objects, &node.admin, "{\"objects\": []}").status, 422);
    let bare = post(&objects, &node.admin, "[1, 2, 3]");
    assert_eq!(bare.status, 422);
    assert!(
        bare.json()["description"]
            .as_str()
            .unwrap()
            .contains("TAXII 2.1 envelope")
    );
    let bundle = format!(
        r#"{{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[{}]}}"#,
        indicator(9, "2020-01-01T00:00:00.000Z")
    );
    assert_eq!(post(&objects, &node.admin, &bundle).status, 202);
    let single = indicator(10, "2020-01-01T00:00:00.000Z");
    assert_eq!(post(&objects, &node.admin, &single).status, 422);
    assert_eq!(
        get(&objects, &node.admin).json()["objects"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "indicator 1, and indicator 9 from the bundle"
    );
}

#[test]
fn objects_are_served_exactly_as_sent() {
    let node = Node::init();
    let c = node.collection("IOCs");
    let server = node.serve();
    let odd = r#"{ "valid_from" : "2020-01-01T00:00:00Z",
        "type":"indicator", "spec_version":"2.1", "id":"indicator--0d6a2b3c-1f2e-4d5c-8b7a-6e5f4d3c2b1a",
        "created":"2020-01-01T00:00:00.1234567Z","modified":"2020-01-01T00:00:00.1234567Z",
        "pattern":"[url:value = 'https://example.com/?q=\u00e9&x=1']","pattern_type":"stix",
        "x_note":"caf\u00e9 — ünïcode" }"#;
    let body = format!("{{\"objects\":[{odd}]}}");
    assert_eq!(
        post(&collection_url(&server, &c, "objects/"), &node.admin, &body).status,
        202
    );
    let r = get(&collection_url(&server, &c, "objects/"), &node.admin);
    assert!(
        r.body.contains(odd),
        "served bytes differ from the sent bytes:\n{}",
        r.body
    );
    let r = get(
        &collection_url(
            &server,
            &c,
            "objects/indicator--0d6a2b3c-1f2e-4d5c-8b7a-6e5f4d3c2b1a/",
        ),
        &node.admin,
    );
    assert!(r.body.contains(odd));
}

#[test]
fn filters_versions_manifest_and_headers() {
    let node = Node::init();
    let c = node.collection("IOCs");
    let server = node.serve();
    let objects = collection_url(&server, &c, "objects/");
    // Object 1 in three versions (arriving out of order), object 2 once, a malware.
    let malware = r#"{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"NIGHTOWL","is_family":true}"#;
    for batch in [
        vec![
            indicator(1, "2021-01-01T00:00:00.000Z"),
            indicator(2, "2020-01-01T00:00:00.000Z"),
        ],
        vec![
            indicator(1, "2022-01-01T00:00:00.000Z"),
            malware.to_string(),
        ],
        vec![indicator(1, "2020-06-01T00:00:00.000Z")],
    ] {
        assert_eq!(
            post(&objects, &node.admin, &envelope(&batch)).json()["failure_count"],
            0
        );
    }
    let versions_of = |q: &str| -> Vec<String> {
        let r = get(&format!("{objects}?{q}"), &node.admin);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.json()["objects"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        format!(
                            "{}@{}",
                            &o["id"].as_str().unwrap()[..14],
                            o["modified"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let id1 = format!("indicator--{}", uuid(1));
    assert_eq!(versions_of("").len(), 3, "latest versions of three objects");
    assert_eq!(
        versions_of(&format!("match[id]={id1}")),
        ["indicator--000@2022-01-01T00:00:00.000Z"]
    );
    assert_eq!(
        versions_of(&format!("match[id]={id1}&match[version]=first")),
        ["indicator--000@2020-06-01T00:00:00.000Z"]
    );
    assert_eq!(
        versions_of(&format!("match[id]={id1}&match[version]=all")).len(),
        3
    );
    assert_eq!(
        versions_of(&format!(
            "match[id]={id1}&match[version]=2021-01-01T00:00:00Z"
        )),
        ["indicator--000@2021-01-01T00:00:00.000Z"]
    );
    assert_eq!(
        versions_of(&format!("match[id]={id1}&match[version]=first,last")).len(),
        2
    );
    assert_eq!(versions_of("match[type]=malware").len(), 1);
    assert_eq!(versions_of("match[type]=malware,indicator").len(), 3);
    assert_eq!(versions_of("match[type]=report").len(), 0);
    assert_eq!(versions_of("match[spec_version]=2.1").len(), 3);
    assert_eq!(versions_of("match[spec_version]=2.0").len(), 0);

    // X-TAXII-Date-Added headers bracket the page; added_after is strict.
    let r = get(&format!("{objects}?match[version]=all"), &node.admin);
    let first = r.header("x-taxii-date-added-first").unwrap().to_string();
    let last = r.header("x-taxii-date-added-last").unwrap().to_string();
    assert!(
        first < last && first.ends_with('Z') && first.len() == 27,
        "{first} {last}"
    );
    assert_eq!(
        versions_of(&format!("match[version]=all&added_after={last}")).len(),
        0
    );
    assert_eq!(
        versions_of(&format!("match[version]=all&added_after={first}")).len(),
        4
    );

    // The manifest lists one record per version with date_added and media type.
    let m = get(
        &collection_url(&server, &c, "manifest/?match[version]=all"),
        &node.admin,
    );
    assert!(m.header("x-taxii-date-added-first").is_some());
    let records = m.json()["objects"].as_array().unwrap().clone();
    assert_eq!(records.len(), 5);
    assert!(
        records
            .iter()
            .all(|r| r["media_type"] == "application/stix+json;version=2.1"
                && r["date_added"].is_string())
    );
    assert_eq!(
        records.iter().filter(|r| r["id"] == id1.as_str()).count(),
        3
    );

    // Versions endpoint lists every version in date_added order.
    let v = get(
        &collection_url(&server, &c, &format!("objects/{id1}/versions/")),
        &node.admin,
    );
    assert_eq!(
        v.json()["versions"],
        serde_json::json!([
            "2021-01-01T00:00:00.000Z",
            "2022-01-01T00:00:00.000Z",
            "2020-06-01T00:00:00.000Z"
        ])
    );

    // Object endpoint: latest by default, 404 for unknown ids, {} when filtered out.
    let o = get(
        &collection_url(&server, &c, &format!("objects/{id1}/")),
        &node.admin,
    )
    .json();
    assert_eq!(o["objects"].as_array().unwrap().len(), 1);
    assert_eq!(o["objects"][0]["modified"], "2022-01-01T00:00:00.000Z");
    let missing = format!("indicator--{}", uuid(77));
    assert_eq!(
        get(
            &collection_url(&server, &c, &format!("objects/{missing}/")),
            &node.admin
        )
        .status,
        404
    );
    let empty = get(
        &collection_url(
            &server,
            &c,
            &format!("objects/{id1}/?match[version]=1999-01-01T00:00:00Z"),
        ),
        &node.admin,
    );
    assert_eq!((empty.status, empty.body.as_str()), (200, "{}"));

    // DELETE one version, then all.
    let d = delete(
        &collection_url(&server, &c, &format!("objects/{id1}/?match[version]=last")),
        &node.admin,
    );
    assert_eq!(d.status, 200);
    assert_eq!(
        versions_of(&format!("match[id]={id1}")),
        ["indicator--000@2021-01-01T00:00:00.000Z"]
    );
    assert_eq!(
        delete(
            &collection_url(&server, &c, &format!("objects/{id1}/")),
            &node.admin
        )
        .status,
        200
    );
    assert_eq!(
        get(
            &collection_url(&server, &c, &format!("objects/{id1}/")),
            &node.admin
        )
        .status,
        404
    );
    assert_eq!(
        delete(
            &collection_url(&server, &c, &format!("objects/{id1}/")),
            &node.admin
        )
        .status,
        404
    );
}

#[test]
fn next_cursors_survive_restarts_and_work_across_processes() {
    let node = Node::init();
    let c = node.collection("IOCs");
    let server = node.serve();
    let objects = collection_url(&server, &c, "objects/");
    let all: Vec<String> = (0..25)
        .map(|n| indicator(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    post(&objects, &node.admin, &envelope(&all));

    let page1 = get(&format!("{objects}?limit=10"), &node.admin).json();
    assert_eq!(page1["more"], true);
    let next = page1["next"].as_str().unwrap().to_string();
    server.kill();

    // A new process (after a restart) continues the sequence.
    let a = node.serve();
    let b = node.serve();
    let mut ids: Vec<String> = page1["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    let page2 = get(
        &a.url(&format!(
            "/api1/collections/{c}/objects/?limit=10&next={next}"
        )),
        &node.admin,
    )
    .json();
    ids.extend(
        page2["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string()),
    );
    // ... and a second process on the same database serves the third page.
    let next2 = page2["next"].as_str().unwrap();
    let page3 = get(
        &b.url(&format!(
            "/api1/collections/{c}/objects/?limit=10&next={next2}"
        )),
        &node.admin,
    )
    .json();
    assert_eq!(page3["more"], false);
    assert!(page3.get("next").is_none());
    ids.extend(
        page3["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string()),
    );
    // The node's signed manifest of these objects joins them as it is written.
    ids.retain(|id| !id.starts_with("x-entente-manifest--"));
    let expected: Vec<String> = (0..25).map(|n| format!("indicator--{}", uuid(n))).collect();
    assert_eq!(ids, expected);

    // A cursor is bound to its query.
    let r = get(
        &b.url(&format!(
            "/api1/collections/{c}/objects/?match[type]=malware&next={next}"
        )),
        &node.admin,
    );
    assert_eq!(r.status, 400);
}

#[test]
fn an_answered_write_survives_a_kill() {
    let node = Node::init();
    let c = node.collection("IOCs");
    for round in 0..5u32 {
        let server = node.serve();
        let objects = collection_url(&server, &c, "objects/");
        let batch: Vec<String> = (0..200)
            .map(|n| indicator(round * 1000 + n, "2020-01-01T00:00:00.000Z"))
            .collect();
        let r = post(&objects, &node.admin, &envelope(&batch));
        assert_eq!(r.json()["success_count"], 200);
        server.kill(); // SIGKILL right after the answer
    }
    let server = node.serve();
    let manifest = get(&collection_url(&server, &c, "manifest/"), &node.admin).json();
    assert_eq!(manifest["objects"].as_array().unwrap().len(), 1000);
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let node = Node::init();
    let out = node.cli(&["serve", "--listen", "0.0.0.0:0"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("refusing to serve plain HTTP"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tls_prefers_the_hybrid_post_quantum_key_exchange() {
    use std::io::{Read, Write};
    use std::sync::Arc;

    let node = Node::init();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = node.path().join("cert.pem");
    let key_path = node.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = Server::start(
        node.path(),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let addr = server.base.trim_start_matches("https://").to_string();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = std::net::TcpStream::connect(&addr).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    write!(
        tls,
        "GET /taxii2/ HTTP/1.1\r\nHost: localhost\r\nAccept: {TAXII}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        node.admin
    )
    .unwrap();
    let mut response = String::new();
    let _ = tls.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let group = conn.negotiated_key_exchange_group().unwrap().name();
    assert_eq!(format!("{group:?}"), "X25519MLKEM768");
    assert_eq!(
        conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}
