//! STIX objects to the `.stix2` indicator file Amnesty's Mobile Verification
//! Toolkit loads (`mvt-ios check-backup --iocs FILE`, `mvt-android …`).
//!
//! MVT's loader (`mvt/common/indicators.py`, `Indicators.parse_stix2`) reads
//! `malware`, `indicator`, `relationship` and `report` objects (groupings
//! are written as reports, so that they name their indicators too). It groups
//! indicators into collections: those listed in a report's `object_refs`
//! under the report's name, else those an `indicates` relationship links to
//! a malware under the malware's name, else a default collection. It reads
//! a pattern by stripping `[` and `]`, splitting on `=` and removing every
//! `'`; only these paths mean something to it:
//!
//! | path | MVT checks it against |
//! |---|---|
//! | `domain-name:value`, `ipv4-addr:value` | domains and IP addresses in URLs |
//! | `url:value` | URLs |
//! | `email-addr:value` | e-mail addresses |
//! | `file:name`, `file:path` | file names and paths |
//! | `file:hashes.md5`, `.sha1`, `.sha256` | file hashes |
//! | `process:name` | process names |
//! | `app:id`, `app:cert.md5/.sha1/.sha256`, `configuration-profile:id`, `android-property:name` | MVT's own observables |
//!
//! So the export writes, for every indicator it can, a pattern of exactly
//! one comparison `[path = 'value']` on one of those paths:
//!
//! - a pattern already in that form is written as it was stored;
//! - `network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = 'V'`
//!   (MISP's `ip-dst`) becomes `ipv4-addr:value`, likewise for `domain-name`
//!   and `src_ref`; `email-message:from_ref.value` and `to_refs[*].value`
//!   become `email-addr:value`; `file:hashes.'SHA-256'` is written
//!   `file:hashes.sha256`, the form every MVT version reads (only versions
//!   from 2026 accept the STIX spelling);
//! - `file:name AND file:hashes…` (MISP's `filename|sha256`) keeps the
//!   hashes (the name adds nothing a hash does not say), and a comparison
//!   joined by OR, or `domain-name:value AND domain-name:resolves_to_refs[*].value`
//!   (MISP's `domain|ip`, two indicators of compromise), becomes one MVT
//!   indicator per value.
//!
//! A rewritten indicator is a new object (a UUIDv5 of the original id and
//! its pattern) that keeps the original's name, description and dates and
//! names the original in an external reference, so that the file never
//! holds two versions of one id with different patterns. Everything else is reported with the reason, never dropped in
//! silence: other operators (`ISSUBSET`, `LIKE` …), qualifiers, several
//! observations, IPv6 addresses, other paths, ports, and values MVT's
//! loader would change (a `'` or `\` it strips or reads twice, an `=` that
//! makes its loader fail on the whole file, surrounding spaces).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::ids::{self, ENTENTE_NAMESPACE};
use crate::json::Obj;
use crate::pattern::{self, Comparison, Join};

/// The `.stix2` file and what could not go into it.
#[derive(Debug)]
pub struct Export {
    /// The bundle, as JSON text.
    pub json: String,
    /// MVT indicators written (one per value MVT checks).
    pub indicators: usize,
    pub skipped: Vec<Skipped>,
}

/// An indicator (or an input object) that is not in the file, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{id}: {reason}")]
pub struct Skipped {
    pub id: String,
    pub pattern: Option<String>,
    pub reason: String,
}

/// What MVT checks a value against, named by its loader's path.
const MVT_PATHS: &[&str] = &[
    "domain-name:value",
    "ipv4-addr:value",
    "url:value",
    "email-addr:value",
    "file:name",
    "file:path",
    "file:hashes.md5",
    "file:hashes.sha1",
    "file:hashes.sha256",
    "process:name",
    "app:id",
    "app:cert.md5",
    "app:cert.sha1",
    "app:cert.sha256",
    "configuration-profile:id",
    "android-property:name",
];

/// The MVT path for a STIX path, when MVT has one.
fn mvt_path(path: &str) -> Option<String> {
    let path = match path {
        "email-message:from_ref.value"
        | "email-message:to_refs[*].value"
        | "email-message:cc_refs[*].value"
        | "email-message:bcc_refs[*].value" => "email-addr:value".to_string(),
        p => {
            // Hash names in any spelling: 'SHA-256', SHA256, sha256.
            match p.split_once(":hashes.").or_else(|| p.split_once(":cert.")) {
                Some((object, algorithm)) => {
                    let sep = if p.contains(":hashes.") {
                        "hashes"
                    } else {
                        "cert"
                    };
                    let algorithm: String = algorithm
                        .chars()
                        .filter(|c| *c != '-' && *c != '\'')
                        .collect::<String>()
                        .to_ascii_lowercase();
                    format!("{object}:{sep}.{algorithm}")
                }
                None => p.to_string(),
            }
        }
    };
    MVT_PATHS.contains(&path.as_str()).then_some(path)
}

/// Why MVT's loader would not read `value` back as written, if it would not.
fn value_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("the value is empty")
    } else if value.contains('=') {
        Some(
            "the value contains '=': MVT's loader splits patterns on '=' and stops loading the whole file (mvt#906)",
        )
    } else if value.contains('\'') {
        Some("the value contains a quote, which MVT's loader removes")
    } else if value.contains('\\') {
        Some("the value contains a backslash, which MVT's loader reads escaped")
    } else if value.trim() != value {
        Some("the value has surrounding spaces, which MVT's loader removes")
    } else {
        None
    }
}

/// One (path, value) MVT reads, or why a comparison is not one.
fn comparison(c: &Comparison) -> Result<(String, String), String> {
    if c.operator != "=" {
        return Err(format!(
            "MVT compares values for equality only, not with {}",
            c.operator
        ));
    }
    if c.path == "ipv6-addr:value" {
        return Err("MVT does not check IPv6 addresses".into());
    }
    let path = mvt_path(&c.path).ok_or_else(|| format!("MVT does not check {}", c.path))?;
    if !c.quoted {
        return Err(format!(
            "MVT compares strings only, not {} with {}",
            c.path, c.value
        ));
    }
    if let Some(why) = value_problem(&c.value) {
        return Err(why.to_string());
    }
    Ok((path, c.value.clone()))
}

/// The (path, value) pairs an indicator's pattern becomes.
fn translate(pattern_text: &str) -> Result<Vec<(String, String)>, String> {
    let (join, cmps) = pattern::parse_simple(pattern_text).ok_or_else(|| {
        "MVT reads one comparison per pattern; this pattern is not one comparison nor comparisons joined by AND or OR"
            .to_string()
    })?;
    if cmps.len() == 1 || join == Join::Or {
        return cmps.iter().map(comparison).collect();
    }
    let paths: Vec<&str> = cmps.iter().map(|c| c.path.as_str()).collect();
    // `X_ref.type = T AND X_ref.value = V`: the type is implied by V.
    if let [a, b] = cmps.as_slice()
        && let Some(end) = a.path.strip_suffix(".type")
        && b.path.strip_suffix(".value") == Some(end)
        && end.starts_with("network-traffic:")
        && (end.ends_with(":src_ref") || end.ends_with(":dst_ref"))
        && a.operator == "="
    {
        let path = format!("{}:value", a.value);
        return comparison(&Comparison {
            path,
            operator: b.operator.clone(),
            value: b.value.clone(),
            quoted: b.quoted,
        })
        .map(|p| vec![p]);
    }
    // `file:name AND file:hashes…`: the hashes identify the file.
    if paths
        .iter()
        .all(|p| *p == "file:name" || p.starts_with("file:hashes."))
        && paths.iter().any(|p| p.starts_with("file:hashes."))
    {
        return cmps
            .iter()
            .filter(|c| c.path.starts_with("file:hashes."))
            .map(comparison)
            .collect();
    }
    // MISP's domain|ip: the domain and each address are indicators.
    if paths
        .iter()
        .all(|p| *p == "domain-name:value" || *p == "domain-name:resolves_to_refs[*].value")
        && paths.contains(&"domain-name:value")
    {
        return cmps
            .iter()
            .map(|c| {
                let path = if c.path == "domain-name:value" {
                    "domain-name:value".to_string()
                } else if c.value.contains(':') {
                    "ipv6-addr:value".to_string()
                } else {
                    "ipv4-addr:value".to_string()
                };
                comparison(&Comparison {
                    path,
                    operator: c.operator.clone(),
                    value: c.value.clone(),
                    quoted: c.quoted,
                })
            })
            .collect();
    }
    Err(format!(
        "MVT reads one comparison per pattern; these comparisons must all hold together: {}",
        paths.join(", ")
    ))
}

struct Indicator<'a> {
    id: String,
    raw: &'a str,
    value: Value,
}

/// Builds the MVT file from STIX objects given as JSON text (a collection's
/// export: any types, any order). Objects that are not JSON objects with an
/// id are reported; objects of types MVT does not read are left out.
pub fn export<'a>(objects: impl IntoIterator<Item = &'a str>) -> Export {
    let mut skipped = Vec::new();
    let mut indicators: Vec<Indicator> = Vec::new();
    let mut malware: HashMap<String, &str> = HashMap::new();
    let mut indicates: Vec<(String, String, &str, Value)> = Vec::new();
    let mut reports: Vec<Value> = Vec::new();
    for raw in objects {
        let value: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) => {
                skipped.push(Skipped {
                    id: "?".into(),
                    pattern: None,
                    reason: format!("not JSON: {e}"),
                });
                continue;
            }
        };
        let Some(id) = value.get("id").and_then(Value::as_str).map(str::to_string) else {
            skipped.push(Skipped {
                id: "?".into(),
                pattern: None,
                reason: "an object without id".into(),
            });
            continue;
        };
        if value.get("revoked") == Some(&Value::Bool(true)) {
            if value["type"] == "indicator" {
                skipped.push(Skipped {
                    id,
                    pattern: value["pattern"].as_str().map(str::to_string),
                    reason: "revoked".into(),
                });
            }
            continue;
        }
        match value.get("type").and_then(Value::as_str) {
            Some("indicator") => indicators.push(Indicator { id, raw, value }),
            Some("malware") => {
                malware.insert(id, raw);
            }
            Some("relationship") if value["relationship_type"] == "indicates" => {
                if let (Some(s), Some(t)) =
                    (value["source_ref"].as_str(), value["target_ref"].as_str())
                    && t.starts_with("malware--")
                {
                    indicates.push((s.to_string(), t.to_string(), raw, value.clone()));
                }
            }
            // MVT reads reports only; an unpublished MISP event is a
            // grouping, and names its indicators just as well.
            Some("report" | "grouping") => reports.push(value),
            _ => {}
        }
    }

    let mut out: Vec<String> = Vec::new();
    // Original indicator id → the ids written for it.
    let mut written: HashMap<String, Vec<String>> = HashMap::new();
    let mut count = 0usize;
    for ind in &indicators {
        let pattern_text = ind.value["pattern"].as_str().unwrap_or("");
        let skip = |reason: String| Skipped {
            id: ind.id.clone(),
            pattern: Some(pattern_text.to_string()),
            reason,
        };
        match ind.value["pattern_type"].as_str() {
            Some("stix") => {}
            other => {
                skipped.push(skip(format!(
                    "MVT reads STIX patterns only, not {}",
                    other.unwrap_or("a pattern without pattern_type")
                )));
                continue;
            }
        }
        let pairs = match translate(pattern_text) {
            Ok(p) => p,
            Err(why) => {
                skipped.push(skip(why));
                continue;
            }
        };
        let mut ids = Vec::new();
        for (path, value) in &pairs {
            let mvt_pattern = format!("[{path} = '{value}']");
            if pairs.len() == 1 && mvt_pattern == pattern_text {
                out.push(ind.raw.to_string());
                ids.push(ind.id.clone());
            } else {
                let id = ids::v5(
                    "indicator",
                    &ENTENTE_NAMESPACE,
                    &format!("mvt\n{}\n{mvt_pattern}", ind.id),
                );
                out.push(rewritten(&ind.value, &id, &mvt_pattern));
                ids.push(id);
            }
            count += 1;
        }
        written.insert(ind.id.clone(), ids);
    }

    // Malware linked to a written indicator, and the links.
    let mut grouped: HashSet<&str> = HashSet::new();
    let mut malware_out: Vec<&str> = Vec::new();
    let mut links = Vec::new();
    for (source, target, raw, rel) in &indicates {
        let (Some(ids), Some(m)) = (written.get(source), malware.get(target)) else {
            continue;
        };
        if !malware_out.contains(m) {
            malware_out.push(m);
        }
        grouped.insert(source.as_str());
        for id in ids {
            if id == source {
                links.push(raw.to_string());
            } else {
                let rid = ids::v5(
                    "relationship",
                    &ENTENTE_NAMESPACE,
                    &format!("mvt\n{id}\nindicates\n{target}"),
                );
                let text = |k: &str| rel.get(k).and_then(Value::as_str);
                links.push(
                    Obj::stix("relationship", &rid)
                        .opt_str("created", text("created"))
                        .opt_str("modified", text("modified"))
                        .str("relationship_type", "indicates")
                        .str("source_ref", id)
                        .str("target_ref", target)
                        .finish(),
                );
            }
        }
    }

    // Reports name the collection of indicators no malware claims (MVT
    // prefers a report over a malware, so the others are left out of it).
    let mut report_out = Vec::new();
    for r in &reports {
        let refs: Vec<String> = r["object_refs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|id| !grouped.contains(id))
            .filter_map(|id| written.get(id))
            .flatten()
            .cloned()
            .collect();
        if refs.is_empty() {
            continue;
        }
        let original = r["id"].as_str().unwrap_or("");
        let id = ids::v5("report", &ENTENTE_NAMESPACE, &format!("mvt\n{original}"));
        let text = |k: &str| r.get(k).and_then(Value::as_str);
        report_out.push(
            Obj::stix("report", &id)
                .opt_str("created", text("created"))
                .opt_str("modified", text("modified"))
                .opt_str("name", text("name"))
                .opt_str("description", text("description"))
                .opt_str("published", text("published"))
                .strs("object_refs", &refs)
                .finish(),
        );
    }

    let mut all: Vec<String> = malware_out.iter().map(|m| m.to_string()).collect();
    all.extend(out);
    all.extend(links);
    all.extend(report_out);
    let bundle_id = {
        let mut seed = String::from("mvt bundle");
        for ind in &indicators {
            seed.push('\n');
            seed.push_str(&ind.id);
        }
        ids::v5("bundle", &ENTENTE_NAMESPACE, &seed)
    };
    let mut json = String::with_capacity(all.iter().map(|o| o.len() + 2).sum::<usize>() + 100);
    json.push_str("{\"type\":\"bundle\",\"id\":");
    crate::json::push_str(&mut json, &bundle_id);
    json.push_str(",\"objects\":[");
    for (i, o) in all.iter().enumerate() {
        json.push_str(if i == 0 { "\n" } else { ",\n" });
        json.push_str(o);
    }
    json.push_str("\n]}\n");
    Export {
        json,
        indicators: count,
        skipped,
    }
}

/// A copy of an indicator with another id and pattern, naming the original
/// in an external reference (`source_name` `entente`).
fn rewritten(original: &Value, id: &str, mvt_pattern: &str) -> String {
    let text = |k: &str| original.get(k).and_then(Value::as_str);
    let source = Obj::empty()
        .str("source_name", "entente")
        .str("description", "rewritten for MVT from this indicator")
        .opt_str("external_id", text("id"))
        .finish();
    let mut obj = Obj::stix("indicator", id)
        .opt_str("created", text("created"))
        .opt_str("modified", text("modified"))
        .opt_str("name", text("name"))
        .opt_str("description", text("description"))
        .str("pattern", mvt_pattern)
        .str("pattern_type", "stix")
        .str("pattern_version", "2.1")
        .opt_str("valid_from", text("valid_from"))
        .opt_str("valid_until", text("valid_until"));
    if let Some(Value::Array(types)) = original.get("indicator_types") {
        let types: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
        obj = obj.strs("indicator_types", &types);
    }
    obj.raws("external_references", &[source]).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &str) -> Result<Vec<(String, String)>, String> {
        translate(p)
    }

    fn one(path: &str, value: &str) -> Result<Vec<(String, String)>, String> {
        Ok(vec![(path.to_string(), value.to_string())])
    }

    #[test]
    fn patterns_mvt_reads_pass_and_equivalents_are_rewritten() {
        assert_eq!(
            pairs("[domain-name:value = 'evil.example']"),
            one("domain-name:value", "evil.example")
        );
        assert_eq!(
            pairs("[file:hashes.'SHA-256' = 'abc']"),
            one("file:hashes.sha256", "abc")
        );
        assert_eq!(
            pairs("[file:hashes.MD5 = 'abc']"),
            one("file:hashes.md5", "abc")
        );
        assert_eq!(
            pairs(
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.5']"
            ),
            one("ipv4-addr:value", "203.0.113.5")
        );
        assert_eq!(
            pairs("[email-message:from_ref.value = 'a@evil.example']"),
            one("email-addr:value", "a@evil.example")
        );
        assert_eq!(
            pairs(
                "[file:name = 'x.apk' AND file:hashes.'SHA-1' = 'aa' AND file:hashes.MD5 = 'bb']"
            )
            .unwrap()
            .len(),
            2
        );
        assert_eq!(
            pairs(
                "[domain-name:value = 'a.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.1']"
            ),
            Ok(vec![
                ("domain-name:value".to_string(), "a.example".to_string()),
                ("ipv4-addr:value".to_string(), "198.51.100.1".to_string())
            ])
        );
        assert_eq!(
            pairs("[url:value = 'https://a.example/x' OR url:value = 'https://b.example/y']")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            pairs("[app:id = 'com.evil.app']"),
            one("app:id", "com.evil.app")
        );
    }

    #[test]
    fn what_mvt_cannot_read_is_explained() {
        for (p, why) in [
            (
                "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
                "equality only",
            ),
            ("[ipv6-addr:value = '2001:db8::1']", "IPv6"),
            ("[mutex:name = 'x']", "does not check mutex:name"),
            ("[url:value = 'https://a.example/?q=1']", "mvt#906"),
            ("[file:name = 'it\\'s.apk']", "quote"),
            ("[file:path = 'C:\\\\x']", "backslash"),
            (
                "[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']",
                "not one comparison",
            ),
            (
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.5' AND network-traffic:dst_port = 443]",
                "must all hold together: network-traffic:dst_ref.type, network-traffic:dst_ref.value, network-traffic:dst_port",
            ),
            (
                "[file:name = 'a' AND file:size = 3]",
                "must all hold together",
            ),
            (
                "[network-traffic:dst_port = 443]",
                "does not check network-traffic:dst_port",
            ),
            ("[file:name = 42]", "strings only"),
            (
                "[network-traffic:dst_ref.type = 'ipv6-addr' AND network-traffic:dst_ref.value = '2001:db8::1']",
                "IPv6",
            ),
        ] {
            let err = pairs(p).unwrap_err();
            assert!(err.contains(why), "{p}: {err}");
        }
    }

    const OBJECTS: [&str; 8] = [
        r#"{"type":"malware","spec_version":"2.1","id":"malware--11111111-1111-4111-8111-111111111111","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Nightjar","is_family":true}"#,
        r#"{"type":"indicator","spec_version":"2.1","id":"indicator--22222222-2222-4222-8222-222222222222","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'c2.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"indicator","spec_version":"2.1","id":"indicator--33333333-3333-4333-8333-333333333333","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[file:hashes.'SHA-256' = 'ab']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"indicator","spec_version":"2.1","id":"indicator--44444444-4444-4444-8444-444444444444","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[mutex:name = 'x']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"indicator","spec_version":"2.1","id":"indicator--55555555-5555-4555-8555-555555555555","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"rule x {}","pattern_type":"yara","valid_from":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"relationship","spec_version":"2.1","id":"relationship--66666666-6666-4666-8666-666666666666","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"indicator--33333333-3333-4333-8333-333333333333","target_ref":"malware--11111111-1111-4111-8111-111111111111"}"#,
        r#"{"type":"report","spec_version":"2.1","id":"report--77777777-7777-4777-8777-777777777777","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Quiet Lantern","published":"2026-01-01T00:00:00Z","object_refs":["indicator--22222222-2222-4222-8222-222222222222","indicator--33333333-3333-4333-8333-333333333333"]}"#,
        r#"{"type":"identity","spec_version":"2.1","id":"identity--88888888-8888-4888-8888-888888888888","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x"}"#,
    ];

    #[test]
    fn the_file_groups_indicators_the_way_mvt_reads_them() {
        let e = export(OBJECTS);
        assert_eq!(e.indicators, 2);
        let reasons: Vec<&str> = e.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(e.skipped.len(), 2, "{reasons:?}");
        let bundle: Value = serde_json::from_str(&e.json).unwrap();
        let objects = bundle["objects"].as_array().unwrap();
        let types: Vec<&str> = objects
            .iter()
            .map(|o| o["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "malware",
                "indicator",
                "indicator",
                "relationship",
                "report"
            ]
        );
        // The domain indicator was already MVT's form: written as stored.
        assert!(e.json.contains(OBJECTS[1]));
        // The hash is rewritten, linked to the malware by a new relationship
        // dated like the original, and left out of the report (MVT would
        // file it under the report rather than the malware).
        assert_eq!(objects[2]["pattern"], "[file:hashes.sha256 = 'ab']");
        assert_eq!(
            objects[2]["external_references"][0]["external_id"],
            "indicator--33333333-3333-4333-8333-333333333333"
        );
        assert_eq!(objects[3]["source_ref"], objects[2]["id"]);
        assert_eq!(objects[3]["created"], "2026-01-01T00:00:00.000Z");
        assert_eq!(
            objects[4]["object_refs"],
            serde_json::json!([objects[1]["id"]])
        );
        assert_eq!(objects[4]["name"], "Quiet Lantern");
        // The same input gives the same file.
        assert_eq!(export(OBJECTS).json, e.json);
    }
}
