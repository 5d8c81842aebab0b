#![no_main]
//! Any `next` value: decoding must never panic, and whatever decodes must
//! re-encode to itself (a cursor has exactly one spelling).

use libfuzzer_sys::fuzz_target;
use taxii::cursor::Cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for fingerprint in [0u64, 42, u64::MAX] {
        if let Ok(cursor) = Cursor::decode(text, fingerprint) {
            assert_eq!(cursor.encode(), text);
            assert_eq!(cursor.fingerprint, fingerprint);
        }
    }
});
