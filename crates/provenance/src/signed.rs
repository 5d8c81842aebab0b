//! What manifests and document signatures share: the digest of a content
//! object, and the signed STIX object itself ("sealing" and "opening").
//!
//! A signed object carries its signature in a top-level `signature`
//! property:
//!
//! ```json
//! "signature": {"alg": "ML-DSA-65-Ed25519", "public_key": "<base64>", "value": "<base64>"}
//! ```
//!
//! The signed message is the RFC 8785 canonical form of the object *without*
//! that property, so the signature never covers itself, and any property
//! added, removed or changed elsewhere breaks it. The object also names its
//! signer's fingerprint in a signed property (`origin_key` or `signer_key`),
//! which must be the fingerprint of `signature.public_key`: the signed
//! content commits to the key, and pinning a fingerprint pins the key.
//! Objects are emitted in canonical form themselves (compact, sorted).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::canonical::{CanonicalError, Json};
use crate::composite::{
    Fingerprint, JOSE_ALGORITHM, PublicKey, SignError, Signature, SigningKey, VerifyError,
};

pub(crate) const SIGNATURE_PROPERTY: &str = "signature";

/// A content object that cannot be listed or signed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(transparent)]
    Json(#[from] CanonicalError),
    #[error("not a JSON object")]
    NotAnObject,
    #[error("it has no string \"id\"")]
    NoId,
    #[error("its \"{0}\" is not a string")]
    Version(&'static str),
}

/// What a manifest entry or a document signature records of one object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectDigest {
    /// The STIX id.
    pub id: String,
    /// `modified`, or `created` when there is no `modified`, or nothing
    /// (SCOs have neither): the version of the object that was hashed.
    pub version: Option<String>,
    /// SHA-256 of the object's RFC 8785 canonical form.
    pub sha256: [u8; 32],
}

/// The id, version and canonical SHA-256 of the STIX object `raw`.
pub fn object_digest(raw: &str) -> Result<ObjectDigest, ObjectError> {
    let value = crate::canonical::parse(raw)?;
    digest_of(&value)
}

pub(crate) fn digest_of(value: &Json) -> Result<ObjectDigest, ObjectError> {
    if !matches!(value, Json::Object(_)) {
        return Err(ObjectError::NotAnObject);
    }
    let id = value
        .get("id")
        .and_then(Json::as_str)
        .ok_or(ObjectError::NoId)?
        .to_owned();
    let version = match (value.get("modified"), value.get("created")) {
        (Some(Json::String(m)), _) => Some(m.clone()),
        (Some(_), _) => return Err(ObjectError::Version("modified")),
        (None, Some(Json::String(c))) => Some(c.clone()),
        (None, Some(_)) => return Err(ObjectError::Version("created")),
        (None, None) => None,
    };
    let mut canonical = Vec::with_capacity(512);
    value.write_canonical(&mut canonical);
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(digest::digest(&digest::SHA256, &canonical).as_ref());
    Ok(ObjectDigest {
        id,
        version,
        sha256,
    })
}

/// A manifest or document signature that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("object {index} cannot be signed: {source}")]
    Object { index: usize, source: ObjectError },
    #[error(
        "object {index} repeats {id} (version {}) of object {first}; a manifest lists each version once",
        version.as_deref().unwrap_or("none")
    )]
    Duplicate {
        index: usize,
        first: usize,
        id: String,
        version: Option<String>,
    },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Why a manifest or document signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerificationError {
    #[error("not canonicalisable JSON: {0}")]
    Json(String),
    #[error("expected an {expected} object, found {found}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("property {name}: {reason}")]
    Property { name: String, reason: String },
    #[error("signature.alg is {0:?}; Entente signs with {JOSE_ALGORITHM}")]
    Algorithm(String),
    #[error("{property} names {claimed}, but signature.public_key is {actual}")]
    KeyMismatch {
        property: &'static str,
        claimed: Fingerprint,
        actual: Fingerprint,
    },
    #[error("the signature by {key} does not verify: {error}")]
    BadSignature {
        key: Fingerprint,
        error: VerifyError,
    },
    #[error("validly signed by {key}, a key that is not pinned")]
    NotPinned { key: Fingerprint },
    #[error("the signature covers {signed}, not {found}")]
    ObjectMismatch { signed: String, found: String },
    #[error(
        "{id} is not what was signed: the SHA-256 of its canonical form is {actual}, the signature covers {signed}"
    )]
    DigestMismatch {
        id: String,
        signed: String,
        actual: String,
    },
    #[error("the signed object cannot be read: {0}")]
    Object(String),
}

pub(crate) fn property_error(
    name: impl Into<String>,
    reason: impl Into<String>,
) -> VerificationError {
    VerificationError::Property {
        name: name.into(),
        reason: reason.into(),
    }
}

/// Signs `body` (which has no `signature` yet) and returns the signed
/// object's canonical JSON.
pub(crate) fn seal(body: Json, key: &SigningKey, ctx: &[u8]) -> Result<String, SignError> {
    let mut message = Vec::with_capacity(1024);
    // The signed object is the body with its signature member in canonical
    // place: written once, and the member spliced in (a manifest's body is
    // most of a megabyte).
    let mark = body.write_canonical_marking(SIGNATURE_PROPERTY, &mut message);
    let signature = key.sign(&message, ctx)?;
    let member = Json::object(vec![
        ("alg".into(), Json::string(JOSE_ALGORITHM)),
        (
            "public_key".into(),
            Json::String(STANDARD.encode(key.public_key().as_bytes())),
        ),
        (
            "value".into(),
            Json::String(STANDARD.encode(signature.as_bytes())),
        ),
    ]);
    let mut signed = Vec::with_capacity(message.len() + 8192);
    signed.extend_from_slice(&message[..mark]);
    let first = message[mark - 1] == b'{';
    let last = message[mark] == b'}';
    if !first {
        signed.push(b',');
    }
    signed.extend_from_slice(b"\"");
    signed.extend_from_slice(SIGNATURE_PROPERTY.as_bytes());
    signed.extend_from_slice(b"\":");
    member.write_canonical(&mut signed);
    if first && !last {
        signed.push(b',');
    }
    signed.extend_from_slice(&message[mark..]);
    debug_assert_eq!(
        {
            let mut whole = body;
            whole.insert(SIGNATURE_PROPERTY, member);
            whole.to_canonical_string()
        },
        crate::canonical::into_string(signed.clone())
    );
    Ok(crate::canonical::into_string(signed))
}

/// A signed object taken apart, its signature not yet checked.
pub(crate) struct Opened {
    /// The object without its `signature` property.
    pub(crate) body: Json,
    public_key: PublicKey,
    signature: Signature,
}

/// Parses `raw`, checks its type and takes its signature out.
pub(crate) fn open(raw: &str, expected_type: &'static str) -> Result<Opened, VerificationError> {
    let mut body =
        crate::canonical::parse(raw).map_err(|e| VerificationError::Json(e.to_string()))?;
    match body.get("type") {
        Some(Json::String(t)) if t == expected_type => {}
        Some(Json::String(t)) => {
            return Err(VerificationError::WrongType {
                expected: expected_type,
                found: t.clone(),
            });
        }
        _ => {
            return Err(VerificationError::WrongType {
                expected: expected_type,
                found: "an object without a string type".into(),
            });
        }
    }
    let block = body
        .remove(SIGNATURE_PROPERTY)
        .ok_or_else(|| property_error(SIGNATURE_PROPERTY, "missing"))?;
    let field = |name: &str| -> Result<&str, VerificationError> {
        block
            .get(name)
            .and_then(Json::as_str)
            .ok_or_else(|| property_error(format!("signature.{name}"), "missing or not a string"))
    };
    let alg = field("alg")?;
    if alg != JOSE_ALGORITHM {
        return Err(VerificationError::Algorithm(alg.to_owned()));
    }
    let public_key = STANDARD
        .decode(field("public_key")?)
        .map_err(|e| property_error("signature.public_key", e.to_string()))
        .and_then(|bytes| {
            PublicKey::from_bytes(&bytes)
                .map_err(|e| property_error("signature.public_key", e.to_string()))
        })?;
    let signature = STANDARD
        .decode(field("value")?)
        .map_err(|e| property_error("signature.value", e.to_string()))
        .and_then(|bytes| {
            let len = bytes.len();
            Signature::from_bytes(&bytes).ok_or_else(|| {
                property_error(
                    "signature.value",
                    format!(
                        "a composite signature is {} bytes, not {len}",
                        crate::composite::SIGNATURE_LEN
                    ),
                )
            })
        })?;
    Ok(Opened {
        body,
        public_key,
        signature,
    })
}

impl Opened {
    /// Checks that `key_property` names the signing key and that the
    /// signature verifies under `ctx`. Returns the signer's fingerprint.
    pub(crate) fn verify(
        &self,
        ctx: &[u8],
        key_property: &'static str,
    ) -> Result<Fingerprint, VerificationError> {
        let actual = self.public_key.fingerprint();
        let claimed: Fingerprint = self
            .body
            .get(key_property)
            .and_then(Json::as_str)
            .ok_or_else(|| property_error(key_property, "missing or not a string"))?
            .parse()
            .map_err(|e: crate::composite::FingerprintError| {
                property_error(key_property, e.to_string())
            })?;
        if claimed != actual {
            return Err(VerificationError::KeyMismatch {
                property: key_property,
                claimed,
                actual,
            });
        }
        let mut message = Vec::with_capacity(1024);
        self.body.write_canonical(&mut message);
        self.public_key
            .verify(&message, ctx, &self.signature)
            .map_err(|error| VerificationError::BadSignature { key: actual, error })?;
        Ok(actual)
    }
}

/// A string property of a signed body.
pub(crate) fn string_property(body: &Json, name: &str) -> Result<String, VerificationError> {
    body.get(name)
        .and_then(Json::as_str)
        .map(str::to_owned)
        .ok_or_else(|| property_error(name, "missing or not a string"))
}

/// An optional string property of a signed body.
pub(crate) fn optional_string(
    body: &Json,
    name: &str,
) -> Result<Option<String>, VerificationError> {
    match body.get(name) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(property_error(name, "not a string")),
    }
}

/// A 64-hex-digit SHA-256.
pub(crate) fn sha256_property(
    value: Option<&Json>,
    name: &str,
) -> Result<[u8; 32], VerificationError> {
    let text = value
        .and_then(Json::as_str)
        .ok_or_else(|| property_error(name, "missing or not a string"))?;
    let mut out = [0u8; 32];
    if text.len() != 64
        || text.bytes().any(|b| b.is_ascii_uppercase())
        || hex::decode_to_slice(text, &mut out).is_err()
    {
        return Err(property_error(name, "not 64 lowercase hex digits"));
    }
    Ok(out)
}

/// A new random STIX id of `kind`.
pub(crate) fn new_id(kind: &str) -> String {
    format!("{kind}--{}", uuid::Uuid::new_v4())
}

/// A STIX timestamp with millisecond precision, written the one way the
/// workspace writes them (`stix::Timestamp::to_stix`).
pub(crate) fn stix_timestamp(t: jiff::Timestamp) -> String {
    stix::Timestamp::from_micros(t.as_microsecond())
        .truncated_to_millis()
        .to_stix()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::parse;

    fn sealed(key: &SigningKey, ctx: &[u8]) -> String {
        let body = Json::object(vec![
            ("type".into(), Json::string("x-test")),
            ("id".into(), Json::string("x-test--1")),
            (
                "signer_key".into(),
                Json::String(key.fingerprint().to_string()),
            ),
        ]);
        seal(body, key, ctx).expect("signs")
    }

    /// The signature member is spliced into the canonical body wherever its
    /// name sorts: first, last, between, or alone.
    #[test]
    fn the_signature_lands_in_canonical_place_whatever_the_other_names() {
        let key = SigningKey::generate().expect("key");
        for names in [
            &[][..],
            &["a"][..],
            &["z"][..],
            &["a", "z"][..],
            &["id", "signer_key", "type"][..],
            &["sig", "signaturf", "\u{e9}t\u{e9}", "\u{1f600}"][..],
        ] {
            let body = Json::object(
                names
                    .iter()
                    .map(|n| ((*n).to_string(), Json::string(format!("v-{n}"))))
                    .collect(),
            );
            let mut expected = body.clone();
            let raw = seal(body, &key, crate::manifest::CONTEXT).expect("signs");
            // Canonical as a whole, and the body plus its signature.
            assert_eq!(
                crate::canonical::canonicalize(&raw).unwrap(),
                raw.as_bytes(),
                "{names:?}"
            );
            let parsed = crate::canonical::parse(&raw).unwrap();
            expected.insert(
                SIGNATURE_PROPERTY,
                parsed.get(SIGNATURE_PROPERTY).unwrap().clone(),
            );
            assert_eq!(parsed, expected, "{names:?}");
        }
    }

    #[test]
    fn a_seal_opens_under_its_own_context_only() {
        let key = SigningKey::generate().expect("key");
        let raw = sealed(&key, crate::manifest::CONTEXT);
        let opened = open(&raw, "x-test").expect("opens");
        assert_eq!(
            opened.verify(crate::manifest::CONTEXT, "signer_key"),
            Ok(key.fingerprint())
        );
        assert_eq!(
            opened.verify(crate::document::CONTEXT, "signer_key"),
            Err(VerificationError::BadSignature {
                key: key.fingerprint(),
                error: VerifyError::Both
            })
        );
    }

    #[test]
    fn the_signed_message_is_the_canonical_object_without_its_signature() {
        let key = SigningKey::generate().expect("key");
        let raw = sealed(&key, b"ctx");
        let mut value = parse(&raw).expect("JSON");
        let block = value.remove(SIGNATURE_PROPERTY).expect("signed");
        let signature = Signature::from_bytes(
            &STANDARD
                .decode(block.get("value").and_then(Json::as_str).expect("value"))
                .expect("base64"),
        )
        .expect("length");
        assert_eq!(
            key.public_key().verify(
                br#"{"id":"x-test--1","signer_key":""#
                    .iter()
                    .copied()
                    .chain(key.fingerprint().to_string().bytes())
                    .chain(br#"","type":"x-test"}"#.iter().copied())
                    .collect::<Vec<u8>>()
                    .as_slice(),
                b"ctx",
                &signature
            ),
            Ok(())
        );
    }

    #[test]
    fn an_unknown_algorithm_or_a_short_signature_is_named() {
        let key = SigningKey::generate().expect("key");
        let raw = sealed(&key, b"ctx");
        let other_alg = raw.replace("ML-DSA-65-Ed25519", "ML-DSA-65");
        assert!(matches!(
            open(&other_alg, "x-test"),
            Err(VerificationError::Algorithm(a)) if a == "ML-DSA-65"
        ));
        let mut value: serde_json::Value = serde_json::from_str(&raw).expect("JSON");
        value["signature"]["value"] = serde_json::Value::String(STANDARD.encode([0u8; 64]));
        let err = open(&value.to_string(), "x-test").err().expect("short");
        assert_eq!(
            err.to_string(),
            "property signature.value: a composite signature is 3373 bytes, not 64"
        );
    }
}
