//! Runs the test vectors in `tests/vectors`: evaluation cases (observed data
//! and patterns with their expected verdicts, `true`, `false` or `"error"`)
//! and syntax cases (patterns and whether the OASIS validator accepts them).

use std::path::Path;

use patterning::{Rules, StixVersion};
use serde_json::Value;

fn verdict(pattern: &str, observed: &Value, version: StixVersion) -> Value {
    let Ok(parsed) = patterning::parse_and_validate(pattern, &Rules::reference(version)) else {
        return Value::from("error");
    };
    let Ok(observations) = patterning::read_observations(observed, version, false) else {
        return Value::from("error");
    };
    match patterning::evaluate(&parsed, &observations, version) {
        Ok(b) => Value::from(b),
        Err(_) => Value::from("error"),
    }
}

#[test]
fn evaluation_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/eval");
    let mut failures = Vec::new();
    let mut total = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let data: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let version: StixVersion = data["stix_version"].as_str().unwrap().parse().unwrap();
        for case in data["cases"].as_array().unwrap() {
            total += 1;
            let pattern = case["pattern"].as_str().unwrap();
            let got = verdict(pattern, &data["observed"], version);
            if got != case["expect"] {
                failures.push(format!(
                    "{}: {pattern}: expected {}, got {got}",
                    file.file_name().unwrap().to_string_lossy(),
                    case["expect"]
                ));
            }
        }
    }
    assert!(total > 200, "only {total} cases found");
    assert!(
        failures.is_empty(),
        "{} of {total} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Each syntax case says whether the OASIS validator accepts the pattern
/// (`valid`, [`Rules::oasis_validator`]) and whether Entente evaluates it as
/// the OASIS matcher does (`evaluated`, [`Rules::reference`]); they differ on
/// qualifier chains, which only the matcher accepts.
#[test]
fn syntax_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/syntax.jsonl");
    let mut failures = Vec::new();
    let mut differing = 0;
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let pattern = case["pattern"].as_str().unwrap();
        let expected = [
            ("valid", Rules::oasis_validator(StixVersion::V21)),
            ("evaluated", Rules::reference(StixVersion::V21)),
        ];
        for (field, rules) in expected {
            let ok = patterning::parse_and_validate(pattern, &rules).is_ok();
            if ok != case[field].as_bool().unwrap() {
                failures.push(format!(
                    "{pattern:?}: expected {field}={}, got {ok}",
                    case[field]
                ));
            }
        }
        differing += usize::from(case["valid"] != case["evaluated"]);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        differing >= 3,
        "the vectors must hold chains only the matcher accepts"
    );
}

#[test]
fn definition_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/definitions.jsonl");
    let mut failures = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let pattern = case["pattern"].as_str().unwrap();
        let objects = match case["objects"].as_str().unwrap() {
            "strict" => patterning::ObjectRules::Strict,
            _ => patterning::ObjectRules::AllowCustom,
        };
        let rules = Rules {
            objects,
            ..Rules::strict()
        };
        let got = patterning::parse_and_validate(pattern, &rules)
            .err()
            .map(|problems| {
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            });
        match (case["error"].as_str(), &got) {
            (None, None) => {}
            (Some(want), Some(got)) if got.contains(want) => {}
            (want, got) => {
                failures.push(format!("{pattern}: expected error {want:?}, got {got:?}"))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The engine's indexes only preselect: on every single observation of the
/// vectors it must agree with plain evaluation.
#[test]
fn engine_agrees_with_evaluation_on_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/eval");
    let mut compared = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        if data["stix_version"] != "2.1" {
            continue;
        }
        let observations =
            patterning::read_observations(&data["observed"], StixVersion::V21, false).unwrap();
        for case in data["cases"].as_array().unwrap() {
            let text = case["pattern"].as_str().unwrap();
            let fresh = || {
                let mut builder =
                    patterning::EngineBuilder::new(patterning::EngineOptions::default());
                builder.add(0, text).ok().map(|_| builder.build())
            };
            if fresh().is_none() {
                continue;
            }
            let pattern = patterning::parse(text).unwrap();
            for (i, obs) in observations.iter().enumerate() {
                // A fresh engine: state from other observations must not count.
                let Some(mut engine) = fresh() else { continue };
                let Ok(expected) =
                    patterning::evaluate(&pattern, std::slice::from_ref(obs), StixVersion::V21)
                else {
                    continue;
                };
                let mut result = patterning::ScanResult::default();
                engine.scan(i as u64, obs, &mut result);
                let got = !result.matches.is_empty();
                compared += 1;
                if got != expected && result.errors.is_empty() {
                    failures.push(format!(
                        "{text} on observation {i}: engine {got}, evaluation {expected}"
                    ));
                }
            }
        }
    }
    assert!(compared > 500, "only {compared} comparisons");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
