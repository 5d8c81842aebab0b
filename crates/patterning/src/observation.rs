//! Observations: what patterns are evaluated against.
//!
//! An [`Observation`] is one observed-data: its time window, how many times it
//! was observed, and its cyber-observable objects. Two input shapes are read,
//! as the reference matcher reads them: STIX 2.0 observed-data with an inline
//! `objects` dictionary, and STIX 2.1 bundles in which observed-data refer to
//! SCOs by `object_refs`.

use serde_json::{Map, Value};

use crate::StixVersion;
use crate::compare::{parse_observed_timestamp, truncate};

/// One observed-data, ready for evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// `first_observed`, microseconds since the Unix epoch.
    pub first: i64,
    /// `last_observed`, microseconds since the Unix epoch.
    pub last: i64,
    /// `number_observed` (at least 1).
    pub count: u64,
    /// The objects references resolve against: for 2.1 the observed-data
    /// itself followed by the SCOs it refers to (in `object_refs` order, a
    /// repeated reference repeated); for 2.0 the `objects` dictionary.
    pub objects: Vec<(String, Value)>,
    /// Indices into `objects` of the objects patterns are tried on, once per
    /// identifier.
    pub roots: Vec<usize>,
    pub version: StixVersion,
}

/// Why a set of observations cannot be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ObservationError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, ObservationError> {
    Err(ObservationError(message.into()))
}

impl Observation {
    /// An observation built directly from objects (e.g. from a log line):
    /// `objects` are (identifier, object) pairs; references between them use
    /// those identifiers.
    pub fn from_objects(
        first: i64,
        last: i64,
        count: u64,
        objects: Vec<(String, Value)>,
    ) -> Observation {
        let roots = (0..objects.len()).collect();
        Observation {
            first,
            last,
            count,
            objects,
            roots,
            version: StixVersion::V21,
        }
    }

    /// The objects `reference` resolves to.
    pub fn resolve(&self, reference: &str) -> impl Iterator<Item = &Value> {
        self.objects
            .iter()
            .filter(move |(id, _)| id == reference)
            .map(|(_, v)| v)
    }

    pub fn root_objects(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.roots
            .iter()
            .map(|&i| (self.objects[i].0.as_str(), &self.objects[i].1))
    }
}

/// Reads `list` (the reference's `observed_data_sdos` argument).
///
/// - 2.0: a list of observed-data with inline `objects`.
/// - 2.1: a list of bundles (merged, as the reference merges them); with
///   `lenient`, also a single bundle, or a list of loose STIX objects
///   (observed-data plus the SCOs they refer to).
pub fn read_observations(
    list: &Value,
    version: StixVersion,
    lenient: bool,
) -> Result<Vec<Observation>, ObservationError> {
    let single;
    let items: &[Value] = match list {
        Value::Array(items) => items,
        Value::Object(_) if lenient => {
            single = [list.clone()];
            &single
        }
        _ => return fail("observed data must be a JSON list"),
    };
    match version {
        StixVersion::V20 => items
            .iter()
            .enumerate()
            .map(|(i, sdo)| read_v20(i, sdo))
            .collect(),
        StixVersion::V21 => read_v21(items, lenient),
    }
}

fn window(i: usize, sdo: &Map<String, Value>) -> Result<(i64, i64, u64), ObservationError> {
    let (Some(count), Some(first), Some(last)) = (
        sdo.get("number_observed"),
        sdo.get("first_observed"),
        sdo.get("last_observed"),
    ) else {
        return fail(format!(
            "observed-data {i} lacks one of number_observed, first_observed and last_observed"
        ));
    };
    let count = match count {
        Value::Number(n) if n.as_u64().is_some_and(|n| n >= 1) => n.as_u64().unwrap_or(1),
        Value::Bool(true) => 1,
        other => {
            return fail(format!(
                "observed-data {i}: number_observed must be an integer of at least 1, not {}",
                truncate(&other.to_string(), 40)
            ));
        }
    };
    let time = |name: &str, v: &Value| -> Result<i64, ObservationError> {
        match v {
            Value::String(s) => parse_observed_timestamp(s)
                .map_err(|e| ObservationError(format!("observed-data {i}: {name}: {}", e.0))),
            _ => fail(format!(
                "observed-data {i}: {name} must be a timestamp string"
            )),
        }
    };
    Ok((
        count,
        time("first_observed", first)?,
        time("last_observed", last)?,
    ))
    .map(|(count, first, last)| (first, last, count))
}

fn read_v20(i: usize, sdo: &Value) -> Result<Observation, ObservationError> {
    let Value::Object(map) = sdo else {
        return fail(format!("observed-data {i} is not a JSON object"));
    };
    let (first, last, count) = window(i, map)?;
    let objects: Vec<(String, Value)> = match map.get("objects") {
        None => Vec::new(),
        Some(Value::Object(objects)) => objects
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        Some(_) => return fail(format!("observed-data {i}: objects must be a dictionary")),
    };
    for (key, obj) in &objects {
        // The reference tests `"type" in obj`, which for a non-object is a
        // substring or membership test, or an error.
        match obj {
            Value::Object(_) => {}
            Value::String(s) if !s.contains("type") => {}
            Value::Array(a) if !a.iter().any(|v| v == "type") => {}
            _ => {
                return fail(format!(
                    "observed-data {i}: object {key:?} is not a JSON object"
                ));
            }
        }
    }
    let roots = (0..objects.len())
        .filter(|&k| objects[k].1.is_object())
        .collect();
    Ok(Observation {
        first,
        last,
        count,
        objects,
        roots,
        version: StixVersion::V20,
    })
}

fn read_v21(items: &[Value], lenient: bool) -> Result<Vec<Observation>, ObservationError> {
    // The reference deep-merges all the bundles it is given, so their
    // `objects` lists are concatenated.
    let mut merged: Vec<&Value> = Vec::new();
    let mut saw_objects = false;
    let loose = lenient
        && !items.is_empty()
        && items.iter().all(|v| {
            v.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t != "bundle")
        });
    if loose {
        merged.extend(items.iter());
        saw_objects = true;
    } else {
        for (i, item) in items.iter().enumerate() {
            let Value::Object(map) = item else {
                return fail(format!(
                    "item {i} of the list is not a bundle (a JSON object)"
                ));
            };
            match map.get("objects") {
                Some(Value::Array(objects)) => {
                    merged.extend(objects.iter());
                    saw_objects = true;
                }
                Some(_) => return fail(format!("bundle {i}: objects must be a list")),
                None => {}
            }
        }
    }
    if !saw_objects {
        return fail("STIX 2.1 observations must be bundles with an \"objects\" list");
    }
    let mut observed = Vec::new();
    let mut scos: std::collections::HashMap<&str, &Value> = std::collections::HashMap::new();
    for (k, obj) in merged.iter().enumerate() {
        let Value::Object(map) = obj else {
            return fail(format!("object {k} of the bundle is not a JSON object"));
        };
        let Some(ty) = map.get("type") else {
            return fail(format!("object {k} of the bundle has no type"));
        };
        if ty == "observed-data" {
            observed.push(*obj);
        } else {
            match map.get("id") {
                Some(Value::String(id)) => {
                    scos.insert(id.as_str(), obj);
                }
                _ => {
                    return fail(format!(
                        "object {k} of the bundle ({}) has no string id",
                        truncate(&ty.to_string(), 40)
                    ));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(observed.len());
    for (i, od) in observed.iter().enumerate() {
        let Value::Object(map) = od else { continue };
        let refs: Vec<String> = match map.get("object_refs") {
            Some(Value::Array(refs)) => {
                let mut out = Vec::new();
                for r in refs {
                    match r {
                        Value::String(s) => out.push(s.clone()),
                        Value::Array(_) | Value::Object(_) => {
                            return fail(format!(
                                "observed-data {i}: object_refs holds a non-identifier"
                            ));
                        }
                        _ => {}
                    }
                }
                out
            }
            Some(Value::String(s)) => s.chars().map(String::from).collect(),
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            Some(_) => return fail(format!("observed-data {i}: object_refs must be a list")),
            None => return fail(format!("observed-data {i} has no object_refs")),
        };
        let (first, last, count) = window(i, map)?;
        let Some(Value::String(od_id)) = map.get("id") else {
            return fail(format!("observed-data {i} has no id"));
        };
        let mut objects = vec![(od_id.clone(), (*od).clone())];
        for r in &refs {
            if let Some(sco) = scos.get(r.as_str()) {
                objects.push((r.clone(), (*sco).clone()));
            }
        }
        // One root per identifier: at the position of its first occurrence,
        // with the object of its last (a Python dict built from the list).
        let mut roots: Vec<usize> = Vec::new();
        for k in 0..objects.len() {
            match roots.iter().position(|&r| objects[r].0 == objects[k].0) {
                Some(p) => roots[p] = k,
                None => roots.push(k),
            }
        }
        out.push(Observation {
            first,
            last,
            count,
            objects,
            roots,
            version: StixVersion::V21,
        });
    }
    Ok(out)
}
