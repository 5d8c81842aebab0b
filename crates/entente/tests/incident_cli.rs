//! `entente incident` through the real binary: the JSON contract of
//! `assess`, notifications, the STIX export, errors for bad input, and
//! incidents kept on a node (create, list, show, submit, update, share).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reporting/tests/vectors")
}

fn v1() -> PathBuf {
    vectors().join("v01-energy-ransomware-eu-us/incident.json")
}

fn entente(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_entente"))
        .args(args)
        .output()
        .expect("the entente binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assess_json(file: &Path, at: &str) -> Value {
    let out = entente(&[
        "incident",
        "assess",
        file.to_str().unwrap(),
        "--at",
        at,
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("assess --format json prints JSON")
}

fn stage<'a>(assessment: &'a Value, regime: &str, stage: &str) -> &'a Value {
    let regime = assessment["regimes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == regime)
        .unwrap_or_else(|| panic!("no regime {regime}"));
    regime["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == stage)
        .unwrap_or_else(|| panic!("no stage {stage}"))
}

#[test]
fn assess_json_follows_the_contract() {
    let a = assess_json(&v1(), "2026-11-16T20:00:00Z");
    let ids: Vec<&str> = a["regimes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["nis2", "cra", "gdpr", "dora", "circia", "sec-8k", "hipaa"]
    );
    for regime in a["regimes"].as_array().unwrap() {
        for key in ["id", "applies", "reason", "legal_status", "stages"] {
            assert!(regime.get(key).is_some(), "regime lacks {key}: {regime}");
        }
        for s in regime["stages"].as_array().unwrap() {
            for key in ["id", "due", "deadline_status", "missing"] {
                assert!(s.get(key).is_some(), "stage lacks {key}: {s}");
            }
        }
    }
    assert_eq!(
        stage(&a, "nis2", "early-warning")["due"],
        "2026-11-15T02:30:00Z"
    );
    assert_eq!(
        stage(&a, "nis2", "notification")["due"],
        "2026-11-17T02:30:00Z"
    );
    assert_eq!(stage(&a, "nis2", "final")["due"], "2026-12-16T15:00:00Z");
    assert_eq!(
        stage(&a, "gdpr", "notification")["due"],
        "2026-11-18T09:00:00Z"
    );
    assert_eq!(
        stage(&a, "circia", "incident")["deadline_status"],
        "proposed"
    );
    assert_eq!(
        stage(&a, "circia", "ransom-payment")["due"],
        "2026-11-17T18:00:00Z"
    );
    assert_eq!(stage(&a, "circia", "joint")["due"], "2026-11-17T02:30:00Z");
    assert_eq!(
        stage(&a, "nis2", "final")["missing"],
        serde_json::json!(["threat_type", "root_cause"])
    );
    let dora = &a["regimes"][3];
    assert_eq!(dora["applies"], false);
    assert!(
        dora["reason"]
            .as_str()
            .unwrap()
            .contains("DORA financial entity")
    );
}

#[test]
fn assess_is_deterministic_across_runs() {
    let first = entente(&[
        "incident",
        "assess",
        v1().to_str().unwrap(),
        "--at",
        "2026-11-16T20:00:00Z",
        "--format",
        "json",
    ]);
    let second = entente(&[
        "incident",
        "assess",
        v1().to_str().unwrap(),
        "--at",
        "2026-11-16T20:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn assess_text_names_what_applies_and_what_is_overdue() {
    let out = entente(&[
        "incident",
        "assess",
        v1().to_str().unwrap(),
        "--at",
        "2026-11-16T20:00:00Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("NIS2 Directive, Article 23 [nis2]: APPLIES (binding)"),
        "{text}"
    );
    assert!(
        text.contains("CIRCIA (proposed rule) [circia]: APPLIES (proposed)"),
        "{text}"
    );
    assert!(text.contains("does not apply"), "{text}");
    assert!(text.contains("OVERDUE"), "{text}");
    assert!(
        text.contains("2026-11-15T03:30:00+01:00[Europe/Berlin]"),
        "{text}"
    );
}

#[test]
fn the_record_can_come_from_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entente"))
        .args([
            "incident",
            "assess",
            "-",
            "--at",
            "2026-11-16T20:00:00Z",
            "--format",
            "json",
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
        .write_all(&std::fs::read(v1()).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        stage(&a, "gdpr", "notification")["due"],
        "2026-11-18T09:00:00Z"
    );
}

#[test]
fn an_invalid_record_exits_1_with_every_problem_and_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{"entity": {"legal_name": "X"}, "occurred": {"start": "2026-11-14T00:00:00Z"},
            "aware_at": "2026-11-13T00:00:00Z", "ttps": ["T99"]}"#,
    )
    .unwrap();
    let out = entente(&[
        "incident",
        "assess",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("2 problems"), "{err}");
    assert!(
        err.contains("aware_at: 2026-11-13T00:00:00Z is before occurred.start"),
        "{err}"
    );
    assert!(
        err.contains("ttps[0]: `T99` is not an ATT&CK technique id"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    let unknown = vectors().join("bad-unknown-enum-value/incident.json");
    let out = entente(&["incident", "assess", unknown.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("entity.nis2_class: unknown value `essentiall`; expected one of: essential, important, none"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let out = entente(&[
        "incident",
        "assess",
        v1().to_str().unwrap(),
        "--at",
        "tomorrow",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--at: `tomorrow` is not an RFC 3339 timestamp"),
        "{}",
        stderr(&out)
    );

    let out = entente(&["incident", "assess", "/nonexistent/incident.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read /nonexistent/incident.json"),
        "{}",
        stderr(&out)
    );

    let out = entente(&[
        "incident",
        "render",
        v1().to_str().unwrap(),
        "--regime",
        "nis2",
        "--stage",
        "initial",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("its stages are: early-warning, notification, intermediate, final, progress"),
        "{}",
        stderr(&out)
    );

    let out = entente(&[
        "incident",
        "export",
        v1().to_str().unwrap(),
        "--tlp",
        "purple",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a TLP 2.0 label"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn render_writes_markdown_with_headings_and_gaps_and_json() {
    let out = entente(&[
        "incident",
        "render",
        v1().to_str().unwrap(),
        "--regime",
        "nis2",
        "--stage",
        "final",
        "--at",
        "2026-11-16T20:00:00Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(
        md.starts_with("# NIS2 Directive, Article 23 — Final report"),
        "{md}"
    );
    assert!(
        md.contains("## Applied and ongoing mitigation measures"),
        "{md}"
    );
    assert!(
        md.contains("**Root cause:** **[MISSING — required]**"),
        "{md}"
    );
    assert!(
        md.contains("2 required items MISSING: `threat_type`, `root_cause`"),
        "{md}"
    );

    let out = entente(&[
        "incident",
        "render",
        v1().to_str().unwrap(),
        "--regime",
        "gdpr",
        "--stage",
        "notification",
        "--format",
        "json",
        "--at",
        "2026-11-16T20:00:00Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let n: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(n["ready"], true);
    assert_eq!(n["due"], "2026-11-18T09:00:00Z");
    assert_eq!(
        n["sections"][0]["heading"],
        "(a) Nature of the personal data breach"
    );
}

#[test]
fn export_writes_a_marked_stix_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.json");
    let out = entente(&[
        "incident",
        "export",
        v1().to_str().unwrap(),
        "--at",
        "2026-11-17T00:00:00Z",
        "--tlp",
        "TLP:GREEN",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no `id`"), "{}", stderr(&out));
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(bundle["type"], "bundle");
    let incident = &bundle["objects"][0];
    assert_eq!(incident["type"], "incident");
    assert_eq!(incident["modified"], "2026-11-17T00:00:00.000Z");
    assert_eq!(
        incident["object_marking_refs"][0],
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    );
    let validator = stix::Validator::new();
    for (i, object) in bundle["objects"].as_array().unwrap().iter().enumerate() {
        assert!(
            validator.validate_str(i, &object.to_string()).is_ok(),
            "{object}"
        );
    }
}

#[test]
fn extra_rule_files_add_a_national_variant_without_code() {
    let variant = vectors().join("national-variant-is-a-data-change");
    let a = {
        let out = entente(&[
            "incident",
            "assess",
            variant.join("incident.json").to_str().unwrap(),
            "--at",
            "2026-11-02T11:00:00Z",
            "--format",
            "json",
            "--rules",
            variant.join("rules").to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()
    };
    assert_eq!(
        stage(&a, "nis2-lu-example", "notification")["due"],
        "2026-11-04T10:00:00Z"
    );
    let nis2 = a["regimes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "nis2")
        .unwrap();
    assert_eq!(nis2["applies"], false);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.toml"), "id = \"Bad Id\"\n").unwrap();
    let out = entente(&[
        "incident",
        "assess",
        v1().to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("broken.toml"), "{}", stderr(&out));
}

// ------------------------------------------------------------ on a node

/// A node where Nordwerk (the reporting operator) and a national CERT share
/// the "Dialogue" community and its collection; an outsider does not.
fn node_with_organisations() -> (common::Node, String) {
    let node = common::Node::init();
    for org in ["Nordwerk", "National CERT", "Outsider"] {
        node.ok(&["org", "create", org]);
    }
    node.ok(&["community", "create", "Dialogue"]);
    node.ok(&["community", "add", "Dialogue", "Nordwerk"]);
    node.ok(&["community", "add", "Dialogue", "National CERT"]);
    for (org, user, role) in [
        ("Nordwerk", "ana", "analyst"),
        ("Nordwerk", "rita", "reader"),
        ("National CERT", "carl", "analyst"),
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
    (node, collection)
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

fn v1b() -> String {
    vectors()
        .join("v01b-nis2-final-provisional/incident.json")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn an_incident_is_recorded_tracked_and_shared_from_the_cli() {
    let (node, collection) = node_with_organisations();
    let created = json_of(&node.cli(&[
        "incident",
        "create",
        &v1b(),
        "--as",
        "Nordwerk/ana",
        "--format",
        "json",
    ]));
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["version"], 1);
    assert_eq!(created["organisation"], "Nordwerk");
    // The text form ends with the id, for scripts.
    let again = node.ok(&["incident", "create", &v1b(), "--as", "Nordwerk/ana"]);
    assert_eq!(again.len(), 36, "{again}");

    // What is overdue and due next, for Nordwerk only.
    let list = node.cli(&[
        "incident",
        "list",
        "--as",
        "Nordwerk/rita",
        "--at",
        "2026-11-16T20:00:00Z",
    ]);
    let text = stdout(&list);
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(
        text.starts_with("2 incidents, most pressing first"),
        "{text}"
    );
    assert!(
        text.contains("OVERDUE  nis2    early-warning   due 2026-11-15T02:30:00Z"),
        "{text}"
    );
    assert!(
        text.contains("next     nis2    notification    due 2026-11-17T02:30:00Z"),
        "{text}"
    );
    let outsider = node.cli(&["incident", "list", "--as", "Outsider/otto"]);
    assert!(
        stdout(&outsider).starts_with("No incidents"),
        "{}",
        stdout(&outsider)
    );
    let all = json_of(&node.cli(&["incident", "list", "--format", "json"]));
    assert_eq!(
        all["incidents"].as_array().unwrap().len(),
        2,
        "the operator sees all"
    );

    // Another organisation is told it does not exist.
    let hidden = node.cli(&["incident", "show", &id, "--as", "Outsider/otto"]);
    assert_eq!(hidden.status.code(), Some(2));
    assert!(
        stderr(&hidden).contains("does not exist or is not visible"),
        "{}",
        stderr(&hidden)
    );
    let reader = node.cli(&[
        "incident",
        "submit",
        &id,
        "--regime",
        "nis2",
        "--stage",
        "notification",
        "--as",
        "Nordwerk/rita",
    ]);
    assert_eq!(reader.status.code(), Some(2));
    assert!(
        stderr(&reader).contains("readers may read"),
        "{}",
        stderr(&reader)
    );

    // The notification is made: the final report's deadline is firm now.
    let submitted = node.cli(&[
        "incident",
        "submit",
        &id,
        "--regime",
        "nis2",
        "--stage",
        "notification",
        "--at",
        "2026-11-16T15:00:00Z",
        "--reference",
        "BSI-2026-0042",
        "--as",
        "Nordwerk/ana",
    ]);
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    assert!(
        stdout(&submitted).contains(
            "No longer provisional: nis2 final now due 2026-12-16T15:00:00Z [binding] (was 2026-12-17T02:30:00Z"
        ),
        "{}",
        stdout(&submitted)
    );
    let shown = json_of(&node.cli(&[
        "incident",
        "show",
        &id,
        "--at",
        "2026-11-16T20:00:00Z",
        "--format",
        "json",
        "--as",
        "Nordwerk/rita",
    ]));
    assert_eq!(shown["version"], 2);
    assert_eq!(
        shown["record"]["submissions"]["nis2"]["notification"],
        "2026-11-16T15:00:00Z"
    );
    assert_eq!(shown["submissions"][0]["reference"], "BSI-2026-0042");
    assert_eq!(
        stage(&shown["assessment"], "nis2", "final")["deadline_status"],
        "binding"
    );

    let typo = node.cli(&[
        "incident",
        "submit",
        &id,
        "--regime",
        "nis2",
        "--stage",
        "notifcation",
        "--as",
        "Nordwerk/ana",
    ]);
    assert_eq!(typo.status.code(), Some(1));
    assert!(
        stderr(&typo).contains("stage: `notifcation` is not a stage of nis2"),
        "{}",
        stderr(&typo)
    );

    // Updates: a stale version is refused; an invalid record exits 1 with paths.
    let stale = node.cli(&[
        "incident",
        "update",
        &id,
        &v1b(),
        "--expect-version",
        "1",
        "--as",
        "Nordwerk/ana",
    ]);
    assert_eq!(stale.status.code(), Some(2));
    assert!(
        stderr(&stale).contains("is at version 2, not 1"),
        "{}",
        stderr(&stale)
    );
    let bad = vectors().join("bad-aware-before-occurred/incident.json");
    let refused = node.cli(&[
        "incident",
        "update",
        &id,
        bad.to_str().unwrap(),
        "--as",
        "Nordwerk/ana",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("occurred.end:"),
        "{}",
        stderr(&refused)
    );
    let updated = node.ok(&[
        "incident",
        "update",
        &id,
        &v1b(),
        "--expect-version",
        "2",
        "--as",
        "Nordwerk/ana",
    ]);
    assert_eq!(updated, format!("Incident {id} is at version 3."));

    // Share at the default AMBER+STRICT: the CERT (a community member) sees
    // it when it exports what it may see; the outsider may not read the collection.
    let shared = node.ok(&[
        "incident",
        "share",
        &id,
        "--collection",
        &collection,
        "--as",
        "Nordwerk/ana",
    ]);
    assert!(
        shared.contains(&format!("as incident--{id}")) && shared.ends_with("at TLP:AMBER+STRICT."),
        "{shared}"
    );
    let exported = node.cli(&[
        "export",
        "--collection",
        &collection,
        "--as",
        "National CERT/carl",
    ]);
    let bundle = json_of(&exported);
    let incident = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "incident")
        .expect("the CERT sees the incident");
    assert_eq!(incident["id"], format!("incident--{id}"));
    assert_eq!(
        incident["object_marking_refs"][0],
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    );
    let outsider = node.cli(&[
        "export",
        "--collection",
        &collection,
        "--as",
        "Outsider/otto",
    ]);
    assert_eq!(outsider.status.code(), Some(2));
    let green_to_named = node.cli(&[
        "incident",
        "share",
        &id,
        "--collection",
        &collection,
        "--tlp",
        "green",
        "--recipient-org",
        "National CERT",
        "--as",
        "Nordwerk/ana",
    ]);
    assert_eq!(green_to_named.status.code(), Some(1));
    assert!(
        stderr(&green_to_named).contains("tlp: recipients are named for TLP:AMBER"),
        "{}",
        stderr(&green_to_named)
    );

    // Every step is in the audit log.
    let audit = node.cli(&["audit", "show", "--object", &id]);
    let log = stdout(&audit);
    for action in [
        "incident-create",
        "incident-submission",
        "incident-update",
        "incident-share",
    ] {
        assert!(log.contains(action), "{action} not audited:\n{log}");
    }
    assert!(
        node.ok(&["audit", "verify"])
            .starts_with("audit log intact")
    );
}
