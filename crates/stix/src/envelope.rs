//! Splitting input into objects without re-encoding them.
//!
//! Accepted shapes: a STIX bundle, a TAXII envelope (`{"objects": [...]}`), a
//! JSON array of objects, JSON lines (one object per line), or one bare
//! object. Each object comes back as the exact slice of input it was sent as.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Which container the objects arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputShape {
    Bundle,
    TaxiiEnvelope,
    Array,
    JsonLines,
    Single,
}

/// Objects borrowed from the input, in input order.
#[derive(Debug)]
pub struct Envelope<'a> {
    pub shape: InputShape,
    pub objects: Vec<&'a RawValue>,
}

/// The input as a whole could not be read; no object in it was looked at.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("input is not UTF-8 (first invalid byte at offset {0})")]
    NotUtf8(usize),
    #[error("input is empty")]
    Empty,
    #[error("input is not valid JSON: {0}")]
    Json(String),
    #[error("a bundle or envelope must have \"objects\" as a list: {0}")]
    Objects(String),
    #[error("top-level JSON value at line {line} is not an object or a list of objects")]
    NotAnObject { line: usize },
}

/// The two keys that tell a container from an object. `objects` is kept raw
/// because a single observed-data object may have a (deprecated) `objects`
/// dictionary, which is no list of objects to split.
#[derive(Deserialize)]
struct Container<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    objects: Option<&'a RawValue>,
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
}

/// `"objects": null` is an `objects` that is not a list, not a missing one.
fn present<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<&'a RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

fn object_list(objects: &RawValue) -> Result<Vec<&RawValue>, EnvelopeError> {
    serde_json::from_str(objects.get()).map_err(|e| EnvelopeError::Objects(e.to_string()))
}

/// Splits `input` into objects. Fails only when the container itself cannot be
/// read; malformed objects inside a readable container are returned as they are
/// so that the validator can report them one by one.
pub fn split_envelope(input: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    let text = std::str::from_utf8(input).map_err(|e| EnvelopeError::NotUtf8(e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    match trimmed.as_bytes().first() {
        None => Err(EnvelopeError::Empty),
        Some(b'[') => {
            let objects: Vec<&RawValue> =
                serde_json::from_str(trimmed).map_err(|e| EnvelopeError::Json(e.to_string()))?;
            Ok(Envelope {
                shape: InputShape::Array,
                objects,
            })
        }
        Some(b'{') => {
            let mut values = serde_json::Deserializer::from_str(trimmed).into_iter::<&RawValue>();
            let first = values
                .next()
                .ok_or(EnvelopeError::Empty)?
                .map_err(|e| EnvelopeError::Json(e.to_string()))?;
            let mut rest = Vec::new();
            for (line, value) in values.enumerate() {
                let value = value.map_err(|e| EnvelopeError::Json(e.to_string()))?;
                if !value.get().starts_with('{') {
                    return Err(EnvelopeError::NotAnObject { line: line + 2 });
                }
                rest.push(value);
            }
            if !rest.is_empty() {
                let mut objects = Vec::with_capacity(rest.len() + 1);
                objects.push(first);
                objects.extend(rest);
                return Ok(Envelope {
                    shape: InputShape::JsonLines,
                    objects,
                });
            }
            let container: Container<'_> = serde_json::from_str(first.get())
                .map_err(|e| EnvelopeError::Objects(e.to_string()))?;
            match (container.kind.as_deref(), container.objects) {
                (Some("bundle"), objects) => Ok(Envelope {
                    shape: InputShape::Bundle,
                    objects: objects.map(object_list).transpose()?.unwrap_or_default(),
                }),
                (None, Some(objects)) => Ok(Envelope {
                    shape: InputShape::TaxiiEnvelope,
                    objects: object_list(objects)?,
                }),
                // `{}` or `{"more": false}`: an envelope with no objects, not
                // an object without a type.
                (None, None) if is_empty_envelope(first.get()) => Ok(Envelope {
                    shape: InputShape::TaxiiEnvelope,
                    objects: Vec::new(),
                }),
                _ => Ok(Envelope {
                    shape: InputShape::Single,
                    objects: vec![first],
                }),
            }
        }
        Some(_) => Err(EnvelopeError::NotAnObject { line: 1 }),
    }
}

/// Does this JSON object hold nothing but envelope properties?
fn is_empty_envelope(text: &str) -> bool {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
        .is_ok_and(|m| m.keys().all(|k| k == "more" || k == "next"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"{"type":"x-a","id":"x-a--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#;
    const B: &str = r#"{ "type" : "x-b" , "id":"x-b--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" }"#;

    #[test]
    fn keeps_each_object_byte_for_byte() {
        let bundle = format!(
            r#"{{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[{A},  {B}]}}"#
        );
        let env = split_envelope(bundle.as_bytes()).unwrap();
        assert_eq!(env.shape, InputShape::Bundle);
        assert_eq!(env.objects.len(), 2);
        assert_eq!(env.objects[0].get(), A);
        assert_eq!(env.objects[1].get(), B);
    }

    #[test]
    fn objects_that_are_not_a_list_are_the_container_s_error() {
        for input in [
            r#"{"objects": null}"#,
            r#"{"objects": {"a": 1}}"#,
            r#"{"type": "bundle", "id": "bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "objects": null}"#,
        ] {
            let err = split_envelope(input.as_bytes()).unwrap_err();
            assert!(matches!(err, EnvelopeError::Objects(_)), "{input}: {err}");
            assert!(err.to_string().contains("as a list"), "{err}");
        }
    }

    #[test]
    fn recognises_every_shape() {
        let env = format!(r#"{{"objects":[{A}],"more":false}}"#);
        assert_eq!(
            split_envelope(env.as_bytes()).unwrap().shape,
            InputShape::TaxiiEnvelope
        );
        let arr = format!("[{A},{B}]");
        assert_eq!(
            split_envelope(arr.as_bytes()).unwrap().shape,
            InputShape::Array
        );
        let lines = format!("{A}\n{B}\n");
        let env = split_envelope(lines.as_bytes()).unwrap();
        assert_eq!(env.shape, InputShape::JsonLines);
        assert_eq!(env.objects[1].get(), B);
        assert_eq!(
            split_envelope(A.as_bytes()).unwrap().shape,
            InputShape::Single
        );
    }

    #[test]
    fn an_observed_data_object_with_a_deprecated_objects_dictionary_is_one_object() {
        let observed = r#"{"type":"observed-data","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf","objects":{"0":{"type":"ipv4-addr","value":"198.51.100.3"}}}"#;
        let env = split_envelope(observed.as_bytes()).unwrap();
        assert_eq!(env.shape, InputShape::Single);
        assert_eq!(env.objects[0].get(), observed);
        let escaped = r#"{"type":"bun\u0064le","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[]}"#;
        assert_eq!(
            split_envelope(escaped.as_bytes()).unwrap().shape,
            InputShape::Bundle
        );
    }

    #[test]
    fn refuses_unreadable_containers() {
        assert!(matches!(split_envelope(b"  "), Err(EnvelopeError::Empty)));
        assert!(matches!(
            split_envelope(b"{\"objects\": 3}"),
            Err(EnvelopeError::Objects(_))
        ));
        assert!(matches!(
            split_envelope(b"[1, {"),
            Err(EnvelopeError::Json(_))
        ));
        assert!(matches!(
            split_envelope(b"\xff"),
            Err(EnvelopeError::NotUtf8(0))
        ));
        assert!(matches!(
            split_envelope(b"42"),
            Err(EnvelopeError::NotAnObject { .. })
        ));
    }
}
