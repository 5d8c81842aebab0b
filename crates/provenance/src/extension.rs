//! The STIX objects that carry provenance, and their extension definitions.
//!
//! Manifests and document signatures travel as ordinary STIX 2.1 objects, so
//! any TAXII server stores and relays them and other clients ignore them.
//! Each type is a new SDO (`extension_type: "new-sdo"`) declared by an
//! `extension-definition` authored by a fixed Entente `identity`; the ids
//! below were generated once (UUIDv4) and never change. Each definition's
//! `schema` is the JSON Schema of its type, inline (no URL to go stale):
//! `schemas/x-entente-manifest.json` and `schemas/x-entente-signature.json`.
//!
//! | object | id |
//! |--------|----|
//! | identity "Entente" (author of both definitions) | `identity--4913e31e-27d4-41f3-a94f-faa73ef26eac` |
//! | extension-definition of `x-entente-manifest` | `extension-definition--817b0600-b211-4176-83a9-67f4594d0db7` |
//! | extension-definition of `x-entente-signature` | `extension-definition--a4d9da33-f051-4e5f-a1fe-7d8d90217ebb` |

use crate::canonical::{Json, canonicalize};

/// The type of a batch manifest.
pub const MANIFEST_TYPE: &str = "x-entente-manifest";
/// The type of a detached signature over one object.
pub const SIGNATURE_TYPE: &str = "x-entente-signature";
/// The extension definition that declares [`MANIFEST_TYPE`].
pub const MANIFEST_EXTENSION_ID: &str =
    "extension-definition--817b0600-b211-4176-83a9-67f4594d0db7";
/// The extension definition that declares [`SIGNATURE_TYPE`].
pub const SIGNATURE_EXTENSION_ID: &str =
    "extension-definition--a4d9da33-f051-4e5f-a1fe-7d8d90217ebb";
/// The identity that authors both extension definitions.
pub const ENTENTE_IDENTITY_ID: &str = "identity--4913e31e-27d4-41f3-a94f-faa73ef26eac";
/// Version of both extensions.
pub const EXTENSION_VERSION: &str = "1.0.0";

/// When the definitions were written; fixed, so that every node publishes
/// the identical version of them.
const DEFINED: &str = "2026-12-03T00:00:00.000Z";

const MANIFEST_SCHEMA: &str = include_str!("../schemas/x-entente-manifest.json");
const SIGNATURE_SCHEMA: &str = include_str!("../schemas/x-entente-signature.json");

/// The three objects a collection needs so that readers can look up what
/// `x-entente-manifest` and `x-entente-signature` are: the Entente identity
/// and the two extension definitions, as canonical JSON. Identical on every
/// node and every call (publishing them twice is a no-op version-wise).
pub fn extension_definitions() -> Vec<String> {
    vec![
        identity().to_canonical_string(),
        definition(
            MANIFEST_EXTENSION_ID,
            "Entente signed batch manifest",
            "Lists STIX objects published by an Entente node with the SHA-256 of their \
             RFC 8785 canonical form, signed with a composite ML-DSA-65 + Ed25519 signature, \
             so that any recipient can tell which objects came unchanged from which node.",
            MANIFEST_SCHEMA,
        )
        .to_canonical_string(),
        definition(
            SIGNATURE_EXTENSION_ID,
            "Entente detached object signature",
            "A composite ML-DSA-65 + Ed25519 signature by an organisation or node over the \
             RFC 8785 canonical form of one version of one STIX object, such as an opinion \
             or a co-signed attribution report.",
            SIGNATURE_SCHEMA,
        )
        .to_canonical_string(),
    ]
}

/// The JSON Schema of [`MANIFEST_TYPE`].
pub fn manifest_schema() -> &'static str {
    MANIFEST_SCHEMA
}

/// The JSON Schema of [`SIGNATURE_TYPE`].
pub fn signature_schema() -> &'static str {
    SIGNATURE_SCHEMA
}

fn common(kind: &str, id: &str) -> Vec<(String, Json)> {
    vec![
        ("type".into(), Json::string(kind)),
        ("spec_version".into(), Json::string("2.1")),
        ("id".into(), Json::string(id)),
        ("created".into(), Json::string(DEFINED)),
        ("modified".into(), Json::string(DEFINED)),
    ]
}

fn identity() -> Json {
    let mut members = common("identity", ENTENTE_IDENTITY_ID);
    members.push(("name".into(), Json::string("Entente")));
    members.push(("identity_class".into(), Json::string("system")));
    members.push((
        "description".into(),
        Json::string(
            "The Entente threat-intelligence sharing hub, author of the STIX extensions \
             its nodes use for provenance.",
        ),
    ));
    Json::object(members)
}

fn definition(id: &str, name: &str, description: &str, schema: &str) -> Json {
    // The schema is stored in its canonical (compact) form; it is our own
    // constant, and a test checks that it parses.
    let schema = canonicalize(schema)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_else(|_| schema.to_owned());
    let mut members = common("extension-definition", id);
    members.push(("created_by_ref".into(), Json::string(ENTENTE_IDENTITY_ID)));
    members.push(("name".into(), Json::string(name)));
    members.push(("description".into(), Json::string(description)));
    members.push(("schema".into(), Json::String(schema)));
    members.push(("version".into(), Json::string(EXTENSION_VERSION)));
    members.push((
        "extension_types".into(),
        Json::Array(vec![Json::string("new-sdo")]),
    ));
    Json::object(members)
}

/// The `extensions` property of an object of the type `extension_id` declares.
pub(crate) fn new_sdo_extension(extension_id: &str) -> Json {
    Json::object(vec![(
        extension_id.to_owned(),
        Json::object(vec![("extension_type".into(), Json::string("new-sdo"))]),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_json_and_name_their_extension() {
        for (schema, id) in [
            (MANIFEST_SCHEMA, MANIFEST_EXTENSION_ID),
            (SIGNATURE_SCHEMA, SIGNATURE_EXTENSION_ID),
        ] {
            canonicalize(schema).expect("schema is I-JSON");
            assert!(schema.contains(id));
        }
    }

    #[test]
    fn definitions_are_stable_and_canonical() {
        let defs = extension_definitions();
        assert_eq!(defs, extension_definitions());
        assert_eq!(defs.len(), 3);
        for d in &defs {
            let canonical = canonicalize(d).expect("JSON");
            assert_eq!(canonical, d.as_bytes());
        }
        assert!(defs[1].contains(MANIFEST_EXTENSION_ID));
        assert!(defs[2].contains(SIGNATURE_EXTENSION_ID));
    }
}
