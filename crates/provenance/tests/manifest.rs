//! Manifests end to end: a batch signed at its origin, relayed (re-encoded
//! or altered), then assessed by a receiver with pinned keys.

use provenance::manifest::{ManifestOptions, Origin};
use provenance::signed::BuildError;
use provenance::verify::{Invalidity, ProvenanceState};
use provenance::{
    Assessed, PinnedKeys, ProvenanceIndex, SigningKey, VerificationError, assess, sign_manifest,
    verify_manifest,
};

const INDICATOR: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-11-30T10:15:00.000Z","modified":"2026-11-30T10:15:00.000Z","name":"Spyware C2","pattern":"[domain-name:value = 'c2.example.net']","pattern_type":"stix","valid_from":"2026-11-30T10:15:00Z","confidence":85,"labels":["spyware"]}"#;
const RELATIONSHIP: &str = r#"{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","created":"2026-11-30T10:16:00.000Z","modified":"2026-11-30T10:17:00.000Z","relationship_type":"indicates","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"}"#;
const FILE: &str = r#"{"type":"file","spec_version":"2.1","id":"file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d","name":"payload.apk","size":12345,"hashes":{"SHA-256":"6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}}"#;
const MARKING: &str = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}"#;

const BATCH: [&str; 4] = [INDICATOR, RELATIONSHIP, FILE, MARKING];

fn origin() -> Origin {
    Origin {
        name: "CERT-EE".into(),
        url: Some("https://taxii.example.ee/api1/".into()),
    }
}

fn pinned(key: &SigningKey) -> PinnedKeys {
    [key.fingerprint()].into_iter().collect()
}

/// What a relay that re-encodes (another TAXII server) might do: pretty
/// printing, another key order, numbers written differently.
fn re_encode(raw: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(raw).expect("JSON");
    serde_json::to_string_pretty(&value)
        .expect("serialises")
        .replace("\"confidence\": 85", "\"confidence\": 85.0")
        .replace("\"size\": 12345", "\"size\": 1.2345e4")
}

fn states(results: &[Assessed]) -> Vec<&ProvenanceState> {
    results
        .iter()
        .filter_map(|r| match r {
            Assessed::Content { state, .. } => Some(state),
            _ => None,
        })
        .collect()
}

#[test]
fn a_signed_manifest_verifies_and_lists_every_object_with_its_version() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    assert!(m.id.starts_with("x-entente-manifest--"));
    let v = verify_manifest(&m.json, &pinned(&key)).expect("verifies");
    assert_eq!(v.id, m.id);
    assert_eq!(v.origin, key.fingerprint());
    assert_eq!(v.origin_name, "CERT-EE");
    assert_eq!(
        v.origin_url.as_deref(),
        Some("https://taxii.example.ee/api1/")
    );
    assert_eq!(v.entries, m.entries);
    let versions: Vec<Option<&str>> = v.entries.iter().map(|e| e.version.as_deref()).collect();
    assert_eq!(
        versions,
        [
            Some("2026-11-30T10:15:00.000Z"),
            Some("2026-11-30T10:17:00.000Z"), // modified, not created
            None,                             // an SCO
            Some("2017-01-20T00:00:00.000Z"), // created: a marking has no modified
        ]
    );
    // The emitted manifest is itself in canonical form.
    assert_eq!(
        provenance::canonicalize(&m.json).expect("JSON"),
        m.json.as_bytes()
    );
}

#[test]
fn only_pinned_keys_verify() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    assert_eq!(
        verify_manifest(&m.json, &PinnedKeys::new()),
        Err(VerificationError::NotPinned {
            key: key.fingerprint()
        })
    );
    let other = SigningKey::generate().expect("key");
    assert!(matches!(
        verify_manifest(&m.json, &pinned(&other)),
        Err(VerificationError::NotPinned { .. })
    ));
    // Content listed only by an unpinned manifest is unsigned, not verified.
    let mut all: Vec<&str> = BATCH.to_vec();
    all.push(&m.json);
    let results = assess(&all, &pinned(&other));
    assert!(
        states(&results)
            .iter()
            .all(|s| **s == ProvenanceState::Unsigned)
    );
}

#[test]
fn a_relay_that_re_encodes_objects_and_the_manifest_breaks_nothing() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    let relayed: Vec<String> = BATCH.iter().map(|o| re_encode(o)).collect();
    assert_ne!(relayed[0], INDICATOR);
    let manifest = re_encode(&m.json);
    let mut all: Vec<&str> = relayed.iter().map(String::as_str).collect();
    all.push(&manifest);
    let results = assess(&all, &pinned(&key));
    for state in states(&results) {
        assert_eq!(
            *state,
            ProvenanceState::Verified {
                origin: key.fingerprint(),
                origin_name: "CERT-EE".into(),
                manifest: m.id.clone(),
            }
        );
    }
    assert!(matches!(&results[4], Assessed::Manifest { verdict: Ok(s), .. } if s.entries == 4));
}

#[test]
fn a_relay_that_changes_a_value_makes_that_object_invalid_and_only_it() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    let altered = INDICATOR.replace("c2.example.net", "c2.example.org");
    let results = assess(
        &[&altered, RELATIONSHIP, FILE, MARKING, &m.json],
        &pinned(&key),
    );
    let s = states(&results);
    match s[0] {
        ProvenanceState::Invalid {
            why: Invalidity::Altered {
                manifest, origin, ..
            },
        } => {
            assert_eq!(manifest, &m.id);
            assert_eq!(*origin, key.fingerprint());
        }
        other => panic!("expected altered, got {other}"),
    }
    assert!(s[0].to_string().starts_with("invalid: changed since"));
    assert!(s[1..].iter().all(|s| s.label() == "verified"));
}

#[test]
fn a_tampered_manifest_makes_what_it_lists_invalid() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    // A relay alters the indicator and patches the manifest's digest to match.
    let altered = INDICATOR.replace("c2.example.net", "c2.example.org");
    let new_digest = provenance::object_digest(&altered).expect("digest");
    let old_hex = hex::encode(m.entries[0].sha256);
    let patched = m.json.replace(&old_hex, &hex::encode(new_digest.sha256));
    assert_ne!(patched, m.json);
    let err = verify_manifest(&patched, &pinned(&key)).expect_err("tampered");
    assert!(
        matches!(err, VerificationError::BadSignature { .. }),
        "{err}"
    );

    let results = assess(&[&altered, RELATIONSHIP, &patched], &pinned(&key));
    for state in states(&results) {
        assert!(
            matches!(
                state,
                ProvenanceState::Invalid {
                    why: Invalidity::BadManifest { .. }
                }
            ),
            "{state}"
        );
    }
}

#[test]
fn a_relay_cannot_re_sign_under_the_origins_name() {
    let key = SigningKey::generate().expect("key");
    let relay = SigningKey::generate().expect("key");
    let altered = INDICATOR.replace("c2.example.net", "c2.example.org");
    // The relay signs its own manifest claiming the origin's name: a valid
    // signature by an unpinned key vouches for nothing.
    let forged =
        sign_manifest(&relay, &origin(), &[&altered], &ManifestOptions::now()).expect("signed");
    let results = assess(&[&altered, &forged.json], &pinned(&key));
    assert_eq!(*states(&results)[0], ProvenanceState::Unsigned);
    // Pasting the relay's key and signature under the origin's origin_key
    // is caught: the claimed fingerprint is not the signing key's.
    let origin_fp = key.fingerprint().to_string();
    let pasted = forged
        .json
        .replace(&relay.fingerprint().to_string(), &origin_fp);
    let err = verify_manifest(&pasted, &pinned(&key)).expect_err("mismatch");
    assert!(
        matches!(err, VerificationError::KeyMismatch { .. }),
        "{err}"
    );
    let results = assess(&[&altered, &pasted], &pinned(&key));
    assert_eq!(states(&results)[0].label(), "invalid");
}

#[test]
fn a_genuine_manifest_wins_over_an_injected_broken_one() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    let bogus = sign_manifest(&key, &origin(), &[INDICATOR], &ManifestOptions::now())
        .expect("signed")
        .json
        .replace("CERT-EE", "CERT-XX");
    let mut index = ProvenanceIndex::new(pinned(&key));
    assert!(index.add_manifest(&bogus).is_err());
    assert_eq!(index.state_of(INDICATOR).label(), "invalid");
    // The genuine manifest arrives later (pages can come in any order).
    index.add_manifest(&m.json).expect("genuine");
    assert_eq!(index.state_of(INDICATOR).label(), "verified");
}

#[test]
fn unlisted_objects_and_new_versions_are_unsigned() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &[INDICATOR], &ManifestOptions::now()).expect("signed");
    let mut index = ProvenanceIndex::new(pinned(&key));
    index.add_manifest(&m.json).expect("verifies");
    assert_eq!(index.state_of(RELATIONSHIP), ProvenanceState::Unsigned);
    let newer = INDICATOR.replace(
        "\"modified\":\"2026-11-30T10:15:00.000Z\"",
        "\"modified\":\"2026-12-01T00:00:00.000Z\"",
    );
    assert_eq!(index.state_of(&newer), ProvenanceState::Unsigned);
    assert!(matches!(
        index.state_of("{\"type\":\"indicator\"}"),
        ProvenanceState::Invalid {
            why: Invalidity::Unreadable { .. }
        }
    ));
}

#[test]
fn a_retired_key_still_verifies_what_it_signed_when_pinned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ring = provenance::KeyRing::create(tmp.path()).expect("ring");
    let m =
        sign_manifest(ring.current(), &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    let old = ring.current().fingerprint();
    ring.rotate().expect("rotated");
    let pins: PinnedKeys = ring.keys().iter().map(|k| k.fingerprint).collect();
    assert_eq!(
        verify_manifest(&m.json, &pins).expect("verifies").origin,
        old
    );
}

#[test]
fn bad_batches_are_refused_with_the_object() {
    let key = SigningKey::generate().expect("key");
    let err = sign_manifest(
        &key,
        &origin(),
        &[INDICATOR, FILE, INDICATOR],
        &ManifestOptions::now(),
    )
    .expect_err("duplicate");
    assert!(
        matches!(
            err,
            BuildError::Duplicate {
                index: 2,
                first: 0,
                ..
            }
        ),
        "{err}"
    );
    let err = sign_manifest(
        &key,
        &origin(),
        &[INDICATOR, r#"{"type":"x"}"#],
        &ManifestOptions::now(),
    )
    .expect_err("no id");
    assert_eq!(
        err.to_string(),
        "object 1 cannot be signed: it has no string \"id\""
    );
    let err = sign_manifest(
        &key,
        &origin(),
        &[r#"{"id":1,"id":2}"#],
        &ManifestOptions::now(),
    )
    .expect_err("duplicate member");
    assert!(err.to_string().contains("duplicate member name"), "{err}");
}

#[test]
fn manifest_properties_follow_the_options() {
    let key = SigningKey::generate().expect("key");
    let options = ManifestOptions {
        created: "2026-12-03T05:06:07.891234Z".parse().expect("timestamp"),
        created_by_ref: Some("identity--a463ffb3-1bd9-4d94-b02d-74e4f1658283".into()),
        object_marking_refs: vec![
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da".into(),
        ],
    };
    let m = sign_manifest(&key, &origin(), &BATCH, &options).expect("signed");
    let value: serde_json::Value = serde_json::from_str(&m.json).expect("JSON");
    assert_eq!(value["created"], "2026-12-03T05:06:07.891Z");
    assert_eq!(value["modified"], "2026-12-03T05:06:07.891Z");
    assert_eq!(
        value["created_by_ref"],
        "identity--a463ffb3-1bd9-4d94-b02d-74e4f1658283"
    );
    assert_eq!(
        value["object_marking_refs"][0],
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
    );
    assert_eq!(value["signature"]["alg"], "ML-DSA-65-Ed25519");
    assert_eq!(
        value["entries"][0]["object_ref"],
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    );
}

#[test]
fn manifests_and_extension_definitions_pass_the_stix_validator() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    let validator = stix::Validator::new();
    validator
        .validate_str(0, &m.json)
        .expect("a valid STIX object");
    for (i, d) in provenance::extension_definitions().iter().enumerate() {
        validator.validate_str(i, d).expect("a valid STIX object");
    }
}

#[test]
fn a_manifest_taken_in_twice_answers_the_same_and_objects_waiting_for_it_are_kept() {
    let key = SigningKey::generate().expect("key");
    let m = sign_manifest(&key, &origin(), &BATCH, &ManifestOptions::now()).expect("signed");
    let mut index = ProvenanceIndex::new(pinned(&key));
    // The indicator arrives first: unsigned, and its digest is kept.
    assert_eq!(index.assess(INDICATOR), ProvenanceState::Unsigned);
    assert!(!index.lists("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"));
    let first = index.add_manifest(&m.json).expect("accepted");
    let again = index.add_manifest(&m.json).expect("accepted again");
    assert_eq!(first, again);
    assert!(index.lists("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"));
    // What was kept of the indicator is verified now, without its text.
    let kept = index
        .take_unclaimed("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
        .expect("kept");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].0.as_deref(), Some("2026-11-30T10:15:00.000Z"));
    assert!(matches!(kept[0].1, ProvenanceState::Verified { .. }));
    // Taken once: asking again finds nothing.
    assert!(
        index
            .take_unclaimed("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
            .is_none()
    );
    // The same manifest altered is still examined (and breaks what it lists).
    let altered = m.json.replace("CERT-EE", "CERT-XX");
    assert!(index.add_manifest(&altered).is_err());
}

/// A node serves an object without a TLP marking to its peers with the TLP
/// it handles the object at made explicit (`stix::tlp::with_explicit_marking`);
/// its manifest, cut per TLP and marked with it, hashes the object as posted.
#[test]
fn the_tlp_its_origin_applied_made_explicit_is_not_an_alteration() {
    let amber = stix::Tlp::Amber;
    let key = SigningKey::generate().expect("key");
    let marked_manifest = |objects: &[&str], tlp: stix::Tlp| {
        let options = ManifestOptions {
            object_marking_refs: vec![tlp.marking_id().to_string()],
            ..ManifestOptions::now()
        };
        sign_manifest(&key, &origin(), objects, &options).expect("signed")
    };
    let m = marked_manifest(&[INDICATOR, RELATIONSHIP], amber);
    let served = stix::tlp::with_explicit_marking(INDICATOR, amber).expect("no TLP of its own");
    let with_statement = RELATIONSHIP.replace(
        "\"relationship_type\"",
        "\"object_marking_refs\":[\"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41db\"],\"relationship_type\"",
    );
    let m2 = marked_manifest(&[&with_statement], amber);
    let served_statement =
        stix::tlp::with_explicit_marking(&with_statement, amber).expect("no TLP of its own");

    let mut index = ProvenanceIndex::new(pinned(&key));
    index.add_manifest(&m.json).expect("verifies");
    index.add_manifest(&m2.json).expect("verifies");
    for o in [
        INDICATOR,
        served.as_str(),
        with_statement.as_str(),
        served_statement.as_str(),
    ] {
        assert_eq!(index.state_of(o).label(), "verified", "{o}");
        assert_eq!(
            index.state_of(&re_encode(o)).label(),
            "verified",
            "re-encoded {o}"
        );
    }
    // Offline (`entente verify`) alike.
    let results = assess(&[&m.json, &served, &re_encode(&served)], &pinned(&key));
    assert!(states(&results).iter().all(|s| s.label() == "verified"));

    // Any other marking is an alteration: another TLP than the manifest's,
    // a marking put first, or a changed value with the marking added.
    let green = stix::tlp::with_explicit_marking(INDICATOR, stix::Tlp::Green).expect("added");
    let first = served_statement.replace(
        &format!(
            "[\"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41db\",\"{}\"]",
            amber.marking_id()
        ),
        &format!(
            "[\"{}\",\"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41db\"]",
            amber.marking_id()
        ),
    );
    assert_ne!(first, served_statement);
    let renamed = served.replace("Spyware C2", "Spyware C3");
    for o in [&green, &first, &renamed] {
        assert!(
            matches!(
                index.state_of(o),
                ProvenanceState::Invalid {
                    why: Invalidity::Altered { .. }
                }
            ),
            "{o}"
        );
    }
    // A manifest without a marking vouches for the object as posted only.
    let unmarked =
        sign_manifest(&key, &origin(), &[FILE], &ManifestOptions::now()).expect("signed");
    index.add_manifest(&unmarked.json).expect("verifies");
    let file = stix::tlp::with_explicit_marking(FILE, amber).expect("added");
    assert_eq!(index.state_of(FILE).label(), "verified");
    assert_eq!(index.state_of(&file).label(), "invalid");

    // Stored before its manifest came: the kept digest cannot tell, the
    // text can (the caller assesses it again).
    let mut index = ProvenanceIndex::new(pinned(&key));
    assert_eq!(index.assess(&served), ProvenanceState::Unsigned);
    index.add_manifest(&m.json).expect("verifies");
    assert!(
        index
            .take_unclaimed("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
            .is_none()
    );
    assert_eq!(index.state_of(&served).label(), "verified");
}

/// A relay may take the TLP its origin made explicit off again: the bare
/// form still verifies, and the index names the TLP the pinned manifest
/// that lists it handles it at, for the receiver to apply. Nothing for an
/// altered object, an unlisted one, or a manifest by an unpinned key.
#[test]
fn the_index_names_the_tlp_a_pinned_manifest_handles_an_object_at() {
    let key = SigningKey::generate().expect("key");
    let options = ManifestOptions {
        object_marking_refs: vec![stix::Tlp::Amber.marking_id().to_string()],
        ..ManifestOptions::now()
    };
    let m = sign_manifest(&key, &origin(), &[INDICATOR], &options).expect("signed");
    let mut index = ProvenanceIndex::new(pinned(&key));
    index.add_manifest(&m.json).expect("verifies");
    assert_eq!(
        index.handling_markings(INDICATOR),
        vec![stix::Tlp::Amber.marking_id().to_string()]
    );
    assert_eq!(
        index.handling_markings(&re_encode(INDICATOR)),
        vec![stix::Tlp::Amber.marking_id().to_string()]
    );
    assert!(
        index
            .handling_markings(&INDICATOR.replace("Spyware C2", "Spyware C3"))
            .is_empty()
    );
    assert!(index.handling_markings(RELATIONSHIP).is_empty());
    let stranger = SigningKey::generate().expect("key");
    let mut unpinned = ProvenanceIndex::new(pinned(&stranger));
    let _ = unpinned.add_manifest(&m.json);
    assert!(unpinned.handling_markings(INDICATOR).is_empty());
}
