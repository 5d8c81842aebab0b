//! Keeping indicators fresh, through the CLI and HTTP, with three
//! organisations sharing one community collection: expired indicators are
//! skipped by `scan`, listed (marked) by `indicators stale` and the Entente
//! API, and hidden from TAXII readers where the collection says so; decay
//! scores follow age, kind and the sightings each reader may see; nobody
//! learns of an indicator it may not read.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

const FRESH_IP: &str = "indicator--00000000-0000-4000-8000-0000000000a1";
const OLD_DOMAIN: &str = "indicator--00000000-0000-4000-8000-0000000000a2";
const EXPIRED: &str = "indicator--00000000-0000-4000-8000-0000000000a3";
const VENDOR_OWN: &str = "indicator--00000000-0000-4000-8000-0000000000a4";
const SIGHTED_BY_VENDOR: &str = "indicator--00000000-0000-4000-8000-0000000000a5";

/// A STIX timestamp `days` before now.
fn days_ago(days: f64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    stix_time((now - days * 86_400.0) as i64)
}

fn stix_time(unix: i64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn indicator(id: &str, pattern: &str, valid_from: &str, marking: &str) -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": id,
           "created": valid_from, "modified": valid_from, "name": id,
           "pattern": pattern, "pattern_type": "stix", "valid_from": valid_from,
           "object_marking_refs": [marking]})
}

fn sighting(n: u32, of: &str, last_seen: &str, marking: &str) -> Value {
    json!({"type": "sighting", "spec_version": "2.1",
           "id": format!("sighting--00000000-0000-4000-8000-0000000000{n:02}"),
           "created": last_seen, "modified": last_seen,
           "sighting_of_ref": of, "first_seen": last_seen, "last_seen": last_seen,
           "object_marking_refs": [marking]})
}

/// A node with three organisations in one community and a collection of
/// theirs holding:
/// - the CERT's GREEN indicators: an IP a day old (fresh), a domain 100
///   days old (stale), a domain that expired in 2020, and a domain 100 days
///   old that the vendor sighted an hour ago;
/// - the vendor's AMBER indicator (an IP 25 days old, stale) addressed to
///   the vendor alone, and its sighting, addressed to itself alone.
struct World {
    node: Node,
    collection: String,
}

fn world(create_flags: &[&str]) -> World {
    let node = Node::init();
    for org in ["National CERT", "Civic Helpdesk", "Vendor"] {
        node.ok(&["org", "create", org]);
    }
    node.ok(&["community", "create", "Dialogue"]);
    for org in ["National CERT", "Civic Helpdesk", "Vendor"] {
        node.ok(&["community", "add", "Dialogue", org]);
    }
    for (org, user) in [
        ("National CERT", "ana"),
        ("Civic Helpdesk", "hugo"),
        ("Vendor", "vera"),
    ] {
        node.ok(&["user", "create", "--org", org, "--role", "analyst", user]);
    }
    let mut args = vec![
        "collection",
        "create",
        "--title",
        "Dialogue IOCs",
        "--community",
        "Dialogue",
        "--default-tlp",
        "green",
    ];
    args.extend(create_flags);
    let collection = node.ok(&args);

    let mut expired = indicator(
        EXPIRED,
        "[domain-name:value = 'gone.example']",
        "2020-01-01T00:00:00.000Z",
        GREEN,
    );
    expired["valid_until"] = json!("2020-06-01T00:00:00.000Z");
    let cert = vec![
        indicator(
            FRESH_IP,
            "[ipv4-addr:value = '203.0.113.5']",
            &days_ago(1.0),
            GREEN,
        ),
        indicator(
            OLD_DOMAIN,
            "[domain-name:value = 'old.example']",
            &days_ago(100.0),
            GREEN,
        ),
        expired,
        indicator(
            SIGHTED_BY_VENDOR,
            "[domain-name:value = 'sighted.example']",
            &days_ago(100.0),
            GREEN,
        ),
        // A sighting pointing at the expired indicator.
        sighting(1, EXPIRED, "2020-03-01T00:00:00.000Z", GREEN),
    ];
    import(&node, &collection, "National CERT/ana", &cert, &[]);
    let vendor = vec![
        indicator(
            VENDOR_OWN,
            "[ipv4-addr:value = '198.51.100.7']",
            &days_ago(25.0),
            AMBER,
        ),
        sighting(2, SIGHTED_BY_VENDOR, &days_ago(1.0 / 24.0), AMBER),
    ];
    import(
        &node,
        &collection,
        "Vendor/vera",
        &vendor,
        &["--recipient-org", "Vendor"],
    );
    World { node, collection }
}

fn import(node: &Node, collection: &str, user: &str, objects: &[Value], extra: &[&str]) {
    let file = node
        .path()
        .join(format!("import-{}.json", user.replace('/', "-")));
    std::fs::write(&file, json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": objects}).to_string()).unwrap();
    let mut args = vec![
        "import",
        "--strict",
        "--as",
        user,
        "--collection",
        collection,
        file.to_str().unwrap(),
    ];
    args.extend(extra);
    node.ok(&args);
}

/// `indicators stale` as `user`, as JSON.
fn stale(w: &World, user: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "indicators",
        "stale",
        "--collection",
        &w.collection,
        "--as",
        user,
        "--format",
        "json",
    ];
    args.extend(extra);
    let out = w.node.cli(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn ids(list: &[Value]) -> BTreeSet<String> {
    list.iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn stale_lists_what_each_organisation_may_see_with_the_sightings_it_may_see() {
    let w = world(&[]);
    // Below each kind's threshold (30): the 100-day-old domain, the expired
    // one, and the domain sighted by the vendor (the CERT cannot see that
    // sighting, so for it the decay did not restart).
    assert_eq!(
        ids(&stale(&w, "National CERT/ana", &[])),
        set(&[OLD_DOMAIN, EXPIRED, SIGHTED_BY_VENDOR])
    );
    assert_eq!(
        ids(&stale(&w, "Civic Helpdesk/hugo", &[])),
        set(&[OLD_DOMAIN, EXPIRED, SIGHTED_BY_VENDOR])
    );
    // The vendor sees its own AMBER indicator (25 days of a 30-day lifetime:
    // stale) and its own sighting, which makes the sighted domain fresh.
    assert_eq!(
        ids(&stale(&w, "Vendor/vera", &[])),
        set(&[OLD_DOMAIN, EXPIRED, VENDOR_OWN])
    );

    // Everything, lowest first: the vendor's indicator never shows to
    // another organisation, whatever the threshold.
    let all = stale(&w, "National CERT/ana", &["--below", "100"]);
    assert_eq!(
        ids(&all),
        set(&[FRESH_IP, OLD_DOMAIN, EXPIRED, SIGHTED_BY_VENDOR])
    );
    let scores: Vec<f64> = all.iter().map(|i| i["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|p| p[0] <= p[1]), "{scores:?}");
    let by = |list: &[Value], id: &str| list.iter().find(|i| i["id"] == id).cloned().unwrap();
    let expired = by(&all, EXPIRED);
    assert_eq!(expired["expired"], true);
    assert_eq!(expired["score"], 0.0);
    assert_eq!(expired["sightings"], 1);
    let ip = by(&all, FRESH_IP);
    assert_eq!(ip["kind"], "ipv4");
    assert_eq!(ip["expired"], false);
    // One day of a 30-day lifetime with decay speed 2: 80 × (1 − √(1/30)).
    let expected = 80.0 * (1.0 - (1.0f64 / 30.0).sqrt());
    assert!(
        (ip["score"].as_f64().unwrap() - expected).abs() < 0.5,
        "{ip}"
    );
    assert_eq!(by(&all, SIGHTED_BY_VENDOR)["sightings"], 0);

    let vendor_all = stale(&w, "Vendor/vera", &["--below", "100"]);
    let sighted = by(&vendor_all, SIGHTED_BY_VENDOR);
    assert_eq!(sighted["sightings"], 1);
    assert!(sighted["score"].as_f64().unwrap() > 70.0, "{sighted}");
    assert_eq!(by(&vendor_all, VENDOR_OWN)["kind"], "ipv4");

    // The table names the expiry; --model changes the figures.
    let out = w.node.cli(&[
        "indicators",
        "stale",
        "--collection",
        &w.collection,
        "--as",
        "National CERT/ana",
    ]);
    let table = text(&out.stdout);
    assert!(
        table.contains("expired 2020-06-01T00:00:00.000Z"),
        "{table}"
    );
    assert!(!table.contains(VENDOR_OWN), "{table}");
    let model = w.node.path().join("model.toml");
    std::fs::write(&model, "[kinds.domain]\nlifetime_days = 1000\n").unwrap();
    assert_eq!(
        ids(&stale(
            &w,
            "National CERT/ana",
            &["--model", model.to_str().unwrap()]
        )),
        set(&[EXPIRED])
    );
    std::fs::write(&model, "[kinds.domain]\nlifetime = 1000\n").unwrap();
    let out = w.node.cli(&[
        "indicators",
        "stale",
        "--collection",
        &w.collection,
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("lifetime"),
        "{}",
        text(&out.stderr)
    );

    // A user of an organisation outside the community: no such collection.
    w.node.ok(&["org", "create", "Outsider"]);
    w.node.ok(&[
        "user", "create", "--org", "Outsider", "--role", "analyst", "otto",
    ]);
    let out = w.node.cli(&[
        "indicators",
        "stale",
        "--collection",
        &w.collection,
        "--as",
        "Outsider/otto",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("does not exist"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn scan_skips_expired_indicators_and_low_scores() {
    let w = world(&[]);
    let log = w.node.path().join("seen.txt");
    std::fs::write(
        &log,
        "203.0.113.5\nold.example\ngone.example\nsighted.example\n",
    )
    .unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "--collection", &w.collection, "--output", "jsonl"];
        args.extend(extra);
        args.push(log.to_str().unwrap());
        let out = w.node.cli(&args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let matched: BTreeSet<String> = text(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["indicator_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        (matched, text(&out.stderr))
    };
    let (matched, stderr) = scan(&[]);
    assert_eq!(matched, set(&[FRESH_IP, OLD_DOMAIN, SIGHTED_BY_VENDOR]));
    assert!(stderr.contains("skipped 1 expired indicator"), "{stderr}");

    let (matched, _) = scan(&["--include-expired"]);
    assert_eq!(
        matched,
        set(&[FRESH_IP, OLD_DOMAIN, EXPIRED, SIGHTED_BY_VENDOR])
    );

    // The operator sees the vendor's sighting: the sighted domain is fresh.
    let (matched, stderr) = scan(&["--min-score", "30"]);
    assert_eq!(matched, set(&[FRESH_IP, SIGHTED_BY_VENDOR]));
    assert!(stderr.contains("scoring below 30"), "{stderr}");

    // An IP lifetime of one day: the day-old IP has decayed.
    let model = w.node.path().join("model.json");
    std::fs::write(&model, r#"{"kinds": {"ipv4": {"lifetime_days": 1}}}"#).unwrap();
    let (matched, _) = scan(&["--min-score", "30", "--model", model.to_str().unwrap()]);
    assert_eq!(matched, set(&[SIGHTED_BY_VENDOR]));

    let out = w.node.cli(&[
        "scan",
        "--collection",
        &w.collection,
        "--min-score",
        "101",
        log.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_collection_hides_expired_indicators_from_taxii_readers() {
    let w = world(&["--hide-expired"]);
    let server = w.node.serve();
    let token = |user: &str| w.node.ok(&["token", "create", "--user", user]);
    let (cert, helpdesk, vendor) = (
        token("National CERT/ana"),
        token("Civic Helpdesk/hugo"),
        token("Vendor/vera"),
    );
    let base = format!("/api1/collections/{}/", w.collection);
    let listed = |path: &str, tok: &str| -> BTreeSet<String> {
        let r = get(&server.url(&format!("{base}{path}")), tok);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()["objects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    };
    for tok in [&cert, &helpdesk, &vendor] {
        let objects = listed("objects/?match[type]=indicator", tok);
        assert!(!objects.contains(EXPIRED), "{objects:?}");
        assert!(objects.contains(FRESH_IP));
        let manifest = listed("manifest/?match[type]=indicator", tok);
        assert!(!manifest.contains(EXPIRED), "{manifest:?}");
        assert!(manifest.contains(FRESH_IP));
        // Read by id and its versions: like an absent object.
        assert_eq!(
            get(&server.url(&format!("{base}objects/{EXPIRED}/")), tok).status,
            404
        );
        assert_eq!(
            get(
                &server.url(&format!("{base}objects/{EXPIRED}/versions/")),
                tok
            )
            .status,
            404
        );
        assert_eq!(
            get(&server.url(&format!("{base}objects/{FRESH_IP}/")), tok).status,
            200
        );
        // What points at it stays.
        assert!(
            listed("objects/?match[type]=sighting", tok)
                .contains("sighting--00000000-0000-4000-8000-000000000001")
        );
    }

    // The Entente API lists it, marked, and only what each reader may see.
    let api = |tok: &str, query: &str| {
        get_json(
            &server.url(&format!(
                "/entente/v1/collections/{}/indicators/{query}",
                w.collection
            )),
            Some(tok),
        )
    };
    let r = api(&cert, "");
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json()["indicators"].as_array().unwrap().clone();
    assert_eq!(
        ids(&list),
        set(&[FRESH_IP, OLD_DOMAIN, EXPIRED, SIGHTED_BY_VENDOR])
    );
    let expired = list.iter().find(|i| i["id"] == EXPIRED).unwrap();
    assert_eq!(expired["expired"], true);
    assert_eq!(expired["score"], 0.0);
    assert!(
        list.iter()
            .all(|i| i["id"] == EXPIRED || i["expired"] == false)
    );
    assert!(!ids(r.json()["indicators"].as_array().unwrap()).contains(VENDOR_OWN));
    let below = api(&cert, "?below=30");
    assert_eq!(
        ids(below.json()["indicators"].as_array().unwrap()),
        set(&[OLD_DOMAIN, EXPIRED, SIGHTED_BY_VENDOR])
    );
    let vendor_below = api(&vendor, "?below=30");
    assert_eq!(
        ids(vendor_below.json()["indicators"].as_array().unwrap()),
        set(&[OLD_DOMAIN, EXPIRED, VENDOR_OWN])
    );
    assert!(
        !ids(api(&helpdesk, "?below=100").json()["indicators"]
            .as_array()
            .unwrap())
        .contains(VENDOR_OWN)
    );
    // Assessed at a given time: in 2020-03 the expired one was not.
    let then = api(&cert, "?at=2020-03-01T00:00:00Z");
    let old = then.json()["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == EXPIRED)
        .cloned()
        .unwrap();
    assert_eq!(old["expired"], false);
    assert!(old["score"].as_f64().unwrap() > 0.0);
    let bad = api(&cert, "?below=lots");
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json()["details"]["errors"][0]["path"], "below");
    assert_eq!(api(&cert, "?stale=1").status, 400);
    let missing = get_json(
        &server.url("/entente/v1/collections/no-such-collection/indicators/"),
        Some(&cert),
    );
    assert_eq!(missing.status, 404);

    // Shown again once the collection stops hiding them.
    w.node.ok(&[
        "collection",
        "set",
        &w.collection,
        "--hide-expired",
        "false",
    ]);
    assert!(listed("objects/?match[type]=indicator", &cert).contains(EXPIRED));
    assert_eq!(
        get(&server.url(&format!("{base}objects/{EXPIRED}/")), &cert).status,
        200
    );
    w.node
        .ok(&["collection", "set", &w.collection, "--hide-expired", "true"]);
    assert!(!listed("objects/?match[type]=indicator", &cert).contains(EXPIRED));
    let out = text(&w.node.cli(&["collection", "list"]).stdout);
    assert!(out.contains("hides expired indicators"), "{out}");
    server.kill();
}
