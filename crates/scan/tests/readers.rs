//! Each input in `tests/data` is read and summarised; the summary must equal
//! the `.expected` file beside it (regenerate with `UPDATE_EXPECTED=1`).

use std::path::Path;

use serde_json::Value;

fn summary(path: &Path) -> String {
    let mut input = scan::input::open(path).unwrap();
    let format = scan::input::detect(&mut input).unwrap();
    let now = stix::Timestamp::parse("2024-02-01T00:00:00Z")
        .unwrap()
        .as_micros();
    let mut out = format!("format: {}\n", format.name());
    for record in scan::input::records(input, format, now) {
        match record {
            Err(e) => out.push_str(&format!(
                "error: {}\n",
                e.to_string().replace(&path.display().to_string(), "FILE")
            )),
            Ok(r) => {
                let o = &r.observation;
                let first = stix::Timestamp::from_micros(o.first).format_with_precision(6);
                let last = stix::Timestamp::from_micros(o.last).format_with_precision(6);
                out.push_str(&format!(
                    "line {} [{first} .. {last}] x{}\n",
                    r.line, o.count
                ));
                for (_, obj) in o.root_objects() {
                    let ty = obj["type"].as_str().unwrap_or("?");
                    let mut shown = obj.clone();
                    if let Value::Object(m) = &mut shown {
                        m.remove("id");
                        m.remove("spec_version");
                        m.remove("type");
                        for v in m.values_mut() {
                            replace_ids(v);
                        }
                    }
                    out.push_str(&format!("  {ty} {shown}\n"));
                }
            }
        }
    }
    out
}

/// Identifiers are long and derived; the summary shows only their type.
fn replace_ids(v: &mut Value) {
    match v {
        Value::String(s) if s.contains("--") => {
            *s = format!("{}--…", s.split("--").next().unwrap_or(""))
        }
        Value::Array(a) => a.iter_mut().for_each(replace_ids),
        Value::Object(m) => m.values_mut().for_each(replace_ids),
        _ => {}
    }
}

#[test]
fn readers_match_expected_summaries() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut failures = Vec::new();
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.extension().is_some_and(|e| e == "expected") {
            continue;
        }
        count += 1;
        let got = summary(&path);
        let expected_path = path.with_file_name(format!(
            "{}.expected",
            path.file_name().unwrap().to_string_lossy()
        ));
        if std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{got}",
                path.display()
            ));
        }
    }
    assert!(count >= 10);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
