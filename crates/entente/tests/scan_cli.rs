//! `entente scan` through the real binary: indicator sources, input formats,
//! outputs and exit codes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

fn entente(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_entente"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scan/tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn indicator(n: u32, pattern: &str, name: Option<&str>) -> String {
    let name = name
        .map(|n| format!(r#""name":"{n}","#))
        .unwrap_or_default();
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--11111111-1111-4111-8111-{n:012}","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",{name}"pattern":"{pattern}","pattern_type":"stix","valid_from":"2024-01-01T00:00:00.000Z"}}"#
    )
}

fn bundle(objects: &[String]) -> String {
    format!(
        r#"{{"type":"bundle","id":"bundle--11111111-1111-4111-8111-111111111111","objects":[{}]}}"#,
        objects.join(",")
    )
}

fn indicators() -> Vec<String> {
    vec![
        indicator(
            1,
            "[domain-name:value = 'evil.example.com']",
            Some("Evil domain"),
        ),
        indicator(2, "[ipv4-addr:value ISSUBSET '203.0.113.0/24']", None),
        indicator(
            3,
            "[file:hashes.'SHA-256' = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f']",
            None,
        ),
        indicator(4, "[url:value LIKE '%/payload.bin%']", None),
        indicator(
            5,
            "[domain-name:value = 'evil.example.com'] FOLLOWEDBY [domain-name:value = 'tracker.evil.example.com']",
            None,
        ),
        indicator(6, "[domain-name:value = 'never.example']", None),
    ]
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn text_summary_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ind.json", &bundle(&indicators()));
    let file = file.to_str().unwrap();
    let (code, out, err) = entente(&[
        "scan",
        "--indicators",
        file,
        &data("zeek-dns.log"),
        &data("zeek-http.json"),
        &data("ssl.log"),
        &data("files.log"),
        &data("eve.json.gz"),
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("MATCH indicator--11111111-1111-4111-8111-000000000001 (Evil domain)"),
        "{out}"
    );
    assert!(
        out.contains("indicator--11111111-1111-4111-8111-000000000005"),
        "FOLLOWEDBY across files: {out}"
    );
    assert!(out.contains("zeek-dns.log:9"), "{out}");
    assert!(!out.contains("000000000006"), "{out}");
    assert!(out.contains("5 indicators matched"), "{out}");

    let quiet = bundle(&[indicator(9, "[domain-name:value = 'never.example']", None)]);
    let quiet = write(dir.path(), "quiet.json", &quiet);
    let (code, out, _) = entente(&[
        "scan",
        "--indicators",
        quiet.to_str().unwrap(),
        &data("eve.json"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no indicator matched"));

    let (code, _, err) = entente(&["scan", "--indicators", file, &data("no-such-file.log")]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = entente(&["scan", "--indicators", &data("list.txt"), &data("eve.json")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not STIX content"), "{err}");
}

#[test]
fn jsonl_output_names_indicator_and_location() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ind.json", &bundle(&indicators()));
    let (code, out, err) = entente(&[
        "scan",
        "--indicators",
        file.to_str().unwrap(),
        "--output",
        "jsonl",
        &data("sco.jsonl"),
    ]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["indicator_name"], "Evil domain");
    assert_eq!(lines[0]["observations"][0]["line"], 1);
    assert_eq!(
        lines[0]["observations"][0]["first_observed"],
        "2024-01-31T12:02:00.000Z"
    );
}

#[test]
fn stix_output_is_valid_sightings_with_observed_data() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ind.json", &bundle(&indicators()));
    let (code, out, err) = entente(&[
        "scan",
        "--indicators",
        file.to_str().unwrap(),
        "--output",
        "stix",
        &data("eve.json"),
        &data("observed-data.json"),
    ]);
    assert_eq!(code, 1, "{err}");
    let sightings = write(dir.path(), "sightings.json", &out);
    let (code, report, _) = entente(&["validate", sightings.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}\n{out}");
    let bundle: serde_json::Value = serde_json::from_str(&out).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let sighting = objects
        .iter()
        .find(|o| {
            o["type"] == "sighting"
                && o["sighting_of_ref"] == "indicator--11111111-1111-4111-8111-000000000001"
        })
        .unwrap();
    let refs = sighting["observed_data_refs"].as_array().unwrap();
    // The STIX input is referred to by its own observed-data identifier.
    assert!(
        refs.iter()
            .any(|r| r == "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"),
        "{sighting}"
    );
    assert!(objects.iter().any(|o| o["type"] == "observed-data"));
    assert!(
        objects
            .iter()
            .any(|o| o["type"] == "domain-name" && o["value"] == "evil.example.com")
    );
}

#[test]
fn mvt_indicator_files_with_custom_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mvt = r#"{"type":"bundle","id":"bundle--22222222-2222-4222-8222-222222222222","objects":[
        {"type":"malware","spec_version":"2.1","id":"malware--22222222-2222-4222-8222-000000000001","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"SpyKit","is_family":false},
        {"type":"indicator","spec_version":"2.1","id":"indicator--22222222-2222-4222-8222-000000000002","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[app:id='com.evil.spy']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00.000Z"},
        {"type":"indicator","spec_version":"2.1","id":"indicator--22222222-2222-4222-8222-000000000003","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[url:value='http://evil.example.com/payload.bin?x=1&y=2']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00.000Z"},
        {"type":"relationship","spec_version":"2.1","id":"relationship--22222222-2222-4222-8222-000000000004","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"indicator--22222222-2222-4222-8222-000000000002","target_ref":"malware--22222222-2222-4222-8222-000000000001"}]}"#;
    let file = write(dir.path(), "spykit.stix2", mvt);
    let (code, out, err) = entente(&[
        "scan",
        "--indicators",
        file.to_str().unwrap(),
        &data("sco.jsonl"),
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("(SpyKit)") && out.contains("app:id"), "{out}");
    assert!(
        err.contains("with 2 indicators"),
        "a URL with a query string loads too: {err}"
    );
}

/// A TAXII server that answers two pages (the first with `next`) and
/// records what it was asked.
fn taxii_server(pages: Vec<String>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api1/collections/c1/",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for body in pages {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            requests.push(head);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
            let _ = stream.read(&mut [0u8; 16]);
        }
        requests
    });
    (url, handle)
}

#[test]
fn taxii_source_pages_with_next() {
    let all = indicators();
    let first = format!(
        r#"{{"more":true,"next":"page 2","objects":[{},{}]}}"#,
        all[0], all[1]
    );
    let second = format!(r#"{{"more":false,"objects":[{}]}}"#, all[2]);
    let (url, server) = taxii_server(vec![first, second]);
    let (code, out, err) = entente(&[
        "scan",
        "--taxii",
        &url,
        "--token",
        "secret-token",
        &data("files.log"),
    ]);
    let requests = server.join().unwrap();
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("000000000003") && out.contains("000000000002"),
        "{out}"
    );
    assert!(err.contains("with 3 indicators"), "{err}");
    assert!(
        requests[0].starts_with(
            "GET /api1/collections/c1/objects/?match[type]=indicator,sighting HTTP/1.1"
        ),
        "{}",
        requests[0]
    );
    assert!(
        requests[0]
            .to_lowercase()
            .contains("authorization: bearer secret-token"),
        "{}",
        requests[0]
    );
    assert!(
        requests[0]
            .to_lowercase()
            .contains("accept: application/taxii+json;version=2.1")
    );
    assert!(requests[1].contains("next=page%202"), "{}", requests[1]);
}

#[test]
fn local_collection_source() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node");
    let node = node.to_str().unwrap();
    let (code, _, err) = entente(&["--data", node, "init"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = entente(&["--data", node, "collection", "create", "--title", "spyware"]);
    assert_eq!(code, 0, "{err}");
    let collection = out.lines().last().unwrap().trim().to_owned();
    let file = write(dir.path(), "ind.json", &bundle(&indicators()));
    let (code, _, err) = entente(&[
        "--data",
        node,
        "import",
        "--collection",
        &collection,
        "-q",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = entente(&[
        "--data",
        node,
        "scan",
        "--collection",
        &collection,
        &data("sco.jsonl"),
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("Evil domain"), "{out}");
}
