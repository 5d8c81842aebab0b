//! Runs every test vector under `tests/vectors/<name>/`:
//! `incident.json` (the record), `expected.json` (a subset of the
//! assessment that must match, or `{"errors": [...]}` for a record that must
//! be rejected), and optionally extra rule or calendar files under
//! `rules/` and `calendars/` that are added to the embedded rule set.
//!
//! In `expected.json`, `at` is the assessment instant (an input); a key
//! ending in `_contains` checks that the actual string contains the value;
//! lists of objects with an `id` are matched by id, other lists exactly.

use std::path::{Path, PathBuf};

use reporting::{RuleSetBuilder, assess, parse_record};
use serde_json::Value;

fn vector_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/vectors exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn toml_files(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, String)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn subset(expected: &Value, actual: &Value, at: &str, problems: &mut Vec<String>) {
    match expected {
        Value::Object(map) => {
            for (key, want) in map {
                if let Some(field) = key.strip_suffix("_contains") {
                    let got = actual.get(field).and_then(Value::as_str).unwrap_or("");
                    let needle = want.as_str().unwrap_or("");
                    if !got.contains(needle) {
                        problems.push(format!("{at}.{field}: `{got}` does not contain `{needle}`"));
                    }
                    continue;
                }
                match actual.get(key) {
                    Some(got) => subset(want, got, &format!("{at}.{key}"), problems),
                    None if want.is_null() => {}
                    None => problems.push(format!("{at}.{key}: missing, expected {want}")),
                }
            }
        }
        Value::Array(items) if items.iter().all(|i| i.get("id").is_some()) && !items.is_empty() => {
            let Some(got_items) = actual.as_array() else {
                problems.push(format!("{at}: expected a list, got {actual}"));
                return;
            };
            for item in items {
                let id = &item["id"];
                match got_items.iter().find(|g| g.get("id") == Some(id)) {
                    Some(got) => subset(item, got, &format!("{at}[{id}]"), problems),
                    None => problems.push(format!("{at}: no entry with id {id}")),
                }
            }
        }
        _ => {
            if expected != actual {
                problems.push(format!("{at}: expected {expected}, got {actual}"));
            }
        }
    }
}

fn run(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let incident_text = std::fs::read_to_string(dir.join("incident.json")).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
            .unwrap_or_else(|e| panic!("{name}/expected.json: {e}"));
    let mut builder = RuleSetBuilder::embedded();
    for (file, text) in toml_files(&dir.join("calendars")) {
        builder = builder.calendar_file(file, text);
    }
    for (file, text) in toml_files(&dir.join("rules")) {
        builder = builder.regime_file(file, text);
    }
    let rules = builder.build().unwrap_or_else(|errors| {
        panic!(
            "{name}: rules do not load: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    });
    let at: jiff::Timestamp = expected["at"]
        .as_str()
        .unwrap_or("2026-12-31T00:00:00Z")
        .parse()
        .unwrap();
    let outcome =
        parse_record(&rules, &incident_text).and_then(|incident| assess(&rules, &incident, at));
    let mut problems = Vec::new();
    match (outcome, expected.get("errors")) {
        (Ok(assessment), None) => {
            let actual = serde_json::to_value(&assessment).unwrap();
            let mut want = expected.clone();
            want.as_object_mut().unwrap().remove("at");
            subset(&want, &actual, &name, &mut problems);
        }
        (Err(invalid), Some(errors)) => {
            for want in errors.as_array().unwrap() {
                let path = want["path"].as_str().unwrap();
                let needle = want["message_contains"].as_str().unwrap_or("");
                if !invalid
                    .errors
                    .iter()
                    .any(|e| e.path == path && e.message.contains(needle))
                {
                    problems.push(format!(
                        "{name}: no error at `{path}` containing `{needle}`; got: {invalid}"
                    ));
                }
            }
            let want_count = errors.as_array().unwrap().len();
            if invalid.errors.len() != want_count {
                problems.push(format!(
                    "{name}: expected {want_count} errors, got {}: {invalid}",
                    invalid.errors.len()
                ));
            }
        }
        (Ok(_), Some(_)) => {
            problems.push(format!("{name}: the record was accepted but should fail"))
        }
        (Err(invalid), None) => problems.push(format!("{name}: rejected: {invalid}")),
    }
    problems
}

#[test]
fn every_vector_matches_its_expected_assessment() {
    let dirs = vector_dirs();
    assert!(dirs.len() >= 2, "no vectors found");
    let problems: Vec<String> = dirs.iter().flat_map(|d| run(d)).collect();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
