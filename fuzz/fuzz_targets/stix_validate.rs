#![no_main]
//! Any bytes: splitting, validating and describing the result must never panic.
//! Seed it with the vectors: `cargo fuzz run stix_validate corpus
//! ../crates/stix/tests/vectors/valid ../crates/stix/tests/vectors/invalid`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let validator = stix::Validator::new();
    if let Ok(envelope) = stix::split_envelope(data) {
        for (i, raw) in envelope.objects.iter().enumerate() {
            match validator.validate(i, raw) {
                Ok(object) => {
                    assert_eq!(&*object.raw, raw.get());
                    assert!(object.id.starts_with(&object.object_type));
                }
                Err(rejection) => {
                    assert!(!rejection.problems.is_empty());
                    let _ = rejection.to_string();
                }
            }
        }
    }
});
