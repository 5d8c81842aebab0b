//! Incident records are small JSON documents: the CLI refuses a file (or
//! standard input) larger than the HTTP API accepts, instead of reading an
//! endless stream into memory.

use std::io::Write;
use std::process::{Command, Stdio};

fn record_of_size(bytes: usize) -> String {
    let head = r#"{"entity": {"legal_name": "X"}, "description": ""#;
    let tail = "\"}";
    let filler = bytes.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "a".repeat(filler))
}

#[test]
fn a_record_larger_than_one_mebibyte_is_refused_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let fits = dir.path().join("fits.json");
    std::fs::write(&fits, record_of_size(1 << 20)).unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, record_of_size((1 << 20) + 1)).unwrap();

    let ok = Command::new(env!("CARGO_BIN_EXE_entente"))
        .args(["incident", "assess", "--at", "2026-11-16T20:00:00Z"])
        .arg(&fits)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let refused = Command::new(env!("CARGO_BIN_EXE_entente"))
        .args(["incident", "assess", "--at", "2026-11-16T20:00:00Z"])
        .arg(&big)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("big.json") && said.contains("larger than 1 MiB"),
        "stderr: {said}"
    );
}

#[test]
fn an_endless_standard_input_is_cut_off() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entente"))
        .args(["incident", "assess", "--at", "2026-11-16T20:00:00Z", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Write until the reader gives up (a broken pipe), far past the limit.
    let writer = std::thread::spawn(move || {
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..1024 {
            if stdin.write_all(&chunk).is_err() {
                return true;
            }
        }
        false
    });
    let out = child.wait_with_output().unwrap();
    assert!(writer.join().unwrap(), "entente read 64 MiB of input");
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("larger than 1 MiB"), "stderr: {said}");
}

#[test]
fn problems_in_a_record_from_standard_input_name_it() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entente"))
        .args(["incident", "assess", "--at", "2026-11-16T20:00:00Z", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"entity": {"legal_name": "X"}, "significant": "yes"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with("standard input: the incident record has 1 problem"),
        "stderr: {said}"
    );
}
