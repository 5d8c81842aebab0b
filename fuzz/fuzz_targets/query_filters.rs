#![no_main]
//! Any query string: filter parsing must never panic on any endpoint.

use libfuzzer_sys::fuzz_target;
use taxii::filters::{Endpoint, Filters};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for e in [Endpoint::Objects, Endpoint::Manifest, Endpoint::Object, Endpoint::ObjectDelete, Endpoint::Versions] {
        if let Ok(f) = Filters::parse(Some(text), e) {
            let _ = f.fingerprint(e, "c", "o");
        }
    }
});
