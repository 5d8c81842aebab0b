//! `entente import --format misp|csv` and `entente export --format mvt`
//! through the CLI, against a real node, and what readers then see over
//! TAXII.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

/// A MISP document of the converter's test vectors.
fn vector(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../convert/tests/misp")
        .join(name)
        .display()
        .to_string()
}

fn write(node: &Node, name: &str, content: impl AsRef<[u8]>) -> String {
    let path = node.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// Every object of a collection, exported by the operator: what was
/// imported, and the manifests in which the node signed it.
fn exported_all(node: &Node, collection: &str) -> Vec<Value> {
    let out = node.cli(&["export", "--collection", collection]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    bundle["objects"].as_array().unwrap().clone()
}

fn is_manifest(o: &Value) -> bool {
    o["type"] == "x-entente-manifest"
}

/// What was imported into a collection, without the node's manifests.
fn exported(node: &Node, collection: &str) -> Vec<Value> {
    let mut objects = exported_all(node, collection);
    objects.retain(|o| !is_manifest(o));
    objects
}

/// The fingerprint of the node's signing key.
fn node_key(node: &Node) -> String {
    let out = node.cli(&["node", "keys"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Checks offline (`entente verify`) that the node signed every object of
/// `collection`, as it signs a STIX import: returns how many it verified.
fn verified_by_the_node(node: &Node, collection: &str) -> usize {
    let export = node.path().join(format!("{collection}.signed.json"));
    node.ok(&[
        "export",
        "--collection",
        collection,
        "-o",
        export.to_str().unwrap(),
    ]);
    let out = node.cli(&["verify", export.to_str().unwrap(), "--key", &node_key(node)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let counts = text(&out.stderr);
    let (verified, rest) = counts
        .trim()
        .split_once(" verified, ")
        .unwrap_or_else(|| panic!("{counts}"));
    assert_eq!(rest, "0 not verified", "{counts}");
    verified.parse().unwrap()
}

fn by_id<'a>(objects: &'a [Value], id: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in the collection"))
}

#[test]
fn misp_events_import_with_misp_ids_and_importing_again_finds_duplicates() {
    let node = Node::init();
    let c = node.collection("MISP");
    let file = vector("spyware-campaign.json");
    // No --format: a document opening with {"Event" is MISP.
    let first = node.cli(&["import", "--collection", &c, &file, "--quiet"]);
    assert!(
        first.status.success(),
        "{}{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    let summary = text(&first.stdout);
    let stored: usize = summary
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    let objects = exported(&node, &c);
    assert_eq!(objects.len(), stored, "{summary}");
    // Converted objects are signed after the import, like a STIX import.
    assert_eq!(verified_by_the_node(&node, &c), stored, "{summary}");
    // misp-stix's ids: the attribute's uuid, the event's uuid.
    let sha256 = by_id(&objects, "indicator--20508c74-19a8-4460-9b6a-f5b8b39520b6");
    assert_eq!(
        sha256["pattern"],
        "[file:hashes.'SHA-256' = '9fc92aa0d8f2864716ac4d9af0548256dbbe7f94b1ab045d9fe56c97514844d2']"
    );
    assert_eq!(
        sha256["created_by_ref"],
        "identity--011cb100-6588-49ce-85d4-1796c890ef0b"
    );
    // Untagged: the event's TLP:AMBER. Tagged tlp:clear: its own.
    assert_eq!(sha256["object_marking_refs"], serde_json::json!([AMBER]));
    let sha1 = by_id(&objects, "indicator--ecb1c11e-3e53-4583-a985-e65eaf0e1fe9");
    assert_eq!(sha1["object_marking_refs"], serde_json::json!([CLEAR]));
    let report = by_id(&objects, "report--4b1cc0db-932e-4488-bc75-b699ea001a84");
    assert!(
        report["object_refs"]
            .as_array()
            .unwrap()
            .contains(&sha256["id"])
    );
    // The galaxy on the attribute: a malware the indicator indicates.
    assert!(objects.iter().any(|o| o["type"] == "relationship"
        && o["relationship_type"] == "indicates"
        && o["source_ref"] == sha256["id"]
        && o["target_ref"] == "malware--3d1e0aa2-ad24-4b7a-ae61-3cc21d436a48"));

    let again = node.cli(&[
        "import",
        "--collection",
        &c,
        "--format",
        "misp",
        &file,
        "-q",
    ]);
    assert!(again.status.success());
    assert!(
        text(&again.stdout).starts_with(&format!("stored 0, duplicates {stored}, rejected 0")),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn bad_misp_records_are_named_and_everything_else_is_stored() {
    let node = Node::init();
    let c = node.collection("MISP");
    let errors = node.path().join("errors.jsonl");
    let out = node.cli(&[
        "import",
        "--collection",
        &c,
        &vector("bad-records.json"),
        "--errors",
        errors.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1), "some records were rejected");
    let summary = text(&out.stdout);
    assert!(summary.contains("rejected 18"), "{summary}");
    assert!(
        summary.contains(
            "event c9a1e3f0-58f2-4d2b-9a57-2f0e6b1d4c11, attribute 0b7c1d2e-3f40-4152-8a63-748596a7b8c9 (ip-dst): \"203.0.113.300\" is not an IP address"
        ),
        "{summary}"
    );
    let lines: Vec<Value> = std::fs::read_to_string(&errors)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 18);
    assert!(
        lines
            .iter()
            .all(|l| l["file"].as_str().unwrap().ends_with("bad-records.json"))
    );
    let objects = exported(&node, &c);
    let good = by_id(&objects, "indicator--834995a6-b7c8-49d0-82e1-f20314253647");
    assert_eq!(
        good["pattern"],
        "[domain-name:value = 'still-converted.example']"
    );
    assert_eq!(good["object_marking_refs"], serde_json::json!([GREEN]));
    // --strict: one bad record and nothing is stored.
    let strict = node.collection("Strict");
    let out = node.cli(&[
        "import",
        "--collection",
        &strict,
        &vector("bad-records.json"),
        "--strict",
        "-q",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--strict: nothing was imported"),
        "{}",
        text(&out.stderr)
    );
    assert!(exported_all(&node, &strict).is_empty());
}

/// A MISP event tagged TLP:GREEN whose attributes are mostly untagged.
fn green_event() -> String {
    r#"{"Event":{"uuid":"5d1b2f3a-8c4e-4b6a-9d7e-1f2a3b4c5d6e","info":"Spyware delivery","timestamp":"1790236800",
    "published":true,"publish_timestamp":"1790236900","Orgc":{"uuid":"6e2c3a4b-9d5f-4c7b-8e8f-2a3b4c5d6e7f","name":"Civic Helpdesk"},
    "Tag":[{"name":"tlp:green"}],
    "Attribute":[
      {"uuid":"7f3d4b5c-ae60-4d8c-9f90-3b4c5d6e7f80","type":"domain","category":"Network activity","to_ids":true,"timestamp":"1790236800","value":"untagged.example"},
      {"uuid":"8a4e5c6d-bf71-4e9d-a0a1-4c5d6e7f8091","type":"domain","category":"Network activity","to_ids":true,"timestamp":"1790236800","value":"public.example","Tag":[{"name":"tlp:clear"}]},
      {"uuid":"9b5f6d7e-c082-4fae-b1b2-5d6e7f8091a2","type":"ip-src","category":"Network activity","to_ids":false,"timestamp":"1790236800","value":"192.0.2.99","comment":"the victim's address"}
    ]}}"#
        .to_string()
}

#[test]
fn untagged_misp_records_take_the_events_tlp_on_every_read() {
    let node = Node::init();
    node.ok(&["org", "create", "Civic Helpdesk"]);
    node.ok(&["org", "create", "National CERT"]);
    node.ok(&["community", "create", "Dialogue"]);
    node.ok(&["community", "add", "Dialogue", "Civic Helpdesk"]);
    node.ok(&["community", "add", "Dialogue", "National CERT"]);
    node.ok(&[
        "user",
        "create",
        "--org",
        "Civic Helpdesk",
        "--role",
        "analyst",
        "hugo",
    ]);
    node.ok(&[
        "user",
        "create",
        "--org",
        "National CERT",
        "--role",
        "analyst",
        "ana",
    ]);
    let public = node.ok(&[
        "collection",
        "create",
        "--title",
        "Public feed",
        "--community",
        "Dialogue",
        "--default-tlp",
        "clear",
        "--public",
    ]);
    let event = write(&node, "event.json", green_event());
    node.ok(&[
        "import",
        "--collection",
        &public,
        "--as",
        "Civic Helpdesk/hugo",
        &event,
        "-q",
    ]);
    let ana = node.ok(&["token", "create", "--user", "National CERT/ana"]);
    let server = node.serve();
    let url = server.url(&format!("/api1/collections/{public}/objects/"));
    // The ids a reader receives, and what the manifests it receives list.
    let ids_of = |reply: Reply| -> (Vec<String>, Vec<String>) {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let objects = reply.json()["objects"].as_array().cloned();
        let (mut ids, mut signed) = (Vec::new(), Vec::new());
        for o in objects.unwrap_or_default() {
            if is_manifest(&o) {
                for e in o["entries"].as_array().unwrap() {
                    signed.push(e["object_ref"].as_str().unwrap().to_string());
                }
            } else {
                ids.push(o["id"].as_str().unwrap().to_string());
            }
        }
        ids.sort();
        signed.sort();
        (ids, signed)
    };
    // An anonymous reader of a CLEAR collection sees the one attribute
    // tagged tlp:clear: the untagged ones, their SCOs and the report are
    // the event's GREEN, not the collection's CLEAR. The node's manifest
    // for that audience lists that one object and nothing it may not see.
    let (anonymous, signed) = ids_of(get_with(&url, &[("Accept", TAXII)]));
    assert_eq!(
        anonymous,
        ["indicator--8a4e5c6d-bf71-4e9d-a0a1-4c5d6e7f8091"]
    );
    assert_eq!(signed, anonymous);
    let (member, signed) = ids_of(get(&url, &ana));
    assert_eq!(signed, member);
    for id in [
        "indicator--7f3d4b5c-ae60-4d8c-9f90-3b4c5d6e7f80",
        "observed-data--9b5f6d7e-c082-4fae-b1b2-5d6e7f8091a2",
        "ipv4-addr--9b5f6d7e-c082-4fae-b1b2-5d6e7f8091a2",
        "network-traffic--9b5f6d7e-c082-4fae-b1b2-5d6e7f8091a2",
        "report--5d1b2f3a-8c4e-4b6a-9d7e-1f2a3b4c5d6e",
    ] {
        assert!(member.iter().any(|m| m == id), "{id} not in {member:?}");
    }
}

#[test]
fn csv_with_bom_crlf_quotes_and_defanged_values_imports_and_bad_rows_are_named() {
    let node = Node::init();
    let c = node.collection("CSV");
    let csv = "\u{feff}Indicator,Type,Comment,TLP,First Seen,Last Seen,Tags\r\n\
               hxxps://login-verify[.]example/owa?u=1,url,\"phish, \"\"urgent\"\"\",green,2026-09-01,2026-12-01,\"phishing; webmail\"\r\n\
               198[.]51[.]100[.]23,,C2,amber,,,\r\n\
               user[at]mail-drop(dot)example,,,,,,\r\n\
               not an indicator,,,,,,\r\n\
               \"D41D8CD98F00B204E9800998ECF8427E\",md5,\"multi\r\nline comment\",clear,,,\r\n\
               evil.example,,,purple,,,\r\n\
               evil.example,,,,2026-10-01,2026-09-01,\r\n\
               C:\\Users\\x\\it's.exe,filename,quote and backslash,,,,\r\n";
    let file = write(&node, "iocs.csv", csv);
    let out = node.cli(&["import", "--collection", &c, &file, "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let summary = text(&out.stdout);
    assert!(
        summary.starts_with("stored 5, duplicates 0, rejected 3"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "iocs.csv: line 5: cannot tell what kind of indicator \"not an indicator\" is"
        ),
        "{summary}"
    );
    assert!(summary.contains("line 8: tlp \"purple\""), "{summary}");
    assert!(summary.contains("line 9: last_seen"), "{summary}");
    let objects = exported(&node, &c);
    let patterns: Vec<&str> = objects
        .iter()
        .map(|o| o["pattern"].as_str().unwrap())
        .collect();
    for want in [
        "[url:value = 'https://login-verify.example/owa?u=1']",
        "[ipv4-addr:value = '198.51.100.23']",
        "[email-addr:value = 'user@mail-drop.example']",
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
        r"[file:name = 'C:\\Users\\x\\it\'s.exe']",
    ] {
        assert!(patterns.contains(&want), "{want} not in {patterns:?}");
    }
    let url = objects
        .iter()
        .find(|o| o["pattern"].as_str().unwrap().starts_with("[url"))
        .unwrap();
    assert_eq!(url["description"], "phish, \"urgent\"");
    assert_eq!(url["valid_from"], "2026-09-01T00:00:00.000Z");
    assert_eq!(url["valid_until"], "2026-12-01T00:00:00.000Z");
    assert_eq!(url["labels"], serde_json::json!(["phishing", "webmail"]));
    assert_eq!(url["object_marking_refs"], serde_json::json!([GREEN]));
    let md5 = objects
        .iter()
        .find(|o| o["pattern"].as_str().unwrap().contains("MD5"))
        .unwrap();
    assert_eq!(md5["description"], "multi\r\nline comment");

    // --strict: the same file stores nothing.
    let strict = node.collection("Strict");
    let out = node.cli(&["import", "--collection", &strict, &file, "--strict", "-q"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 5:"),
        "{}",
        text(&out.stderr)
    );
    assert!(exported_all(&node, &strict).is_empty());
    // What the first import stored is signed, rejections notwithstanding,
    // as a STIX import is.
    assert_eq!(verified_by_the_node(&node, &c), 5);
}

#[test]
fn csv_columns_by_position_from_standard_input_in_a_stream() {
    let node = Node::init();
    let c = node.collection("CSV");
    // No header, columns by position; 20,000 rows through a pipe.
    let mut rows = String::new();
    for i in 0..20_000 {
        rows.push_str(&format!("x,ioc{i}.example,domain\n"));
    }
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(node.path())
        .args([
            "import",
            "--collection",
            &c,
            "--format",
            "csv",
            "--column",
            "value=2",
            "--column",
            "type=3",
            "-",
            "-q",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(rows.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).starts_with("stored 20000, duplicates 0, rejected 0"),
        "{}",
        text(&out.stdout)
    );
    let objects = exported(&node, &c);
    assert!(
        objects
            .iter()
            .any(|o| o["pattern"] == "[domain-name:value = 'ioc19999.example']")
    );

    // By header name, with the first row naming them.
    let file = write(&node, "named.csv", "kind,ioc\nipv4,203.0.113.7\n");
    let out = node.cli(&[
        "import",
        "--collection",
        &c,
        &file,
        "--column",
        "value=ioc,type=kind",
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    // A mapping that names no existing column fails before anything is read.
    let out = node.cli(&[
        "import",
        "--collection",
        &c,
        &file,
        "--column",
        "value=indicator",
        "-q",
    ]);
    assert!(
        text(&out.stderr).contains("column \"indicator\" (for value) is not in the first row"),
        "{}",
        text(&out.stderr)
    );
    let out = node.cli(&[
        "import",
        "--collection",
        &c,
        &vector("public-list.json"),
        "--column",
        "value=1",
    ]);
    assert!(
        text(&out.stderr).contains("--column maps CSV columns"),
        "{}",
        text(&out.stderr)
    );
    let out = node.cli(&["import", "--collection", &c, &file, "--column", "colour=1"]);
    assert!(
        text(&out.stderr).contains("\"colour\" is not a field"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn mvt_export_holds_what_mvt_reads_and_names_what_it_cannot() {
    let node = Node::init();
    let c = node.collection("Spyware");
    node.ok(&[
        "import",
        "--collection",
        &c,
        &vector("spyware-campaign.json"),
        "-q",
    ]);
    let file = node.path().join("nightjar.stix2");
    let out = node.cli(&[
        "export",
        "--collection",
        &c,
        "--format",
        "mvt",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    // 17 of the 39 indicators MVT reads, 22 values (domain|ip and the file
    // and domain-ip objects give several each); 22 it cannot read.
    assert!(stderr.contains("exported 22 MVT indicators"), "{stderr}");
    assert!(stderr.contains("22 indicators were left out"), "{stderr}");
    assert!(
        stderr.contains("mutex:name = 'Global\\\\NJ_sync_7731']: MVT does not check mutex:name"),
        "{stderr}"
    );
    assert!(stderr.contains("mvt#906"), "{stderr}");
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let patterns: Vec<&str> = objects
        .iter()
        .filter_map(|o| o["pattern"].as_str())
        .collect();
    assert!(
        patterns.contains(&"[ipv4-addr:value = '203.0.113.45']"),
        "{patterns:?}"
    );
    assert!(patterns.contains(
        &"[file:hashes.sha256 = '9fc92aa0d8f2864716ac4d9af0548256dbbe7f94b1ab045d9fe56c97514844d2']"
    ));
    // Every pattern is one comparison MVT splits cleanly on '='.
    for p in &patterns {
        assert_eq!(p.matches('=').count(), 1, "{p}");
        assert!(!p.contains("\\"), "{p}");
    }
    assert!(
        objects
            .iter()
            .any(|o| o["type"] == "malware" && o["name"] == "Nightjar")
    );
    assert!(objects.iter().any(|o| o["type"] == "report"));
    // The node's manifests are in the collection, not in MVT's file.
    assert!(exported_all(&node, &c).iter().any(is_manifest));
    assert!(!objects.iter().any(is_manifest));
}

#[test]
fn a_tlp_red_misp_event_needs_named_recipients_like_any_red_object() {
    let node = Node::init();
    node.ok(&["org", "create", "Civic Helpdesk"]);
    node.ok(&[
        "user",
        "create",
        "--org",
        "Civic Helpdesk",
        "--role",
        "analyst",
        "hugo",
    ]);
    let c = node.collection("Red");
    let event = write(
        &node,
        "red.json",
        green_event().replace("tlp:green", "tlp:red"),
    );
    let out = node.cli(&["import", "--collection", &c, &event, "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let summary = text(&out.stdout);
    // Only the attribute tagged tlp:clear is stored: it keeps its own level.
    assert!(
        summary.starts_with("stored 1, duplicates 0, rejected 6"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "event 5d1b2f3a-8c4e-4b6a-9d7e-1f2a3b4c5d6e, attribute 7f3d4b5c-ae60-4d8c-9f90-3b4c5d6e7f80 (domain): object 1: TLP:RED objects need named recipients"
        ),
        "{summary}"
    );
    let out = node.cli(&[
        "import",
        "--collection",
        &c,
        &event,
        "--recipient-user",
        "Civic Helpdesk/hugo",
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.starts_with("stored 6, duplicates 1, rejected 0"),
        "{summary}"
    );
}
