//! The incident API over HTTP against a real server process: who sees an
//! incident, submissions firming provisional deadlines, bad input with
//! field paths, body limits, and what other organisations then see of a
//! shared incident through TAXII.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

const AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
const ASSESSED: &str = "2026-11-16T20:00:00Z";

fn vector(name: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reporting/tests/vectors")
        .join(name)
        .join("incident.json");
    std::fs::read_to_string(path).unwrap()
}

/// The energy operator's ransomware incident, before any report was made.
fn ransomware() -> String {
    vector("v01b-nis2-final-provisional")
}

/// Nordwerk (the reporting operator), a national CERT and a vendor share the
/// "Dialogue" community and its collection; an outsider does not.
struct World {
    node: Node,
    server: Server,
    collection: String,
    ana: String,
    rita: String,
    carl: String,
    vera: String,
    otto: String,
}

fn world() -> World {
    let node = Node::init();
    for org in ["Nordwerk", "National CERT", "Vendor", "Outsider"] {
        node.ok(&["org", "create", org]);
    }
    node.ok(&["community", "create", "Dialogue"]);
    for org in ["Nordwerk", "National CERT", "Vendor"] {
        node.ok(&["community", "add", "Dialogue", org]);
    }
    for (org, user, role) in [
        ("Nordwerk", "ana", "analyst"),
        ("Nordwerk", "rita", "reader"),
        ("National CERT", "carl", "analyst"),
        ("Vendor", "vera", "analyst"),
        ("Outsider", "otto", "admin"),
    ] {
        node.ok(&["user", "create", "--org", org, "--role", role, user]);
    }
    let collection = node.ok(&[
        "collection",
        "create",
        "--title",
        "Dialogue incidents",
        "--community",
        "Dialogue",
    ]);
    let token = |user: &str| node.ok(&["token", "create", "--user", user]);
    World {
        ana: token("Nordwerk/ana"),
        rita: token("Nordwerk/rita"),
        carl: token("National CERT/carl"),
        vera: token("Vendor/vera"),
        otto: token("Outsider/otto"),
        collection,
        server: node.serve(),
        node,
    }
}

impl World {
    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    fn incidents(&self) -> String {
        self.url("/entente/v1/incidents/")
    }

    fn incident(&self, id: &str, rest: &str) -> String {
        self.url(&format!("/entente/v1/incidents/{id}/{rest}"))
    }

    fn create(&self, token: &str, record: &str) -> String {
        let r = post_json(&self.incidents(), Some(token), record, &[]);
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_string()
    }
}

fn stage<'a>(assessment: &'a Value, regime: &str, stage: &str) -> &'a Value {
    assessment["regimes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == regime)
        .and_then(|r| {
            r["stages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == stage)
        })
        .unwrap_or_else(|| panic!("no stage {regime}/{stage}"))
}

fn error_paths(reply: &Reply) -> Vec<String> {
    reply.json()["details"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no details.errors: {}", reply.body))
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_incident_is_visible_only_to_its_organisation() {
    let w = world();
    // Anonymous callers are asked to authenticate, whatever they ask for.
    assert_eq!(get_json(&w.incidents(), None).status, 401);
    assert_eq!(
        post_json(&w.incidents(), None, &ransomware(), &[]).status,
        401
    );

    let created = post_json(&w.incidents(), Some(&w.ana), &ransomware(), &[]);
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        created.content_type.starts_with(JSON),
        "{}",
        created.content_type
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    let body = created.json();
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("/entente/v1/incidents/{id}/").as_str())
    );
    assert_eq!(body["organisation"], "Nordwerk");
    assert_eq!(body["assessment"]["regimes"].as_array().unwrap().len(), 7);

    // Its organisation: readers read, and may not write.
    assert_eq!(get_json(&w.incident(&id, ""), Some(&w.rita)).status, 200);
    let listed = get_json(&w.incidents(), Some(&w.rita)).json();
    assert_eq!(listed["incidents"][0]["id"], id.as_str());
    let put = put_json(&w.incident(&id, ""), Some(&w.rita), &ransomware(), &[]);
    assert_eq!(put.status, 403, "{}", put.body);

    // Others: the incident does not exist, exactly as an unknown id.
    let unknown = get_json(
        &w.incident("00000000-0000-4000-8000-000000000000", ""),
        Some(&w.carl),
    );
    assert_eq!(unknown.status, 404);
    let submission =
        json!({"regime": "nis2", "stage": "early-warning", "submitted_at": "2026-11-14T20:00:00Z"})
            .to_string();
    let share = json!({"collection": w.collection}).to_string();
    for token in [&w.carl, &w.vera, &w.otto] {
        let shown = get_json(&w.incident(&id, ""), Some(token));
        assert_eq!(shown.status, 404, "{}", shown.body);
        assert_eq!(
            shown.json()["description"]
                .as_str()
                .unwrap()
                .replace(&id, "ID"),
            unknown.json()["description"]
                .as_str()
                .unwrap()
                .replace("00000000-0000-4000-8000-000000000000", "ID")
        );
        assert_eq!(
            put_json(&w.incident(&id, ""), Some(token), &ransomware(), &[]).status,
            404
        );
        assert_eq!(
            post_json(
                &w.incident(&id, "submissions/"),
                Some(token),
                &submission,
                &[]
            )
            .status,
            404
        );
        assert_eq!(
            post_json(&w.incident(&id, "share/"), Some(token), &share, &[]).status,
            404
        );
        assert_eq!(
            get_json(&w.incident(&id, "versions/"), Some(token)).status,
            404
        );
        let list = get_json(&w.incidents(), Some(token)).json();
        assert_eq!(list["incidents"], json!([]));
    }
    assert_eq!(get_json(&w.incident(&id, ""), None).status, 401);

    // The node administrator sees every organisation's incidents.
    let admin = get_json(&w.incidents(), Some(&w.node.admin)).json();
    assert_eq!(admin["incidents"].as_array().unwrap().len(), 1);
}

#[test]
fn a_recorded_submission_turns_provisional_deadlines_binding() {
    let w = world();
    let id = w.create(&w.ana, &ransomware());
    let before = get_json(&w.incident(&id, &format!("?at={ASSESSED}")), Some(&w.ana));
    assert_eq!(before.status, 200, "{}", before.body);
    let before = before.json();
    let final_report = stage(&before["assessment"], "nis2", "final");
    assert_eq!(final_report["deadline_status"], "provisional");
    assert_eq!(final_report["due"], "2026-12-17T02:30:00Z");

    let submitted = post_json(
        &w.incident(&id, &format!("submissions/?at={ASSESSED}")),
        Some(&w.ana),
        &json!({
            "regime": "nis2",
            "stage": "notification",
            "submitted_at": "2026-11-16T16:00:00+01:00",
            "reference": "BSI-2026-0042"
        })
        .to_string(),
        &[],
    );
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(submitted.header("etag"), Some("\"2\""));
    let outcome = submitted.json();
    assert_eq!(
        outcome["firmed"],
        json!([{
            "regime": "nis2",
            "stage": "final",
            "provisional_due": "2026-12-17T02:30:00Z",
            "due": "2026-12-16T15:00:00Z",
            "deadline_status": "binding"
        }])
    );
    assert_eq!(outcome["submission"]["recorded_by"], "Nordwerk/ana");
    assert_eq!(
        outcome["submission"]["submitted_at"],
        "2026-11-16T15:00:00Z"
    );
    assert_eq!(
        outcome["incident"]["record"]["submissions"]["nis2"]["notification"],
        "2026-11-16T15:00:00Z"
    );

    // The list no longer shows the notification as due; early warning is overdue.
    let list = get_json(&format!("{}?at={ASSESSED}", w.incidents()), Some(&w.rita)).json();
    let item = &list["incidents"][0];
    assert_eq!(item["next_deadline"]["stage"], "early-warning");
    assert_eq!(item["overdue"][0]["stage"], "early-warning");
    assert!(
        item["upcoming"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| !(d["regime"] == "nis2" && d["stage"] == "notification")),
        "{item}"
    );
    assert!(
        item["upcoming"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["regime"] == "nis2"
                && d["stage"] == "final"
                && d["deadline_status"] == "binding"),
        "{item}"
    );

    // Bad submissions: every problem with its path; nothing recorded.
    let bad = post_json(
        &w.incident(&id, "submissions/"),
        Some(&w.ana),
        &json!({"regime": "nis2", "submitted_at": "2026-11-16 15:00", "when": 1}).to_string(),
        &[],
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    let mut paths = error_paths(&bad);
    paths.sort();
    assert_eq!(paths, ["stage", "submitted_at", "when"]);
    let again = post_json(
        &w.incident(&id, "submissions/"),
        Some(&w.ana),
        &json!({"regime": "nis2", "stage": "notification", "submitted_at": "2026-11-16T17:00:00Z"})
            .to_string(),
        &[],
    );
    assert_eq!(again.status, 409, "{}", again.body);
    let early = post_json(
        &w.incident(&id, "submissions/"),
        Some(&w.ana),
        &json!({"regime": "nis2", "stage": "early-warning", "submitted_at": "2026-11-14T01:00:00Z"})
            .to_string(),
        &[],
    );
    assert_eq!(early.status, 422);
    assert_eq!(error_paths(&early), ["submitted_at"]);

    // Updates against an old version are refused; against the current one, applied.
    let stale = put_json(
        &w.incident(&id, ""),
        Some(&w.ana),
        &ransomware(),
        &[("If-Match", "\"1\"")],
    );
    assert_eq!(stale.status, 412, "{}", stale.body);
    let current = put_json(
        &w.incident(&id, ""),
        Some(&w.ana),
        &ransomware(),
        &[("If-Match", "\"2\"")],
    );
    assert_eq!(current.status, 200, "{}", current.body);
    assert_eq!(current.header("etag"), Some("\"3\""));
    assert!(
        current.json()["notes"][0]
            .as_str()
            .unwrap()
            .contains("submissions.nis2.notification"),
        "{}",
        current.body
    );
    let versions = get_json(&w.incident(&id, "versions/"), Some(&w.rita)).json();
    let numbers: Vec<i64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
}

#[test]
fn bad_input_gets_field_paths_and_the_limits_hold() {
    let w = world();
    let invalid = post_json(
        &w.incidents(),
        Some(&w.ana),
        &vector("bad-aware-before-occurred"),
        &[],
    );
    assert_eq!(invalid.status, 422, "{}", invalid.body);
    let body = invalid.json();
    assert_eq!(body["http_status"], "422");
    let paths = error_paths(&invalid);
    for path in ["occurred.end", "aware_at", "classified_major_at"] {
        assert!(
            paths.iter().any(|p| p == path),
            "{path} missing in {paths:?}"
        );
    }
    let unknown_enum = post_json(
        &w.incidents(),
        Some(&w.ana),
        &vector("bad-unknown-enum-value"),
        &[],
    );
    assert_eq!(unknown_enum.status, 422);
    assert_eq!(error_paths(&unknown_enum), ["entity.nis2_class"]);
    let truncated = post_json(&w.incidents(), Some(&w.ana), "{\"entity\": {", &[]);
    assert_eq!(truncated.status, 422, "{}", truncated.body);
    assert!(
        truncated.json()["description"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{}",
        truncated.body
    );

    // Only JSON bodies, at most 1 MiB.
    for content_type in ["text/plain", TAXII] {
        let r = post_json(
            &w.incidents(),
            Some(&w.ana),
            &ransomware(),
            &[("Content-Type", content_type)],
        );
        assert_eq!(r.status, 415, "{content_type}: {}", r.body);
    }
    // Declared too large: refused before the body is read.
    let path = "/entente/v1/incidents/";
    let declared = raw_request(
        &w,
        "POST",
        path,
        &w.ana,
        &[("Content-Length", "2000000")],
        b"",
    );
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
    // Streamed (chunked, no length): refused as soon as it passes 1 MiB.
    let mut chunk = format!("{:x}\r\n", (1 << 20) + 1).into_bytes();
    chunk.extend(std::iter::repeat_n(b' ', (1 << 20) + 1));
    chunk.extend(b"\r\n");
    let streamed = raw_request(
        &w,
        "POST",
        path,
        &w.ana,
        &[("Transfer-Encoding", "chunked")],
        &chunk,
    );
    assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
    assert!(streamed.contains("exceeds 1048576 bytes"), "{streamed}");
    let id = w.create(&w.ana, &ransomware());
    let put = raw_request(
        &w,
        "PUT",
        &format!("{path}{id}/"),
        &w.ana,
        &[("Content-Length", "2000000")],
        b"",
    );
    assert!(put.starts_with("HTTP/1.1 413"), "{put}");

    // Query parameters are checked too.
    let r = get_json(
        &format!("{}?at=2026-11-16T20:00:00", w.incidents()),
        Some(&w.ana),
    );
    assert_eq!(r.status, 400);
    assert_eq!(error_paths(&r), ["at"]);
    assert_eq!(
        get_json(&format!("{}?since=x", w.incidents()), Some(&w.ana)).status,
        400
    );
    let r = put_json(
        &w.incident(&id, ""),
        Some(&w.ana),
        &ransomware(),
        &[("If-Match", "latest")],
    );
    assert_eq!(r.status, 400);

    // Nothing refused was stored.
    let list = get_json(&w.incidents(), Some(&w.ana)).json();
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(list["incidents"][0]["version"], 1);
}

fn incident_ids(w: &World, token: &str) -> Reply {
    get(
        &w.url(&format!(
            "/api1/collections/{}/objects/?match[type]=incident",
            w.collection
        )),
        token,
    )
}

fn ids_of(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut ids: Vec<String> = reply.json()["objects"]
        .as_array()
        .map(|objects| {
            objects
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn a_shared_incident_reaches_exactly_its_recipients_through_taxii() {
    let w = world();
    let first = w.create(&w.ana, &ransomware());
    let second = w.create(&w.ana, &vector("nis2-ongoing-progress-report"));
    let share = |id: &str, token: &str, body: Value| {
        post_json(
            &w.incident(id, "share/"),
            Some(token),
            &body.to_string(),
            &[],
        )
    };

    // Default TLP: AMBER+STRICT, for the community's members.
    let shared = share(&first, &w.ana, json!({"collection": w.collection}));
    assert_eq!(shared.status, 201, "{}", shared.body);
    let outcome = shared.json();
    assert_eq!(outcome["tlp"], "TLP:AMBER+STRICT");
    assert_eq!(outcome["shared"], true);
    let first_stix = outcome["stix_id"].as_str().unwrap().to_string();
    assert_eq!(first_stix, format!("incident--{first}"));
    let again = share(&first, &w.ana, json!({"collection": w.collection}));
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["shared"], false);

    // The second only for the CERT.
    let named = share(
        &second,
        &w.ana,
        json!({"collection": w.collection, "tlp": "TLP:AMBER+STRICT", "recipient_orgs": ["National CERT"]}),
    );
    assert_eq!(named.status, 201, "{}", named.body);
    let second_stix = named.json()["stix_id"].as_str().unwrap().to_string();

    let mut both = vec![first_stix.clone(), second_stix.clone()];
    both.sort();
    assert_eq!(ids_of(&incident_ids(&w, &w.carl)), both);
    assert_eq!(ids_of(&incident_ids(&w, &w.vera)), [first_stix.as_str()]);
    assert_eq!(ids_of(&incident_ids(&w, &w.ana)), both);
    assert_eq!(
        incident_ids(&w, &w.otto).status,
        404,
        "not a member: no such collection"
    );
    let anonymous = get_with(
        &w.url(&format!("/api1/collections/{}/objects/", w.collection)),
        &[("Accept", TAXII)],
    );
    assert_eq!(anonymous.status, 401);

    // What the CERT receives: the shareable facts, marked, without the reporter's secrets.
    let reply = incident_ids(&w, &w.carl);
    let objects = reply.json()["objects"].clone();
    let incident = objects
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == first_stix.as_str())
        .unwrap()
        .clone();
    assert_eq!(incident["object_marking_refs"], json!([AMBER_STRICT]));
    let facts = incident["extensions"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(
        facts["regimes_applicable"],
        json!(["nis2", "gdpr", "circia"])
    );
    assert_eq!(facts["ttps"], json!(["T1486", "T1190"]));
    for secret in [
        "soc@nordwerk.example",
        "bc1qexamplewalletaddress",
        "Nordwerk Energie GmbH",
    ] {
        assert!(!reply.body.contains(secret), "{secret} reached the CERT");
    }

    // Refusals: a reader, an unknown TLP or recipient, another sharing
    // choice for a version already in the collection, an unknown collection.
    assert_eq!(
        share(&first, &w.rita, json!({"collection": w.collection})).status,
        403
    );
    let purple = share(
        &first,
        &w.ana,
        json!({"collection": w.collection, "tlp": "purple", "recipient_orgs": "CERT"}),
    );
    assert_eq!(purple.status, 422);
    let mut paths = error_paths(&purple);
    paths.sort();
    assert_eq!(paths, ["recipient_orgs", "tlp"]);
    let typo = share(
        &first,
        &w.ana,
        json!({"collection": w.collection, "recipient_orgs": ["Nationl CERT"]}),
    );
    assert_eq!(typo.status, 422);
    assert_eq!(error_paths(&typo), ["recipient_orgs[0]"]);
    let green = share(
        &first,
        &w.ana,
        json!({"collection": w.collection, "tlp": "green"}),
    );
    assert_eq!(green.status, 422, "{}", green.body);
    assert!(
        green.json()["description"]
            .as_str()
            .unwrap()
            .contains("already in collection"),
        "{}",
        green.body
    );
    let nowhere = share(&first, &w.ana, json!({"collection": "no-such-collection"}));
    assert_eq!(nowhere.status, 404);
    assert_eq!(ids_of(&incident_ids(&w, &w.vera)), [first_stix]);
}

/// A request written by hand, for bodies a client library would not send
/// (a declared length with no body, an endless chunked body); returns the
/// response's head and body as text.
fn raw_request(
    w: &World,
    method: &str,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    use std::io::{Read, Write};
    let address = w.server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: {JSON}\r\nAccept: {JSON}\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer and close before taking all of it.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                response.extend_from_slice(&buffer[..n]);
                if response.windows(4).any(|w| w == b"\r\n\r\n") && response.ends_with(b"}") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}
