//! Prometheus metrics and JSON logs of `entente serve`, from outside: a
//! real server process on loopback, scraped over HTTP.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BIN, Node, TAXII, envelope, get, get_with, indicator, post, text, uuid};

const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const OBJECTS: &str = "/{root}/collections/{collection}/objects/";

/// `entente serve` with its standard error kept, line by line.
struct Serving {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    base: String,
    metrics: Option<String>,
}

impl Serving {
    /// Starts `serve --listen 127.0.0.1:0 EXTRA…` with `env`; waits for the
    /// TAXII address (and the metrics one, when `metrics` is expected).
    fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)], metrics: bool) -> Serving {
        let mut command = Command::new(BIN);
        command
            .arg("--data")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .env_remove("ENTENTE_DATA")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let seen = lines.lock().unwrap().clone();
            let found = |marker: &str, end: &str| {
                seen.iter().find_map(|l| {
                    let at = l.find(marker)? + marker.len();
                    let rest = &l[at..];
                    Some(rest[..rest.find(end)?].to_string())
                })
            };
            let base = found("serving TAXII 2.1 at ", "/taxii2/");
            let scrape = found("Metrics at ", "/metrics");
            if let Some(base) = base
                && (!metrics || scrape.is_some())
            {
                return Serving {
                    child,
                    lines,
                    base,
                    metrics: scrape.map(|m| format!("{m}/metrics")),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("serve exited ({status}):\n{}", seen.join("\n"));
            }
            assert!(
                Instant::now() < deadline,
                "serve did not start:\n{}",
                seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The separate listener's metrics, parsed.
    fn scrape(&self) -> Exposition {
        let url = self.metrics.as_deref().expect("a metrics listener");
        let reply = get_with(url, &[]);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.content_type, "text/plain; version=0.0.4; charset=utf-8",
            "the Prometheus text format"
        );
        Exposition::parse(&reply.body)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples by series (`name{labels}` as written), with the raw text.
struct Exposition {
    samples: BTreeMap<String, f64>,
    text: String,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
            };
            assert!(
                samples.insert(series.to_string(), value).is_none(),
                "{series} twice"
            );
        }
        Exposition {
            samples,
            text: text.to_string(),
        }
    }

    /// A sample's value, 0 when the series does not exist (yet).
    fn value(&self, series: &str) -> f64 {
        self.samples.get(series).copied().unwrap_or(0.0)
    }

    fn has(&self, series: &str) -> bool {
        self.samples.contains_key(series)
    }
}

fn requests(route: &str, method: &str, status: u16) -> String {
    format!(r#"entente_http_requests_total{{route="{route}",method="{method}",status="{status}"}}"#)
}

fn duration(suffix: &str, route: &str, method: &str, status: u16, le: Option<&str>) -> String {
    let le = le.map(|le| format!(r#",le="{le}""#)).unwrap_or_default();
    format!(
        r#"entente_http_request_duration_seconds_{suffix}{{route="{route}",method="{method}",status="{status}"{le}}}"#
    )
}

fn rejected(reason: &str) -> String {
    format!(r#"entente_objects_rejected_total{{via="client",reason="{reason}"}}"#)
}

fn ingested(via: &str, outcome: &str) -> String {
    format!(r#"entente_objects_ingested_total{{via="{via}",outcome="{outcome}"}}"#)
}

/// Sets `key = value` in a section of the node's `entente.toml`.
fn configure(node: &Node, section: &str, key: &str, value: &str) {
    let path = node.path().join("entente.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = format!("[{section}]");
    let start = lines
        .iter()
        .position(|l| *l == header)
        .unwrap_or_else(|| panic!("no {header} in\n{text}"));
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with('['))
        .map_or(lines.len(), |i| start + 1 + i);
    let setting = format!("{key} = {value}");
    match (start + 1..end).find(|&i| lines[i].split('=').next().unwrap().trim() == key) {
        Some(i) => lines[i] = setting,
        None => lines.insert(start + 1, setting),
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn the_metrics_listener_counts_routes_statuses_latencies_and_refusals() {
    let node = Node::init();
    let collection = node.collection("Metrics");
    let writer = node.token("writer", &[&collection], &[&collection]);
    let server = Serving::start(node.path(), &["--metrics-listen", "127.0.0.1:0"], &[], true);
    let before = server.scrape();
    assert!(before.has(r#"entente_build_info{version="0.1.0"}"#));

    let objects = server.url(&format!("/api1/collections/{collection}/objects/"));
    let stored = indicator(1, "2026-01-01T00:00:00.000Z");
    let invalid = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--not-a-uuid"}"#;
    let unknown_marking = indicator(2, "2026-01-01T00:00:00.000Z").replace(
        r#""pattern_type""#,
        r#""object_marking_refs":["marking-definition--00000000-0000-4000-8000-000000000001"],"pattern_type""#,
    );
    let red = indicator(3, "2026-01-01T00:00:00.000Z").replace(
        r#""pattern_type""#,
        &format!(r#""object_marking_refs":["{RED}"],"pattern_type""#),
    );
    let first = post(
        &objects,
        &writer,
        &envelope(&[stored.clone(), invalid.to_string(), unknown_marking, red]),
    );
    assert_eq!(first.status, 202, "{}", first.body);
    let changed = stored.replace("Spyware domain 1", "Spyware domain one");
    let second = post(&objects, &writer, &envelope(&[stored, changed]));
    assert_eq!(second.status, 202, "{}", second.body);
    assert_eq!(get(&objects, &writer).status, 200);
    assert_eq!(get(&server.url("/taxii2/"), &writer).status, 200);
    let missing = server.url(&format!("/api1/collections/{}/", uuid(99)));
    assert_eq!(get(&missing, &writer).status, 404);
    // Without a token, a collection that is not public asks for one.
    assert_eq!(get_with(&objects, &[("Accept", TAXII)]).status, 401);
    assert_eq!(
        get_with(&server.url("/no/such/thing/at/all"), &[]).status,
        401
    );

    let after = server.scrape();
    let moved = |series: &str| after.value(series) - before.value(series);
    assert_eq!(
        moved(&requests(OBJECTS, "POST", 202)),
        2.0,
        "{}",
        after.text
    );
    assert_eq!(moved(&requests(OBJECTS, "GET", 200)), 1.0);
    assert_eq!(
        moved(&requests(OBJECTS, "GET", 401)),
        1.0,
        "what the client got"
    );
    assert_eq!(moved(&requests("/taxii2/", "GET", 200)), 1.0);
    assert_eq!(
        moved(&requests("/{root}/collections/{collection}/", "GET", 404)),
        1.0
    );
    assert_eq!(moved(&requests("unmatched", "GET", 401)), 1.0);
    // The histogram of the same series: counted once per request, every
    // request in the +Inf bucket, buckets cumulative.
    assert_eq!(moved(&duration("count", OBJECTS, "POST", 202, None)), 2.0);
    assert_eq!(
        after.value(&duration("bucket", OBJECTS, "POST", 202, Some("+Inf"))),
        after.value(&duration("count", OBJECTS, "POST", 202, None))
    );
    assert!(after.value(&duration("sum", OBJECTS, "POST", 202, None)) > 0.0);
    let mut previous = 0.0;
    for le in entente_bounds() {
        let v = after.value(&duration("bucket", OBJECTS, "POST", 202, Some(le)));
        assert!(v >= previous, "bucket {le} below the one before it");
        previous = v;
    }

    // Every object, once, by outcome and reason.
    assert_eq!(moved(&ingested("client", "stored")), 1.0, "{}", after.text);
    assert_eq!(moved(&ingested("client", "duplicate")), 1.0);
    assert_eq!(moved(&rejected("invalid")), 1.0);
    assert_eq!(moved(&rejected("unknown_marking")), 1.0);
    assert_eq!(moved(&rejected("red_without_recipients")), 1.0);
    assert_eq!(moved(&rejected("conflict")), 1.0);

    // The store's operations, timed, and its connections.
    assert!(
        moved(r#"entente_store_operation_duration_seconds_count{operation="add_objects"}"#) >= 2.0
    );
    assert!(
        moved(r#"entente_store_operation_duration_seconds_count{operation="query_objects"}"#)
            >= 1.0
    );
    assert!(after.has(r#"entente_store_connections{pool="write",state="idle"}"#));
    assert!(after.has(r#"entente_store_connections{pool="read",state="busy"}"#));
    assert_eq!(
        after.value(r#"entente_store_connection_waiters{pool="write"}"#),
        0.0
    );
    assert_eq!(after.value("entente_http_connections_max"), 512.0);
    assert!(after.has("entente_http_connections_open"));

    // Templates only: no id, token, raw path or root name in any label.
    for secret in [
        collection.as_str(),
        writer.as_str(),
        "api1",
        "no/such",
        &uuid(99),
    ] {
        assert!(!after.text.contains(secret), "{secret} in the metrics");
    }

    // Off by default on the main listener, whoever asks: the path answers
    // what any unknown API root answers.
    let metrics = get(&server.url("/metrics"), &node.admin);
    let other = get(&server.url("/metricz"), &node.admin);
    assert_eq!(metrics.status, 404);
    assert_eq!(metrics.body, other.body.replace("metricz", "metrics"));
}

/// The bounds of the request latency buckets, as the exposition writes them.
fn entente_bounds() -> [&'static str; 14] {
    [
        "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
        "10", "30",
    ]
}

#[test]
fn on_the_main_listener_only_node_administrators_read_the_metrics() {
    let node = Node::init();
    configure(&node, "metrics", "on_main_listener", "true");
    let collection = node.collection("Metrics");
    let service = node.token("service", &[&collection], &[]);
    node.ok(&["org", "create", "CERT"]);
    node.ok(&["user", "create", "--org", "CERT", "--role", "admin", "olga"]);
    let org_admin = node.ok(&["token", "create", "--user", "CERT/olga"]);
    let server = Serving::start(node.path(), &[], &[], false);
    assert!(
        !server.log().iter().any(|l| l.contains("Metrics at")),
        "no separate listener unless asked"
    );

    let scrape = |token: &str| {
        get_with(
            &server.url("/metrics"),
            &[("Authorization", &format!("Bearer {token}"))],
        )
    };
    let admin = scrape(&node.admin);
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_eq!(
        admin.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(
        admin
            .body
            .contains("# TYPE entente_http_requests_total counter")
    );

    // Everyone else: exactly what an unknown API root answers them.
    let unknown = |token: Option<&str>, path: &str| {
        let mut headers = vec![("Accept", TAXII.to_string())];
        if let Some(t) = token {
            headers.push(("Authorization", format!("Bearer {t}")));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        get_with(&server.url(path), &headers)
    };
    for token in [Some(service.as_str()), Some(org_admin.as_str()), None] {
        let refused = unknown(token, "/metrics");
        let other = unknown(token, "/metricz");
        assert!(
            refused.status == 404 || refused.status == 401,
            "{}: {}",
            refused.status,
            refused.body
        );
        assert_eq!(refused.status, other.status);
        assert_eq!(refused.body, other.body.replace("metricz", "metrics"));
        assert!(!refused.body.contains("entente_"), "{}", refused.body);
    }
    // A wrong token is refused before anything else.
    assert_eq!(scrape("ent_not-a-token").status, 401);

    let later = Exposition::parse(&scrape(&node.admin).body);
    assert_eq!(
        later.value(&requests("/metrics", "GET", 200)),
        1.0,
        "{}",
        later.text
    );
    assert_eq!(later.value(&requests("/{root}/", "GET", 404)), 4.0);
    // The two anonymous requests and the wrong token.
    assert_eq!(later.value(&requests("/{root}/", "GET", 401)), 3.0);
}

#[test]
fn the_metrics_listener_stays_on_loopback_unless_the_operator_says_otherwise() {
    let node = Node::init();
    let out = Command::new(BIN)
        .arg("--data")
        .arg(node.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "0.0.0.0:0",
        ])
        .env_remove("ENTENTE_DATA")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("refusing to serve metrics on 0.0.0.0:0"),
        "{err}"
    );
    assert!(err.contains("allow_non_loopback"), "{err}");

    // A setting that does nothing is refused, not ignored.
    configure(&node, "metrics", "allow_non_loopback", "true");
    let out = node.cli(&["collection", "list"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("metrics.listen is not set"),
        "{}",
        text(&out.stderr)
    );

    // Said so: it listens on every address, loopback included.
    configure(&node, "metrics", "listen", "\"0.0.0.0:0\"");
    let server = Serving::start(node.path(), &[], &[], true);
    let url = server.metrics.clone().unwrap();
    assert!(url.starts_with("http://0.0.0.0:"), "{url}");
    let port = url
        .trim_start_matches("http://0.0.0.0:")
        .trim_end_matches("/metrics");
    let reply = get_with(&format!("http://127.0.0.1:{port}/metrics"), &[]);
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("process_start_time_seconds"));
    // Nothing else is served there.
    let elsewhere = get_with(&format!("http://127.0.0.1:{port}/taxii2/"), &[]);
    assert_eq!(elsewhere.status, 404);
    assert!(!elsewhere.body.contains("entente_"));
}

#[test]
fn peers_report_their_sync_lag_and_failures() {
    // A: a CERT shares a GREEN indicator with a community that B is in.
    let a = Node::init();
    a.ok(&["community", "create", "Federation"]);
    for org in ["CERT", "Node B"] {
        a.ok(&["org", "create", org]);
        a.ok(&["community", "add", "Federation", org]);
    }
    let shared = a.ok(&[
        "collection",
        "create",
        "--title",
        "Shared",
        "--community",
        "Federation",
        "--default-tlp",
        "green",
    ]);
    a.ok(&[
        "user", "create", "--org", "CERT", "--role", "analyst", "ana",
    ]);
    let file = a.path().join("one.json");
    std::fs::write(
        &file,
        format!("[{}]", indicator(7, "2026-01-01T00:00:00.000Z")),
    )
    .unwrap();
    a.ok(&[
        "import",
        "--collection",
        &shared,
        "--as",
        "CERT/ana",
        file.to_str().unwrap(),
    ]);
    a.ok(&[
        "user", "create", "--org", "Node B", "--role", "analyst", "sync",
    ]);
    let token = a.ok(&["token", "create", "--user", "Node B/sync"]);
    let server_a = a.serve();

    // B pulls from A with that token (peer "a") and with a wrong one ("bad").
    let b = Node::init();
    b.ok(&["community", "create", "Federation"]);
    b.ok(&["org", "create", "Node A"]);
    b.ok(&["community", "add", "Federation", "Node A"]);
    let into = b.ok(&[
        "collection",
        "create",
        "--title",
        "From A",
        "--community",
        "Federation",
        "--default-tlp",
        "green",
    ]);
    let good = b.path().join("a.token");
    std::fs::write(&good, &token).unwrap();
    let bad = b.path().join("bad.token");
    std::fs::write(&bad, "ent_wrong").unwrap();
    for (name, file) in [("a", &good), ("bad", &bad)] {
        b.ok(&[
            "peer",
            "add",
            name,
            "--url",
            &server_a.url("/api1/"),
            "--token-file",
            file.to_str().unwrap(),
            "--org",
            "Node A",
        ]);
        b.ok(&[
            "peer",
            "pull",
            name,
            "--remote-collection",
            &shared,
            "--into",
            &into,
        ]);
    }
    let server_b = Serving::start(b.path(), &["--metrics-listen", "127.0.0.1:0"], &[], true);
    let pending_a = r#"entente_peer_sync_pending_objects{peer="a",direction="pull"}"#;
    let failing_bad = r#"entente_peer_sync_failing_jobs{peer="bad",direction="pull"}"#;
    let deadline = Instant::now() + Duration::from_secs(60);
    let seen = loop {
        let s = server_b.scrape();
        if s.has(pending_a) && s.value(failing_bad) == 1.0 {
            break s;
        }
        assert!(Instant::now() < deadline, "no sync reported:\n{}", s.text);
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(seen.value(pending_a), 0.0);
    assert_eq!(
        seen.value(r#"entente_peer_sync_jobs{peer="a",direction="pull"}"#),
        1.0
    );
    assert_eq!(
        seen.value(r#"entente_peer_sync_failing_jobs{peer="a",direction="pull"}"#),
        0.0
    );
    let lag_a = seen.value(r#"entente_peer_sync_lag_seconds{peer="a",direction="pull"}"#);
    assert!((0.0..30.0).contains(&lag_a), "{lag_a}");
    // Never successful: no pending count, and a lag that grows from the
    // peer's creation.
    assert!(!seen.has(r#"entente_peer_sync_pending_objects{peer="bad",direction="pull"}"#));
    let lag_bad = r#"entente_peer_sync_lag_seconds{peer="bad",direction="pull"}"#;
    let first = seen.value(lag_bad);
    assert!(first > 0.0, "{}", seen.text);
    std::thread::sleep(Duration::from_millis(1100));
    assert!(server_b.scrape().value(lag_bad) > first + 1.0);
    assert!(
        seen.value(&ingested("peer", "stored")) >= 1.0,
        "{}",
        seen.text
    );
    // The peer's name, never its organisation, URL or token.
    for secret in ["Node A", "127.0.0.1", token.as_str(), "ent_wrong"] {
        assert!(!seen.text.contains(secret), "{secret} in the metrics");
    }
}

/// Every line of a JSON log: an object with a time, a level and a target.
fn json_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            for key in ["timestamp", "level", "target"] {
                assert!(v.get(key).is_some(), "no {key}: {l}");
            }
            v
        })
        .collect()
}

#[test]
fn json_logs_are_json_lines_without_secrets_or_content() {
    let node = Node::init();
    let collection = node.collection("Logs");
    let writer = node.token("writer", &[&collection], &[&collection]);
    let server = Serving::start(
        node.path(),
        &["--log-format", "json"],
        &[("RUST_LOG", "info")],
        false,
    );
    let objects = server.url(&format!("/api1/collections/{collection}/objects/"));
    let marker = "content-that-must-not-be-logged";
    let object = indicator(1, "2026-01-01T00:00:00.000Z").replace("Spyware domain 1", marker);
    assert_eq!(post(&objects, &writer, &envelope(&[object])).status, 202);
    assert_eq!(get(&objects, &writer).status, 200);
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("someone:{writer}"),
    );
    let reply = get_with(
        &objects,
        &[
            ("Accept", TAXII),
            ("Authorization", &format!("Basic {basic}")),
        ],
    );
    assert_eq!(reply.status, 200);
    let wrong = "ent_wrongtoken-should-not-be-logged";
    assert_eq!(get(&objects, wrong).status, 401);
    let stop = Instant::now() + Duration::from_secs(10);
    while server.log().len() < 5 && Instant::now() < stop {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let lines = server.log();
    let events = json_lines(&lines);
    assert!(
        events.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("serving TAXII 2.1"))),
        "{lines:?}"
    );
    let access: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "entente::access")
        .collect();
    assert!(
        access
            .iter()
            .any(|e| e["route"] == OBJECTS && e["method"] == "POST" && e["status"] == 202),
        "{lines:?}"
    );
    assert!(access.iter().any(|e| e["status"] == 401), "{lines:?}");
    let all = lines.join("\n");
    for secret in [
        writer.as_str(),
        basic.as_str(),
        wrong,
        marker,
        collection.as_str(),
        "127.0.0.1:",
    ] {
        if secret == "127.0.0.1:" {
            // The listening address is told once, in the start-up line;
            // clients' addresses never are.
            assert_eq!(all.matches(secret).count(), 1, "{all}");
        } else {
            assert!(!all.contains(secret), "{secret} logged:\n{all}");
        }
    }
    drop(server);

    // The same from the configuration file, and the demo refused.
    configure(&node, "log", "format", "\"json\"");
    let server = Serving::start(node.path(), &[], &[("RUST_LOG", "info")], false);
    assert_eq!(get(&server.url("/taxii2/"), &writer).status, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        json_lines(&server.log())
            .iter()
            .any(|e| e["route"] == "/taxii2/")
    );
    drop(server);
    let out = node.cli(&["serve", "--demo", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--log-format text"),
        "{}",
        text(&out.stderr)
    );
}
