//! Document signatures: an organisation's (or node's) signature over one
//! version of one STIX object, for attribution co-signing (an `opinion`
//! recording a co-signer's position, the `report` being attributed).
//!
//! # Why a detached object, not a property on the signed object
//!
//! The signature is a separate STIX object, `x-entente-signature`:
//!
//! ```json
//! {"type": "x-entente-signature", "spec_version": "2.1",
//!  "id": "x-entente-signature--<uuid>", "created": "...", "modified": "...",
//!  "created_by_ref": "identity--<the signing organisation>",
//!  "extensions": {"extension-definition--a4d9da33-…": {"extension_type": "new-sdo"}},
//!  "object_ref": "report--…", "object_version": "2026-…Z", "object_sha256": "<hex>",
//!  "signer_key": "mldsa65-ed25519:<hex>", "signer_name": "CERT-EE",
//!  "signature": {"alg": "ML-DSA-65-Ed25519", "public_key": "<base64>", "value": "<base64>"}}
//! ```
//!
//! An embedded signature (a property extension on the report) would change
//! the report's bytes without changing its `modified`, which STIX forbids
//! for one version and Entente refuses as "different content under an
//! existing version"; every co-signer would have to version an object only
//! its author may version; and the signature would have to exclude itself
//! and every co-signature added after it. A detached object avoids all of
//! that: the signed object is untouched, each co-signer publishes their own
//! signature object, any number of them accumulate, a signature covers the
//! exact version it names (`object_ref` + `object_version` + SHA-256 of the
//! canonical form), and it cannot cover itself (it signs the canonical form
//! of its own object minus `signature`, which *contains* the digest of the
//! target). `object_ref` also lets Entente's read gate withhold a signature
//! from readers who may not see the signed object.
//!
//! The signature uses the composite context [`CONTEXT`], different from a
//! manifest's, so neither kind can be passed off as the other.

use crate::canonical::{Json, parse};
use crate::composite::{Fingerprint, SigningKey};
use crate::extension::{SIGNATURE_EXTENSION_ID, SIGNATURE_TYPE, new_sdo_extension};
use crate::signed::{
    self, BuildError, ObjectDigest, VerificationError, optional_string, property_error,
    sha256_property, string_property,
};
use crate::verify::PinnedKeys;

/// The composite signature's application context for document signatures.
pub const CONTEXT: &[u8] = b"entente-signature-v1";

/// The optional STIX properties of a document signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureOptions {
    pub created: jiff::Timestamp,
    /// The signing organisation's STIX identity.
    pub created_by_ref: Option<String>,
    /// A human name for the signer (`signer_name`).
    pub signer_name: Option<String>,
    /// Markings of the signature object: those of the signed object, so
    /// that it reaches the same audience.
    pub object_marking_refs: Vec<String>,
}

impl SignatureOptions {
    pub fn now() -> Self {
        SignatureOptions {
            created: jiff::Timestamp::now(),
            created_by_ref: None,
            signer_name: None,
            object_marking_refs: Vec::new(),
        }
    }
}

/// A signature object, made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSignature {
    pub id: String,
    /// The `x-entente-signature` object, canonical JSON.
    pub json: String,
    /// What it signs.
    pub signed: ObjectDigest,
}

/// A signature object whose signature verified under a pinned key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub id: String,
    pub signer: Fingerprint,
    pub signer_name: Option<String>,
    pub created_by_ref: Option<String>,
    pub created: String,
    /// The object version it covers and that version's canonical SHA-256.
    pub signed: ObjectDigest,
}

impl VerifiedSignature {
    /// Checks that `object` (raw JSON) is the object version this signature
    /// covers, unchanged.
    pub fn check_object(&self, object: &str) -> Result<(), VerificationError> {
        let actual =
            signed::object_digest(object).map_err(|e| VerificationError::Object(e.to_string()))?;
        check_digest(&self.signed, &actual)
    }
}

pub(crate) fn check_digest(
    signed: &ObjectDigest,
    actual: &ObjectDigest,
) -> Result<(), VerificationError> {
    if signed.id != actual.id || signed.version != actual.version {
        return Err(VerificationError::ObjectMismatch {
            signed: describe(signed),
            found: describe(actual),
        });
    }
    if signed.sha256 != actual.sha256 {
        return Err(VerificationError::DigestMismatch {
            id: actual.id.clone(),
            signed: hex::encode(signed.sha256),
            actual: hex::encode(actual.sha256),
        });
    }
    Ok(())
}

fn describe(d: &ObjectDigest) -> String {
    match &d.version {
        Some(v) => format!("{} version {v}", d.id),
        None => format!("{} (unversioned)", d.id),
    }
}

/// Signs the canonical form of the STIX object `object` (raw JSON) with `key`.
pub fn sign_document(
    key: &SigningKey,
    object: &str,
    options: &SignatureOptions,
) -> Result<DocumentSignature, BuildError> {
    let target =
        signed::object_digest(object).map_err(|source| BuildError::Object { index: 0, source })?;
    let id = signed::new_id(SIGNATURE_TYPE);
    let created = signed::stix_timestamp(options.created);
    let mut members = vec![
        ("type".to_owned(), Json::string(SIGNATURE_TYPE)),
        ("spec_version".to_owned(), Json::string("2.1")),
        ("id".to_owned(), Json::string(&id)),
        ("created".to_owned(), Json::string(&created)),
        ("modified".to_owned(), Json::string(&created)),
        (
            "extensions".to_owned(),
            new_sdo_extension(SIGNATURE_EXTENSION_ID),
        ),
        ("object_ref".to_owned(), Json::string(&target.id)),
        (
            "object_sha256".to_owned(),
            Json::String(hex::encode(target.sha256)),
        ),
        (
            "signer_key".to_owned(),
            Json::String(key.fingerprint().to_string()),
        ),
    ];
    if let Some(version) = &target.version {
        members.push(("object_version".to_owned(), Json::string(version)));
    }
    if let Some(name) = &options.signer_name {
        members.push(("signer_name".to_owned(), Json::string(name)));
    }
    if let Some(author) = &options.created_by_ref {
        members.push(("created_by_ref".to_owned(), Json::string(author)));
    }
    if !options.object_marking_refs.is_empty() {
        members.push((
            "object_marking_refs".to_owned(),
            Json::Array(
                options
                    .object_marking_refs
                    .iter()
                    .map(Json::string)
                    .collect(),
            ),
        ));
    }
    let json = signed::seal(Json::object(members), key, CONTEXT)?;
    Ok(DocumentSignature {
        id,
        json,
        signed: target,
    })
}

/// Verifies the signature object `raw` itself: a valid signature by a key
/// in `pinned`. Then [`VerifiedSignature::check_object`] checks the object.
pub fn verify_signature(
    raw: &str,
    pinned: &PinnedKeys,
) -> Result<VerifiedSignature, VerificationError> {
    let opened = signed::open(raw, SIGNATURE_TYPE)?;
    let signer = opened.verify(CONTEXT, "signer_key")?;
    let body = &opened.body;
    let id = string_property(body, "id")?;
    if !id.starts_with("x-entente-signature--") {
        return Err(property_error(
            "id",
            format!("{id} is not an {SIGNATURE_TYPE} id"),
        ));
    }
    let signed = ObjectDigest {
        id: string_property(body, "object_ref")?,
        version: optional_string(body, "object_version")?,
        sha256: sha256_property(body.get("object_sha256"), "object_sha256")?,
    };
    let verified = VerifiedSignature {
        id,
        signer,
        signer_name: optional_string(body, "signer_name")?,
        created_by_ref: optional_string(body, "created_by_ref")?,
        created: string_property(body, "created")?,
        signed,
    };
    if !pinned.contains(&signer) {
        return Err(VerificationError::NotPinned { key: signer });
    }
    Ok(verified)
}

/// Verifies the signature object `signature` over the object `object`, both
/// raw JSON: the signature, the pin, and that `object` is what was signed.
pub fn verify_document(
    signature: &str,
    object: &str,
    pinned: &PinnedKeys,
) -> Result<VerifiedSignature, VerificationError> {
    let verified = verify_signature(signature, pinned)?;
    verified.check_object(object)?;
    Ok(verified)
}

/// The `object_ref` and `object_version` a signature object claims, read
/// without verifying anything (to match it with its object).
pub(crate) fn claimed_target(raw: &str) -> Option<(String, Option<String>)> {
    let value = parse(raw).ok()?;
    let id = value.get("object_ref").and_then(Json::as_str)?.to_owned();
    let version = value
        .get("object_version")
        .and_then(Json::as_str)
        .map(str::to_owned);
    Some((id, version))
}
