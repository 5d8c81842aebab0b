//! `entente validate` through the real binary: exit codes, the human report
//! and the JSON report, on the STIX test vectors and on mixed input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_entente");

fn vectors(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stix/tests/vectors")
        .join(kind)
}

fn validate(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .arg("validate")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("entente runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("entente finishes")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_valid_vector_passes() {
    let files: Vec<String> = std::fs::read_dir(vectors("valid"))
        .expect("vectors")
        .map(|e| e.expect("entry").path().display().to_string())
        .collect();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = validate(&args, None);
    let report = stdout(&out);
    assert!(out.status.success(), "{report}");
    let n = files.len();
    assert!(
        report.ends_with(&format!(
            "checked {n} files: {n} objects, {n} valid, 0 invalid\n"
        )),
        "{report}"
    );
    // The one deprecated construct among them is reported as a note.
    assert!(
        report.contains("note: $.objects: objects is deprecated"),
        "{report}"
    );
}

const MIXED: &str = concat!(
    r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-09-14T08:00:00.000Z","modified":"2026-09-14T08:00:00.000Z","pattern":"[domain-name:value = 'cdn-sync-update.example']","pattern_type":"stix","valid_from":"2026-09-01T00:00:00Z"}"#,
    "\n",
    r#"{"type":"opinion","spec_version":"2.1","id":"opinion--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","created":"2016-05-12T08:17:27.000Z","modified":"2016-05-12T08:17:27.000Z","object_refs":["relationship--16d2358f-3b0d-4c88-b047-0da2f7ed4471"],"opinion":"maybe"}"#,
    "\n",
    r#"{"type":"malware","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2026-09-14T08:00:00.000Z","modified":"2026-09-14T08:00:00.000Z","name":"NIGHTOWL","is_family":true}"#,
    "\n"
);

#[test]
fn invalid_objects_are_reported_with_path_and_reason() {
    let out = validate(&["-"], Some(MIXED));
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(
        report.contains(
            "<stdin>: object 1 (opinion--b01efc25-77b4-4003-b18b-f6e24b5cd9f7) is invalid:\n  $.opinion: \"maybe\" is not allowed"
        ),
        "{report}"
    );
    assert!(
        report.contains("  $.spec_version: is required but missing"),
        "{report}"
    );
    assert!(
        report.ends_with("checked 1 file: 3 objects, 1 valid, 2 invalid\n"),
        "{report}"
    );
}

#[test]
fn the_json_report_lists_every_rejection() {
    let out = validate(&["--format", "json", "-"], Some(MIXED));
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["objects"], 3);
    assert_eq!(report["valid"], 1);
    assert_eq!(report["invalid"], 2);
    let file = &report["files"][0];
    assert_eq!(file["shape"], "JSON lines");
    assert_eq!(file["rejections"][0]["index"], 1);
    assert_eq!(file["rejections"][0]["problems"][0]["path"], "$.opinion");
    assert_eq!(
        file["rejections"][1]["id"],
        "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
    );
}

#[test]
fn content_that_is_not_stix_is_reported_and_fails() {
    let out = validate(&["-"], Some("this is not JSON"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("<stdin>: not STIX content:"),
        "{}",
        stdout(&out)
    );
    let missing = validate(&["/nonexistent/bundle.json"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/bundle.json")
    );
}
