//! Traffic Light Protocol levels and the STIX marking definitions that carry them.
//!
//! Both the TLP 2.0 definitions (FIRST, published as STIX objects by OASIS)
//! and the STIX 2.1 TLP 1.0 ones are recognised, by exact id only: look-alike
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

/// TLP 2.0 marking definitions (`created` 2022-10-01).
pub const TLP2_CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
pub const TLP2_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
pub const TLP2_AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
pub const TLP2_AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
pub const TLP2_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

/// STIX 2.1 TLP 1.0 marking definitions (`created` 2017-01-20).
pub const TLP1_WHITE: &str = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
pub const TLP1_GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
pub const TLP1_AMBER: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
pub const TLP1_RED: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";

impl Tlp {
    /// The level a marking-definition id stands for, if it is a TLP one.
    pub fn from_marking(id: &str) -> Option<Tlp> {
        Some(match id {
            TLP2_CLEAR | TLP1_WHITE => Tlp::Clear,
            TLP2_GREEN | TLP1_GREEN => Tlp::Green,
            TLP2_AMBER | TLP1_AMBER => Tlp::Amber,
            TLP2_AMBER_STRICT => Tlp::AmberStrict,
            TLP2_RED | TLP1_RED => Tlp::Red,
            _ => return None,
        })
    }

    /// The TLP 2.0 marking definition of this level.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => TLP2_CLEAR,
            Tlp::Green => TLP2_GREEN,
            Tlp::Amber => TLP2_AMBER,
            Tlp::AmberStrict => TLP2_AMBER_STRICT,
            Tlp::Red => TLP2_RED,
        }
    }

    /// The most restrictive TLP among `markings`; `None` when none is TLP.
    pub fn most_restrictive<'a>(markings: impl IntoIterator<Item = &'a str>) -> Option<Tlp> {
        markings.into_iter().filter_map(Tlp::from_marking).max()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// The TLP 2.0 marking-definition object of this level, as OASIS publishes it.
    pub fn marking_definition(self) -> String {
        let label = match self {
            Tlp::AmberStrict => "AMBER+STRICT".to_string(),
            other => other.as_str().to_ascii_uppercase(),
        };
        format!(
            r#"{{"type":"marking-definition","spec_version":"2.1","id":"{}","created":"2022-10-01T00:00:00.000Z","name":"TLP:{label}","extensions":{{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{{"extension_type":"property-extension","tlp_2_0":"{}"}}}}}}"#,
            self.marking_id(),
            self.as_str()
        )
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLP:{}", self.as_str().to_ascii_uppercase())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a TLP level; use clear, green, amber, amber+strict or red")]
pub struct UnknownTlp(pub String);

impl FromStr for Tlp {
    type Err = UnknownTlp;
    fn from_str(s: &str) -> Result<Tlp, UnknownTlp> {
        Ok(match s.to_ascii_lowercase().trim_start_matches("tlp:") {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amber-strict" | "amber_strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return Err(UnknownTlp(s.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_both_generations_by_exact_id() {
        assert_eq!(Tlp::from_marking(TLP1_WHITE), Some(Tlp::Clear));
        assert_eq!(Tlp::from_marking(TLP2_AMBER_STRICT), Some(Tlp::AmberStrict));
        // A look-alike AMBER+STRICT id seen in public code.
        assert_eq!(
            Tlp::from_marking("marking-definition--939a9414-2ddd-4d32-a0cd-b7571b03f430"),
            None
        );
        assert_eq!(
            Tlp::most_restrictive([TLP2_GREEN, TLP1_AMBER, "marking-definition--x"]),
            Some(Tlp::Amber)
        );
        assert_eq!(
            Tlp::most_restrictive([TLP2_RED, TLP2_CLEAR]),
            Some(Tlp::Red)
        );
        assert_eq!(Tlp::most_restrictive(["marking-definition--x"]), None);
        assert!(
            Tlp::Clear < Tlp::Green && Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red
        );
    }

    #[test]
    fn parses_names() {
        assert_eq!("amber+strict".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert_eq!("TLP:WHITE".parse::<Tlp>(), Ok(Tlp::Clear));
        assert!("orange".parse::<Tlp>().is_err());
    }
}
