//! The committed sample bundle (`tests/vectors/signed-bundle.json`, written
//! by `cargo run -p provenance --example write_samples`) still verifies: a
//! format change that would strand signatures already published fails here.
//! The same bundle is checked by stix2-validator in `tests/provenance/`.

use provenance::{Assessed, Fingerprint, PinnedKeys, ProvenanceState, assess, canonicalize};

fn vectors() -> (Vec<String>, Fingerprint) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let bundle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("signed-bundle.json")).expect("bundle"),
    )
    .expect("JSON");
    let objects = bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| serde_json::to_string(o).expect("serialises"))
        .collect();
    let pinned = std::fs::read_to_string(dir.join("pinned.txt"))
        .expect("pinned.txt")
        .trim()
        .parse()
        .expect("a fingerprint");
    (objects, pinned)
}

#[test]
fn the_sample_bundle_verifies_with_its_pinned_key() {
    let (objects, key) = vectors();
    let refs: Vec<&str> = objects.iter().map(String::as_str).collect();
    let results = assess(&refs, &[key].into_iter().collect());
    let mut verified = 0;
    let mut signatures = 0;
    for (raw, result) in refs.iter().zip(&results) {
        match result {
            Assessed::Content {
                id: Some(id),
                state,
                signatures: checks,
            } => {
                if id.starts_with("identity--") || id.starts_with("extension-definition--") {
                    assert_eq!(*state, ProvenanceState::Unsigned, "{id}");
                } else {
                    assert!(
                        matches!(state, ProvenanceState::Verified { origin, .. } if *origin == key),
                        "{id}: {state}"
                    );
                    verified += 1;
                }
                assert!(checks.iter().all(|c| c.result.is_ok()), "{id}");
            }
            Assessed::Manifest { verdict, .. } => {
                assert_eq!(verdict.as_ref().expect("verifies").entries, 6);
            }
            Assessed::Signature { verdict, .. } => {
                assert_eq!(verdict.as_ref().expect("verifies").signer, key);
                signatures += 1;
            }
            other => panic!("{raw}: {other:?}"),
        }
    }
    assert_eq!((verified, signatures), (6, 2));

    // The same bundle with no pins: nothing is verified.
    let results = assess(&refs, &PinnedKeys::new());
    assert!(results.iter().all(|r| match r {
        Assessed::Content { state, .. } => *state == ProvenanceState::Unsigned,
        Assessed::Manifest { verdict, .. } => verdict.is_err(),
        Assessed::Signature { verdict, .. } => verdict.is_err(),
    }));
}

#[test]
fn the_sample_bundle_carries_the_current_extension_definitions() {
    let (objects, _) = vectors();
    for definition in provenance::extension_definitions() {
        let canonical = canonicalize(&definition).expect("JSON");
        assert!(
            objects
                .iter()
                .any(|o| canonicalize(o).expect("JSON") == canonical),
            "the bundle lacks {definition}"
        );
    }
}
