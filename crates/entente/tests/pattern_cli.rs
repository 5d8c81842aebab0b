//! `entente pattern` through the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn entente(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entente"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const BUNDLE: &str = r#"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[
 {"type":"observed-data","spec_version":"2.1","id":"observed-data--00000000-0000-4000-8000-000000000001","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"object_refs":["domain-name--00000000-0000-4000-8000-000000000002"]},
 {"type":"domain-name","spec_version":"2.1","id":"domain-name--00000000-0000-4000-8000-000000000002","value":"evil.example"}]}"#;

#[test]
fn validate_reports_ok_or_the_position() {
    let (code, out, _) = entente(
        &[
            "pattern",
            "validate",
            "[domain-name:value = 'evil.example']",
        ],
        None,
    );
    assert_eq!((code, out.trim()), (0, "ok"));
    let (code, out, _) = entente(&["pattern", "validate", "[domain-name:value = 'x'"], None);
    assert_eq!(code, 1);
    assert!(
        out.contains("column 25") && out.contains("expected ']'"),
        "{out}"
    );
    let (code, out, _) = entente(
        &[
            "pattern",
            "validate",
            "[url:value = 'a']",
            "[file:hashes.MD5 = 'zz']",
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(out.contains("[url:value = 'a']: ok"), "{out}");
    assert!(out.contains("'zz' is not a valid MD5 hash"), "{out}");
}

#[test]
fn validate_checks_definitions_unless_custom_is_allowed() {
    let (code, out, _) = entente(&["pattern", "validate", "[app:id = 'com.example']"], None);
    assert_eq!(code, 1, "{out}");
    let (code, _, _) = entente(
        &[
            "pattern",
            "validate",
            "--allow-custom",
            "[app:id = 'com.example']",
        ],
        None,
    );
    assert_eq!(code, 0);
}

#[test]
fn match_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("observed.json");
    std::fs::write(&file, BUNDLE).unwrap();
    let file = file.to_str().unwrap();
    let hit = entente(
        &[
            "pattern",
            "match",
            "--pattern",
            "[domain-name:value = 'evil.example']",
            "--observed",
            file,
        ],
        None,
    );
    assert_eq!(hit.0, 0, "{hit:?}");
    let miss = entente(
        &[
            "pattern",
            "match",
            "--pattern",
            "[domain-name:value = 'good.example']",
            "--observed",
            file,
        ],
        None,
    );
    assert_eq!(miss.0, 1, "{miss:?}");
    let bad = entente(
        &[
            "pattern",
            "match",
            "--pattern",
            "[domain-name:value = ",
            "--observed",
            file,
        ],
        None,
    );
    assert_eq!(bad.0, 2, "{bad:?}");
    assert!(bad.2.contains("expected"), "{bad:?}");
}

#[test]
fn batch_answers_one_line_per_case_in_order() {
    let list = format!("[{}]", BUNDLE.replace('\n', ""));
    let cases = [
        format!(r#"{{"pattern":"[domain-name:value = 'evil.example']","observed_data_list":{list},"stix_version":"2.1"}}"#),
        format!(r#"{{"pattern":"[domain-name:value = 'other']","observed_data_list":{list},"stix_version":"2.1"}}"#),
        format!(r#"{{"pattern":"[domain-name:value = ","observed_data_list":{list},"stix_version":"2.1"}}"#),
        "not json".to_owned(),
        r#"{"pattern":"[x:a = 1]","observed_data_list":[{"type":"observed-data","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"objects":{"0":{"type":"x","a":1}}}],"stix_version":"2.0"}"#.to_owned(),
    ];
    let input = cases.join("\n") + "\n";
    let (code, out, err) = entente(&["pattern", "match", "--batch"], Some(&input));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["true", "false", "error", "error", "true"]
    );
}
