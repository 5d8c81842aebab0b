//! Ingest 20,000 indicators through the node's use case (no HTTP), for
//! profiling the write path: `perf stat -e instructions cargo run --release
//! --example ingest_profile`.

use std::sync::Arc;
use std::time::Instant;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let validator = stix::Validator::new()
        .with_pattern_check(Arc::new(patterning::StixPatternCheck::default()));
    let node = node::Node::open(
        &node::Database::Sqlite {
            path: dir.path().join("p.db"),
            options: node::SqliteOptions::default(),
        },
        validator,
    )
    .expect("node");
    let operator = sharing::Principal::operator();
    node.create_api_root(
        &operator,
        &node::ApiRoot {
            path: "api1".into(),
            title: "p".into(),
            description: None,
            max_content_length: 1 << 30,
        },
    )
    .expect("root");
    let c = node
        .create_collection(
            &operator,
            node::CollectionRequest {
                title: "p".into(),
                id: Some("0c9e4b7a-3f21-4d58-8a6e-2b1f9d7c5e43".into()),
                default_tlp: Some(sharing::Tlp::Green),
                ..Default::default()
            },
        )
        .expect("collection");
    let principal = sharing::Principal::operator();
    let count: usize = std::env::var("ENVELOPES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let envelopes: Vec<String> = (0..count)
        .map(|e| {
            let objects: Vec<String> = (0..1000)
                .map(|i| {
                    let n = e * 1000 + i;
                    format!(
                        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{:08x}-{:04x}-4000-8000-{:012x}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Spyware C2 {n}","indicator_types":["malicious-activity"],"pattern":"[domain-name:value = 'c2-{n}.example']","pattern_type":"stix","pattern_version":"2.1","valid_from":"2026-01-01T00:00:00Z"}}"#,
                        if std::env::var("SEQUENTIAL").is_ok() { n as u32 } else { (n as u32).wrapping_mul(2_654_435_761) },
                        n % 65536,
                        n
                    )
                })
                .collect();
            format!(r#"{{"objects":[{}]}}"#, objects.join(","))
        })
        .collect();
    let started = Instant::now();
    let mut stored = 0;
    let mut lap = Instant::now();
    for (i, e) in envelopes.iter().enumerate() {
        let report = node
            .ingest_envelope(&principal, &c, e.as_bytes())
            .expect("ingest");
        stored += report.stored();
        if (i + 1) % 100 == 0 {
            let rate = 100_000.0 / lap.elapsed().as_secs_f64();
            let wal = std::fs::metadata(dir.path().join("p.db-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
            println!(
                "{stored:>8} objects: {rate:.0} objects/s over the last 100,000 (WAL {} MiB)",
                wal >> 20
            );
            lap = Instant::now();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "stored {stored} in {secs:.3} s: {:.0} objects/s",
        stored as f64 / secs
    );
}
