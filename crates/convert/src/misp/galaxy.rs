//! MISP galaxy clusters to STIX domain objects.
//!
//! | galaxy type | STIX |
//! |---|---|
//! | `mitre-attack-pattern`, `mitre-enterprise-attack-attack-pattern`, `mitre-mobile-attack-attack-pattern`, `mitre-pre-attack-attack-pattern`, `mitre-ics-techniques`, `cmtmf-attack-pattern` | `attack-pattern` |
//! | `mitre-course-of-action`, `mitre-enterprise-attack-course-of-action`, `mitre-mobile-attack-course-of-action` | `course-of-action` |
//! | `mitre-intrusion-set`, `mitre-enterprise-attack-intrusion-set`, `mitre-mobile-attack-intrusion-set`, `mitre-pre-attack-intrusion-set` | `intrusion-set` |
//! | `android`, `backdoor`, `banker`, `cryptominers`, `malpedia`, `ransomware`, `stealer`, `mitre-malware`, `mitre-enterprise-attack-malware`, `mitre-mobile-attack-malware`, `mitre-ics-software` | `malware` |
//! | `threat-actor`, `360net-threat-actor`, `microsoft-activity-group`, `mitre-ics-groups` | `threat-actor` |
//! | `tool`, `botnet`, `rat`, `exploit-kit`, `tds`, `mitre-tool`, `mitre-enterprise-attack-tool`, `mitre-mobile-attack-tool` | `tool` |
//! | `branded-vulnerability` | `vulnerability` |
//! | `sector` | `identity` (`identity_class` `class`) |
//! | `stix-2.0-<type>`, `stix-2.1-<type>` for the types above | that type |
//!
//! These are misp-stix's tables (`galaxy_types.py`). The object's id is
//! `<type>--<cluster uuid>`; its name is the cluster value (for `mitre-*`
//! types without the ` - T1234` suffix); meta `synonyms` become `aliases`,
//! `refs` and `external_id` external references, `kill_chain` kill chain
//! phases, `type` the malware, threat-actor or tool types, `is_family` the
//! malware's; other meta keys are kept as `x_misp_<key>`.

use serde::Deserialize;
use serde_json::{Map, Value};
use stix::Timestamp;

use super::{EventCtx, Record};
use crate::json::Obj;
use crate::{StixJson, ids, time};

#[derive(Clone, Deserialize)]
pub(crate) struct GalaxyRaw {
    name: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
    #[serde(rename = "GalaxyCluster")]
    clusters: Option<Vec<ClusterRaw>>,
}

#[derive(Clone, Deserialize)]
struct ClusterRaw {
    uuid: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
    value: Option<String>,
    tag_name: Option<String>,
    description: Option<String>,
    meta: Option<Map<String, Value>>,
}

/// The STIX type a galaxy type becomes, if any.
pub(crate) fn stix_type(galaxy_type: &str) -> Option<&'static str> {
    let t = galaxy_type
        .strip_prefix("stix-2.0-")
        .or_else(|| galaxy_type.strip_prefix("stix-2.1-"));
    if let Some(t) = t {
        return [
            "attack-pattern",
            "campaign",
            "course-of-action",
            "intrusion-set",
            "malware",
            "threat-actor",
            "tool",
            "vulnerability",
        ]
        .into_iter()
        .find(|s| *s == t);
    }
    Some(match galaxy_type {
        "cmtmf-attack-pattern"
        | "mitre-attack-pattern"
        | "mitre-enterprise-attack-attack-pattern"
        | "mitre-ics-techniques"
        | "mitre-mobile-attack-attack-pattern"
        | "mitre-pre-attack-attack-pattern" => "attack-pattern",
        "mitre-course-of-action"
        | "mitre-enterprise-attack-course-of-action"
        | "mitre-mobile-attack-course-of-action" => "course-of-action",
        "mitre-enterprise-attack-intrusion-set"
        | "mitre-intrusion-set"
        | "mitre-mobile-attack-intrusion-set"
        | "mitre-pre-attack-intrusion-set" => "intrusion-set",
        "android"
        | "backdoor"
        | "banker"
        | "cryptominers"
        | "malpedia"
        | "mitre-enterprise-attack-malware"
        | "mitre-ics-software"
        | "mitre-malware"
        | "mitre-mobile-attack-malware"
        | "ransomware"
        | "stealer" => "malware",
        "360net-threat-actor"
        | "microsoft-activity-group"
        | "mitre-ics-groups"
        | "threat-actor" => "threat-actor",
        "botnet"
        | "rat"
        | "exploit-kit"
        | "tds"
        | "tool"
        | "mitre-tool"
        | "mitre-enterprise-attack-tool"
        | "mitre-mobile-attack-tool" => "tool",
        "branded-vulnerability" => "vulnerability",
        "sector" => "identity",
        _ => return None,
    })
}

/// The tag names of the clusters of mapped galaxies: those clusters become
/// objects, so their tags are not labels too.
pub(crate) fn mapped_tag_names(galaxies: &[GalaxyRaw]) -> Vec<String> {
    galaxies
        .iter()
        .filter(|g| g.ty.as_deref().and_then(stix_type).is_some())
        .flat_map(|g| {
            let gty = g.ty.clone().unwrap_or_default();
            g.clusters.iter().flatten().filter_map(move |c| {
                c.tag_name.clone().or_else(|| {
                    c.value
                        .as_ref()
                        .map(|v| format!("misp-galaxy:{gty}=\"{v}\""))
                })
            })
        })
        .collect()
}

/// The relationship misp-stix writes from an object to a galaxy object:
/// its `relationship_specs` table, `related-to` where it has no entry.
pub(crate) fn relationship_type(source_id: &str, target_id: &str) -> &'static str {
    let source = source_id.split("--").next().unwrap_or("");
    let target = target_id.split("--").next().unwrap_or("");
    match (source, target) {
        (
            "indicator",
            "attack-pattern" | "campaign" | "intrusion-set" | "malware" | "threat-actor" | "tool",
        ) => "indicates",
        ("indicator", "observed-data") => "based-on",
        ("attack-pattern", "identity" | "location" | "vulnerability") => "targets",
        ("attack-pattern", "tool") => "uses",
        ("campaign", "identity" | "vulnerability") => "targets",
        ("campaign", "intrusion-set" | "threat-actor") => "attributed-to",
        ("campaign", "attack-pattern" | "malware" | "tool") => "uses",
        ("course-of-action", "attack-pattern" | "tool") => "mitigates",
        ("intrusion-set", "identity" | "vulnerability") => "targets",
        ("intrusion-set", "attack-pattern" | "malware" | "tool") => "uses",
        ("intrusion-set", "threat-actor") => "attributed-to",
        ("malware", "attack-pattern") => "uses",
        ("malware", "intrusion-set" | "threat-actor") => "authored-by",
        ("threat-actor", "attack-pattern" | "malware" | "tool") => "uses",
        ("threat-actor", "vulnerability") => "targets",
        ("tool", "identity" | "location") => "targets",
        _ => "related-to",
    }
}

/// Converts the clusters of a galaxy (once per event each), marked with the
/// event's TLP; returns the ids of all its clusters. `created` is used when
/// the cluster's meta gives no dates.
pub(crate) fn convert(cx: &mut EventCtx, g: &GalaxyRaw, created: Timestamp) -> Vec<String> {
    let Some(sty) = g.ty.as_deref().and_then(stix_type) else {
        return Vec::new();
    };
    let galaxy_name = g
        .name
        .clone()
        .unwrap_or_else(|| g.ty.clone().unwrap_or_default());
    let mut out = Vec::new();
    for c in g.clusters.iter().flatten() {
        let record = Record::Cluster {
            uuid: c.uuid.clone(),
            value: c.value.clone(),
        };
        let uuid = match c.uuid.as_deref().map(ids::misp_uuid) {
            Some(Ok(u)) => u,
            Some(Err(why)) => {
                cx.error(record, format!("uuid: {why}"));
                continue;
            }
            None => {
                cx.error(record, "the cluster has no uuid");
                continue;
            }
        };
        if let Some(id) = cx.clusters.get(&uuid) {
            out.push(id.clone());
            continue;
        }
        let Some(value) = c.value.clone().filter(|v| !v.trim().is_empty()) else {
            cx.error(record, "the cluster has no value");
            continue;
        };
        let id = format!("{sty}--{uuid}");
        let json = cluster_object(
            c,
            sty,
            &id,
            &galaxy_name,
            g.ty.as_deref().unwrap_or(""),
            &value,
            created,
            &cx.markings,
        );
        cx.clusters.insert(uuid, id.clone());
        cx.push(
            &record,
            StixJson {
                id: id.clone(),
                json,
            },
        );
        out.push(id);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn cluster_object(
    c: &ClusterRaw,
    sty: &str,
    id: &str,
    galaxy_name: &str,
    galaxy_type: &str,
    value: &str,
    created: Timestamp,
    markings: &[&str],
) -> String {
    let meta = c.meta.clone().unwrap_or_default();
    let name = if galaxy_type.starts_with("mitre-") {
        value.split(" - ").next().unwrap_or(value).trim()
    } else {
        value
    };
    let list = |key: &str| -> Vec<String> {
        match meta.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![other.to_string()],
        }
    };
    let stamp = time::stamp(created);
    let mut labels = vec![
        format!("misp:galaxy-name=\"{galaxy_name}\""),
        format!(
            "misp:galaxy-type=\"{}\"",
            c.ty.as_deref().unwrap_or(galaxy_type)
        ),
    ];
    if let Some(tag) = &c.tag_name {
        labels.push(tag.clone());
    }
    let mut obj = Obj::stix(sty, id)
        .str("created", &stamp)
        .str("modified", &stamp)
        .str("name", name)
        .opt_str(
            "description",
            c.description.as_deref().filter(|d| !d.is_empty()),
        );
    let mut used = vec![
        "synonyms",
        "refs",
        "external_id",
        "kill_chain",
        "type",
        "is_family",
    ];
    match sty {
        "malware" => {
            let is_family = meta.get("is_family").is_some_and(|v| match v {
                Value::Bool(b) => *b,
                Value::String(s) => matches!(s.as_str(), "true" | "True" | "1"),
                Value::Array(a) => a
                    .first()
                    .is_some_and(|v| v == &Value::Bool(true) || v == "true"),
                _ => false,
            });
            obj = obj
                .strs("malware_types", &list("type"))
                .bool("is_family", is_family);
        }
        "threat-actor" => obj = obj.strs("threat_actor_types", &list("type")),
        "tool" => obj = obj.strs("tool_types", &list("type")),
        "identity" => obj = obj.str("identity_class", "class"),
        _ => used.retain(|k| *k != "type"),
    }
    if matches!(
        sty,
        "threat-actor" | "intrusion-set" | "malware" | "tool" | "campaign"
    ) {
        let aliases: Vec<String> = list("synonyms")
            .into_iter()
            .filter(|s| s != value && s != name)
            .collect();
        obj = obj.strs("aliases", &aliases);
    } else {
        used.retain(|k| *k != "synonyms");
    }
    let phases: Vec<String> = list("kill_chain")
        .iter()
        .filter_map(|k| {
            let mut parts = k.split(':');
            let chain = parts.next()?;
            let phase = parts.next_back()?;
            Some(
                Obj::empty()
                    .str("kill_chain_name", chain)
                    .str("phase_name", phase)
                    .finish(),
            )
        })
        .collect();
    if matches!(sty, "attack-pattern" | "malware" | "tool") {
        obj = obj.raws("kill_chain_phases", &phases);
    } else {
        used.retain(|k| *k != "kill_chain");
    }
    let mut references: Vec<String> = list("external_id")
        .iter()
        .map(|e| {
            Obj::empty()
                .str("source_name", external_source(e))
                .str("external_id", e)
                .finish()
        })
        .collect();
    references.extend(list("refs").iter().map(|u| {
        Obj::empty()
            .str("source_name", "url")
            .str("url", u)
            .finish()
    }));
    obj = obj
        .raws("external_references", &references)
        .strs("labels", &labels);
    for (key, v) in &meta {
        if used.contains(&key.as_str()) || v.is_null() {
            continue;
        }
        let folded: String = key
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        obj = obj.value(&format!("x_misp_{folded}"), v);
    }
    obj.strs("object_marking_refs", markings).finish()
}

/// misp-stix's source names for external ids (`T1660` is MITRE ATT&CK).
fn external_source(external_id: &str) -> &'static str {
    for (prefix, source) in [
        ("CAPEC-", "capec"),
        ("CVE-", "cve"),
        ("CWE-", "cwe"),
        ("MOB-", "mitre-mobile-attack"),
        ("PRE-", "mitre-pre-attack"),
        ("REF-", "reference_from_CAPEC"),
    ] {
        if external_id.starts_with(prefix) {
            return source;
        }
    }
    if external_id.contains('-') {
        "NIST Mobile Threat Catalogue"
    } else if !external_id.is_empty() && external_id.bytes().all(|b| b.is_ascii_digit()) {
        "WASC"
    } else {
        "mitre-attack"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn galaxy_types_map_like_misp_stix() {
        assert_eq!(
            stix_type("mitre-mobile-attack-attack-pattern"),
            Some("attack-pattern")
        );
        assert_eq!(stix_type("stix-2.1-campaign"), Some("campaign"));
        assert_eq!(stix_type("android"), Some("malware"));
        assert_eq!(stix_type("sector"), Some("identity"));
        assert_eq!(stix_type("target-information"), None);
        assert_eq!(stix_type("stix-2.1-note"), None);
    }

    #[test]
    fn relationships_follow_misp_stix_specs() {
        assert_eq!(relationship_type("indicator--a", "malware--b"), "indicates");
        assert_eq!(
            relationship_type("observed-data--a", "malware--b"),
            "related-to"
        );
        assert_eq!(
            relationship_type("campaign--a", "threat-actor--b"),
            "attributed-to"
        );
        assert_eq!(
            relationship_type("indicator--a", "identity--b"),
            "related-to"
        );
    }

    #[test]
    fn external_ids_name_their_source() {
        assert_eq!(external_source("T1660"), "mitre-attack");
        assert_eq!(external_source("CVE-2023-41064"), "cve");
        assert_eq!(external_source("CAPEC-98"), "capec");
        assert_eq!(external_source("APP-12"), "NIST Mobile Threat Catalogue");
        assert_eq!(external_source("13"), "WASC");
    }
}
