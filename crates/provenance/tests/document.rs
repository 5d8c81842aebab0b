//! Document signatures for attribution co-signing: each co-signer signs the
//! report (and its own opinion); any recipient checks them offline.

use provenance::document::SignatureOptions;
use provenance::{
    Assessed, PinnedKeys, SigningKey, VerificationError, assess, sign_document, sign_manifest,
    verify_document, verify_manifest, verify_signature,
};

const REPORT: &str = r#"{"type":"report","spec_version":"2.1","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","created":"2026-11-20T09:00:00.000Z","modified":"2026-11-28T17:30:00.000Z","name":"Joint attribution of campaign NIGHT HERON","description":"The signatories attribute the campaign to intrusion set X.","report_types":["threat-actor","attack-pattern"],"published":"2026-11-28T17:30:00Z","object_refs":["campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","intrusion-set--4e78f46f-a023-4e5f-bc24-71b3ca22ec29","relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"],"confidence":80}"#;
const OPINION: &str = r#"{"type":"opinion","spec_version":"2.1","id":"opinion--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","created":"2026-11-29T08:00:00.000Z","modified":"2026-11-29T08:00:00.000Z","created_by_ref":"identity--a463ffb3-1bd9-4d94-b02d-74e4f1658283","opinion":"strongly-agree","explanation":"Infrastructure overlap confirmed by our own telemetry.","object_refs":["report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3"]}"#;

fn options(org: &str) -> SignatureOptions {
    SignatureOptions {
        signer_name: Some(org.into()),
        created_by_ref: Some("identity--a463ffb3-1bd9-4d94-b02d-74e4f1658283".into()),
        ..SignatureOptions::now()
    }
}

fn pinned(keys: &[&SigningKey]) -> PinnedKeys {
    keys.iter().map(|k| k.fingerprint()).collect()
}

#[test]
fn a_signed_opinion_verifies_offline_and_names_its_signer() {
    let key = SigningKey::generate().expect("key");
    let sig = sign_document(&key, OPINION, &options("CERT-EE")).expect("signed");
    assert!(sig.id.starts_with("x-entente-signature--"));
    let v = verify_document(&sig.json, OPINION, &pinned(&[&key])).expect("verifies");
    assert_eq!(v.id, sig.id);
    assert_eq!(v.signer, key.fingerprint());
    assert_eq!(v.signer_name.as_deref(), Some("CERT-EE"));
    assert_eq!(v.signed.id, "opinion--b01efc25-77b4-4003-b18b-f6e24b5cd9f7");
    assert_eq!(
        v.signed.version.as_deref(),
        Some("2026-11-29T08:00:00.000Z")
    );
    // Re-encoded in transit: still the signed object.
    let value: serde_json::Value = serde_json::from_str(OPINION).expect("JSON");
    let pretty = serde_json::to_string_pretty(&value).expect("serialises");
    verify_document(&sig.json, &pretty, &pinned(&[&key])).expect("re-encoding changes nothing");
}

#[test]
fn an_edited_object_or_another_version_is_refused() {
    let key = SigningKey::generate().expect("key");
    let sig = sign_document(&key, REPORT, &options("CERT-EE")).expect("signed");
    let pins = pinned(&[&key]);
    let edited = REPORT.replace("intrusion set X", "intrusion set Y");
    let err = verify_document(&sig.json, &edited, &pins).expect_err("edited");
    assert!(
        matches!(err, VerificationError::DigestMismatch { ref id, .. } if id == "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3"),
        "{err}"
    );
    let newer = REPORT.replace("2026-11-28T17:30:00.000Z", "2026-11-30T00:00:00.000Z");
    let err = verify_document(&sig.json, &newer, &pins).expect_err("other version");
    assert!(
        matches!(err, VerificationError::ObjectMismatch { .. }),
        "{err}"
    );
    let err = verify_document(&sig.json, OPINION, &pins).expect_err("other object");
    assert!(
        matches!(err, VerificationError::ObjectMismatch { .. }),
        "{err}"
    );
}

#[test]
fn the_signature_object_itself_is_tamper_evident() {
    let key = SigningKey::generate().expect("key");
    let sig = sign_document(&key, REPORT, &options("CERT-EE")).expect("signed");
    let pins = pinned(&[&key]);
    // Point the signature at another digest, or rename the signer.
    let digest = hex::encode(provenance::object_digest(REPORT).expect("digest").sha256);
    let forged = sig.json.replace(&digest, &"0".repeat(64));
    assert!(matches!(
        verify_signature(&forged, &pins),
        Err(VerificationError::BadSignature { .. })
    ));
    let renamed = sig.json.replace("CERT-EE", "CERT-US");
    assert!(matches!(
        verify_signature(&renamed, &pins),
        Err(VerificationError::BadSignature { .. })
    ));
    // Strip the signature.
    let mut value: serde_json::Value = serde_json::from_str(&sig.json).expect("JSON");
    value.as_object_mut().expect("object").remove("signature");
    let stripped = value.to_string();
    assert_eq!(
        verify_signature(&stripped, &pins)
            .expect_err("no signature")
            .to_string(),
        "property signature: missing"
    );
    // Only pinned signers count.
    assert_eq!(
        verify_signature(&sig.json, &PinnedKeys::new()),
        Err(VerificationError::NotPinned {
            key: key.fingerprint()
        })
    );
}

#[test]
fn manifests_and_signatures_cannot_stand_in_for_each_other() {
    let key = SigningKey::generate().expect("key");
    let pins = pinned(&[&key]);
    let sig = sign_document(&key, REPORT, &options("CERT-EE")).expect("signed");
    let err = verify_manifest(&sig.json, &pins).expect_err("not a manifest");
    assert!(matches!(err, VerificationError::WrongType { .. }), "{err}");
    let m = sign_manifest(
        &key,
        &provenance::Origin {
            name: "CERT-EE".into(),
            url: None,
        },
        &[REPORT],
        &provenance::manifest::ManifestOptions::now(),
    )
    .expect("signed");
    let err = verify_signature(&m.json, &pins).expect_err("not a signature");
    assert!(matches!(err, VerificationError::WrongType { .. }), "{err}");
    // Renaming the type does not help: the type is part of what was signed
    // (and the two kinds sign under different composite contexts, checked
    // in the `signed` module's unit tests).
    let renamed = m
        .json
        .replace("\"x-entente-manifest\"", "\"x-entente-signature\"");
    assert!(verify_signature(&renamed, &pins).is_err());
}

#[test]
fn co_signatures_accumulate_and_each_is_reported_on_the_report() {
    let ee = SigningKey::generate().expect("key");
    let us = SigningKey::generate().expect("key");
    let stranger = SigningKey::generate().expect("key");
    let by_ee = sign_document(&ee, REPORT, &options("CERT-EE")).expect("signed");
    let by_us = sign_document(&us, REPORT, &options("CISA")).expect("signed");
    let by_stranger = sign_document(&stranger, REPORT, &options("Unknown")).expect("signed");
    let on_opinion = sign_document(&ee, OPINION, &options("CERT-EE")).expect("signed");
    let pins = pinned(&[&ee, &us]);
    let results = assess(
        &[
            REPORT,
            OPINION,
            &by_ee.json,
            &by_us.json,
            &by_stranger.json,
            &on_opinion.json,
        ],
        &pins,
    );
    let Assessed::Content {
        signatures, state, ..
    } = &results[0]
    else {
        panic!("the report is content");
    };
    assert_eq!(state.label(), "unsigned", "no manifest in this set");
    let signers: Vec<_> = signatures
        .iter()
        .filter_map(|c| c.result.as_ref().ok().map(|v| v.signer))
        .collect();
    assert_eq!(signers, vec![ee.fingerprint(), us.fingerprint()]);
    assert_eq!(signatures.len(), 3);
    assert_eq!(
        signatures[2].result,
        Err(VerificationError::NotPinned {
            key: stranger.fingerprint()
        })
    );
    let Assessed::Content { signatures, .. } = &results[1] else {
        panic!("the opinion is content");
    };
    assert_eq!(signatures.len(), 1);
    assert!(matches!(
        &results[2],
        Assessed::Signature { verdict: Ok(_), .. }
    ));

    // The report edited after co-signing: every co-signature now fails.
    let edited = REPORT.replace("\"confidence\":80", "\"confidence\":95");
    let results = assess(&[&edited, &by_ee.json, &by_us.json], &pins);
    let Assessed::Content { signatures, .. } = &results[0] else {
        panic!("content");
    };
    assert!(
        signatures
            .iter()
            .all(|c| matches!(c.result, Err(VerificationError::DigestMismatch { .. })))
    );
    assert!(matches!(
        &results[1],
        Assessed::Signature {
            verdict: Err(VerificationError::DigestMismatch { .. }),
            ..
        }
    ));
}

#[test]
fn signature_objects_pass_the_stix_validator() {
    let key = SigningKey::generate().expect("key");
    let sig = sign_document(&key, REPORT, &options("CERT-EE")).expect("signed");
    stix::Validator::new()
        .validate_str(0, &sig.json)
        .expect("a valid STIX object");
}
