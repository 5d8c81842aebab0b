//! The record's schema and model agree; notifications and the STIX export
//! come out as documented.

use std::path::Path;

use jiff::Timestamp;
use reporting::render::{markdown, notification};
use reporting::stix_export::{ExportOptions, export_bundle};
use reporting::vocab::{DoraType, GdprRisk, Nis2Class, SecFiler, Tlp, UsCiSector};
use reporting::{RuleSet, assess, parse_record, schema};
use serde_json::Value;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

fn rules() -> RuleSet {
    RuleSet::embedded().unwrap()
}

#[test]
fn the_full_record_uses_every_schema_field_and_parses() {
    let text = read("tests/data/full-record.json");
    let rules = rules();
    let incident = parse_record(&rules, &text).unwrap_or_else(|e| panic!("{e}"));
    // Round trip: nothing the model knows is lost.
    let value = incident.to_value();
    let original: Value = serde_json::from_str(&text).unwrap();
    for path in schema::field_paths() {
        if path == "$schema" {
            continue;
        }
        let pointer = format!("/{}", path.replace('.', "/"));
        assert!(
            original.pointer(&pointer).is_some(),
            "tests/data/full-record.json lacks schema field `{path}`"
        );
        assert!(
            value.pointer(&pointer).is_some(),
            "the model drops schema field `{path}`"
        );
    }
}

#[test]
fn vocabularies_match_the_schema_enums() {
    let names = |all: Vec<&str>| all.into_iter().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        schema::enum_values("entity.nis2_class").unwrap(),
        names(Nis2Class::ALL.iter().map(|v| v.as_str()).collect())
    );
    assert_eq!(
        schema::enum_values("entity.dora_type").unwrap(),
        names(DoraType::ALL.iter().map(|v| v.as_str()).collect())
    );
    assert_eq!(
        schema::enum_values("entity.sec_filer").unwrap(),
        names(SecFiler::ALL.iter().map(|v| v.as_str()).collect())
    );
    assert_eq!(
        schema::enum_values("entity.us_ci_sector").unwrap(),
        names(UsCiSector::ALL.iter().map(|v| v.as_str()).collect())
    );
    assert_eq!(
        schema::enum_values("gdpr_risk").unwrap(),
        names(GdprRisk::ALL.iter().map(|v| v.as_str()).collect())
    );
    assert_eq!(
        schema::enum_values("tlp").unwrap(),
        names(Tlp::ALL.iter().map(|v| v.as_str()).collect())
    );
}

fn v1() -> (RuleSet, reporting::Incident, reporting::Assessment) {
    let rules = rules();
    let incident = parse_record(
        &rules,
        &read("tests/vectors/v01-energy-ransomware-eu-us/incident.json"),
    )
    .unwrap();
    let at: Timestamp = "2026-11-16T20:00:00Z".parse().unwrap();
    let assessment = assess(&rules, &incident, at).unwrap();
    (rules, incident, assessment)
}

#[test]
fn a_notification_has_the_regime_headings_and_marks_what_is_missing() {
    let (rules, incident, assessment) = v1();
    let n = notification(&rules, &incident, &assessment, "nis2", "final").unwrap();
    assert!(!n.ready);
    assert_eq!(n.missing, ["threat_type", "root_cause"]);
    assert_eq!(n.due.as_deref(), Some("2026-12-16T15:00:00Z"));
    let md = markdown(&n);
    assert!(
        md.starts_with("# NIS2 Directive, Article 23 — Final report"),
        "{md}"
    );
    assert!(md.contains("## Type of threat or root cause"), "{md}");
    assert!(
        md.contains("**Type of threat:** **[MISSING — required]**"),
        "{md}"
    );
    assert!(md.contains("- VPN appliance isolated"), "{md}");
    assert!(
        md.contains("(local: 2026-12-16T16:00:00+01:00[Europe/Berlin])"),
        "{md}"
    );

    let gdpr = notification(&rules, &incident, &assessment, "gdpr", "notification").unwrap();
    assert!(gdpr.ready);
    let md = markdown(&gdpr);
    for heading in [
        "## (a) Nature of the personal data breach",
        "## (b) Data protection officer or other contact point",
        "## (c) Likely consequences",
        "## (d) Measures taken or proposed",
    ] {
        assert!(md.contains(heading), "missing {heading} in\n{md}");
    }
}

#[test]
fn rendering_an_inapplicable_regime_or_unknown_stage_is_an_error() {
    let (rules, incident, assessment) = v1();
    let err = notification(&rules, &incident, &assessment, "dora", "initial").unwrap_err();
    assert!(err.to_string().contains("does not apply"), "{err}");
    let err = notification(&rules, &incident, &assessment, "nis2", "initial").unwrap_err();
    assert!(
        err.to_string().contains("its stages are: early-warning"),
        "{err}"
    );
    let err = notification(&rules, &incident, &assessment, "nis9", "final").unwrap_err();
    assert!(err.to_string().contains("known regimes: nis2"), "{err}");
}

#[test]
fn the_stix_export_is_valid_marked_and_shares_no_contacts() {
    let (_, incident, assessment) = v1();
    let now: Timestamp = "2026-11-17T00:00:00Z".parse().unwrap();
    let bundle = export_bundle(&incident, &assessment, &ExportOptions::new(now));
    let objects = bundle["objects"].as_array().unwrap();
    let validator = stix::Validator::new();
    for (index, object) in objects.iter().enumerate() {
        validator
            .validate_str(index, &object.to_string())
            .unwrap_or_else(|e| panic!("object {index} rejected: {}", e.message()));
    }
    let incident_object = &objects[0];
    assert_eq!(incident_object["type"], "incident");
    assert_eq!(
        incident_object["object_marking_refs"][0],
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    );
    let facts = &incident_object["extensions"][reporting::stix_export::EXTENSION_ID];
    assert_eq!(facts["extension_type"], "property-extension");
    assert_eq!(
        facts["regimes_applicable"],
        serde_json::json!(["nis2", "gdpr", "circia"])
    );
    assert_eq!(
        facts["submissions"]["nis2"]["notification"],
        "2026-11-16T15:00:00.000Z"
    );
    let text = bundle.to_string();
    assert!(!text.contains("soc@nordwerk.example"), "contact leaked");
    assert!(
        !text.contains("bc1qexamplewalletaddress"),
        "payment instructions leaked"
    );
    assert!(
        !text.contains("Nordwerk Energie GmbH"),
        "entity named without consent"
    );
    // Pure: the same inputs give the same bytes.
    assert_eq!(
        text,
        export_bundle(&incident, &assessment, &ExportOptions::new(now)).to_string()
    );
}

#[test]
fn naming_the_entity_is_a_choice() {
    let (_, incident, assessment) = v1();
    let now: Timestamp = "2026-11-17T00:00:00Z".parse().unwrap();
    let options = ExportOptions {
        tlp: Tlp::Green,
        identify_entity: true,
        now,
        created: None,
    };
    let bundle = export_bundle(&incident, &assessment, &options);
    let objects = bundle["objects"].as_array().unwrap();
    let identity = objects
        .iter()
        .find(|o| o["type"] == "identity" && o["name"] == "Nordwerk Energie GmbH")
        .expect("entity identity");
    assert_eq!(objects[0]["created_by_ref"], identity["id"]);
    assert_eq!(
        objects[0]["object_marking_refs"][0],
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    );
}

#[test]
fn a_section_marks_a_required_part_that_is_missing() {
    let rules = rules();
    // The contact point (GDPR Art. 33(3)(b)) is required as a name and an
    // e-mail address: none of it, then only half of it.
    for (record, missing) in [
        (
            r#"{"entity": {"legal_name": "X", "gdpr_role": "controller"},
                "personal_data_aware_at": "2026-11-15T09:00:00Z"}"#,
            "**Contact point:** **[MISSING — required: `entity.contact.name`, `entity.contact.email`]**",
        ),
        (
            r#"{"entity": {"legal_name": "X", "gdpr_role": "controller",
                           "contact": {"name": "DPO"}},
                "personal_data_aware_at": "2026-11-15T09:00:00Z"}"#,
            "**[MISSING — required: `entity.contact.email`]**",
        ),
    ] {
        let incident = parse_record(&rules, record).unwrap();
        let at: Timestamp = "2026-11-16T20:00:00Z".parse().unwrap();
        let assessment = assess(&rules, &incident, at).unwrap();
        let n = notification(&rules, &incident, &assessment, "gdpr", "notification").unwrap();
        let contact = n
            .sections
            .iter()
            .flat_map(|s| &s.fields)
            .find(|f| f.path == "entity.contact")
            .unwrap();
        assert!(contact.required && contact.missing, "{contact:?}");
        let md = markdown(&n);
        assert!(md.contains(missing), "{md}");
    }
}

#[test]
fn every_export_of_one_record_has_the_same_created() {
    // One record, one STIX id: exporting it again later makes a new version,
    // which STIX allows only with the same `created`.
    let (_, incident, assessment) = v1();
    let export_at = |at: &str| {
        let options = ExportOptions {
            identify_entity: true,
            ..ExportOptions::new(at.parse().unwrap())
        };
        export_bundle(&incident, &assessment, &options)
    };
    let first = export_at("2026-11-17T00:00:00Z");
    let later = export_at("2026-12-24T08:00:00Z");
    for ty in ["incident", "identity"] {
        let pick = |b: &serde_json::Value| {
            b["objects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["type"] == ty && o["name"] != "Entente")
                .cloned()
                .unwrap()
        };
        let (a, b) = (pick(&first), pick(&later));
        assert_eq!(a["id"], b["id"], "{ty}");
        assert_eq!(a["created"], b["created"], "{ty}");
        assert_ne!(a["modified"], b["modified"], "{ty}");
        assert!(a["created"].as_str().unwrap() <= a["modified"].as_str().unwrap());
    }
    // A `created` given by the caller wins, and never follows `modified`.
    let options = ExportOptions {
        created: Some("2026-11-16T10:00:00Z".parse().unwrap()),
        ..ExportOptions::new("2026-11-17T00:00:00Z".parse().unwrap())
    };
    let bundle = export_bundle(&incident, &assessment, &options);
    assert_eq!(bundle["objects"][0]["created"], "2026-11-16T10:00:00.000Z");
    let options = ExportOptions {
        created: Some("2027-01-01T00:00:00Z".parse().unwrap()),
        ..ExportOptions::new("2026-11-17T00:00:00Z".parse().unwrap())
    };
    let bundle = export_bundle(&incident, &assessment, &options);
    assert_eq!(bundle["objects"][0]["created"], "2026-11-17T00:00:00.000Z");
}
