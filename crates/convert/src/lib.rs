//! Converters between STIX 2.1 and the formats analysts already hold.
//!
//! Bytes in, STIX 2.1 objects out as JSON text, with an error per record that
//! could not be converted; this crate does no I/O. The converters:
//!
//! - [`misp`]: MISP JSON events (a single `{"Event": …}`, a list of them, or a
//!   `{"response": […]}` answer of MISP's REST API) to STIX 2.1, the way MISP's
//!   own converter (`misp-stix`, `MISPtoSTIX21Parser`) maps them, with the
//!   deliberate differences listed in the module documentation.
//! - [`csv`]: rows of indicators to STIX indicators, as an iterator so that a
//!   million rows never need a million objects in memory.
//! - [`mvt`]: STIX objects to the `.stix2` indicator bundle Amnesty's Mobile
//!   Verification Toolkit loads, reporting every indicator it cannot carry.
//!
//! Nothing here decides whether an object may be stored: what comes out goes
//! through the same validation and ingest path as any STIX input. What a
//! converter does promise is stable identifiers: the same MISP events give
//! the same objects (duplicates when imported again), and a CSV row's
//! indicator keeps its id from one import to the next (a new version,
//! stamped with the import time), instead of minting new objects.

pub mod csv;
pub mod misp;
pub mod mvt;

mod detect;
mod ids;
mod json;
mod pattern;
mod refang;
mod time;

pub use detect::Kind;
pub use refang::refang;

/// One converted STIX object: its JSON text (compact, one object) and its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StixJson {
    pub id: String,
    pub json: String,
}

/// The TLP 2.0 marking definition id for a TLP level written the way people
/// write it (`amber`, `TLP:AMBER`, `tlp:amber+strict`, TLP 1.0's `white`),
/// case-insensitively. TLP 1.0 `white` is TLP 2.0 `clear` (FIRST's mapping).
pub fn tlp_marking(level: &str) -> Option<&'static str> {
    let level = level.trim();
    let level = level
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("tlp:"))
        .map_or(level, |_| &level[4..]);
    let level = level.to_ascii_lowercase();
    let level = if level == "white" {
        "clear"
    } else {
        level.as_str()
    };
    stix::tlp::TLP_2
        .iter()
        .find(|m| m.level == level)
        .map(|m| m.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_levels_map_to_tlp_2_markings() {
        assert_eq!(
            tlp_marking("tlp:white"),
            Some("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487")
        );
        assert_eq!(tlp_marking("CLEAR"), tlp_marking("tlp:clear"));
        assert_eq!(
            tlp_marking("TLP:AMBER+STRICT"),
            Some("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003")
        );
        assert_eq!(tlp_marking(" red "), Some(stix::tlp::TLP_2[4].id));
        assert_eq!(tlp_marking("tlp:ex:chr"), None);
        assert_eq!(tlp_marking("amber strict"), None);
        assert_eq!(tlp_marking(""), None);
    }
}
