//! Federation between real nodes on loopback, driven through the CLI:
//! A → B → C, each pulling the one before it.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Node, Server, text};

const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const RECIPIENTS_EXTENSION: &str = "extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3";

fn indicator(n: u32, name: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{n:08x}-0000-4000-8000-00000000fed0","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"{name}","pattern":"[domain-name:value = '{name}.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"{extra}}}"#
    )
}

fn id(n: u32) -> String {
    format!("indicator--{n:08x}-0000-4000-8000-00000000fed0")
}

fn recipients(n: u32, orgs: &[&str]) -> (String, String) {
    let mid = format!("marking-definition--{n:08x}-0000-4000-8000-00000000fed1");
    let names: Vec<String> = orgs.iter().map(|o| format!("\"{o}\"")).collect();
    (
        mid.clone(),
        format!(
            r#"{{"type":"marking-definition","spec_version":"2.1","id":"{mid}","created":"2026-01-01T00:00:00.000Z","name":"recipients","extensions":{{"{RECIPIENTS_EXTENSION}":{{"extension_type":"property-extension","organizations":[{}]}}}}}}"#,
            names.join(",")
        ),
    )
}

fn write_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The fingerprint `entente node keys` prints first (the current key).
fn key_of(node: &Node) -> String {
    let out = node.cli(&["node", "keys"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The objects of a collection as the operator exports them.
fn exported(node: &Node, collection: &str) -> Vec<serde_json::Value> {
    let out = node.cli(&["export", "--collection", collection, "--versions", "all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bundle: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    bundle["objects"].as_array().cloned().unwrap_or_default()
}

fn has(objects: &[serde_json::Value], id: &str) -> bool {
    objects.iter().any(|o| o["id"] == id)
}

/// A node that stands for its peer through an organisation, a community of
/// it and `locals`, and a collection of that community (default GREEN).
struct Hub {
    node: Node,
    collection: String,
}

fn hub(peer_orgs: &[&str], locals: &[(&str, bool)]) -> Hub {
    let node = Node::init();
    node.ok(&["community", "create", "Federation"]);
    for org in peer_orgs {
        node.ok(&["org", "create", org]);
        node.ok(&["community", "add", "Federation", org]);
    }
    for (org, pseudonymous) in locals {
        node.ok(&["org", "create", org]);
        let mut args = vec!["community", "add", "Federation", *org];
        if *pseudonymous {
            args.push("--pseudonymous");
        }
        node.ok(&args);
    }
    let collection = node.ok(&[
        "collection",
        "create",
        "--title",
        "Federation",
        "--community",
        "Federation",
        "--default-tlp",
        "green",
    ]);
    Hub { node, collection }
}

/// A token of a new user of `org` at `node`, written to a file under `at`.
fn token_file(node: &Node, org: &str, user: &str, at: &Node, extra: &[&str]) -> String {
    node.ok(&["user", "create", "--org", org, "--role", "analyst", user]);
    let path = format!("{org}/{user}");
    let mut args = vec!["token", "create", "--user", path.as_str()];
    args.extend(extra);
    let token = node.ok(&args);
    write_file(at.path(), &format!("{user}.token"), &token)
}

#[test]
fn a_to_b_to_c_keeps_tlp_pseudonyms_and_provenance() {
    // A: a CERT, a pseudonymous helpdesk and the organisation standing for B.
    let a = hub(&["Node B"], &[("CERT", false), ("Helpdesk", true)]);
    let b = hub(&["Node A", "Node C"], &[]);
    let c = hub(&["Node B"], &[]);
    let key_a = key_of(&a.node);
    let helpdesk_identity = a.node.org_identity("Helpdesk");

    // What A holds: GREEN; AMBER for Node B; AMBER for the CERT alone; RED;
    // and the helpdesk's report under its real identity.
    a.node.ok(&[
        "user", "create", "--org", "CERT", "--role", "analyst", "ana",
    ]);
    a.node.ok(&[
        "user", "create", "--org", "Helpdesk", "--role", "analyst", "hugo",
    ]);
    let (to_b, to_b_marking) = recipients(1, &["Node B"]);
    let (cert_only, cert_only_marking) = recipients(2, &["CERT"]);
    let objects = [
        indicator(
            1,
            "green",
            &format!(r#","object_marking_refs":["{GREEN}"]"#),
        ),
        to_b_marking,
        indicator(
            2,
            "amber-for-b",
            &format!(r#","object_marking_refs":["{AMBER}","{to_b}"]"#),
        ),
        cert_only_marking,
        indicator(
            3,
            "amber-cert",
            &format!(r#","object_marking_refs":["{AMBER}","{cert_only}"]"#),
        ),
    ];
    let file = write_file(
        a.node.path(),
        "cert.json",
        &format!("[{}]", objects.join(",")),
    );
    a.node.ok(&[
        "import",
        "--collection",
        &a.collection,
        "--as",
        "CERT/ana",
        &file,
    ]);
    let red = indicator(4, "red", &format!(r#","object_marking_refs":["{RED}"]"#));
    let file = write_file(a.node.path(), "red.json", &format!("[{red}]"));
    a.node.ok(&[
        "import",
        "--collection",
        &a.collection,
        "--as",
        "CERT/ana",
        "--recipient-user",
        "CERT/ana",
        &file,
    ]);
    let helpdesk = indicator(
        5,
        "spyware",
        &format!(r#","created_by_ref":"{helpdesk_identity}""#),
    );
    let file = write_file(a.node.path(), "helpdesk.json", &format!("[{helpdesk}]"));
    a.node.ok(&[
        "import",
        "--collection",
        &a.collection,
        "--as",
        "Helpdesk/hugo",
        &file,
    ]);

    // B pulls from A (a token of Node B at A); C pulls from B, pinning A's
    // key: A's signatures travel through B.
    let server_a = a.node.serve();
    let at_a = token_file(
        &a.node,
        "Node B",
        "sync",
        &b.node,
        &["--max-tlp", "amber+strict"],
    );
    b.node.ok(&[
        "peer",
        "add",
        "a",
        "--url",
        &server_a.url("/api1/"),
        "--token-file",
        &at_a,
        "--org",
        "Node A",
        "--key",
        &key_a,
    ]);
    b.node.ok(&[
        "peer",
        "pull",
        "a",
        "--remote-collection",
        &a.collection,
        "--into",
        &b.collection,
    ]);
    b.node.ok(&["peer", "sync", "a", "--once"]);
    let at_b = exported(&b.node, &b.collection);
    assert!(has(&at_b, &id(1)), "GREEN reaches B");
    assert!(has(&at_b, &id(2)), "AMBER for Node B reaches B");
    assert!(!has(&at_b, &id(3)), "AMBER for the CERT alone stays at A");
    assert!(!has(&at_b, &id(4)), "RED never leaves A");
    assert!(has(&at_b, &id(5)), "the helpdesk's GREEN report reaches B");
    let raw_b = serde_json::to_string(&at_b).unwrap();
    assert!(
        !raw_b.contains(&helpdesk_identity),
        "the pseudonymous source's real identity reached B"
    );

    // B alters A's GREEN indicator in its own database before C pulls.
    let server_b = b.node.serve();
    {
        let db = rusqlite::Connection::open(b.node.path().join("entente.db")).unwrap();
        let changed = db
            .execute(
                "UPDATE objects SET raw = replace(raw, 'green.example', 'greener.example') WHERE stix_id = ?1",
                [id(1)],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    // B knows that Node C is a node (C only pulls: no token of B's to call it).
    b.node.ok(&[
        "peer",
        "add",
        "c",
        "--url",
        "https://c.example/api1/",
        "--org",
        "Node C",
    ]);
    let refused = b.node.cli(&[
        "peer",
        "pull",
        "c",
        "--remote-collection",
        &c.collection,
        "--into",
        &b.collection,
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("was added without --token-file"),
        "{}",
        text(&refused.stderr)
    );
    let at_b_token = token_file(&b.node, "Node C", "sync", &c.node, &[]);
    c.node.ok(&[
        "peer",
        "add",
        "b",
        "--url",
        &server_b.url("/api1/"),
        "--token-file",
        &at_b_token,
        "--org",
        "Node B",
        "--key",
        &key_a,
    ]);
    c.node.ok(&[
        "peer",
        "pull",
        "b",
        "--remote-collection",
        &b.collection,
        "--into",
        &c.collection,
    ]);
    c.node.ok(&["peer", "sync", "b", "--once"]);
    let at_c = exported(&c.node, &c.collection);
    assert!(has(&at_c, &id(1)) && has(&at_c, &id(5)));
    assert!(!has(&at_c, &id(3)) && !has(&at_c, &id(4)));
    assert!(
        !has(&at_c, &id(2)),
        "A's AMBER for Node B stays with B and its members: C is another node"
    );
    assert!(
        !serde_json::to_string(&at_c)
            .unwrap()
            .contains(&helpdesk_identity),
        "the pseudonymous source's real identity reached C"
    );

    // Provenance at C: the altered object is invalid, the others verified
    // by A's key, through B.
    let status = c.node.ok(&["peer", "status", "b"]);
    assert!(status.contains("1 invalid"), "{status}");
    let export = c
        .node
        .cli(&["export", "--collection", &c.collection, "--versions", "all"]);
    let file = write_file(c.node.path(), "from-b.json", &text(&export.stdout));
    let out = c.node.cli(&["verify", &file, "--key", &key_a]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let report = text(&out.stdout);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("INVALID") && l.contains(&id(1))),
        "{report}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("verified") && l.contains(&id(5))),
        "{report}"
    );
    // The Entente API says the same of each version it serves.
    let server_c = c.node.serve();
    let provenance = |n: u32| {
        let url = server_c.url(&format!(
            "/entente/v1/collections/{}/objects/{}/provenance/",
            c.collection,
            id(n)
        ));
        let reply = common::get_json(&url, Some(&c.node.admin));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["versions"][0].clone()
    };
    assert_eq!(provenance(1)["provenance"], "invalid");
    assert_eq!(provenance(5)["provenance"], "verified");
    assert_eq!(provenance(5)["origin_node"], key_a.as_str());
    drop(server_c);
    // Without A's key pinned nothing is verified.
    let out = c.node.cli(&["verify", &file, "--key", &key_of(&c.node)]);
    assert!(
        !text(&out.stdout).contains("verified  "),
        "{}",
        text(&out.stdout)
    );

    // Nothing goes back where it came from: B pushing to A sends none of A's objects.
    let back = token_file(&a.node, "Node B", "pusher", &b.node, &[]);
    b.node.ok(&[
        "peer",
        "add",
        "a-push",
        "--url",
        &server_a.url("/api1/"),
        "--token-file",
        &back,
        "--org",
        "Node A",
        "--key",
        &key_a,
    ]);
    b.node.ok(&[
        "peer",
        "push",
        "a-push",
        "--from",
        &b.collection,
        "--remote-collection",
        &a.collection,
    ]);
    let pushed = b.node.ok(&["peer", "sync", "a-push", "--once"]);
    assert!(pushed.contains(": 0 stored"), "{pushed}");
    drop(server_b);
    drop(server_a);
}

#[test]
fn a_push_delivers_what_the_peer_may_receive_and_records_refusals() {
    // A pushes its collection to B; B's collection takes what A's
    // organisation there may write.
    let a = hub(&["Node B"], &[("CERT", false)]);
    let b = hub(&["Node A"], &[]);
    a.node.ok(&[
        "user", "create", "--org", "CERT", "--role", "analyst", "ana",
    ]);
    let objects = [
        indicator(11, "pushed", ""),
        indicator(
            12,
            "amber-members",
            &format!(r#","object_marking_refs":["{AMBER}"]"#),
        ),
    ];
    let file = write_file(a.node.path(), "o.json", &format!("[{}]", objects.join(",")));
    a.node.ok(&[
        "import",
        "--collection",
        &a.collection,
        "--as",
        "CERT/ana",
        &file,
    ]);
    let server_b = b.node.serve();
    let token = token_file(&b.node, "Node A", "sync", &a.node, &[]);
    a.node.ok(&[
        "peer",
        "add",
        "b",
        "--url",
        &server_b.url("/api1/"),
        "--token-file",
        &token,
        "--org",
        "Node B",
        "--max-tlp",
        "green",
    ]);
    a.node.ok(&[
        "peer",
        "push",
        "b",
        "--from",
        &a.collection,
        "--remote-collection",
        &b.collection,
    ]);
    let out = a.node.ok(&["peer", "sync", "b", "--once"]);
    assert!(out.contains("push"), "{out}");
    let at_b = exported(&b.node, &b.collection);
    assert!(has(&at_b, &id(11)), "GREEN pushed");
    assert!(!has(&at_b, &id(12)), "AMBER is above the peer's ceiling");
    // Pushing again moves nothing twice.
    a.node.ok(&["peer", "sync", "b", "--once"]);
    let again = exported(&b.node, &b.collection);
    assert_eq!(
        again.iter().filter(|o| o["id"] == id(11)).count(),
        1,
        "pushed once"
    );
}

/// A TAXII server that misbehaves: `mode` is `500`, `garbage` or `slow`.
fn bad_peer(mode: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let answer = match mode {
                    "500" => "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nboom".to_string(),
                    "garbage" => "HTTP/1.1 200 OK\r\ncontent-type: application/taxii+json;version=2.1\r\ncontent-length: 9\r\n\r\n{\"objects".to_string(),
                    _ => {
                        std::thread::sleep(Duration::from_secs(120));
                        String::new()
                    }
                };
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    format!("http://{addr}/api1/")
}

#[test]
fn a_peer_that_fails_delays_only_its_own_sync() {
    let a = hub(&["Node B"], &[("CERT", false)]);
    let b = hub(&["Node A", "Bad"], &[]);
    a.node.ok(&[
        "user", "create", "--org", "CERT", "--role", "analyst", "ana",
    ]);
    let server_a = a.node.serve();
    let token = token_file(&a.node, "Node B", "sync", &b.node, &[]);
    b.node.ok(&[
        "peer",
        "add",
        "a",
        "--url",
        &server_a.url("/api1/"),
        "--token-file",
        &token,
        "--org",
        "Node A",
    ]);
    b.node.ok(&[
        "peer",
        "pull",
        "a",
        "--remote-collection",
        &a.collection,
        "--into",
        &b.collection,
    ]);
    for mode in ["500", "garbage", "slow"] {
        let url = bad_peer(mode);
        b.node.ok(&[
            "peer",
            "add",
            mode,
            "--url",
            &url,
            "--token-file",
            &token,
            "--org",
            "Bad",
        ]);
        b.node.ok(&[
            "peer",
            "pull",
            mode,
            "--remote-collection",
            "c",
            "--into",
            &b.collection,
        ]);
    }
    // The garbage peer fails its sync at once, with a reason.
    let out = b.node.cli(&["peer", "sync", "garbage", "--once"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("not a TAXII envelope"),
        "{}",
        text(&out.stdout)
    );

    // Under `serve`, every peer runs on its own: A's objects arrive while
    // the other three keep failing or hanging.
    let _server_b = Server::start(b.node.path(), &[]);
    let file = write_file(
        a.node.path(),
        "o.json",
        &format!("[{}]", indicator(21, "fresh", "")),
    );
    a.node.ok(&[
        "import",
        "--collection",
        &a.collection,
        "--as",
        "CERT/ana",
        &file,
    ]);
    let started = Instant::now();
    loop {
        if has(&exported(&b.node, &b.collection), &id(21)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "A's object did not reach B while other peers failed"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = b.node.ok(&["peer", "status", "500"]);
    let all = text(&b.node.cli(&["peer", "status"]).stdout);
    assert!(all.contains("last error"), "{all}{status}");
}

#[test]
fn a_pull_killed_midway_resumes_with_every_object_exactly_once() {
    const COUNT: u32 = 100_000;
    let a = hub(&["Node B"], &[("CERT", false)]);
    let b = hub(&["Node A"], &[]);
    a.node.ok(&[
        "user", "create", "--org", "CERT", "--role", "analyst", "ana",
    ]);
    let lines: Vec<String> = (0..COUNT)
        .map(|n| indicator(0x1000_0000 + n, &format!("bulk{n}"), ""))
        .collect();
    let file = write_file(a.node.path(), "bulk.jsonl", &lines.join("\n"));
    a.node.ok(&[
        "import",
        "--collection",
        &a.collection,
        "--as",
        "CERT/ana",
        &file,
    ]);
    let server_a = a.node.serve();
    let token = token_file(&a.node, "Node B", "sync", &b.node, &[]);
    b.node.ok(&[
        "peer",
        "add",
        "a",
        "--url",
        &server_a.url("/api1/"),
        "--token-file",
        &token,
        "--org",
        "Node A",
    ]);
    b.node.ok(&[
        "peer",
        "pull",
        "a",
        "--remote-collection",
        &a.collection,
        "--into",
        &b.collection,
    ]);
    // Kill the pull as soon as some pages are stored, then run it again.
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(b.node.path())
        .args(["peer", "sync", "a", "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let db = b.node.path().join("entente.db");
    let started = Instant::now();
    loop {
        let stored: i64 = rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row("SELECT coalesce(max(stored), 0) FROM sync_jobs", [], |r| {
                    r.get(0)
                })
            })
            .unwrap_or(0);
        if stored > 0 || child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the pull stored nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed_midway = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(killed_midway, "the pull finished before it could be killed");
    b.node.ok(&["peer", "sync", "a", "--once"]);
    let db = rusqlite::Connection::open(&db).unwrap();
    let (rows, distinct): (i64, i64) = db
        .query_row(
            "SELECT count(*), count(DISTINCT stix_id) FROM objects WHERE type = 'indicator'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, distinct), (i64::from(COUNT), i64::from(COUNT)));
}
