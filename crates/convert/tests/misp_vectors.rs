//! Every MISP document under `tests/misp/` (`NAME.json`) is converted and
//! compared with `NAME.expected.json`: `objects`, the STIX objects in order,
//! and `errors`, the record errors as their messages. Differences are
//! reported per object id. Every object must also pass STIX validation
//! (`stix::Validator`, the node's own rules).
//!
//! The expected files are reviewed by hand against misp-stix's output (see
//! `tests/convert/` for the automated comparison). After a deliberate change,
//! `BLESS=1 cargo test -p convert --test misp_vectors` rewrites them; review
//! the diff before committing it.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn inputs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/misp");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/misp exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p.to_string_lossy().ends_with(".expected.json")
        })
        .collect();
    files.sort();
    files
}

fn convert(input: &[u8]) -> Value {
    let events = convert::misp::read(input).expect("the vector is a MISP document");
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for event in events.iter() {
        for o in event.objects {
            objects.push(
                serde_json::from_str::<Value>(&o.stix.json).expect("converted objects are JSON"),
            );
        }
        errors.extend(event.errors.iter().map(|e| Value::String(e.to_string())));
    }
    json!({ "objects": objects, "errors": errors })
}

#[test]
fn misp_documents_convert_to_the_expected_stix() {
    let validator = stix::Validator::new();
    let bless = std::env::var_os("BLESS").is_some();
    let mut problems = Vec::new();
    let files = inputs();
    assert!(files.len() >= 3, "the vectors are missing");
    for input in files {
        let name = input.file_stem().unwrap().to_string_lossy().to_string();
        let actual = convert(&std::fs::read(&input).unwrap());
        for (i, o) in actual["objects"].as_array().unwrap().iter().enumerate() {
            if let Err(r) = validator.validate_str(i, &o.to_string()) {
                problems.push(format!("{name}: {}", r.message()));
            }
        }
        let expected_path = input.with_file_name(format!("{name}.expected.json"));
        if bless {
            let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
            std::fs::write(&expected_path, text).unwrap();
            continue;
        }
        let expected: Value = match std::fs::read(&expected_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(_) => {
                problems.push(format!(
                    "{name}: {} is missing (BLESS=1 writes it)",
                    expected_path.display()
                ));
                continue;
            }
        };
        let ids = |v: &Value| -> Vec<String> {
            v["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap_or("?").to_string())
                .collect()
        };
        let (want, got) = (ids(&expected), ids(&actual));
        for id in want.iter().filter(|id| !got.contains(id)) {
            problems.push(format!("{name}: {id} is missing"));
        }
        for id in got.iter().filter(|id| !want.contains(id)) {
            problems.push(format!("{name}: {id} is new"));
        }
        for (w, g) in expected["objects"]
            .as_array()
            .unwrap()
            .iter()
            .zip(actual["objects"].as_array().unwrap())
        {
            if w != g && w["id"] == g["id"] {
                problems.push(format!(
                    "{name}: {} differs:\n  expected {w}\n  actual   {g}",
                    w["id"]
                ));
            }
        }
        if want == got && expected["objects"] != actual["objects"] && problems.is_empty() {
            problems.push(format!("{name}: the objects differ"));
        }
        if expected["errors"] != actual["errors"] {
            problems.push(format!(
                "{name}: errors differ:\n  expected {}\n  actual   {}",
                expected["errors"], actual["errors"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
