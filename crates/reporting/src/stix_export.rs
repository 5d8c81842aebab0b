//! Exports an incident as a STIX 2.1 bundle: an `incident` object carrying
//! the shareable reporting facts in a property extension, the extension's
//! definition (and the identity that defines it), and the TLP 2.0 marking
//! definition the incident is marked with (default TLP:AMBER+STRICT).
//!
//! What is shared: timing, classification, techniques, vulnerabilities and
//! indicator references, which regimes apply and when reports were
//! submitted. What is not: contact details, personal-data counts, costs,
//! ransom amounts and payment instructions. The reporting entity is named
//! only when the caller asks for it.

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::assess::Assessment;
use crate::record::Incident;
use crate::time::Moment;
use crate::vocab::Tlp;

/// The extension-definition object Entente publishes for its incident facts.
pub const EXTENSION_ID: &str = "extension-definition--cc8430fb-3023-4af6-bf78-931cee40deb0";
/// The identity that created the extension definition.
pub const ENTENTE_IDENTITY_ID: &str = "identity--2a9b7a37-b026-4c5d-beca-da0aa0dcc0e2";
/// UUIDv5 namespace for ids Entente derives (incident, bundle, entity).
const NAMESPACE: Uuid = Uuid::from_u128(0x4405916d_cd9c_4c13_85e4_0fc39a9ef4d8);
const DEFINITIONS_CREATED: &str = "2026-11-26T00:00:00.000Z";

/// FIRST TLP 2.0 extension definition (oasis-open/cti-stix-common-objects).
pub const TLP2_EXTENSION_ID: &str = stix::tlp::TLP_2_EXTENSION_ID;

/// A TLP 2.0 marking-definition object as a JSON value.
fn marking_definition(tlp: Tlp) -> Value {
    serde_json::from_str(&tlp.marking_definition()).unwrap_or(Value::Null)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    pub tlp: Tlp,
    /// Name the reporting entity (an identity object and `created_by_ref`).
    pub identify_entity: bool,
    /// The `modified` time of the incident.
    pub now: Timestamp,
    /// Its `created` time: when it was first exported. Default: the earliest
    /// instant the record knows, so that every export of one record (one STIX
    /// id) agrees on it, as STIX versioning requires; else `now`. Never later
    /// than `now`.
    pub created: Option<Timestamp>,
}

impl ExportOptions {
    pub fn new(now: Timestamp) -> Self {
        ExportOptions {
            tlp: Tlp::AmberStrict,
            identify_entity: false,
            now,
            created: None,
        }
    }
}

/// STIX times of the export: whole milliseconds, so that each record
/// version (a millisecond apart) exports as its own `modified`.
fn stix_time(t: Timestamp) -> String {
    stix::Timestamp::from_micros(t.as_microsecond())
        .truncated_to_millis()
        .to_stix()
}

/// The incident's STIX id: the record's own, else one derived from the
/// entity and the first instant the record knows, so re-exports agree.
pub fn incident_id(incident: &Incident) -> String {
    if let Some(id) = &incident.id {
        return id.clone();
    }
    let first = earliest_instant(incident)
        .map(|m| m.to_string())
        .or_else(|| incident.discovered_at.map(|d| d.to_string()))
        .unwrap_or_default();
    let name = incident.entity.legal_name.as_deref().unwrap_or("");
    let seed = format!(
        "incident|{name}|{first}|{}",
        incident.title.as_deref().unwrap_or("")
    );
    format!("incident--{}", Uuid::new_v5(&NAMESPACE, seed.as_bytes()))
}

/// The earliest of the record's instants that date the incident itself.
fn earliest_instant(incident: &Incident) -> Option<Moment> {
    [
        incident.occurred.as_ref().and_then(|o| o.start),
        incident.detected_at,
        incident.aware_at,
        incident.personal_data_aware_at,
        incident.reasonable_belief_at,
        incident.materiality_determined_at,
    ]
    .into_iter()
    .flatten()
    .min()
}

fn extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": ENTENTE_IDENTITY_ID,
        "created": DEFINITIONS_CREATED,
        "modified": DEFINITIONS_CREATED,
        "name": "Entente incident reporting facts",
        "description": "Shareable facts of a reported incident: timing, classification, techniques, vulnerabilities, indicators, the reporting regimes that apply and when each report was submitted.",
        "schema": "Properties (all optional): detected_at, occurred_start, occurred_end, aware_at, recovered_at, resolved_at (timestamps); incident_severity (low|medium|high|critical; `severity` is reserved in STIX 2.1); incident_type; threat_type; suspected_malicious, cross_border (yes|no|unknown); member_states_affected (ISO 3166-1 alpha-2 list); us_ci_sector; ttps (ATT&CK technique ids); vulnerabilities (CVE ids); ioc_refs, threat_actor_refs (STIX identifiers); ransom_paid (boolean); regimes_applicable (regime ids: nis2, cra, gdpr, dora, circia, sec-8k, hipaa); submissions (dictionary regime id -> dictionary stage id -> timestamp); reported_by (legal name, only when the reporter chose to be named).",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
        "object_marking_refs": [Tlp::Clear.marking_id()],
    })
}

fn entente_identity() -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": ENTENTE_IDENTITY_ID,
        "created": DEFINITIONS_CREATED,
        "modified": DEFINITIONS_CREATED,
        "name": "Entente",
        "identity_class": "system",
        "description": "Entente threat-intelligence and incident sharing hub; defines the incident reporting extension.",
        "object_marking_refs": [Tlp::Clear.marking_id()],
    })
}

fn put_time(map: &mut Map<String, Value>, key: &str, value: Option<crate::time::Moment>) {
    if let Some(m) = value {
        map.insert(key.into(), Value::String(stix_time(m.timestamp())));
    }
}

fn put_text(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(text) = value.filter(|t| !t.trim().is_empty()) {
        map.insert(key.into(), Value::String(text.to_string()));
    }
}

fn put_list(map: &mut Map<String, Value>, key: &str, values: &[String]) {
    if !values.is_empty() {
        map.insert(key.into(), json!(values));
    }
}

fn facts(incident: &Incident, assessment: &Assessment, identify: bool) -> Value {
    let mut f = Map::new();
    f.insert("extension_type".into(), json!("property-extension"));
    put_time(&mut f, "detected_at", incident.detected_at);
    let occurred = incident.occurred.as_ref();
    put_time(&mut f, "occurred_start", occurred.and_then(|o| o.start));
    put_time(&mut f, "occurred_end", occurred.and_then(|o| o.end));
    put_time(&mut f, "aware_at", incident.aware_at);
    put_time(&mut f, "recovered_at", incident.recovered_at);
    put_time(&mut f, "resolved_at", incident.resolved_at);
    put_text(
        &mut f,
        "incident_severity",
        incident.severity.map(|s| s.as_str()),
    );
    put_text(
        &mut f,
        "incident_type",
        incident.incident_type.map(|s| s.as_str()),
    );
    put_text(&mut f, "threat_type", incident.threat_type.as_deref());
    put_text(
        &mut f,
        "suspected_malicious",
        incident.suspected_malicious.map(|s| s.as_str()),
    );
    put_text(
        &mut f,
        "cross_border",
        incident.cross_border.map(|s| s.as_str()),
    );
    put_list(
        &mut f,
        "member_states_affected",
        &incident.member_states_affected,
    );
    put_text(
        &mut f,
        "us_ci_sector",
        incident.entity.us_ci_sector.map(|s| s.as_str()),
    );
    put_list(&mut f, "ttps", &incident.ttps);
    put_list(&mut f, "vulnerabilities", &incident.vulnerabilities);
    put_list(&mut f, "ioc_refs", &incident.iocs);
    put_list(&mut f, "threat_actor_refs", &incident.threat_actors);
    if incident.ransom_paid_at.is_some() {
        f.insert("ransom_paid".into(), json!(true));
    }
    let applicable: Vec<String> = assessment
        .regimes
        .iter()
        .filter(|r| r.applies)
        .map(|r| r.id.clone())
        .collect();
    put_list(&mut f, "regimes_applicable", &applicable);
    if !incident.submissions.is_empty() {
        let mut by_regime = Map::new();
        for (regime, stages) in &incident.submissions {
            let stages: Map<String, Value> = stages
                .iter()
                .map(|(stage, at)| (stage.clone(), json!(stix_time(at.timestamp()))))
                .collect();
            by_regime.insert(regime.clone(), Value::Object(stages));
        }
        f.insert("submissions".into(), Value::Object(by_regime));
    }
    if identify {
        put_text(&mut f, "reported_by", incident.entity.legal_name.as_deref());
    }
    Value::Object(f)
}

/// The STIX 2.1 bundle for `incident`. Pure: the same inputs give the same
/// bundle, byte for byte.
pub fn export_bundle(
    incident: &Incident,
    assessment: &Assessment,
    options: &ExportOptions,
) -> Value {
    let id = incident_id(incident);
    let created = options
        .created
        .or_else(|| earliest_instant(incident).map(|m| m.timestamp()))
        .map_or(options.now, |c| c.min(options.now));
    let now = stix_time(options.now);
    let created = stix_time(created);
    let marking = options.tlp.marking_id();
    let mut object = Map::new();
    object.insert("type".into(), json!("incident"));
    object.insert("spec_version".into(), json!("2.1"));
    object.insert("id".into(), json!(id));
    object.insert("created".into(), json!(created));
    object.insert("modified".into(), json!(now));
    object.insert(
        "name".into(),
        json!(
            incident
                .title
                .clone()
                .unwrap_or_else(|| "Reported incident".to_string())
        ),
    );
    put_text(&mut object, "description", incident.description.as_deref());
    if !incident.vulnerabilities.is_empty() {
        let refs: Vec<Value> = incident
            .vulnerabilities
            .iter()
            .map(|cve| json!({"source_name": "cve", "external_id": cve}))
            .collect();
        object.insert("external_references".into(), Value::Array(refs));
    }
    object.insert("object_marking_refs".into(), json!([marking]));

    let mut objects = Vec::new();
    if options.identify_entity
        && let Some(name) = incident.entity.legal_name.as_deref()
    {
        let identity_id = format!(
            "identity--{}",
            Uuid::new_v5(&NAMESPACE, format!("entity|{name}").as_bytes())
        );
        object.insert("created_by_ref".into(), json!(identity_id));
        objects.push(json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created": created,
            "modified": now,
            "name": name,
            "identity_class": "organization",
            "object_marking_refs": [marking],
        }));
    }
    object.insert(
        "extensions".into(),
        json!({ EXTENSION_ID: facts(incident, assessment, options.identify_entity) }),
    );
    objects.insert(0, Value::Object(object));
    objects.push(extension_definition());
    objects.push(entente_identity());
    objects.push(marking_definition(options.tlp));
    if options.tlp != Tlp::Clear {
        // The extension definition and Entente's identity are TLP:CLEAR.
        objects.push(marking_definition(Tlp::Clear));
    }
    let bundle_id = format!(
        "bundle--{}",
        Uuid::new_v5(&NAMESPACE, format!("bundle|{id}|{now}").as_bytes())
    );
    json!({ "type": "bundle", "id": bundle_id, "objects": objects })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp2_marking_ids_are_the_first_published_ones() {
        // Checked against oasis-open/cti-stix-common-objects,
        // extension-definition-specifications/tlp-2.0/.
        assert_eq!(
            Tlp::AmberStrict.marking_id(),
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        );
        let md = marking_definition(Tlp::Green);
        assert_eq!(md["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"], "green");
        assert_eq!(md["name"], "TLP:GREEN");
    }

    #[test]
    fn stix_times_have_millisecond_precision() {
        let t: Timestamp = "2026-11-14T02:30:00Z".parse().unwrap();
        assert_eq!(stix_time(t), "2026-11-14T02:30:00.000Z");
    }
}
