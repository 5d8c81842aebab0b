//! The validator through its public API: the facts it extracts for the layers
//! above, the pattern hook, and the places where Entente deliberately accepts
//! what the OASIS stix2-validator refuses (each explained below; these cannot
//! be vectors, because every valid vector must also pass stix2-validator).

use std::sync::Arc;

use serde_json::{Value, json};
use stix::{ObjectKind, PatternCheck, Rejection, StixObject, Timestamp, Validator};

fn validate(object: &Value) -> Result<StixObject, Rejection> {
    Validator::new().validate_str(0, &object.to_string())
}

fn indicator() -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-09-14T08:00:00.000Z",
        "modified": "2026-09-15T08:00:00.123456Z",
        "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
        "granular_markings": [{
            "marking_ref": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            "selectors": ["description"]
        }],
        "description": "Delivery domain",
        "pattern": "[domain-name:value = 'cdn-sync-update.example']",
        "pattern_type": "stix",
        "valid_from": "2026-09-01T00:00:00Z",
        "x_helpdesk_related_ref": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
        "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]
    })
}

#[test]
fn extracts_the_facts_the_store_and_sharing_layers_use() {
    let object = validate(&indicator()).unwrap();
    assert_eq!(object.object_type, "indicator");
    assert_eq!(object.kind, ObjectKind::Domain);
    assert_eq!(object.spec_version.as_deref(), Some("2.1"));
    assert_eq!(
        object.created,
        Some(Timestamp::parse("2026-09-14T08:00:00.000Z").unwrap())
    );
    assert_eq!(
        object.version(),
        Some(Timestamp::parse("2026-09-15T08:00:00.123456Z").unwrap())
    );
    assert_eq!(
        object.created_by_ref.as_deref(),
        Some("identity--f431f809-377b-45e0-aa1c-6a4751cae5ff")
    );
    assert_eq!(
        object.object_marking_refs,
        ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]
    );
    assert_eq!(
        object.granular_marking_refs,
        ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]
    );
    assert_eq!(
        object.references,
        [
            "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
            "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
        ]
    );
    assert!(object.warnings.is_empty());
}

#[test]
fn marking_definitions_are_versioned_by_created_and_scos_not_at_all() {
    let tlp = validate(&json!({
        "type": "marking-definition", "spec_version": "2.1",
        "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp",
        "name": "TLP:GREEN", "definition": {"tlp": "green"}
    }))
    .unwrap();
    assert_eq!(tlp.kind, ObjectKind::MarkingDefinition);
    assert_eq!(tlp.modified, None);
    assert_eq!(tlp.version(), tlp.created);

    let domain = validate(&json!({
        "type": "domain-name", "id": "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7",
        "value": "example.com"
    }))
    .unwrap();
    assert_eq!(domain.kind, ObjectKind::Observable);
    assert_eq!(domain.spec_version, None);
    assert_eq!(domain.effective_spec_version(), "2.1");
    assert_eq!(domain.version(), None);
}

#[test]
fn custom_objects_take_the_kind_they_declare_or_look_like() {
    let sco_like = validate(&json!({
        "type": "x-mobile-device", "id": "x-mobile-device--e7d1a0c4-3c86-4b5a-9a2b-0f1e2d3c4b5a",
        "model": "iPhone 14"
    }))
    .unwrap();
    assert_eq!(sco_like.kind, ObjectKind::Custom);
    assert_eq!(sco_like.version(), None);

    let sdo_like = json!({
        "type": "x-helpdesk-case", "id": "x-helpdesk-case--e7d1a0c4-3c86-4b5a-9a2b-0f1e2d3c4b5a",
        "created": "2026-09-14T08:00:00.000Z", "modified": "2026-09-14T08:00:00.000Z",
        "case_status": "open"
    });
    let rejection = validate(&sdo_like).unwrap_err();
    assert_eq!(rejection.problems.len(), 1, "{rejection}");
    assert_eq!(rejection.problems[0].path, "$.spec_version");
    assert!(rejection.problems[0].reason.contains("STIX 2.0"));
}

#[test]
fn the_pattern_check_hook_reports_at_the_pattern() {
    struct OnlyStix;
    impl PatternCheck for OnlyStix {
        fn check(&self, pattern: &str, pattern_type: &str, _: Option<&str>) -> Result<(), String> {
            if pattern_type == "stix" && !pattern.starts_with('[') {
                Err("a STIX pattern starts with '['".into())
            } else {
                Ok(())
            }
        }
    }
    let validator = Validator::new().with_pattern_check(Arc::new(OnlyStix));
    let mut object = indicator();
    object["pattern"] = json!("domain-name:value = 'x'");
    let rejection = validator.validate_str(4, &object.to_string()).unwrap_err();
    assert_eq!(rejection.index, 4);
    assert_eq!(
        rejection.id.as_deref(),
        Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    );
    assert_eq!(rejection.problems[0].path, "$.pattern");
    assert_eq!(
        rejection.message(),
        "$.pattern: a STIX pattern starts with '['"
    );
    assert!(validator.validate_str(0, &indicator().to_string()).is_ok());
    assert_eq!(
        rejection.version,
        Some(Timestamp::parse("2026-09-15T08:00:00.123456Z").unwrap()),
        "the version of a refused object, for TAXII status failures"
    );
}

#[test]
fn every_problem_of_an_object_is_reported_at_once() {
    let mut object = indicator();
    object["confidence"] = json!(300);
    object["kill_chain_phases"][0]
        .as_object_mut()
        .unwrap()
        .remove("phase_name");
    object["valid_until"] = json!("2020-01-01T00:00:00Z");
    let rejection = validate(&object).unwrap_err();
    let paths: Vec<&str> = rejection.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "$.confidence",
            "$.kill_chain_phases[0].phase_name",
            "$.valid_until"
        ]
    );
    assert!(
        rejection
            .to_string()
            .starts_with("object 0 (indicator--8e2e2d2b")
    );
}

// Deliberately accepted although stix2-validator refuses them.

#[test]
fn defanged_observables_may_carry_defanged_values() {
    // `defanged: true` says the value was broken on purpose; holding it to
    // RFC 1034 would make the property useless for the objects it exists for.
    for (ty, value) in [
        ("domain-name", "cdn-sync-update[.]example"),
        ("url", "hxxps[:]//cdn-sync-update[.]example/l/7f3a"),
        ("ipv4-addr", "198.51.100[.]7"),
    ] {
        let object = json!({
            "type": ty, "spec_version": "2.1",
            "id": format!("{ty}--a7a2a4bb-5e43-4d8e-9d88-3c3b8f0f6d11"),
            "value": value, "defanged": true
        });
        assert!(validate(&object).is_ok(), "{ty} {value}");
        let mut live = object.clone();
        live.as_object_mut().unwrap().remove("defanged");
        assert!(validate(&live).is_err(), "{ty} {value} without defanged");
    }
}

#[test]
fn granular_markings_may_apply_a_language() {
    // STIX 2.1 section 7.2.3: a granular marking has a marking_ref or a lang;
    // the reference schema demands marking_ref.
    let mut object = indicator();
    object["granular_markings"] = json!([{"lang": "de", "selectors": ["description"]}]);
    let accepted = validate(&object).unwrap();
    assert!(accepted.granular_marking_refs.is_empty());
}

#[test]
fn email_headers_may_be_single_element_lists() {
    // STIX 2.1 section 6.6: each additional_header_fields value MUST be a list
    // of strings; the reference schema wants two or more items or a string.
    let object = json!({
        "type": "email-message", "spec_version": "2.1",
        "id": "email-message--0c57a381-2a17-5e61-8754-5ef96efb286c",
        "is_multipart": false, "subject": "Did you see this?",
        "additional_header_fields": {"Reply-To": ["steve@example.com"]}
    });
    assert!(validate(&object).is_ok());
}

#[test]
fn observable_container_objects_need_no_id_and_raise_a_deprecation_warning() {
    // The reference crashes on container objects without an id, which
    // STIX 2.0 never gave them.
    let object = json!({
        "type": "observed-data", "spec_version": "2.1",
        "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
        "created": "2016-04-06T19:58:16.000Z", "modified": "2016-04-06T19:58:16.000Z",
        "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2015-12-21T19:00:00Z",
        "number_observed": 50,
        "objects": {
            "0": {"type": "ipv4-addr", "value": "198.51.100.3"},
            "1": {"type": "network-traffic", "dst_ref": "0", "protocols": ["tcp"]}
        }
    });
    let accepted = validate(&object).unwrap();
    assert_eq!(accepted.warnings.len(), 1);
    assert_eq!(accepted.warnings[0].path, "$.objects");
    assert!(accepted.warnings[0].reason.contains("deprecated"));
}

#[test]
fn rfc_9562_uuids_and_prefixed_tlsh_digests_are_accepted() {
    // RFC 9562 obsoletes RFC 4122 and defines versions 6 to 8; TLSH digests
    // have carried a "T1" version prefix since TLSH 4.
    let mut object = indicator();
    object["id"] = json!("indicator--01890a5d-ac96-774b-bcce-b302099a8057");
    assert!(validate(&object).is_ok());
    let file = json!({
        "type": "file", "spec_version": "2.1",
        "id": "file--5d0833b7-065e-571f-8bf2-657cb9569570",
        "hashes": {"TLSH": format!("T1{}", "a1".repeat(35))}
    });
    assert!(validate(&file).is_ok());
}

#[test]
fn hostile_shapes_are_refused_or_handled_without_blowing_up() {
    // Nesting deeper than serde_json's limit (128) is refused, not recursed into.
    let text = format!(
        r#"{{"type":"x-deep","id":"x-deep--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","x_deep":{}{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let rejection = Validator::new().validate_str(0, &text).unwrap_err();
    assert!(
        rejection.problems[0].reason.contains("recursion limit"),
        "{rejection}"
    );

    // Many keys: checked in n log n, and a repeated one is still found.
    let mut wide = indicator();
    for i in 0..20_000 {
        wide[format!("x_k{i:05}")] = json!(i);
    }
    let started = std::time::Instant::now();
    assert!(validate(&wide).is_ok());
    let repeated = wide.to_string().replacen('{', "{\"x_k00042\":1,", 1);
    let rejection = Validator::new().validate_str(0, &repeated).unwrap_err();
    assert!(
        rejection.problems[0]
            .reason
            .contains("\"x_k00042\" appears more than once")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
