//! Tests as data.
//!
//! - `vectors/valid/*.json`: each file is one STIX 2.1 object that must be
//!   accepted.
//! - `vectors/invalid/*.json`: each file is
//!   `{"object": {...}, "expected": [{"path": "$...", "reason_contains": "..."}]}`
//!   (or `"raw": "..."` instead of `"object"` for text that cannot be written
//!   as a JSON value, such as repeated keys). The object must be rejected with
//!   exactly the expected problems: each expected problem is reported, and
//!   nothing else is.
//!
//! The same files are fed to the OASIS `stix2-validator` by
//! `tests/stix/test_vectors_agree.py` at the root of the repository.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stix::{Problem, Validator};

fn vector_files(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vectors in {}", dir.display());
    files
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn valid_vectors_are_accepted() {
    let validator = Validator::new();
    let mut failures = Vec::new();
    for path in vector_files("valid") {
        let text = fs::read_to_string(&path).expect("readable vector");
        match validator.validate_str(0, text.trim_end()) {
            Ok(object) => {
                let value: Value = serde_json::from_str(&text).expect("vector is JSON");
                assert_eq!(
                    Some(object.id.as_str()),
                    value["id"].as_str(),
                    "{}",
                    name(&path)
                );
                assert_eq!(&*object.raw, text.trim_end(), "raw bytes kept");
            }
            Err(rejection) => failures.push(format!("{}: {rejection}", name(&path))),
        }
    }
    assert!(
        failures.is_empty(),
        "valid vectors rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_stix_type_has_a_valid_vector() {
    let types: Vec<String> = vector_files("valid")
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&fs::read_to_string(p).expect("readable"))
                .expect("vector is JSON");
            v["type"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    let missing: Vec<&str> = ALL_TYPES
        .iter()
        .copied()
        .filter(|t| !types.iter().any(|have| have == t))
        .collect();
    assert!(
        missing.is_empty(),
        "types without a valid vector: {missing:?}"
    );
}

#[test]
fn invalid_vectors_are_rejected_for_exactly_the_expected_reasons() {
    let validator = Validator::new();
    let mut failures = Vec::new();
    for path in vector_files("invalid") {
        let file = name(&path);
        let vector: Value = serde_json::from_str(&fs::read_to_string(&path).expect("readable"))
            .unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        let text = match (&vector["raw"], &vector["object"]) {
            (Value::String(raw), Value::Null) => raw.clone(),
            (Value::Null, object) if !object.is_null() => object.to_string(),
            _ => panic!("{file}: give exactly one of \"object\" or \"raw\""),
        };
        let expected = vector["expected"]
            .as_array()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| panic!("{file}: \"expected\" must be a non-empty list"));
        let problems: Vec<Problem> = match validator.validate_str(3, &text) {
            Ok(_) => {
                failures.push(format!("{file}: accepted, but should be rejected"));
                continue;
            }
            Err(rejection) => {
                assert_eq!(rejection.index, 3);
                rejection.problems
            }
        };
        let matches = |p: &Problem, e: &Value| {
            Some(p.path.as_str()) == e["path"].as_str()
                && e["reason_contains"]
                    .as_str()
                    .is_some_and(|needle| p.reason.contains(needle))
        };
        for e in expected {
            if !problems.iter().any(|p| matches(p, e)) {
                failures.push(format!(
                    "{file}: expected problem not reported: {e}\n    reported: {problems:?}"
                ));
            }
        }
        for p in &problems {
            if !expected.iter().any(|e| matches(p, e)) {
                failures.push(format!("{file}: unexpected problem: {p}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const ALL_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
    "marking-definition",
    "language-content",
    "extension-definition",
];
