//! Reading one object's JSON text into a tree that borrows from the text.
//!
//! Validation runs on the ingest path for every object, so the tree is built
//! for that: strings without escapes point into the input instead of being
//! copied, and objects are vectors of entries in input order (STIX objects
//! have a dozen or two keys, where a scan beats a tree of allocations). This
//! made validation about three times faster than `serde_json::Value`.
//!
//! A repeated key is an error. serde_json (like Python's `json`) silently
//! keeps the last of two equal keys; because this node stores and serves
//! objects byte for byte, a consumer whose parser keeps the *first* one would
//! read a different object than the one validated. STIX 2.1 section 2.3 also
//! requires keys to be unique.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// A JSON value borrowing from the text it was read from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Map<'a>),
}

/// A JSON object: its entries in input order, keys unique.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Map<'a> {
    entries: Vec<Entry<'a>>,
}

impl<'a> Map<'a> {
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k.as_ref() == key)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values(&self) -> impl Iterator<Item = &Value<'a>> {
        self.entries.iter().map(|(_, v)| v)
    }
}

type Entry<'a> = (Cow<'a, str>, Value<'a>);

fn entry<'m, 'a>(e: &'m Entry<'a>) -> (&'m str, &'m Value<'a>) {
    (e.0.as_ref(), &e.1)
}

impl<'m, 'a> IntoIterator for &'m Map<'a> {
    type Item = (&'m str, &'m Value<'a>);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'m, Entry<'a>>, fn(&'m Entry<'a>) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries
            .iter()
            .map(entry as fn(&'m Entry<'a>) -> Self::Item)
    }
}

impl<'a> Value<'a> {
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(map) => map.get(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value<'a>>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map<'a>> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    pub fn is_boolean(&self) -> bool {
        matches!(self, Value::Bool(_))
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
}

/// Parses `text` as exactly one JSON value.
pub(crate) fn parse_strict(text: &str) -> Result<Value<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = ValueSeed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Value<'de>, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value<'de>, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(ValueSeed)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value<'de>, A::Error> {
        let mut entries: Vec<Entry<'de>> = Vec::with_capacity(16);
        while let Some(key) = access.next_key_seed(KeySeed)? {
            // Small objects (all real STIX objects) are checked as they are
            // read; large ones once at the end, sorted, so that a hostile
            // object with many keys costs n log n and not n squared.
            if entries.len() < LINEAR_DUPLICATE_CHECK && entries.iter().any(|(k, _)| *k == key) {
                return Err(repeated(&key));
            }
            let value = access.next_value_seed(ValueSeed)?;
            entries.push((key, value));
        }
        if entries.len() > LINEAR_DUPLICATE_CHECK {
            let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
            keys.sort_unstable();
            if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(repeated(pair[0]));
            }
        }
        Ok(Value::Object(Map { entries }))
    }
}

const LINEAR_DUPLICATE_CHECK: usize = 32;

fn repeated<E: de::Error>(key: &str) -> E {
    let shown: String = key.chars().take(100).collect();
    E::custom(format_args!(
        "the key {shown:?} appears more than once in the same JSON object"
    ))
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_value_and_borrows_plain_strings() {
        let text = r#"{"a":[1,-2,3.5,"x",true,null,{"b":{}}],"esc":"a\nb","k\u00e9y":"v"}"#;
        let v = parse_strict(text).unwrap();
        let Value::Object(map) = &v else {
            panic!("not an object")
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "esc", "kéy"]);
        let items = map.get("a").and_then(Value::as_array).unwrap();
        assert_eq!(items.len(), 7);
        assert!(matches!(&items[3], Value::String(Cow::Borrowed("x"))));
        assert!(matches!(map.get("esc"), Some(Value::String(Cow::Owned(s))) if s == "a\nb"));
        assert_eq!(items[2].as_f64(), Some(3.5));
        assert!(items[4].is_true() && items[5].is_null());
        assert!(items[6].get("b").is_some_and(Value::is_object));
    }

    #[test]
    fn refuses_repeated_keys_at_any_depth_and_size() {
        let top = parse_strict(r#"{"name":"a","name":"b"}"#).unwrap_err();
        assert!(
            top.to_string().contains("\"name\" appears more than once"),
            "{top}"
        );
        assert!(parse_strict(r#"{"x":[{"k":1,"k":2}]}"#).is_err());
        let many: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        let unique = format!("{{{}}}", many.join(","));
        assert_eq!(
            parse_strict(&unique)
                .unwrap()
                .as_object()
                .unwrap()
                .keys()
                .count(),
            100
        );
        let repeated = format!("{{{},\"k7\":0}}", many.join(","));
        assert!(
            parse_strict(&repeated)
                .unwrap_err()
                .to_string()
                .contains("\"k7\"")
        );
    }

    #[test]
    fn refuses_trailing_content() {
        assert!(parse_strict(r#"{"a":1} {"b":2}"#).is_err());
    }
}
