#![no_main]
//! Any bytes: splitting and validating must never panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let validator = stix::Validator::new();
    if let Ok(envelope) = stix::split_envelope(data) {
        for (i, raw) in envelope.objects.iter().enumerate() {
            let _ = validator.validate(i, raw);
        }
    }
});
