//! Validation of single objects against what STIX 2.1 makes mandatory.
//!
//! Every rejection names the object (its index in the input and its id when it
//! has a readable one), the JSON path of each offending value, and why.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::json::{Map, Value};
use serde_json::value::RawValue;

use crate::json;
use crate::object::{ObjectKind, StixObject};
use crate::spec::{self, Path};
use crate::timestamp::Timestamp;

/// One thing wrong with an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON path from the object's root, e.g. `$.kill_chain_phases[0].phase_name`.
    pub path: String,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Why one object of an input was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Position of the object in its input, from 0.
    pub index: usize,
    /// The object's `id` if it had a string one (valid or not).
    pub id: Option<String>,
    /// The object's version if it could be read although the object is
    /// invalid (`modified`, or `created` for marking definitions and objects
    /// without `modified`): what TAXII status `failures[].version` reports.
    pub version: Option<Timestamp>,
    /// Never empty.
    pub problems: Vec<Problem>,
}

impl Rejection {
    /// The problems alone, without the object's position: what a TAXII status
    /// `failures[].message` carries (the id is beside it already).
    pub fn message(&self) -> String {
        self.problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "object {} ({id}): {}", self.index, self.message()),
            None => write!(f, "object {}: {}", self.index, self.message()),
        }
    }
}

impl std::error::Error for Rejection {}

/// A check of indicator patterns, supplied by a layer that knows the pattern
/// languages (this crate does not: `patterning` depends on `stix`, not the
/// other way round).
pub trait PatternCheck: Send + Sync {
    /// `Err` carries the parser's message, which is shown to the sender as is.
    fn check(
        &self,
        pattern: &str,
        pattern_type: &str,
        pattern_version: Option<&str>,
    ) -> Result<(), String>;
}

/// Validates objects. Cheap to clone and share between threads.
#[derive(Clone, Default)]
pub struct Validator {
    pattern_check: Option<Arc<dyn PatternCheck>>,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("pattern_check", &self.pattern_check.is_some())
            .finish()
    }
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Also check indicator patterns with `check`.
    pub fn with_pattern_check(mut self, check: Arc<dyn PatternCheck>) -> Self {
        self.pattern_check = Some(check);
        self
    }

    /// Validates the object at position `index` of its input.
    pub fn validate(&self, index: usize, raw: &RawValue) -> Result<StixObject, Rejection> {
        self.validate_str(index, raw.get())
    }

    /// As [`Validator::validate`], from the object's JSON text.
    pub fn validate_str(&self, index: usize, raw: &str) -> Result<StixObject, Rejection> {
        let reject =
            |id: Option<String>, version: Option<Timestamp>, problems: Vec<Problem>| Rejection {
                index,
                id,
                version,
                problems,
            };
        let value = match json::parse_strict(raw) {
            Ok(v) => v,
            Err(e) => {
                return Err(reject(
                    None,
                    None,
                    vec![Problem {
                        path: "$".into(),
                        reason: format!("not valid JSON: {e}"),
                    }],
                ));
            }
        };
        let Value::Object(map) = value else {
            return Err(reject(
                None,
                None,
                vec![Problem {
                    path: "$".into(),
                    reason: format!(
                        "a STIX object must be a JSON object, but this is {}",
                        json_kind(&value)
                    ),
                }],
            ));
        };
        let id = map.get("id").and_then(Value::as_str).map(str::to_owned);
        let mut cx = Checker {
            problems: Vec::new(),
            warnings: Vec::new(),
            pattern_check: self.pattern_check.as_deref(),
            container: None,
            defanged: false,
        };
        let facts = spec::check_object(&map, &mut cx);
        match facts {
            Some(facts) if cx.problems.is_empty() => Ok(StixObject {
                raw: raw.into(),
                id: facts.id,
                object_type: facts.object_type,
                kind: facts.kind,
                spec_version: facts.spec_version,
                created: facts.created,
                modified: facts.modified,
                created_by_ref: facts.created_by_ref,
                object_marking_refs: facts.object_marking_refs,
                granular_marking_refs: facts.granular_marking_refs,
                references: collect_references(&map),
                warnings: cx.warnings,
            }),
            _ => {
                if cx.problems.is_empty() {
                    cx.problems.push(Problem {
                        path: "$".into(),
                        reason: "object is not valid STIX 2.1".into(),
                    });
                }
                Err(reject(id, readable_version(&map), cx.problems))
            }
        }
    }
}

/// The version of an object that failed validation, if its timestamps read.
fn readable_version(map: &Map<'_>) -> Option<Timestamp> {
    let timestamp = |key| {
        map.get(key)
            .and_then(Value::as_str)
            .and_then(|s| Timestamp::parse(s).ok())
    };
    let is_marking = map.get("type").and_then(Value::as_str) == Some("marking-definition");
    if is_marking {
        timestamp("created")
    } else {
        timestamp("modified").or_else(|| timestamp("created"))
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Collects problems while the per-type rules run.
pub(crate) struct Checker<'a> {
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    pub pattern_check: Option<&'a dyn PatternCheck>,
    /// Inside the deprecated observable container of observed-data: its local
    /// keys and the type of the object under each, which references resolve to.
    pub container: Option<BTreeMap<String, Option<String>>>,
    /// The object being checked says `"defanged": true`, so address-like
    /// values may be deliberately broken (`hxxp://`, `example[.]com`).
    pub defanged: bool,
}

impl Checker<'_> {
    pub fn report(&mut self, at: &Path<'_>, reason: impl Into<String>) {
        self.problems.push(Problem {
            path: at.render(),
            reason: reason.into(),
        });
    }

    pub fn warn(&mut self, at: &Path<'_>, reason: impl Into<String>) {
        self.warnings.push(Problem {
            path: at.render(),
            reason: reason.into(),
        });
    }
}

/// What the per-type rules extract from a valid object.
pub(crate) struct Facts {
    pub id: String,
    pub object_type: String,
    pub kind: ObjectKind,
    pub spec_version: Option<String>,
    pub created: Option<Timestamp>,
    pub modified: Option<Timestamp>,
    pub created_by_ref: Option<String>,
    pub object_marking_refs: Vec<String>,
    pub granular_marking_refs: Vec<String>,
}

/// Every identifier under a `*_ref` / `*_refs` key at any depth, except the
/// marking references (those are reported separately).
fn collect_references(map: &Map<'_>) -> Vec<String> {
    // In first-seen order, each once (a set beside the list: a manifest
    // lists thousands of references).
    fn walk<'v>(
        value: &'v Value,
        key: Option<&str>,
        out: &mut Vec<String>,
        seen: &mut std::collections::HashSet<&'v str>,
    ) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "object_marking_refs" || k == "marking_ref" {
                        continue;
                    }
                    walk(v, Some(k), out, seen);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, key, out, seen);
                }
            }
            Value::String(s) => {
                if let Some(k) = key
                    && (k.ends_with("_ref") || k.ends_with("_refs"))
                    && s.contains("--")
                    && seen.insert(s.as_ref())
                {
                    out.push(s.to_string());
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in map {
        if k == "object_marking_refs" || k == "granular_markings" || k == "id" {
            continue;
        }
        walk(v, Some(k), &mut out, &mut seen);
    }
    out
}
