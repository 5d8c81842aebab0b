//! Signed batch manifests: which objects a node published, byte for byte.
//!
//! Signing every object costs 3.3 KB and a fresh ML-DSA signature each; a
//! manifest signs a batch once and lists, per object, the SHA-256 of its
//! RFC 8785 canonical form, so each object stays verifiable on its own
//! while it travels unchanged (objects are never re-encoded or wrapped).
//!
//! ```json
//! {"type": "x-entente-manifest", "spec_version": "2.1",
//!  "id": "x-entente-manifest--<uuid>", "created": "...", "modified": "...",
//!  "extensions": {"extension-definition--817b0600-…": {"extension_type": "new-sdo"}},
//!  "origin_key": "mldsa65-ed25519:<hex>", "origin_name": "CERT-EE", "origin_url": "https://…",
//!  "entries": [{"object_ref": "indicator--…", "object_version": "2026-…Z", "sha256": "<hex>"}, …],
//!  "signature": {"alg": "ML-DSA-65-Ed25519", "public_key": "<base64>", "value": "<base64>"}}
//! ```
//!
//! The signature covers the canonical form of everything but `signature`,
//! under the composite context [`CONTEXT`] (see [`crate::signed`]).
//!
//! Entries are named `object_ref` on purpose: Entente's read gate withholds
//! an object whose `*_ref` properties (at any depth) point at objects the
//! reader may not see, so a manifest that names an object of another
//! audience is not served to that reader. The node must still build one
//! manifest per audience (TLP, recipients), or such manifests would be
//! withheld from everyone who lacks any one of their objects.

use crate::canonical::Json;
use crate::composite::{Fingerprint, SigningKey};
use crate::extension::{MANIFEST_EXTENSION_ID, MANIFEST_TYPE, new_sdo_extension};
use crate::signed::{
    self, BuildError, ObjectDigest, VerificationError, optional_string, property_error,
    sha256_property, string_property,
};
use crate::verify::PinnedKeys;

/// The composite signature's application context for manifests.
pub const CONTEXT: &[u8] = b"entente-manifest-v1";

/// The node that publishes a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// A human name for the node (`origin_name`), e.g. "CERT-EE".
    pub name: String,
    /// The node's TAXII API root or home page (`origin_url`), if it has one.
    pub url: Option<String>,
}

/// The optional STIX properties of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestOptions {
    /// `created` and `modified` (milliseconds are kept).
    pub created: jiff::Timestamp,
    /// The node's STIX identity, if it publishes one.
    pub created_by_ref: Option<String>,
    /// Markings of the manifest itself: the batch's TLP, so that the
    /// manifest reaches exactly the audience of its objects.
    pub object_marking_refs: Vec<String>,
}

impl ManifestOptions {
    /// Created now, no author, no markings.
    pub fn now() -> Self {
        ManifestOptions {
            created: jiff::Timestamp::now(),
            created_by_ref: None,
            object_marking_refs: Vec::new(),
        }
    }
}

/// A manifest, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedManifest {
    pub id: String,
    /// The manifest object, canonical JSON: store and send as it is.
    pub json: String,
    /// What it lists, in the order of the input objects.
    pub entries: Vec<ObjectDigest>,
}

/// A manifest whose signature verified under a pinned key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedManifest {
    pub id: String,
    pub origin: Fingerprint,
    pub origin_name: String,
    pub origin_url: Option<String>,
    pub created: String,
    pub entries: Vec<ObjectDigest>,
}

/// Lists and signs `objects` (raw JSON of STIX objects, each exactly as it
/// will be sent) as published by `origin` with `key`.
pub fn sign_manifest(
    key: &SigningKey,
    origin: &Origin,
    objects: &[&str],
    options: &ManifestOptions,
) -> Result<SignedManifest, BuildError> {
    if origin.name.is_empty() {
        return Err(BuildError::Empty("the origin's name"));
    }
    let mut entries = Vec::with_capacity(objects.len());
    let mut seen = std::collections::HashMap::with_capacity(objects.len());
    for (index, raw) in objects.iter().enumerate() {
        let entry =
            signed::object_digest(raw).map_err(|source| BuildError::Object { index, source })?;
        if let Some(&first) = seen.get(&(entry.id.clone(), entry.version.clone())) {
            return Err(BuildError::Duplicate {
                index,
                first,
                id: entry.id,
                version: entry.version,
            });
        }
        seen.insert((entry.id.clone(), entry.version.clone()), index);
        entries.push(entry);
    }
    let id = signed::new_id(MANIFEST_TYPE);
    let created = signed::stix_timestamp(options.created);
    let mut members = vec![
        ("type".to_owned(), Json::string(MANIFEST_TYPE)),
        ("spec_version".to_owned(), Json::string("2.1")),
        ("id".to_owned(), Json::string(&id)),
        ("created".to_owned(), Json::string(&created)),
        ("modified".to_owned(), Json::string(&created)),
        (
            "extensions".to_owned(),
            new_sdo_extension(MANIFEST_EXTENSION_ID),
        ),
        (
            "origin_key".to_owned(),
            Json::String(key.fingerprint().to_string()),
        ),
        ("origin_name".to_owned(), Json::string(&origin.name)),
        (
            "entries".to_owned(),
            Json::Array(entries.iter().map(entry_json).collect()),
        ),
    ];
    if let Some(url) = &origin.url {
        members.push(("origin_url".to_owned(), Json::string(url)));
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
    Ok(SignedManifest { id, json, entries })
}

fn entry_json(entry: &ObjectDigest) -> Json {
    let mut members = vec![
        ("object_ref".to_owned(), Json::string(&entry.id)),
        ("sha256".to_owned(), Json::String(hex::encode(entry.sha256))),
    ];
    if let Some(version) = &entry.version {
        members.push(("object_version".to_owned(), Json::string(version)));
    }
    Json::object(members)
}

/// Verifies the manifest `raw`: a valid signature by a key in `pinned`.
pub fn verify_manifest(
    raw: &str,
    pinned: &PinnedKeys,
) -> Result<VerifiedManifest, VerificationError> {
    examine(raw, pinned).verdict
}

/// What the provenance index learns from a manifest, valid or not.
pub(crate) struct Examined {
    /// The manifest's id, if it has a readable one.
    pub(crate) id: Option<String>,
    /// The entries it claims, read even when its signature does not verify
    /// (the objects it names are then reported invalid, not unsigned).
    pub(crate) claimed: Vec<ObjectDigest>,
    pub(crate) verdict: Result<VerifiedManifest, VerificationError>,
}

pub(crate) fn examine(raw: &str, pinned: &PinnedKeys) -> Examined {
    let opened = match signed::open(raw, MANIFEST_TYPE) {
        Ok(o) => o,
        Err(e) => {
            return Examined {
                id: crate::canonical::parse(raw)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Json::as_str).map(str::to_owned)),
                claimed: Vec::new(),
                verdict: Err(e),
            };
        }
    };
    let id = opened
        .body
        .get("id")
        .and_then(Json::as_str)
        .map(str::to_owned);
    let entries = read_entries(&opened.body);
    let checked = opened
        .verify(CONTEXT, "origin_key")
        .and_then(|origin| Ok((origin, read_header(&opened.body)?)));
    match (checked, entries) {
        (Ok((origin, header)), Ok(entries)) => Examined {
            id,
            claimed: Vec::new(),
            verdict: if pinned.contains(&origin) {
                Ok(VerifiedManifest {
                    id: header.0,
                    origin,
                    origin_name: header.1,
                    origin_url: header.2,
                    created: header.3,
                    entries,
                })
            } else {
                Err(VerificationError::NotPinned { key: origin })
            },
        },
        // A signature that fails: what the manifest claims is reported
        // invalid, so it is read even though it cannot be trusted.
        (Err(problem), entries) => Examined {
            id,
            claimed: entries.unwrap_or_default(),
            verdict: Err(problem),
        },
        (Ok(_), Err(problem)) => Examined {
            id,
            claimed: Vec::new(),
            verdict: Err(problem),
        },
    }
}

type Header = (String, String, Option<String>, String);

fn read_header(body: &Json) -> Result<Header, VerificationError> {
    let id = string_property(body, "id")?;
    if !id.starts_with("x-entente-manifest--") {
        return Err(property_error(
            "id",
            format!("{id} is not an {MANIFEST_TYPE} id"),
        ));
    }
    Ok((
        id,
        string_property(body, "origin_name")?,
        optional_string(body, "origin_url")?,
        string_property(body, "created")?,
    ))
}

fn read_entries(body: &Json) -> Result<Vec<ObjectDigest>, VerificationError> {
    let Some(Json::Array(items)) = body.get("entries") else {
        return Err(property_error("entries", "missing or not a list"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = |what: &str| format!("entries[{i}].{what}");
            let id = item
                .get("object_ref")
                .and_then(Json::as_str)
                .ok_or_else(|| property_error(at("object_ref"), "missing or not a string"))?
                .to_owned();
            let version = match item.get("object_version") {
                None => None,
                Some(Json::String(v)) => Some(v.clone()),
                Some(_) => return Err(property_error(at("object_version"), "not a string")),
            };
            let sha256 = sha256_property(item.get("sha256"), &at("sha256"))?;
            Ok(ObjectDigest {
                id,
                version,
                sha256,
            })
        })
        .collect()
}
