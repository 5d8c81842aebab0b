//! The published Traffic Light Protocol marking definitions.
//!
//! TLP 1.0 is predefined by STIX 2.1 itself (section 7.2.1.4): exactly four
//! marking definitions, and "other instances of tlp-marking MUST NOT be used
//! or created". TLP 2.0 (FIRST, 2022) is expressed through the OASIS
//! extension definition `extension-definition--60a3c5c5-…`, with five
//! published marking definitions. Validation holds any object claiming one of
//! these identifiers to the published content, so a marking id can be trusted
//! to mean its level.

/// One published TLP marking definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlpMarking {
    /// The level as written in the definition (`green`, `amber+strict`, ...).
    pub level: &'static str,
    /// The marking definition's `id`.
    pub id: &'static str,
    /// Its `name` (`TLP:GREEN`).
    pub name: &'static str,
}

/// `created` of the four TLP 1.0 marking definitions.
pub const TLP_1_CREATED: &str = "2017-01-20T00:00:00.000Z";

/// The TLP 1.0 marking definitions of STIX 2.1 section 7.2.1.4.
pub const TLP_1: [TlpMarking; 4] = [
    TlpMarking {
        level: "white",
        id: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        name: "TLP:WHITE",
    },
    TlpMarking {
        level: "green",
        id: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        name: "TLP:GREEN",
    },
    TlpMarking {
        level: "amber",
        id: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        name: "TLP:AMBER",
    },
    TlpMarking {
        level: "red",
        id: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        name: "TLP:RED",
    },
];

/// The extension definition TLP 2.0 marking definitions declare themselves through.
pub const TLP_2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The property of that extension that holds the level.
pub const TLP_2_PROPERTY: &str = "tlp_2_0";

/// `created` of the five TLP 2.0 marking definitions.
pub const TLP_2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The TLP 2.0 marking definitions published with the OASIS extension.
pub const TLP_2: [TlpMarking; 5] = [
    TlpMarking {
        level: "clear",
        id: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        name: "TLP:CLEAR",
    },
    TlpMarking {
        level: "green",
        id: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        name: "TLP:GREEN",
    },
    TlpMarking {
        level: "amber",
        id: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        name: "TLP:AMBER",
    },
    TlpMarking {
        level: "amber+strict",
        id: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        name: "TLP:AMBER+STRICT",
    },
    TlpMarking {
        level: "red",
        id: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        name: "TLP:RED",
    },
];

/// The TLP 1.0 marking definition with this id, if it is one.
pub fn tlp_1(marking_id: &str) -> Option<&'static TlpMarking> {
    TLP_1.iter().find(|m| m.id == marking_id)
}

/// The TLP 2.0 marking definition with this id, if it is one.
pub fn tlp_2(marking_id: &str) -> Option<&'static TlpMarking> {
    TLP_2.iter().find(|m| m.id == marking_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identifier;

    #[test]
    fn published_ids_are_marking_definition_identifiers() {
        for m in TLP_1.iter().chain(TLP_2.iter()) {
            let id = Identifier::parse(m.id).unwrap();
            assert_eq!(id.object_type(), "marking-definition");
            assert_eq!(m.name, format!("TLP:{}", m.level.to_uppercase()));
        }
        assert_eq!(tlp_2(TLP_2[3].id).map(|m| m.level), Some("amber+strict"));
        assert!(tlp_1(TLP_2[0].id).is_none());
    }
}
