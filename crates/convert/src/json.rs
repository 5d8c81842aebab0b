//! Writing one STIX object as compact JSON with its properties in the order
//! they are added (`type`, `spec_version`, `id` first, the way people read
//! them). A `serde_json::Map` would sort the keys, and building a `Value`
//! tree per indicator only to print it costs more than printing it directly:
//! a CSV import writes a million of these.

use std::fmt::Write;

use serde_json::Value;

/// A JSON object being written.
pub(crate) struct Obj {
    out: String,
}

impl Obj {
    /// A STIX object of this type and id (`spec_version` 2.1).
    pub fn stix(ty: &str, id: &str) -> Obj {
        Obj::empty()
            .str("type", ty)
            .str("spec_version", "2.1")
            .str("id", id)
    }

    /// An object with no property yet (for nested dictionaries).
    pub fn empty() -> Obj {
        let mut out = String::with_capacity(512);
        out.push('{');
        Obj { out }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        push_str(&mut self.out, key);
        self.out.push(':');
    }

    pub fn str(mut self, key: &str, value: &str) -> Obj {
        self.key(key);
        push_str(&mut self.out, value);
        self
    }

    pub fn opt_str(self, key: &str, value: Option<&str>) -> Obj {
        match value {
            Some(v) => self.str(key, v),
            None => self,
        }
    }

    /// A non-empty string, or nothing (MISP writes absent comments as "").
    pub fn nonempty_str(self, key: &str, value: &str) -> Obj {
        if value.is_empty() {
            self
        } else {
            self.str(key, value)
        }
    }

    pub fn int(mut self, key: &str, value: i64) -> Obj {
        self.key(key);
        let _ = write!(self.out, "{value}");
        self
    }

    pub fn bool(mut self, key: &str, value: bool) -> Obj {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// A list of strings; nothing when the list is empty (STIX lists must not be).
    pub fn strs<S: AsRef<str>>(mut self, key: &str, values: &[S]) -> Obj {
        if values.is_empty() {
            return self;
        }
        self.key(key);
        self.out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            push_str(&mut self.out, v.as_ref());
        }
        self.out.push(']');
        self
    }

    /// Already-serialised JSON (a nested object or a list of them).
    pub fn raw(mut self, key: &str, json: &str) -> Obj {
        self.key(key);
        self.out.push_str(json);
        self
    }

    /// A list of already-serialised JSON values; nothing when empty.
    pub fn raws(mut self, key: &str, values: &[String]) -> Obj {
        if values.is_empty() {
            return self;
        }
        self.key(key);
        self.out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_str(v);
        }
        self.out.push(']');
        self
    }

    pub fn value(mut self, key: &str, value: &Value) -> Obj {
        self.key(key);
        // Writing a `Value` into a `String` cannot fail.
        self.out.push_str(&value.to_string());
        self
    }

    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// Appends `s` as a JSON string literal. Runs of bytes that need no escape
/// are copied whole: indicator values rarely hold any.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b if b < 0x20 => "",
            _ => continue,
        };
        // Every byte matched is ASCII, so `i` is a character boundary.
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_their_order_and_escape_strings() {
        let json = Obj::stix("indicator", "indicator--x")
            .str("name", "a \"quoted\" \\ value\n\u{1}é")
            .int("n", -3)
            .bool("b", true)
            .strs("labels", &["x", "y"])
            .strs::<&str>("empty", &[])
            .raw("nested", &Obj::empty().str("k", "v").finish())
            .finish();
        assert_eq!(
            json,
            r#"{"type":"indicator","spec_version":"2.1","id":"indicator--x","name":"a \"quoted\" \\ value\n\u0001é","n":-3,"b":true,"labels":["x","y"],"nested":{"k":"v"}}"#
        );
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["name"], "a \"quoted\" \\ value\n\u{1}é");
    }
}
