//! The node-management CLI: init, collections, tokens, import, export, config.

mod common;

use common::*;

#[test]
fn init_creates_a_node_once() {
    let node = Node::init();
    assert!(node.path().join("entente.toml").exists());
    assert!(node.path().join("entente.db").exists());
    let again = node.cli(&["init"]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already holds an Entente node"));
    let missing = run(&node.path().join("nowhere"), &["collection", "list"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("entente --data"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn collections_and_tokens_are_managed_from_the_cli() {
    let node = Node::init();
    let fixed = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
    let id = node.ok(&[
        "collection",
        "create",
        "--title",
        "Spyware IOCs",
        "--id",
        fixed,
        "--description",
        "shared",
    ]);
    assert_eq!(id, fixed);
    let dup = node.cli(&["collection", "create", "--title", "again", "--id", fixed]);
    assert!(!dup.status.success());
    assert!(text(&dup.stderr).contains("already exists"));
    let bad = node.cli(&["collection", "create", "--title", "x", "--id", "not-a-uuid"]);
    assert!(text(&bad.stderr).contains("UUID"));
    let list = text(&node.cli(&["collection", "list"]).stdout);
    assert!(list.contains(fixed) && list.contains("Spyware IOCs"));

    let token = node.token("helpdesk", &[fixed], &[fixed]);
    assert!(token.starts_with("ent_"));
    let tokens = text(&node.cli(&["token", "list"]).stdout);
    assert!(tokens.contains("helpdesk") && tokens.contains(&format!("{fixed}:rw")));
    assert!(
        !tokens.contains(&token),
        "token list must never show secrets"
    );
    let useless = node.cli(&["token", "create", "--name", "nothing"]);
    assert!(text(&useless.stderr).contains("could do nothing"));
    let unknown = node.cli(&[
        "token",
        "create",
        "--name",
        "x",
        "--read",
        "8c0a3bde-7d3b-4bc6-9c4b-0a6b9f8f1e55",
    ]);
    assert!(text(&unknown.stderr).contains("does not exist"));
    node.ok(&["token", "revoke", "helpdesk"]);
    assert!(text(&node.cli(&["token", "list"]).stdout).contains("revoked"));
    let expiring = node.cli(&[
        "token",
        "create",
        "--name",
        "x",
        "--admin",
        "--expires",
        "soon",
    ]);
    assert!(text(&expiring.stderr).contains("duration"));
}

#[test]
fn import_reports_stored_duplicates_and_rejections_and_export_round_trips() {
    let node = Node::init();
    let c = node.collection("IOCs");
    let good: Vec<String> = (0..50)
        .map(|n| indicator(n, "2020-01-01T00:00:00.000Z"))
        .collect();
    let bad = indicator(999, "2020-01-01T00:00:00.000Z").replace(
        "\"valid_from\":\"2020-01-01T00:00:00Z\"",
        "\"valid_from\":\"yesterday\"",
    );
    let bundle = format!(
        r#"{{"type":"bundle","id":"bundle--{}","objects":[{},{bad}]}}"#,
        uuid(5),
        good.join(",")
    );
    let file = node.path().join("in.json");
    std::fs::write(&file, &bundle).unwrap();
    let errors = node.path().join("errors.jsonl");

    let out = node.cli(&[
        "import",
        "--collection",
        &c,
        file.to_str().unwrap(),
        "--errors",
        errors.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "some objects were rejected");
    let summary = text(&out.stdout);
    assert!(
        summary.contains("stored 50, duplicates 0, rejected 1"),
        "{summary}"
    );
    assert!(summary.contains("$.valid_from"), "{summary}");
    let errs = std::fs::read_to_string(&errors).unwrap();
    let line: serde_json::Value = serde_json::from_str(errs.lines().next().unwrap()).unwrap();
    assert_eq!(line["index"], 50);
    assert!(
        line["reason"].as_str().unwrap().contains("$.valid_from"),
        "{line}"
    );

    // JSON lines from standard input; everything already there.
    let mut child = std::process::Command::new(BIN)
        .args([
            "--data",
            node.path().to_str().unwrap(),
            "import",
            "--collection",
            &c,
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(good.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("stored 0, duplicates 50"),
        "{}",
        text(&out.stdout)
    );

    // --strict stores nothing when one object is invalid.
    let c2 = node.collection("strict");
    let out = node.cli(&[
        "import",
        "--strict",
        "--collection",
        &c2,
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("nothing was imported"));
    let exported = node.path().join("out.json");
    node.ok(&[
        "export",
        "--collection",
        &c2,
        "-o",
        exported.to_str().unwrap(),
    ]);
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert!(bundle["objects"].as_array().unwrap().is_empty());

    // Export writes every object byte for byte in a bundle.
    node.ok(&[
        "export",
        "--collection",
        &c,
        "-o",
        exported.to_str().unwrap(),
    ]);
    let text_out = std::fs::read_to_string(&exported).unwrap();
    let bundle: serde_json::Value = serde_json::from_str(&text_out).unwrap();
    assert_eq!(bundle["type"], "bundle");
    // The 50 objects, and the manifest in which the node signed them.
    let objects = bundle["objects"].as_array().unwrap();
    let manifests = objects
        .iter()
        .filter(|o| o["type"] == "x-entente-manifest")
        .count();
    assert_eq!((objects.len() - manifests, manifests), (50, 1));
    for g in &good {
        assert!(text_out.contains(g.as_str()));
    }
    let filtered = node.cli(&[
        "export",
        "--collection",
        &c,
        "--id",
        &format!("indicator--{}", uuid(3)),
    ]);
    let one: serde_json::Value = serde_json::from_slice(&filtered.stdout).unwrap();
    assert_eq!(one["objects"].as_array().unwrap().len(), 1);

    let not_stix = node.path().join("x.txt");
    std::fs::write(&not_stix, "hello").unwrap();
    let out = node.cli(&["import", "--collection", &c, not_stix.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not STIX content"));
}

#[test]
fn configuration_errors_name_the_setting() {
    let node = Node::init();
    std::fs::write(
        node.path().join("entente.toml"),
        "[server]\nlisten = \"here\"\n",
    )
    .unwrap();
    let out = node.cli(&["collection", "list"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("listen"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        node.path().join("entente.toml"),
        "[taxii]\nstatus_retention_hours = 2\n",
    )
    .unwrap();
    let out = node.cli(&["collection", "list"]);
    assert!(
        text(&out.stderr).contains("at least 24"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(node.path().join("entente.toml"), "").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["--data", node.path().to_str().unwrap(), "serve"])
        .env("ENTENTE_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(text(&out.stderr).contains("ENTENTE_LISTEN"));
}
