//! The boundaries ARCHITECTURE.md promises, checked in the dependency graph
//! itself: `node` is the only crate above `store`, the domain crates never
//! depend on an adapter, and `convert` builds on `stix` alone.

use std::process::Command;

/// The workspace crates `package` depends on directly (normal dependencies).
fn direct_dependencies(package: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--edges",
            "normal",
            "--depth",
            "1",
            "--prefix",
            "none",
            "--package",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter(|l| l.contains("/work/") || l.contains("(/"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn only_node_depends_on_the_store() {
    for package in ["entente", "entente-http", "scan", "federation"] {
        let deps = direct_dependencies(package);
        assert!(
            !deps.iter().any(|d| d == "store"),
            "{package} depends on store directly: {deps:?}"
        );
    }
    assert!(direct_dependencies("node").iter().any(|d| d == "store"));
}

#[test]
fn domain_crates_depend_on_no_adapter() {
    let adapters = [
        "store",
        "node",
        "entente-http",
        "scan",
        "federation",
        "entente",
    ];
    for package in [
        "stix",
        "patterning",
        "freshness",
        "sharing",
        "reporting",
        "convert",
        "provenance",
    ] {
        let deps = direct_dependencies(package);
        for a in adapters {
            assert!(
                !deps.iter().any(|d| d == a),
                "{package} depends on the adapter {a}: {deps:?}"
            );
        }
    }
}

#[test]
fn convert_depends_on_stix_alone() {
    // Converted input reaches the node only through the binary, which hands
    // it to `node`'s ingest like any other input.
    assert_eq!(direct_dependencies("convert"), ["stix"]);
}

#[test]
fn freshness_builds_on_stix_and_patterning_alone() {
    // A pure model: no store, no node, no adapter.
    let mut deps = direct_dependencies("freshness");
    deps.sort();
    assert_eq!(deps, ["patterning", "stix"]);
}

#[test]
fn metrics_stand_alone_and_the_store_knows_nothing_of_them() {
    let deps = direct_dependencies("entente-metrics");
    assert!(
        deps.is_empty(),
        "entente-metrics depends on Entente crates: {deps:?}"
    );
    for package in ["store", "stix", "patterning", "sharing", "reporting"] {
        assert!(
            !direct_dependencies(package)
                .iter()
                .any(|d| d == "entente-metrics"),
            "{package} depends on entente-metrics"
        );
    }
}
