//! Stable identifiers.
//!
//! A converter that mints random ids turns every re-import into new objects.
//! Ours derive every id from the input: MISP records keep their own UUIDs
//! (`indicator--<attribute uuid>`, as misp-stix writes them, so the two
//! converters name the same record alike), and whatever has no UUID of its
//! own gets a UUIDv5 of what defines it.

use uuid::Uuid;

/// The namespace misp-stix derives relationship ids from
/// (`uuid5(namespace, "<source> - <type> - <target>")`). Using the same one
/// gives a relationship the same id whichever converter produced it.
pub(crate) const MISP_STIX_NAMESPACE: Uuid = Uuid::from_bytes([
    0x76, 0xbe, 0xed, 0x5f, 0x72, 0x51, 0x45, 0x7e, 0x8c, 0x2a, 0xb4, 0x5f, 0x7b, 0x58, 0x9d, 0x3d,
]);

/// Entente's own namespace, for ids of objects no input names (CSV
/// indicators, objects rewritten for MVT).
pub(crate) const ENTENTE_NAMESPACE: Uuid = Uuid::from_bytes([
    0x97, 0x52, 0x71, 0x04, 0x8a, 0x3a, 0x48, 0xae, 0x93, 0x99, 0x67, 0xc7, 0x3e, 0xc4, 0x59, 0x14,
]);

/// `<ty>--<uuid5(namespace, name)>`.
pub(crate) fn v5(ty: &str, namespace: &Uuid, name: &str) -> String {
    format!("{ty}--{}", Uuid::new_v5(namespace, name.as_bytes()))
}

/// The id misp-stix gives a relationship.
pub(crate) fn relationship_id(source: &str, relationship_type: &str, target: &str) -> String {
    v5(
        "relationship",
        &MISP_STIX_NAMESPACE,
        &format!("{source} - {relationship_type} - {target}"),
    )
}

/// A MISP uuid as a STIX id suffix: lowercase, and a UUID STIX accepts.
/// MISP writes them lowercase; a hand-edited file may not, and STIX ids are
/// compared byte for byte, so one spelling is kept.
pub(crate) fn misp_uuid(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_ascii_lowercase();
    if stix::id::is_valid_uuid(&lower) {
        Ok(lower)
    } else {
        Err(format!(
            "{raw:?} is not a UUID (RFC 4122, e.g. 5b0b4a2f-1c8e-4a53-9a8e-6f0d3c2b1a90)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationship_ids_match_misp_stix() {
        // Taken from misp-stix's output for an indicator based on its observed data.
        assert_eq!(
            relationship_id(
                "indicator--20508c74-19a8-4460-9b6a-f5b8b39520b6",
                "based-on",
                "observed-data--20508c74-19a8-4460-9b6a-f5b8b39520b6"
            ),
            "relationship--f2a59067-57b6-5b0e-913d-238473a9e5da"
        );
    }

    #[test]
    fn misp_uuids_are_checked_and_lowercased() {
        assert_eq!(
            misp_uuid(" 5B0B4A2F-1C8E-4A53-9A8E-6F0D3C2B1A90").unwrap(),
            "5b0b4a2f-1c8e-4a53-9a8e-6f0d3c2b1a90"
        );
        assert!(misp_uuid("5b0b4a2f").is_err());
        assert!(misp_uuid("").is_err());
    }
}
