//! The `next` paging cursor: stateless and opaque.
//!
//! A cursor carries the `date_added` of the last item delivered and a
//! fingerprint of the query it belongs to. Because `date_added` is unique and
//! strictly increasing, "items after this one" is exact whichever process
//! answers the next page, and nothing is kept in memory between requests.
//! The cursor grants nothing: every page re-applies the caller's rights.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use stix::Timestamp;

const VERSION: u8 = 1;
const LEN: usize = 1 + 8 + 8;

/// A decoded cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub after: Timestamp,
    pub fingerprint: u64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the next parameter is not a cursor issued by this server")]
    Malformed,
    #[error("the next parameter belongs to a different query; repeat the original filters with it")]
    WrongQuery,
}

/// A stable fingerprint of the parts of a query that must not change between pages.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    u64::from_le_bytes(out)
}

impl Cursor {
    pub fn encode(&self) -> String {
        let mut bytes = [0u8; LEN];
        bytes[0] = VERSION;
        bytes[1..9].copy_from_slice(&self.after.as_micros().to_le_bytes());
        bytes[9..17].copy_from_slice(&self.fingerprint.to_le_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes `text` and checks it belongs to the query with `fingerprint`.
    pub fn decode(text: &str, fingerprint: u64) -> Result<Cursor, CursorError> {
        if text.len() > 64 {
            return Err(CursorError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map_err(|_| CursorError::Malformed)?;
        if bytes.len() != LEN || bytes[0] != VERSION {
            return Err(CursorError::Malformed);
        }
        let mut after = [0u8; 8];
        after.copy_from_slice(&bytes[1..9]);
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&bytes[9..17]);
        let cursor = Cursor {
            after: Timestamp::from_micros(i64::from_le_bytes(after)),
            fingerprint: u64::from_le_bytes(fp),
        };
        if cursor.fingerprint != fingerprint {
            return Err(CursorError::WrongQuery);
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let fp = fingerprint(&["objects", "c1", "type=indicator"]);
        let c = Cursor {
            after: Timestamp::from_micros(1_700_000_000_123_456),
            fingerprint: fp,
        };
        let text = c.encode();
        assert_eq!(Cursor::decode(&text, fp), Ok(c));
        assert_eq!(
            Cursor::decode(&text, fingerprint(&["objects", "c1", "type=malware"])),
            Err(CursorError::WrongQuery)
        );
        for bad in ["", "!!", "AAAA", &"A".repeat(100), &text[..text.len() - 1]] {
            assert!(Cursor::decode(bad, fp).is_err(), "{bad}");
        }
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
