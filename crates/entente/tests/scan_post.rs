//! `entente scan --post`: sightings posted back to a TAXII 2.1 collection,
//! against a real Entente node (pseudonymous sharing end to end, a token
//! that may not write) and against a scripted TAXII server (pending status
//! resources, failures, envelopes cut to the API root's limit).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::Value;

const HELPDESK: &str = "Civic Helpdesk";

/// What the helpdesk found on a phone: two values named by indicators, one
/// harmless domain.
const SEEN_ON_PHONE: &str = "evil.example.com\n203.0.113.7\nharmless.example.org\n";

fn indicator(n: u32, pattern: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Spyware infrastructure {n}","pattern":"{pattern}","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}}"#,
        uuid(n)
    )
}

fn indicator_bundle() -> String {
    let objects = [
        indicator(1, "[domain-name:value = 'evil.example.com']"),
        indicator(2, "[ipv4-addr:value ISSUBSET '203.0.113.0/24']"),
        indicator(3, "[domain-name:value = 'never.example']"),
    ];
    format!(
        r#"{{"type":"bundle","id":"bundle--{}","objects":[{}]}}"#,
        uuid(99),
        objects.join(",")
    )
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// Runs `entente` with no token in its environment unless `env` sets one.
fn entente(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("ENTENTE_TOKEN")
        .env_remove("ENTENTE_POST_TOKEN")
        .env_remove("ENTENTE_DATA");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// A node where a civil-society helpdesk (a pseudonymous member) and a
/// national CERT share one community collection holding the CERT's
/// indicators.
struct World {
    node: Node,
    collection: String,
    helpdesk_identity: String,
    helpdesk: String,
    cert: String,
    inputs: tempfile::TempDir,
}

fn world(max_content_length: &str) -> World {
    let node = Node::init_with(&["--max-content-length", max_content_length]);
    node.ok(&["org", "create", HELPDESK]);
    node.ok(&["org", "create", "National CERT"]);
    node.ok(&["community", "create", "Dialogue"]);
    node.ok(&["community", "add", "Dialogue", "National CERT"]);
    node.ok(&["community", "add", "Dialogue", HELPDESK, "--pseudonymous"]);
    node.ok(&[
        "user",
        "create",
        "--org",
        "National CERT",
        "--role",
        "analyst",
        "ana",
    ]);
    node.ok(&[
        "user", "create", "--org", HELPDESK, "--role", "analyst", "hugo",
    ]);
    node.ok(&[
        "user", "create", "--org", HELPDESK, "--role", "reader", "rita",
    ]);
    let collection = node.ok(&[
        "collection",
        "create",
        "--title",
        "Dialogue IOCs",
        "--community",
        "Dialogue",
        "--default-tlp",
        "green",
    ]);
    let inputs = tempfile::tempdir().unwrap();
    let bundle = write(inputs.path(), "indicators.json", &indicator_bundle());
    node.ok(&[
        "import",
        "--collection",
        &collection,
        "--as",
        "National CERT/ana",
        "-q",
        bundle.to_str().unwrap(),
    ]);
    write(inputs.path(), "phone.txt", SEEN_ON_PHONE);
    World {
        helpdesk_identity: node.org_identity(HELPDESK),
        helpdesk: node.ok(&["token", "create", "--user", "Civic Helpdesk/hugo"]),
        cert: node.ok(&["token", "create", "--user", "National CERT/ana"]),
        collection,
        inputs,
        node,
    }
}

impl World {
    fn phone(&self) -> String {
        self.inputs
            .path()
            .join("phone.txt")
            .to_string_lossy()
            .into_owned()
    }
}

fn objects_of(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["objects"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn of_type<'a>(objects: &'a [Value], t: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["type"] == t).collect()
}

#[test]
fn a_pseudonymous_helpdesk_posts_sightings_the_cert_sees_without_its_name() {
    // A small limit, so that the sightings travel in several envelopes.
    let w = world("2048");
    let server = w.node.serve();
    let collection_url = server.url(&format!("/api1/collections/{}/", w.collection));
    let objects_url = format!("{collection_url}objects/");

    let (code, out, err) = entente(
        &[
            "scan",
            "--taxii",
            &collection_url,
            "--token",
            &w.helpdesk,
            "--post",
            &collection_url,
            "--identity",
            &w.helpdesk_identity,
            "--output",
            "stix",
            &w.phone(),
        ],
        &[],
    );
    assert_eq!(code, 1, "something matched and the post succeeded:\n{err}");
    assert!(err.contains("with 3 indicators"), "{err}");
    let envelopes: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("posted envelope "))
        .collect();
    assert!(
        envelopes.len() >= 2,
        "cut to the API root's 2048 bytes: {err}"
    );
    for line in &envelopes {
        assert!(
            line.contains(&format!("to {collection_url}")) && line.ends_with(')'),
            "{line}"
        );
        assert!(line.contains(" 0 failed"), "{line}");
        let bytes: usize = line
            .split(" bytes)")
            .next()
            .and_then(|head| head.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no size in {line}"));
        assert!(bytes <= 2048, "{line}");
    }
    let printed: Value = serde_json::from_str(&out).unwrap();
    let printed = printed["objects"].as_array().unwrap().clone();
    let printed_sightings: BTreeSet<String> = of_type(&printed, "sighting")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(printed_sightings.len(), 2, "{out}");

    // The CERT sees the sightings of its indicators, by the pseudonym.
    let cert_view = objects_of(&get(&objects_url, &w.cert));
    let pseudonym = of_type(&cert_view, "identity")
        .iter()
        .find(|i| {
            i["name"]
                .as_str()
                .unwrap_or("")
                .starts_with("Pseudonymous source")
        })
        .expect("the pseudonym identity is served to the CERT")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(pseudonym, w.helpdesk_identity);
    let sightings = of_type(&cert_view, "sighting");
    let seen: BTreeSet<String> = sightings
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, printed_sightings, "every printed sighting was posted");
    let sighted: BTreeSet<&str> = sightings
        .iter()
        .map(|s| s["sighting_of_ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        sighted,
        BTreeSet::from([
            format!("indicator--{}", uuid(1)).as_str(),
            format!("indicator--{}", uuid(2)).as_str()
        ])
    );
    for s in &sightings {
        assert_eq!(s["created_by_ref"], pseudonym.as_str(), "{s}");
        assert_eq!(
            s["where_sighted_refs"],
            serde_json::json!([pseudonym]),
            "{s}"
        );
        for r in s["observed_data_refs"].as_array().unwrap() {
            let observed = cert_view
                .iter()
                .find(|o| &o["id"] == r)
                .unwrap_or_else(|| panic!("{r} was posted with its sighting"));
            assert_eq!(observed["created_by_ref"], pseudonym.as_str());
        }
    }
    assert!(
        cert_view
            .iter()
            .any(|o| o["type"] == "domain-name" && o["value"] == "evil.example.com")
    );

    // No response to the CERT names the helpdesk: not the objects, not the
    // manifest, not a page, not one object, not a header.
    let mut paths = vec![
        "objects/".to_string(),
        "objects/?match[type]=sighting".to_string(),
        "objects/?match[type]=identity".to_string(),
        "manifest/".to_string(),
    ];
    for o in &cert_view {
        let id = o["id"].as_str().unwrap();
        paths.push(format!("objects/{id}/"));
        paths.push(format!("objects/{id}/versions/"));
    }
    let mut page = format!("{collection_url}objects/?limit=2");
    let mut pages = 0;
    loop {
        let r = get(&page, &w.cert);
        assert_no_helpdesk(&r, &w.helpdesk_identity, &page);
        pages += 1;
        match r.json()["next"].as_str() {
            Some(next) => page = format!("{collection_url}objects/?limit=2&next={next}"),
            None => break,
        }
    }
    assert!(pages > 1);
    for path in &paths {
        let url = format!("{collection_url}{path}");
        let r = get(&url, &w.cert);
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        assert_no_helpdesk(&r, &w.helpdesk_identity, &url);
    }

    // The helpdesk sees its own sightings under its real identity.
    let own = objects_of(&get(
        &format!("{objects_url}?match[type]=sighting"),
        &w.helpdesk,
    ));
    assert_eq!(own.len(), 2);
    for s in &own {
        assert_eq!(s["created_by_ref"], w.helpdesk_identity.as_str());
        assert_eq!(
            s["where_sighted_refs"],
            serde_json::json!([w.helpdesk_identity])
        );
    }
}

fn assert_no_helpdesk(reply: &Reply, identity: &str, url: &str) {
    for secret in [identity, HELPDESK, "hugo"] {
        assert!(
            !reply.body.contains(secret),
            "{url} reveals {secret:?}: {}",
            reply.body
        );
        for (name, value) in &reply.headers {
            assert!(
                !value.contains(secret),
                "{url}: header {name} reveals {secret:?}"
            );
        }
    }
}

#[test]
fn a_post_the_token_may_not_write_fails_with_exit_2_and_stores_nothing() {
    let w = world("104857600");
    let server = w.node.serve();
    let collection_url = server.url(&format!("/api1/collections/{}/", w.collection));
    // A reader of the helpdesk reads the community's indicators but may not write.
    let reader = w
        .node
        .ok(&["token", "create", "--user", "Civic Helpdesk/rita"]);
    let (code, out, err) = entente(
        &[
            "scan",
            "--taxii",
            &collection_url,
            "--post",
            &collection_url,
            &w.phone(),
        ],
        &[("ENTENTE_TOKEN", &reader)],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("2 indicators matched"), "printed first: {out}");
    assert!(
        err.contains(&format!(
            "error: posting the sightings failed: {collection_url}objects/: envelope 1 of 1: the token may not write to this collection"
        )),
        "{err}"
    );
    assert!(!err.contains("posted envelope"), "{err}");

    // The CERT's own collection does not exist for the helpdesk at all.
    let private = w.node.ok(&[
        "collection",
        "create",
        "--title",
        "CERT internal",
        "--org",
        "National CERT",
    ]);
    let private_url = server.url(&format!("/api1/collections/{private}/"));
    let (code, _, err) = entente(
        &[
            "scan",
            "--taxii",
            &collection_url,
            "--token",
            &w.helpdesk,
            "--post",
            &private_url,
            "--post-token",
            &w.helpdesk,
            &w.phone(),
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no such collection for this token"), "{err}");

    let seen = objects_of(&get(
        &format!("{collection_url}objects/?match[type]=sighting"),
        &w.cert,
    ));
    assert!(seen.is_empty(), "nothing was stored: {seen:?}");

    // Without a match there is nothing to post and nothing to fail.
    let quiet = write(w.inputs.path(), "quiet.txt", "harmless.example.org\n");
    let (code, _, err) = entente(
        &[
            "scan",
            "--taxii",
            &collection_url,
            "--token",
            &reader,
            "--post",
            &collection_url,
            quiet.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing matched: nothing posted"), "{err}");
}

/// One request as the scripted server saw it.
#[derive(Clone, Debug)]
struct Request {
    head: String,
    body: String,
}

impl Request {
    fn line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// A TAXII server whose API root allows `max_content_length` bytes; every
/// status is `pending` when first asked for and complete the second time,
/// and the last sighting of every envelope is refused.
fn scripted_server(max_content_length: usize) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<Request>::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut statuses: Vec<(Vec<String>, Vec<String>, u32)> = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let request = Request {
                body: {
                    let length = Request {
                        head: head.clone(),
                        body: String::new(),
                    }
                    .header("content-length")
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
                    let mut body = vec![0u8; length];
                    reader.read_exact(&mut body).unwrap();
                    String::from_utf8(body).unwrap()
                },
                head,
            };
            log.lock().unwrap().push(request.clone());
            let line = request.line().to_string();
            let (code, body) = if line.starts_with("GET /api1/ ") {
                (
                    200,
                    format!(
                        r#"{{"title":"scripted","versions":["application/taxii+json;version=2.1"],"max_content_length":{max_content_length}}}"#
                    ),
                )
            } else if line.starts_with("POST /api1/collections/c1/objects/ ") {
                let envelope: Value = serde_json::from_str(&request.body).unwrap();
                let ids: Vec<String> = envelope["objects"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["id"].as_str().unwrap().to_string())
                    .collect();
                let refused: Vec<String> = ids
                    .iter()
                    .rev()
                    .find(|id| id.starts_with("sighting--"))
                    .cloned()
                    .into_iter()
                    .collect();
                let n = statuses.len();
                statuses.push((ids.clone(), refused, 0));
                (
                    202,
                    format!(
                        r#"{{"id":"s{n}","status":"pending","total_count":{},"success_count":0,"failure_count":0,"pending_count":{}}}"#,
                        ids.len(),
                        ids.len()
                    ),
                )
            } else if let Some(n) = line
                .strip_prefix("GET /api1/status/s")
                .and_then(|rest| rest.split('/').next())
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n < statuses.len())
            {
                let (ids, refused, asked) = &mut statuses[n];
                *asked += 1;
                let stored = ids.len() - refused.len();
                if *asked < 2 {
                    (
                        200,
                        format!(
                            r#"{{"id":"s{n}","status":"pending","total_count":{},"success_count":{stored},"failure_count":0,"pending_count":{}}}"#,
                            ids.len(),
                            refused.len()
                        ),
                    )
                } else {
                    let failures: Vec<String> = refused
                        .iter()
                        .map(|id| format!(r#"{{"id":"{id}","version":"2026-01-01T00:00:00.000Z","message":"refused for this test"}}"#))
                        .collect();
                    let failures = if failures.is_empty() {
                        String::new()
                    } else {
                        format!(r#","failures":[{}]"#, failures.join(","))
                    };
                    (
                        200,
                        format!(
                            r#"{{"id":"s{n}","status":"complete","total_count":{},"success_count":{stored},"failure_count":{},"pending_count":0{failures}}}"#,
                            ids.len(),
                            refused.len()
                        ),
                    )
                }
            } else {
                (404, r#"{"title":"Not found"}"#.to_string())
            };
            let response = format!(
                "HTTP/1.1 {code} X\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (base, seen)
}

#[test]
fn pending_statuses_are_followed_and_refused_objects_fail_the_scan() {
    let (base, requests) = scripted_server(1500);
    let dir = tempfile::tempdir().unwrap();
    let indicators = write(dir.path(), "indicators.json", &indicator_bundle());
    let phone = write(dir.path(), "phone.txt", SEEN_ON_PHONE);
    let collection_url = format!("{base}/api1/collections/c1/");
    let identity = format!("identity--{}", uuid(42));
    let (code, out, err) = entente(
        &[
            "scan",
            "--indicators",
            indicators.to_str().unwrap(),
            "--post",
            &collection_url,
            "--identity",
            &identity,
            "--output",
            "stix",
            phone.to_str().unwrap(),
        ],
        &[("ENTENTE_POST_TOKEN", "post-secret")],
    );
    assert_eq!(code, 2, "a refused object fails the scan:\n{err}");
    let requests = requests.lock().unwrap().clone();

    assert_eq!(requests[0].line(), "GET /api1/ HTTP/1.1", "{requests:?}");
    for r in &requests {
        assert_eq!(
            r.header("authorization").as_deref(),
            Some("Bearer post-secret"),
            "{}",
            r.head
        );
    }
    let posts: Vec<&Request> = requests
        .iter()
        .filter(|r| r.line().starts_with("POST "))
        .collect();
    assert!(posts.len() >= 2, "cut to 1500 bytes: {}", posts.len());
    let mut posted: Vec<Value> = Vec::new();
    for (i, p) in posts.iter().enumerate() {
        assert_eq!(
            p.header("content-type").as_deref(),
            Some("application/taxii+json;version=2.1")
        );
        assert!(p.body.len() <= 1500, "envelope {i}: {} bytes", p.body.len());
        let envelope: Value = serde_json::from_str(&p.body).unwrap();
        posted.extend(envelope["objects"].as_array().unwrap().iter().cloned());
        // Each status was asked for until complete, before the next envelope.
        let status_asks = requests
            .iter()
            .filter(|r| r.line().starts_with(&format!("GET /api1/status/s{i}/ ")))
            .count();
        assert_eq!(status_asks, 2, "status s{i}");
    }
    // Observables first, then observed data, then sightings.
    let rank = |o: &Value| match o["type"].as_str() {
        Some("sighting") => 2,
        Some("observed-data") => 1,
        _ => 0,
    };
    assert!(posted.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])));

    // What was posted is what was printed.
    let printed: Value = serde_json::from_str(&out).unwrap();
    let ids = |list: &[Value]| -> BTreeSet<String> {
        list.iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(printed["objects"].as_array().unwrap()), ids(&posted));
    for s in posted.iter().filter(|o| o["type"] == "sighting") {
        assert_eq!(s["created_by_ref"], identity.as_str());
        assert_eq!(s["where_sighted_refs"], serde_json::json!([identity]));
    }

    // One line per envelope, the refusal under it, and an error naming it.
    let refused: Vec<String> = posts
        .iter()
        .filter_map(|p| {
            let envelope: Value = serde_json::from_str(&p.body).ok()?;
            envelope["objects"]
                .as_array()?
                .iter()
                .rev()
                .find(|o| o["type"] == "sighting")
                .map(|o| o["id"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(!refused.is_empty());
    let summaries = err
        .lines()
        .filter(|l| l.starts_with("posted envelope "))
        .count();
    assert_eq!(summaries, posts.len(), "{err}");
    for id in &refused {
        assert!(
            err.contains(&format!("  failed {id}: refused for this test")),
            "{err}"
        );
    }
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with(&format!(
            "error: {} of {} objects were not stored in {collection_url}: {}: refused for this test",
            refused.len(),
            posted.len(),
            refused[0]
        )),
        "{last}"
    );
}
