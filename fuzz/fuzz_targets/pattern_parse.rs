#![no_main]
//! Any text as a STIX pattern: parsing and validating must never panic, and
//! every error must point inside the text. Seed it with the vectors:
//! `cargo fuzz run pattern_parse corpus/pattern_parse`.

use libfuzzer_sys::fuzz_target;
use patterning::{ObjectRules, Rules, StixVersion};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for version in [StixVersion::V20, StixVersion::V21] {
        match patterning::parse_for_version(text, version) {
            Ok(pattern) => {
                for objects in [
                    ObjectRules::Strict,
                    ObjectRules::AllowCustom,
                    ObjectRules::Ignore,
                ] {
                    let rules = Rules {
                        objects,
                        operand_formats: true,
                        version,
                    };
                    for problem in patterning::validate(&pattern, &rules) {
                        assert!(problem.offset <= text.len());
                        assert!(problem.column >= 1 && problem.line >= 1);
                        let _ = problem.to_string();
                    }
                }
                let _ = patterning::CompiledPattern::new(&pattern, version);
            }
            Err(e) => {
                assert!(e.offset <= text.len());
                assert!(e.column >= 1 && e.line >= 1);
                assert!(!e.message.is_empty());
            }
        }
    }
});
