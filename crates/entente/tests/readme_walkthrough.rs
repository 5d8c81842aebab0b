//! The README's node commands, in the order it shows them, on a fresh data
//! directory: each must work as written and say what it did in plain words.

mod common;

use common::*;

#[test]
fn token_create_names_the_token_it_made() {
    let node = Node::init();
    let id = node.collection("Spyware IOCs");
    let named = node.cli(&[
        "token", "create", "--name", "helpdesk", "--read", &id, "--write", &id,
    ]);
    assert!(named.status.success(), "{}", text(&named.stderr));
    let said = text(&named.stderr);
    assert!(
        said.contains("Token \"helpdesk\" created"),
        "stderr: {said}"
    );
    assert!(!said.contains("Some("), "Rust debug output leaked: {said}");

    node.ok(&["org", "create", "National CERT"]);
    node.ok(&[
        "user",
        "create",
        "--org",
        "National CERT",
        "--role",
        "analyst",
        "ana",
    ]);
    let for_user = node.cli(&[
        "token",
        "create",
        "--user",
        "National CERT/ana",
        "--expires",
        "90d",
    ]);
    assert!(for_user.status.success(), "{}", text(&for_user.stderr));
    let said = text(&for_user.stderr);
    assert!(
        said.contains("for National CERT/ana") && !said.contains("None"),
        "stderr: {said}"
    );
    assert!(text(&for_user.stdout).trim().starts_with("ent_"));
}

/// The README says `init` writes every setting into `entente.toml`; the
/// optional ones without a default (HTTPS, the public URL, a contact) are
/// there too, commented out in their section, ready to be switched on.
#[test]
fn init_writes_the_optional_settings_commented_in_their_sections() {
    let node = Node::init();
    let path = node.path().join("entente.toml");
    let written = std::fs::read_to_string(&path).unwrap();
    for key in ["tls_cert", "tls_key", "public_url", "contact"] {
        assert!(
            written.contains(&format!("# {key} = ")),
            "{key} is not in entente.toml:\n{written}"
        );
    }
    let uncommented: String = written
        .lines()
        .map(|line| {
            for key in ["public_url", "contact"] {
                if let Some(rest) = line.strip_prefix(&format!("# {key} = ")) {
                    return format!("{key} = {rest}\n");
                }
            }
            format!("{line}\n")
        })
        .collect();
    std::fs::write(&path, uncommented).unwrap();
    let listed = node.cli(&["collection", "list"]);
    assert!(
        listed.status.success(),
        "the uncommented settings do not load: {}",
        text(&listed.stderr)
    );
}

/// `import --errors FILE` with a FILE that cannot be written fails before
/// anything is stored, so that the user can fix the path and run the same
/// command again.
#[test]
fn an_unwritable_errors_file_stops_the_import_before_it_stores() {
    let node = Node::init();
    let id = node.collection("Spyware IOCs");
    let file = node.path().join("iocs.jsonl");
    let bad = indicator(2, "2020-01-01T00:00:00.000Z").replace("= 'x2.example']", "= ");
    std::fs::write(
        &file,
        format!("{}\n{bad}\n", indicator(1, "2020-01-01T00:00:00.000Z")),
    )
    .unwrap();
    let nowhere = node.path().join("no-such-dir/errors.jsonl");
    let out = node.cli(&[
        "import",
        "--collection",
        &id,
        "--errors",
        nowhere.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot write"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stdout).contains("stored 1"),
        "stored before failing: {}",
        text(&out.stdout)
    );
    let again = node.cli(&["import", "--collection", &id, file.to_str().unwrap()]);
    assert!(
        text(&again.stdout).contains("stored 1, duplicates 0"),
        "{}",
        text(&again.stdout)
    );
}
