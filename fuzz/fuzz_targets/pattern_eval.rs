#![no_main]
//! A pattern (first line) and observed data (the rest, JSON): evaluation
//! must never panic, and the compiled engine must agree with plain
//! evaluation on every single observation.

use libfuzzer_sys::fuzz_target;
use patterning::{EngineBuilder, EngineOptions, Rules, ScanResult, StixVersion};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((pattern_text, observed)) = text.split_once('\n') else {
        return;
    };
    let Ok(observed) = serde_json::from_str::<serde_json::Value>(observed) else {
        return;
    };
    for version in [StixVersion::V20, StixVersion::V21] {
        let Ok(pattern) = patterning::parse_and_validate(pattern_text, &Rules::reference(version))
        else {
            continue;
        };
        let Ok(observations) = patterning::read_observations(&observed, version, true) else {
            continue;
        };
        let _ = patterning::evaluate(&pattern, &observations, version);
        if version != StixVersion::V21 {
            continue;
        }
        for (i, obs) in observations.iter().enumerate() {
            let Ok(expected) = patterning::evaluate(&pattern, std::slice::from_ref(obs), version)
            else {
                continue;
            };
            let mut builder = EngineBuilder::new(EngineOptions::default());
            if builder.add(0, pattern_text).is_err() {
                return;
            }
            let mut engine = builder.build();
            let mut result = ScanResult::default();
            engine.scan(i as u64, obs, &mut result);
            if result.errors.is_empty() {
                assert_eq!(
                    !result.matches.is_empty(),
                    expected,
                    "engine and evaluation disagree"
                );
            }
        }
    }
});
