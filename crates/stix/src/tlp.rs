//! The published Traffic Light Protocol marking definitions.
//!
//! TLP 1.0 is predefined by STIX 2.1 itself (section 7.2.1.4): exactly four
//! marking definitions, and "other instances of tlp-marking MUST NOT be used
//! or created". TLP 2.0 (FIRST, 2022) is expressed through the OASIS
//! extension definition `extension-definition--60a3c5c5-…`, with five
//! published marking definitions. Validation holds any object claiming one of
//! these identifiers to the published content, so a marking id can be trusted
//! to mean its level.
//!
//! [`Tlp`] is the one TLP level type of Entente: the sharing policy ranks
//! by it, the incident record names it, exports write its marking
//! definitions. Levels are recognised by exact marking id only: look-alike
//! ids circulate in public code and a name proves nothing.

use std::fmt;
use std::str::FromStr;

/// TLP levels, least to most restrictive (the derived order is the ranking).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

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

impl Tlp {
    /// Every level, least restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The level a marking-definition id stands for, if it is a published
    /// TLP 1.0 or TLP 2.0 one (TLP 1.0 WHITE is CLEAR).
    pub fn from_marking(id: &str) -> Option<Tlp> {
        let level = tlp_2(id).or_else(|| tlp_1(id))?.level;
        Tlp::from_level(level)
    }

    fn from_level(level: &str) -> Option<Tlp> {
        Some(match level {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amberstrict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return None,
        })
    }

    /// The published TLP 2.0 marking definition of this level.
    pub fn marking(self) -> &'static TlpMarking {
        &TLP_2[self as usize]
    }

    /// The id of this level's TLP 2.0 marking definition.
    pub fn marking_id(self) -> &'static str {
        self.marking().id
    }

    /// `TLP:AMBER+STRICT`, as the marking definition names it.
    pub fn marking_name(self) -> &'static str {
        self.marking().name
    }

    /// The most restrictive TLP among `markings`; `None` when none is TLP.
    pub fn most_restrictive<'a>(markings: impl IntoIterator<Item = &'a str>) -> Option<Tlp> {
        markings.into_iter().filter_map(Tlp::from_marking).max()
    }

    /// The level as TLP 2.0 writes it in lower case: `amber+strict`.
    pub fn as_str(self) -> &'static str {
        self.marking().level
    }

    /// The TLP 2.0 marking-definition object of this level, as OASIS
    /// publishes it (compact JSON).
    pub fn marking_definition(self) -> String {
        format!(
            r#"{{"type":"marking-definition","spec_version":"2.1","id":"{}","created":"{TLP_2_CREATED}","name":"{}","extensions":{{"{TLP_2_EXTENSION_ID}":{{"extension_type":"property-extension","{TLP_2_PROPERTY}":"{}"}}}}}}"#,
            self.marking_id(),
            self.marking_name(),
            self.as_str()
        )
    }

    /// Every spelling [`Tlp::from_str`] accepts, for error messages.
    pub fn expected() -> &'static str {
        "clear, green, amber, amber+strict or red (TLP: prefix, any case; white means clear)"
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.marking_name())
    }
}

/// A name that is not a TLP level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTlp(pub String);

impl fmt::Display for UnknownTlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a TLP level; use {}",
            self.0,
            Tlp::expected()
        )
    }
}

impl std::error::Error for UnknownTlp {}

impl FromStr for Tlp {
    type Err = UnknownTlp;
    /// `AMBER+STRICT`, `TLP:amber+strict`, `amber_strict`, `amber-strict`,
    /// `amber strict`; `white` for CLEAR.
    fn from_str(s: &str) -> Result<Tlp, UnknownTlp> {
        let trimmed = s.trim();
        let bare = match trimmed.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("tlp:") => &trimmed[4..],
            _ => trimmed,
        };
        let folded: String = bare
            .chars()
            .map(|c| match c {
                '_' | '-' | ' ' => '+',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Tlp::from_level(&folded).ok_or_else(|| UnknownTlp(s.to_string()))
    }
}

impl serde::Serialize for Tlp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Tlp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown value `{text}`; expected one of: clear, green, amber, amber+strict, red"
            ))
        })
    }
}

/// The STIX object `raw` with the TLP it is handled at made explicit, for a
/// receiver that cannot know how the sender handles it: a federation peer,
/// which stores what it receives under its own collections' defaults. When
/// the object carries no TLP marking of its own (neither in
/// `object_marking_refs` nor in `granular_markings`), `tlp`'s TLP 2.0
/// marking id is appended to `object_marking_refs` (the property is added
/// as the object's first member when it is absent); everything else stays
/// byte for byte. `None` when there is nothing to add: the object has a TLP
/// marking, is one of the published TLP marking definitions (whose content
/// is fixed), or is not a readable JSON object.
///
/// A manifest's digest covers the object as its source posted it; a
/// verifier recognises this form by its last `object_marking_refs` entry
/// (see `provenance::verify`).
pub fn with_explicit_marking(raw: &str, tlp: Tlp) -> Option<String> {
    use serde_json::value::RawValue;
    let members: std::collections::HashMap<String, &RawValue> = serde_json::from_str(raw).ok()?;
    if let Some(id) = members.get("id")
        && let Ok(id) = serde_json::from_str::<&str>(id.get())
        && Tlp::from_marking(id).is_some()
    {
        return None;
    }
    if let Some(granular) = members.get("granular_markings") {
        let granular: Vec<serde_json::Value> = serde_json::from_str(granular.get()).ok()?;
        let tlp_marked = granular.iter().any(|g| {
            g.get("marking_ref")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|m| Tlp::from_marking(m).is_some())
        });
        if tlp_marked {
            return None;
        }
    }
    let marking = tlp.marking_id();
    match members.get("object_marking_refs") {
        Some(refs) => {
            let mut list: Vec<String> = serde_json::from_str(refs.get()).ok()?;
            if list.iter().any(|m| Tlp::from_marking(m).is_some()) {
                return None;
            }
            list.push(marking.to_string());
            // The array's place in `raw` (a borrowed raw value lies within it).
            let text = refs.get();
            let start = (text.as_ptr() as usize).checked_sub(raw.as_ptr() as usize)?;
            let end = start + text.len();
            if end > raw.len() || raw.get(start..end) != Some(text) {
                return None;
            }
            let list = serde_json::to_string(&list).ok()?;
            Some(format!("{}{list}{}", &raw[..start], &raw[end..]))
        }
        None => {
            let open = raw.find('{')?;
            let rest = &raw[open + 1..];
            let separator = if members.is_empty() { "" } else { "," };
            Some(format!(
                "{}{{\"object_marking_refs\":[\"{marking}\"]{separator}{rest}",
                &raw[..open]
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identifier;

    #[test]
    fn the_handled_tlp_is_made_explicit_only_where_the_object_has_none() {
        let amber = Tlp::Amber.marking_id();
        let bare = r#"{"type":"indicator", "id":"indicator--1","name":"x"}"#;
        let explicit = with_explicit_marking(bare, Tlp::Amber).unwrap();
        assert_eq!(
            explicit,
            format!(
                r#"{{"object_marking_refs":["{amber}"],"type":"indicator", "id":"indicator--1","name":"x"}}"#
            )
        );
        // Other markings are kept, in their order, the TLP last; the rest
        // of the text is untouched.
        let statement =
            r#"{"id":"indicator--1", "object_marking_refs" : [ "marking-definition--s" ] ,"z":1}"#;
        assert_eq!(
            with_explicit_marking(statement, Tlp::Green).unwrap(),
            format!(
                r#"{{"id":"indicator--1", "object_marking_refs" : ["marking-definition--s","{}"] ,"z":1}}"#,
                Tlp::Green.marking_id()
            )
        );
        // Marked already, at object or granular level, by TLP 2.0 or 1.0.
        let marked = format!(
            r#"{{"id":"indicator--1","object_marking_refs":["{}"]}}"#,
            TLP_1[1].id
        );
        assert_eq!(with_explicit_marking(&marked, Tlp::Amber), None);
        let granular = format!(
            r#"{{"id":"indicator--1","granular_markings":[{{"marking_ref":"{}","selectors":["name"]}}]}}"#,
            Tlp::Red.marking_id()
        );
        assert_eq!(with_explicit_marking(&granular, Tlp::Red), None);
        let granular_other = r#"{"id":"indicator--1","granular_markings":[{"marking_ref":"marking-definition--s","selectors":["name"]}]}"#;
        assert!(with_explicit_marking(granular_other, Tlp::Amber).is_some());
        // The published TLP definitions stay as published; non-objects are left alone.
        assert_eq!(
            with_explicit_marking(&Tlp::Green.marking_definition(), Tlp::Amber),
            None
        );
        assert_eq!(with_explicit_marking("[1]", Tlp::Amber), None);
        assert_eq!(
            with_explicit_marking("{\"object_marking_refs\":7}", Tlp::Amber),
            None
        );
        // The result reads as the same object with one more marking.
        let v: serde_json::Value = serde_json::from_str(&explicit).unwrap();
        assert_eq!(v["object_marking_refs"], serde_json::json!([amber]));
        assert_eq!(v["name"], "x");
    }

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

    #[test]
    fn levels_by_exact_id_from_both_generations() {
        assert_eq!(Tlp::from_marking(TLP_1[0].id), Some(Tlp::Clear));
        assert_eq!(Tlp::from_marking(TLP_2[3].id), Some(Tlp::AmberStrict));
        // A look-alike AMBER+STRICT id seen in public code.
        assert_eq!(
            Tlp::from_marking("marking-definition--939a9414-2ddd-4d32-a0cd-b7571b03f430"),
            None
        );
        assert_eq!(
            Tlp::most_restrictive([TLP_2[1].id, TLP_1[2].id, "marking-definition--x"]),
            Some(Tlp::Amber)
        );
        assert_eq!(Tlp::most_restrictive(["marking-definition--x"]), None);
        for t in Tlp::ALL {
            assert_eq!(Tlp::from_marking(t.marking_id()), Some(t));
            let md: serde_json::Value = serde_json::from_str(&t.marking_definition()).unwrap();
            assert_eq!(md["name"], t.marking_name());
        }
        assert!(Tlp::Clear < Tlp::Green && Tlp::AmberStrict < Tlp::Red);
    }

    #[test]
    fn names_parse_leniently_and_print_as_tlp_2() {
        for (text, tlp) in [
            ("amber+strict", Tlp::AmberStrict),
            ("TLP:AMBER+STRICT", Tlp::AmberStrict),
            ("amber_strict", Tlp::AmberStrict),
            ("Amber-Strict", Tlp::AmberStrict),
            ("TLP:WHITE", Tlp::Clear),
            (" red ", Tlp::Red),
        ] {
            assert_eq!(text.parse::<Tlp>(), Ok(tlp), "{text}");
        }
        assert!("orange".parse::<Tlp>().is_err());
        assert!("tlp:".parse::<Tlp>().is_err());
        assert_eq!(Tlp::AmberStrict.to_string(), "TLP:AMBER+STRICT");
        assert_eq!(
            serde_json::to_string(&Tlp::AmberStrict).unwrap(),
            "\"amber+strict\""
        );
        assert_eq!(
            serde_json::from_str::<Tlp>("\"TLP:Green\"").unwrap(),
            Tlp::Green
        );
    }
}
