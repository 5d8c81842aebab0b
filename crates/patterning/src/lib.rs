//! The STIX Patterning language: parse, validate, evaluate, and a compiled
//! matcher over many indicators. No I/O.
//!
//! - [`parse`] turns pattern text into a [`Pattern`] (errors say where and what
//!   was expected).
//! - [`validate`] checks a parsed pattern against the STIX 2.1 cyber-observable
//!   definitions and the rules the OASIS tools enforce.
//! - [`evaluate`] decides whether a pattern matches a set of observed-data,
//!   with the semantics of the OASIS reference matcher (`stix2-matcher`).
//! - [`Engine`] compiles many indicators into indexes and matches a stream of
//!   observations against all of them at once.

pub mod ast;
pub mod binding;
pub mod compare;
pub mod engine;
pub mod eval;
pub mod lexer;
pub mod observation;
pub mod parser;
pub mod pyregex;
pub mod validate;

pub use ast::Pattern;
pub use engine::{
    CompileError, Engine, EngineBuilder, EngineOptions, IndexStats, Match, ScanResult,
};
pub use eval::{CompiledPattern, EvalError, evaluate};
pub use observation::{Observation, ObservationError, read_observations};
pub use parser::{ParseError, parse, parse_for_version};
pub use validate::{ObjectRules, Rules, validate};

/// The STIX version whose observed-data shape and pattern grammar apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum StixVersion {
    /// Observed-data carries its objects inline (`objects` dictionary).
    V20,
    /// Observed-data refers to SCOs in the same bundle (`object_refs`).
    #[default]
    V21,
}

impl std::str::FromStr for StixVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2.0" => Ok(StixVersion::V20),
            "2.1" => Ok(StixVersion::V21),
            other => Err(format!(
                "unknown STIX version {other:?} (expected 2.0 or 2.1)"
            )),
        }
    }
}

/// Parses `text` and validates it with `rules`: every problem found, or the
/// pattern.
pub fn parse_and_validate(text: &str, rules: &Rules) -> Result<Pattern, Vec<ParseError>> {
    let pattern = parse_for_version(text, rules.version).map_err(|e| vec![e])?;
    let problems = validate(&pattern, rules);
    if problems.is_empty() {
        Ok(pattern)
    } else {
        Err(problems)
    }
}

/// The check the STIX validator runs on indicators (see
/// [`stix::PatternCheck`]): patterns of type `stix` must parse and pass
/// [`Rules`]; other pattern languages are not checked.
#[derive(Clone, Debug)]
pub struct StixPatternCheck {
    pub objects: ObjectRules,
}

impl Default for StixPatternCheck {
    /// Grammar, the OASIS tools' checks and operand formats; custom object
    /// types and properties are accepted, as STIX allows them.
    fn default() -> Self {
        StixPatternCheck {
            objects: ObjectRules::Ignore,
        }
    }
}

impl stix::PatternCheck for StixPatternCheck {
    fn check(
        &self,
        pattern: &str,
        pattern_type: &str,
        pattern_version: Option<&str>,
    ) -> Result<(), String> {
        if pattern_type != "stix" {
            return Ok(());
        }
        let version = if pattern_version == Some("2.0") {
            StixVersion::V20
        } else {
            StixVersion::V21
        };
        // An indicator must be valid STIX, so the STIX 2.1 rule of one
        // qualifier of each kind holds here even though evaluation does not
        // need it.
        let rules = Rules {
            objects: self.objects,
            operand_formats: true,
            version,
            one_qualifier_per_kind: true,
        };
        parse_and_validate(pattern, &rules)
            .map(drop)
            .map_err(|problems| {
                let shown: Vec<String> = problems
                    .iter()
                    .map(|p| format!("invalid STIX pattern {p}"))
                    .collect();
                shown.join("; ")
            })
    }
}
