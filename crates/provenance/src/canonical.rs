//! RFC 8785 JSON Canonicalization Scheme (JCS): the bytes every signature
//! and digest of this crate covers.
//!
//! A relay that re-encodes an object (reorders keys, changes whitespace,
//! writes `1.0` for `1`, `\u00e9` for `é`, `\/` for `/`) leaves its canonical
//! form unchanged; any change of a value changes it.
//!
//! - Members are sorted by their names' UTF-16 code units (RFC 8785 §3.2.3).
//!   Names are first sorted by their UTF-8 bytes (code point order), which is
//!   the same order unless a name holds a character above U+FFFF; only then
//!   is the object sorted again by UTF-16 units.
//! - Numbers are IEEE-754 doubles printed as ECMAScript's
//!   `Number.prototype.toString` does (§3.2.2.3), by `ryu-js`. Integers are
//!   read as doubles too, as in JavaScript: `9007199254740993` becomes
//!   `9007199254740992`. serde_json's `float_roundtrip` feature is on so that
//!   a decimal is read as the double nearest to it, as every JCS
//!   implementation must.
//! - Strings are written as `JSON.stringify` does (§3.2.2.2): `"` and `\`
//!   escaped, the control characters below U+0020 as `\b \t \n \f \r` or
//!   `\u00xx` (lowercase hex), everything else literally as UTF-8.
//! - Input must be I-JSON (RFC 7493), as §3.1 requires: duplicate member
//!   names are refused (otherwise a signer and a reader who keep different
//!   duplicates would see different values under one signature), and so are
//!   lone surrogate escapes (serde_json refuses them).
//!
//! Why our own implementation rather than `serde_jcs` or
//! `serde_json_canonicalizer`: on 30,000 realistic STIX objects (indicators,
//! relationships, files; 596 bytes on average) both crates took 12–15 µs per
//! object, parse included, and this one about 4 µs (parse alone: 2.7 µs),
//! because they re-parse every member name to sort it. Federation verifies
//! every pulled object, so that difference is most of the per-object budget.
//! A property test checks this implementation against
//! `serde_json_canonicalizer` on random documents.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

/// Input that has no canonical form.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    /// Not JSON, or JSON that is not I-JSON (a duplicate member name, a lone
    /// surrogate, a number out of the double range); the message gives the
    /// line and column.
    #[error("not canonicalisable JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The RFC 8785 canonical form of the JSON text `raw`.
pub fn canonicalize(raw: &str) -> Result<Vec<u8>, CanonicalError> {
    let value = parse(raw)?;
    let mut out = Vec::with_capacity(raw.len());
    value.write_canonical(&mut out);
    Ok(out)
}

/// Parses `raw` into a tree whose objects are already in canonical order.
pub(crate) fn parse(raw: &str) -> Result<Json, CanonicalError> {
    Ok(serde_json::from_str(raw)?)
}

/// A parsed JSON value, numbers as doubles, object members sorted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    /// Members in canonical (UTF-16) order, names unique.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An object from members in any order (names must be unique: callers
    /// build these from fixed property names).
    pub(crate) fn object(mut members: Vec<(String, Json)>) -> Json {
        sort_members(&mut members);
        debug_assert!(members.windows(2).all(|w| w[0].0 != w[1].0));
        Json::Object(members)
    }

    pub(crate) fn string(s: impl Into<String>) -> Json {
        Json::String(s.into())
    }

    /// Adds (or replaces) the member `name` of an object, keeping the order.
    pub(crate) fn insert(&mut self, name: &str, value: Json) {
        if let Json::Object(members) = self {
            match members.iter().position(|(k, _)| k == name) {
                Some(at) => members[at].1 = value,
                None => {
                    members.push((name.to_owned(), value));
                    sort_members(members);
                }
            }
        }
    }

    /// The canonical form as text (it is always UTF-8).
    pub(crate) fn to_canonical_string(&self) -> String {
        let mut out = Vec::new();
        self.write_canonical(&mut out);
        into_string(out)
    }

    /// Writes the canonical form of an object and returns where a member
    /// named `name` (ASCII, not among its members) would start: after the
    /// `{` or after the member before it, before that member's comma.
    pub(crate) fn write_canonical_marking(&self, name: &str, out: &mut Vec<u8>) -> usize {
        debug_assert!(name.is_ascii());
        let Json::Object(members) = self else {
            self.write_canonical(out);
            return out.len();
        };
        // For an ASCII name, byte order and UTF-16 order agree (they differ
        // only between two characters above U+D7FF), so this finds the
        // member's place in the canonical order.
        let at = members.partition_point(|(k, _)| k.as_str() < name);
        debug_assert!(members.get(at).is_none_or(|(k, _)| k != name));
        let mut mark = 0;
        out.push(b'{');
        for (i, (key, value)) in members.iter().enumerate() {
            if i == at {
                mark = out.len();
            }
            if i > 0 {
                out.push(b',');
            }
            write_string(key, out);
            out.push(b':');
            value.write_canonical(out);
        }
        if at == members.len() {
            mark = out.len();
        }
        out.push(b'}');
        mark
    }

    /// The member `name` of an object.
    pub(crate) fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// Takes the member `name` out of an object (the order of the others,
    /// hence their canonical form, is unchanged).
    pub(crate) fn remove(&mut self, name: &str) -> Option<Json> {
        match self {
            Json::Object(members) => {
                let at = members.iter().position(|(k, _)| k == name)?;
                Some(members.remove(at).1)
            }
            _ => None,
        }
    }

    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            Json::Number(n) => write_number(*n, out),
            Json::String(s) => write_string(s, out),
            Json::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_canonical(out);
                }
                out.push(b']');
            }
            Json::Object(members) => {
                out.push(b'{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(name, out);
                    out.push(b':');
                    value.write_canonical(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Sorts object members by their names' UTF-16 code units (RFC 8785 §3.2.3).
fn sort_members(members: &mut [(String, Json)]) {
    members.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // Code point order and UTF-16 order differ only where a character
    // above U+FFFF (a surrogate pair in UTF-16) meets one in
    // U+E000..U+FFFF; re-sort only objects where that can happen.
    if members.iter().any(|(k, _)| k.bytes().any(|b| b >= 0xf0)) {
        members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    }
}

/// ECMAScript's Number-to-String. Only finite doubles reach here: JSON text
/// cannot spell NaN or an infinity, and serde_json refuses out-of-range
/// literals such as `1e400`. Negative zero prints as `0`, as in JavaScript.
pub(crate) fn write_number(n: f64, out: &mut Vec<u8>) {
    if n == 0.0 {
        out.push(b'0');
        return;
    }
    let mut buffer = ryu_js::Buffer::new();
    out.extend_from_slice(buffer.format_finite(n).as_bytes());
}

/// Canonical text is made of `&str` pieces and ASCII, so it is UTF-8.
pub(crate) fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Bytes that a JSON string cannot hold literally: `"`, `\` and the
/// control characters below U+0020.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    // Most strings need no escape: copy them whole.
    if !bytes.iter().any(|&b| ESCAPED[usize::from(b)]) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut clean_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[clean_from..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0x0f)]);
                clean_from = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[clean_from..i]);
        out.extend_from_slice(escape);
        clean_from = i + 1;
    }
    out.extend_from_slice(&bytes[clean_from..]);
    out.push(b'"');
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    // JSON has one number type, the double (RFC 8785 §3.2.2.3): integers
    // serde_json reads exactly are rounded to the nearest double, as
    // JavaScript's JSON.parse does.
    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v as f64))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((name, value)) = map.next_entry::<String, Json>()? {
            members.push((name, value));
        }
        sort_members(&mut members);
        if let Some(pair) = members.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(de::Error::custom(format_args!(
                "duplicate member name {:?} (RFC 8785 needs I-JSON)",
                pair[0].0
            )));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(raw: &str) -> String {
        String::from_utf8(canonicalize(raw).expect("canonicalisable")).expect("UTF-8")
    }

    #[test]
    fn duplicate_names_are_refused_with_the_name() {
        let err = canonicalize(r#"{"a":1,"b":{"x":1,"x":2}}"#)
            .expect_err("duplicate")
            .to_string();
        assert!(err.contains("duplicate member name \"x\""), "{err}");
    }

    #[test]
    fn lone_surrogates_and_huge_numbers_are_refused() {
        assert!(canonicalize(r#"{"a":"\ud800"}"#).is_err());
        assert!(canonicalize(r#"{"a":1e400}"#).is_err());
        assert!(canonicalize(r#"{"a":1"#).is_err());
    }

    #[test]
    fn removing_a_member_keeps_the_rest_canonical() {
        let mut v = parse(r#"{"z":1,"signature":"x","a":2}"#).expect("JSON");
        assert_eq!(v.remove("signature"), Some(Json::String("x".into())));
        let mut out = Vec::new();
        v.write_canonical(&mut out);
        assert_eq!(out, br#"{"a":2,"z":1}"#);
        assert_eq!(canon(r#"{"z":1,"a":2}"#).as_bytes(), &out[..]);
    }

    #[test]
    fn supplementary_characters_sort_by_utf16_units() {
        // U+1F600 is D83D DE00 in UTF-16, before U+FB33; by code point it
        // comes after.
        assert_eq!(
            canon("{\"\u{fb33}\":1,\"\u{1f600}\":2}"),
            "{\"\u{1f600}\":2,\"\u{fb33}\":1}"
        );
    }
}
