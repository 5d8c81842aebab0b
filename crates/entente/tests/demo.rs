//! `serve --demo`: the demo node shows the sharing model working.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

#[test]
fn the_demo_shows_every_tlp_level_and_a_pseudonymous_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut tokens = std::collections::HashMap::new();
    // The tokens' section, then the console's sign-in links, both per user.
    let mut in_tokens = false;
    let base = loop {
        let line = lines.next().expect("demo server exited").unwrap();
        if line.starts_with("Tokens") {
            in_tokens = true;
        } else if line.starts_with("Web console") {
            in_tokens = false;
        }
        for who in [
            "Example National CERT/analyst",
            "Civic Shield Helpdesk/analyst",
            "Example Security Vendor/reader",
        ] {
            if in_tokens && line.trim_start().starts_with(who) {
                tokens.insert(who, line.split_whitespace().last().unwrap().to_string());
            }
        }
        if let Some(rest) = line.split(" at ").nth(1)
            && line.contains("serving TAXII")
        {
            break rest.trim_end_matches("/taxii2/").to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let cert = &tokens["Example National CERT/analyst"];
    let vendor = &tokens["Example Security Vendor/reader"];
    let helpdesk = &tokens["Civic Shield Helpdesk/analyst"];
    let shared = format!("{base}/api1/collections/5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17/objects/");
    let helpdesk_identity = "identity--ee90c6ab-c84c-4988-9cd5-87f4e4133141";

    let cert_view = get(&shared, cert);
    assert_eq!(cert_view.status, 200);
    assert!(cert_view.json()["objects"].as_array().unwrap().len() > 40);
    assert!(
        !cert_view.body.contains(helpdesk_identity),
        "the helpdesk shares pseudonymously"
    );
    assert!(cert_view.body.contains("Pseudonymous source"));
    assert!(get(&shared, helpdesk).body.contains(helpdesk_identity));

    // The RED note reaches the CERT's analyst only; the AMBER+STRICT lead stays in the CERT.
    let notes = format!(
        "{base}/api1/collections/0c9e4b7a-3f21-4d58-8a6e-2b1f9d7c5e43/objects/?match[type]=note"
    );
    assert_eq!(
        get(&notes, cert).json()["objects"]
            .as_array()
            .map_or(0, Vec::len),
        1
    );
    assert_eq!(
        get(&notes, vendor).status,
        404,
        "the vendor is not in that community"
    );
    let internal = format!("{base}/api1/collections/7a1d2c3b-4e5f-4a6b-9c8d-0e1f2a3b4c5d/objects/");
    assert_eq!(get(&internal, cert).status, 200);
    assert_eq!(get(&internal, helpdesk).status, 404);
    let _ = child.kill();
    let _ = child.wait();
}
