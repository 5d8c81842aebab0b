//! Evaluation of a pattern against observations, with the semantics of the
//! OASIS reference matcher (`stix2-matcher`).
//!
//! Evaluation has two stages, as in the reference:
//!
//! 1. Each comparison is tested on every object of its type in every
//!    observation. An object path selects values (stepping into lists with
//!    `[n]`/`[*]`, into referenced objects through `*_ref`/`*_refs`, decoding
//!    `*_hex`/`*_bin`); a comparison holds for an object when one of its
//!    values passes. `AND` inside brackets requires the same object, `OR`
//!    either. A bracket matches an observation when some object satisfies it.
//! 2. The observation expression holds when observations can be *bound* to
//!    its brackets: distinct instances (an observed-data with
//!    `number_observed` n provides n), `FOLLOWEDBY` ordering by the
//!    observation windows, `WITHIN` and `START`/`STOP` windows, `REPEATS`
//!    disjoint repetitions, qualifiers chaining left to right. Only
//!    existence matters, and [`crate::binding`] decides it without
//!    enumerating bindings.
//!
//! Where the reference raises an error (a timestamp literal compared with a
//! string that is not a timestamp, a reference that is not a string, an
//! invalid IP address under ISSUBSET …) evaluation fails with an
//! [`EvalError`], as a whole.

use std::rc::Rc;

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::StixVersion;
use crate::ast::*;
use crate::binding::Universe;
use crate::compare::{self, CompareError, Selected, SetLiteral};
use crate::observation::Observation;
use crate::pyregex::{PyRegex, RegexError, like_to_regex};

/// Why evaluation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

/// STIX 2.1 object types that are not cyber-observables: in 2.1 mode the
/// reference never matches a comparison on them.
pub const SDO_TYPES_V21: &[&str] = &[
    "attack-pattern",
    "bundle",
    "campaign",
    "course-of-action",
    "extension-definition",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "language-content",
    "location",
    "malware",
    "malware-analysis",
    "marking-definition",
    "note",
    "observed-data",
    "opinion",
    "relationship",
    "report",
    "threat-actor",
    "tool",
    "sighting",
    "vulnerability",
];

/// A comparison made ready to run: literals converted, expressions compiled.
#[derive(Debug)]
pub struct CompiledComparison {
    pub path: ObjectPath,
    pub negated: bool,
    pub test: Test,
}

#[derive(Debug)]
pub enum Test {
    Equal(LiteralValue),
    NotEqual(LiteralValue),
    Order(LiteralValue, fn(std::cmp::Ordering) -> bool),
    In(SetLiteral),
    Like {
        regex: regex::Regex,
        binary_convertible: bool,
    },
    Matches(PyRegex),
    IsSubset(String),
    IsSuperset(String),
    Exists,
}

/// Compiles one comparison. Fails where the reference fails before looking
/// at any data (a mixed set, an invalid or unsupported regular expression).
pub fn compile_comparison(c: &Comparison) -> Result<CompiledComparison, EvalError> {
    use std::cmp::Ordering::*;
    let test = match &c.op {
        Operator::Equal(l) => Test::Equal(l.value.clone()),
        Operator::NotEqual(l) => Test::NotEqual(l.value.clone()),
        Operator::Less(l) => Test::Order(l.value.clone(), |o| o == Less),
        Operator::LessOrEqual(l) => Test::Order(l.value.clone(), |o| o != Greater),
        Operator::Greater(l) => Test::Order(l.value.clone(), |o| o == Greater),
        Operator::GreaterOrEqual(l) => Test::Order(l.value.clone(), |o| o != Less),
        Operator::In(items) => {
            let values: Vec<LiteralValue> = items.iter().map(|l| l.value.clone()).collect();
            Test::In(SetLiteral::new(&values).ok_or_else(|| {
                EvalError("the set after IN mixes literals of different types (only integers and floats may mix)".into())
            })?)
        }
        Operator::Like(s) => {
            let normalized: String = s.value.nfc().collect();
            let binary_convertible = like_source_is_latin1(&normalized);
            let regex = regex::Regex::new(&like_to_regex(&normalized))
                .map_err(|e| EvalError(format!("LIKE operand cannot be compiled: {e}")))?;
            Test::Like {
                regex,
                binary_convertible,
            }
        }
        Operator::Matches(s) => {
            let normalized: String = s.value.nfc().collect();
            Test::Matches(
                PyRegex::new(&normalized)
                    .map_err(|e| EvalError(format!("MATCHES operand: {e}")))?,
            )
        }
        Operator::IsSubset(s) => Test::IsSubset(s.value.clone()),
        Operator::IsSuperset(s) => Test::IsSuperset(s.value.clone()),
        Operator::Exists => Test::Exists,
    };
    Ok(CompiledComparison {
        path: c.path.clone(),
        negated: c.negated,
        test,
    })
}

/// The reference decides whether binary values may be decoded for LIKE by
/// looking at the translated expression, where every character that is not
/// alphanumeric gains a backslash; so only the operand's characters matter.
fn like_source_is_latin1(like: &str) -> bool {
    like.chars().all(|c| (c as u32) < 256)
}

impl RegexError {
    pub fn is_unsupported(&self) -> bool {
        matches!(self, RegexError::Unsupported { .. })
    }
}

/// Values of one root object selected by a path.
type Values<'a> = Vec<Selected<'a>>;

/// Selects the values `path` reaches from `root` in `obs`.
pub fn select<'a>(
    obs: &'a Observation,
    root: &'a Value,
    steps: &[PathStep],
) -> Result<Values<'a>, EvalError> {
    let mut values: Values<'a> = vec![Selected::Json(root)];
    for step in steps {
        let mut next: Values<'a> = Vec::new();
        match step {
            PathStep::Key(key) => {
                for v in &values {
                    if let Selected::Json(Value::Object(map)) = v
                        && let Some(found) = map.get(key.as_str())
                    {
                        next.push(decode_suffixed(key, found)?);
                    }
                }
                if key.ends_with("_ref") {
                    next = dereference(obs, key, next)?;
                } else if key.ends_with("_refs") {
                    next = dereference_lists(obs, key, next)?;
                }
            }
            PathStep::Index(i) => {
                let Ok(i) = usize::try_from(*i) else {
                    return Ok(Vec::new());
                };
                for v in &values {
                    match v {
                        Selected::Json(Value::Array(items)) => {
                            if let Some(item) = items.get(i) {
                                next.push(Selected::Json(item));
                            }
                        }
                        Selected::Objects(items) => {
                            if let Some(item) = items.get(i) {
                                next.push(Selected::Json(item));
                            }
                        }
                        _ => {}
                    }
                }
            }
            PathStep::AnyIndex => {
                for v in &values {
                    match v {
                        Selected::Json(Value::Array(items)) => {
                            next.extend(items.iter().map(Selected::Json))
                        }
                        Selected::Objects(items) => {
                            next.extend(items.iter().map(|o| Selected::Json(o)))
                        }
                        _ => {}
                    }
                }
            }
        }
        values = next;
        if values.is_empty() {
            break;
        }
    }
    Ok(values)
}

fn decode_suffixed<'a>(key: &str, v: &'a Value) -> Result<Selected<'a>, EvalError> {
    if key.ends_with("_hex") {
        let Value::String(s) = v else {
            return Err(EvalError(format!("property {key} must be a hex string")));
        };
        return decode_hex_value(s)
            .map(|b| Selected::Bytes(Rc::from(b)))
            .ok_or_else(|| {
                EvalError(format!(
                    "property {key} is not valid hex: {:?}",
                    compare::truncate(s, 40)
                ))
            });
    }
    if key.ends_with("_bin") {
        let Value::String(s) = v else {
            return Err(EvalError(format!("property {key} must be a base64 string")));
        };
        return decode_base64_lenient(s)
            .map(|b| Selected::Bytes(Rc::from(b)))
            .ok_or_else(|| {
                EvalError(format!(
                    "property {key} is not valid base64: {:?}",
                    compare::truncate(s, 40)
                ))
            });
    }
    Ok(Selected::Json(v))
}

fn decode_hex_value(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16)?;
            let l = (p[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

/// Base64 as Python's `base64.standard_b64decode` reads it: characters
/// outside the alphabet are skipped, input stops at complete padding.
pub fn decode_base64_lenient(s: &str) -> Option<Vec<u8>> {
    if !s.is_ascii() {
        return None;
    }
    let mut out = Vec::new();
    let mut quad = 0usize;
    let mut acc = 0u32;
    let mut pads = 0usize;
    for &c in s.as_bytes() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let Some(v) = crate::parser::base64_value(c) else {
            continue;
        };
        pads = 0;
        acc = acc << 6 | u32::from(v);
        quad += 1;
        match quad {
            2 => out.push((acc >> 4) as u8),
            3 => out.push((acc >> 2) as u8),
            4 => {
                out.push(acc as u8);
                quad = 0;
                acc = 0;
            }
            _ => {}
        }
    }
    if quad != 0 {
        return None;
    }
    Some(out)
}

fn dereference<'a>(
    obs: &'a Observation,
    key: &str,
    refs: Values<'a>,
) -> Result<Values<'a>, EvalError> {
    let mut out = Vec::new();
    for r in refs {
        match r {
            Selected::Json(Value::String(id)) => out.extend(obs.resolve(id).map(Selected::Json)),
            _ => {
                return Err(EvalError(format!(
                    "the value of reference property '{key}' is not a string"
                )));
            }
        }
    }
    Ok(out)
}

fn dereference_lists<'a>(
    obs: &'a Observation,
    key: &str,
    lists: Values<'a>,
) -> Result<Values<'a>, EvalError> {
    let mut out = Vec::new();
    for list in lists {
        let Selected::Json(Value::Array(refs)) = list else {
            return Err(EvalError(format!(
                "the value of reference list property '{key}' is not a list"
            )));
        };
        let mut objects = Vec::new();
        for r in refs {
            match r {
                Value::String(id) => objects.extend(obs.resolve(id)),
                _ => {
                    return Err(EvalError(format!(
                        "a value of reference list property '{key}' is not a string"
                    )));
                }
            }
        }
        if !objects.is_empty() {
            out.push(Selected::Objects(objects));
        }
    }
    Ok(out)
}

impl CompiledComparison {
    /// Whether one selected value passes (before `NOT` is applied for
    /// EXISTS, which has no values).
    pub fn passes(&self, value: &Selected<'_>) -> Result<bool, EvalError> {
        let wrap = |e: CompareError| EvalError(format!("comparing {}: {}", self.path, e.0));
        let result = match &self.test {
            Test::Equal(l) => compare::equals(value, l).map_err(wrap)?,
            Test::NotEqual(l) => !compare::equals(value, l).map_err(wrap)?,
            Test::Order(l, accept) => match compare::order(value, l).map_err(wrap)? {
                compare::Ordered::Yes(o) => accept(o),
                compare::Ordered::Incomparable => false,
                compare::Ordered::NoOrdering => return Ok(false),
            },
            Test::In(set) => set.contains(value).map_err(wrap)?,
            Test::Like {
                regex,
                binary_convertible,
            } => match value {
                Selected::Json(Value::String(s)) => regex.is_match(&nfc(s)),
                Selected::Bytes(b) if *binary_convertible => {
                    let s = std::str::from_utf8(b).map_err(|_| {
                        EvalError(format!(
                            "comparing {}: binary value is not UTF-8 text",
                            self.path
                        ))
                    })?;
                    regex.is_match(&nfc(s))
                }
                _ => false,
            },
            Test::Matches(re) => match value {
                Selected::Json(Value::String(s)) => re.text.is_match(&nfc(s)),
                Selected::Bytes(b) => re.bytes.as_ref().is_some_and(|r| r.is_match(b)),
                _ => false,
            },
            Test::IsSubset(net) => match value {
                Selected::Json(Value::String(s)) => compare::in_subnet(s, net).map_err(wrap)?,
                _ => false,
            },
            Test::IsSuperset(net) => match value {
                Selected::Json(Value::String(s)) => compare::in_subnet(net, s).map_err(wrap)?,
                _ => false,
            },
            Test::Exists => true,
        };
        Ok(result != self.negated)
    }

    /// Whether the path only steps through object keys that need neither
    /// dereferencing nor decoding (so it selects at most one value).
    pub fn plain_path(&self) -> bool {
        !matches!(self.test, Test::Exists)
            && self.path.steps.iter().all(|s| match s {
                PathStep::Key(k) => {
                    !(k.ends_with("_ref")
                        || k.ends_with("_refs")
                        || k.ends_with("_hex")
                        || k.ends_with("_bin"))
                }
                _ => false,
            })
    }

    /// [`Self::matching_roots`] is not empty, for plain paths, without
    /// allocating. Every root is tested, so that an error is reported
    /// whatever the other roots say.
    fn matches_plain(&self, obs: &Observation) -> Result<bool, EvalError> {
        if obs.version == StixVersion::V21
            && SDO_TYPES_V21.contains(&self.path.object_type.as_str())
        {
            return Ok(false);
        }
        let mut found = false;
        for (_, root) in obs.root_objects() {
            if root.get("type").and_then(Value::as_str) != Some(self.path.object_type.as_str()) {
                continue;
            }
            let mut value = root;
            let mut present = true;
            for step in &self.path.steps {
                match (step, value) {
                    (PathStep::Key(k), Value::Object(map)) => match map.get(k.as_str()) {
                        Some(v) => value = v,
                        None => {
                            present = false;
                            break;
                        }
                    },
                    _ => {
                        present = false;
                        break;
                    }
                }
            }
            if present && self.passes(&Selected::Json(value))? {
                found = true;
            }
        }
        Ok(found)
    }

    /// The root objects of `obs` (by position in `obs.roots`) that satisfy the
    /// comparison.
    pub fn matching_roots(&self, obs: &Observation) -> Result<Vec<usize>, EvalError> {
        let mut out = Vec::new();
        if obs.version == StixVersion::V21
            && SDO_TYPES_V21.contains(&self.path.object_type.as_str())
        {
            return Ok(out);
        }
        for (k, (_, root)) in obs.root_objects().enumerate() {
            if root.get("type").and_then(Value::as_str) != Some(self.path.object_type.as_str()) {
                continue;
            }
            let values = select(obs, root, &self.path.steps)?;
            if matches!(self.test, Test::Exists) {
                if values.is_empty() == self.negated {
                    out.push(k);
                }
                continue;
            }
            for v in &values {
                if self.passes(v)? {
                    out.push(k);
                    break;
                }
            }
        }
        Ok(out)
    }
}

fn nfc(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.nfc().collect())
    }
}

/// A comparison expression with compiled comparisons, in the same shape.
#[derive(Debug)]
pub enum CompiledBracket {
    And(Box<CompiledBracket>, Box<CompiledBracket>),
    Or(Box<CompiledBracket>, Box<CompiledBracket>),
    Test(Box<CompiledComparison>),
}

impl CompiledBracket {
    pub fn compile(expr: &ComparisonExpr) -> Result<CompiledBracket, EvalError> {
        Ok(match expr {
            ComparisonExpr::And(a, b) => {
                CompiledBracket::And(Box::new(Self::compile(a)?), Box::new(Self::compile(b)?))
            }
            ComparisonExpr::Or(a, b) => {
                CompiledBracket::Or(Box::new(Self::compile(a)?), Box::new(Self::compile(b)?))
            }
            ComparisonExpr::Test(c) => CompiledBracket::Test(Box::new(compile_comparison(c)?)),
        })
    }

    /// Root objects (positions in `obs.roots`) satisfying the expression.
    /// Every comparison is evaluated, as in the reference, so that an error
    /// anywhere is reported whatever the other comparisons say.
    pub fn matching_roots(&self, obs: &Observation) -> Result<Vec<usize>, EvalError> {
        Ok(match self {
            CompiledBracket::Test(c) => c.matching_roots(obs)?,
            CompiledBracket::And(a, b) => {
                let a = a.matching_roots(obs)?;
                let b = b.matching_roots(obs)?;
                a.into_iter().filter(|r| b.contains(r)).collect()
            }
            CompiledBracket::Or(a, b) => {
                let mut a = a.matching_roots(obs)?;
                for r in b.matching_roots(obs)? {
                    if !a.contains(&r) {
                        a.push(r);
                    }
                }
                a
            }
        })
    }

    pub fn matches(&self, obs: &Observation) -> Result<bool, EvalError> {
        if let CompiledBracket::Test(c) = self
            && c.plain_path()
        {
            return c.matches_plain(obs);
        }
        Ok(!self.matching_roots(obs)?.is_empty())
    }

    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a CompiledComparison)) {
        match self {
            CompiledBracket::Test(c) => f(c),
            CompiledBracket::And(a, b) | CompiledBracket::Or(a, b) => {
                a.visit(f);
                b.visit(f);
            }
        }
    }
}

/// A pattern compiled for evaluation.
#[derive(Debug)]
pub struct CompiledPattern {
    pub tree: ObsNode,
    pub brackets: Vec<CompiledBracket>,
    pub version: StixVersion,
}

/// Where a part of the pattern starts: 1-based line and column, in
/// characters, as in [`crate::ParseError`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    fn at(text: &str, offset: usize) -> Position {
        let e = crate::parser::ParseError::new(text, offset, "");
        Position {
            line: e.line,
            column: e.column,
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 1 {
            write!(f, "column {}", self.column)
        } else {
            write!(f, "line {}, column {}", self.line, self.column)
        }
    }
}

/// The observation-expression tree, with brackets numbered left to right.
/// Operators carry the position where their expression starts, qualifiers
/// that of their keyword, for errors. Qualifiers after qualifiers nest: `[a]
/// WITHIN 5 SECONDS REPEATS 2 TIMES` is `Repeats(Within(Bracket))`.
#[derive(Clone, Debug)]
pub enum ObsNode {
    Bracket(usize),
    And(Box<ObsNode>, Box<ObsNode>, Position),
    Or(Box<ObsNode>, Box<ObsNode>, Position),
    FollowedBy(Box<ObsNode>, Box<ObsNode>, Position),
    /// `WITHIN`, in microseconds.
    Within(Box<ObsNode>, i128, Position),
    Repeats(Box<ObsNode>, u64, Position),
    /// `START` and `STOP`, in microseconds since the epoch.
    StartStop(Box<ObsNode>, i64, i64, Position),
}

impl ObsNode {
    /// Calls `f` on this node and every node below it.
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a ObsNode)) {
        f(self);
        match self {
            ObsNode::Bracket(_) => {}
            ObsNode::And(a, b, _) | ObsNode::Or(a, b, _) | ObsNode::FollowedBy(a, b, _) => {
                a.visit(f);
                b.visit(f);
            }
            ObsNode::Within(inner, ..)
            | ObsNode::Repeats(inner, ..)
            | ObsNode::StartStop(inner, ..) => inner.visit(f),
        }
    }

    /// Where the node's expression (or qualifier) starts in the pattern.
    pub fn position(&self) -> Position {
        match self {
            ObsNode::Bracket(_) => Position::default(),
            ObsNode::And(.., at)
            | ObsNode::Or(.., at)
            | ObsNode::FollowedBy(.., at)
            | ObsNode::Within(.., at)
            | ObsNode::Repeats(.., at)
            | ObsNode::StartStop(.., at) => *at,
        }
    }

    /// What the node is, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            ObsNode::Bracket(_) => "observation expression",
            ObsNode::And(..) => "AND",
            ObsNode::Or(..) => "OR",
            ObsNode::FollowedBy(..) => "FOLLOWEDBY",
            ObsNode::Within(..) => "WITHIN",
            ObsNode::Repeats(..) => "REPEATS",
            ObsNode::StartStop(..) => "START/STOP",
        }
    }
}

impl CompiledPattern {
    pub fn new(pattern: &Pattern, version: StixVersion) -> Result<CompiledPattern, EvalError> {
        let mut brackets = Vec::new();
        let tree = build_tree(&pattern.root, &pattern.text, &mut brackets, version)?;
        Ok(CompiledPattern {
            tree,
            brackets,
            version,
        })
    }

    /// Evaluates against `observations`.
    pub fn matches(&self, observations: &[Observation]) -> Result<bool, EvalError> {
        let hits = self.bracket_hits(observations)?;
        Universe::new(observations, &hits).matches(&self.tree)
    }

    /// For each bracket, the observations it matches.
    pub fn bracket_hits(&self, observations: &[Observation]) -> Result<Vec<Vec<usize>>, EvalError> {
        self.brackets
            .iter()
            .map(|b| {
                let mut hits = Vec::new();
                for (i, obs) in observations.iter().enumerate() {
                    if b.matches(obs)? {
                        hits.push(i);
                    }
                }
                Ok(hits)
            })
            .collect()
    }
}

/// Where an observation expression starts: its first bracket, or the
/// parenthesis before it.
fn expression_start(e: &ObservationExpr) -> usize {
    match e {
        ObservationExpr::Bracket(_, span) => span.start,
        ObservationExpr::Group(inner) => expression_start(inner).saturating_sub(1),
        ObservationExpr::And(a, _)
        | ObservationExpr::Or(a, _)
        | ObservationExpr::FollowedBy(a, _)
        | ObservationExpr::Qualified(a, _) => expression_start(a),
    }
}

fn build_tree(
    e: &ObservationExpr,
    text: &str,
    brackets: &mut Vec<CompiledBracket>,
    version: StixVersion,
) -> Result<ObsNode, EvalError> {
    let here = || Position::at(text, expression_start(e));
    let child = |x: &ObservationExpr, brackets: &mut Vec<CompiledBracket>| {
        build_tree(x, text, brackets, version).map(Box::new)
    };
    Ok(match e {
        ObservationExpr::Bracket(c, _) => {
            brackets.push(CompiledBracket::compile(c)?);
            ObsNode::Bracket(brackets.len() - 1)
        }
        ObservationExpr::Group(inner) => build_tree(inner, text, brackets, version)?,
        ObservationExpr::And(a, b) => {
            ObsNode::And(child(a, brackets)?, child(b, brackets)?, here())
        }
        ObservationExpr::Or(a, b) => ObsNode::Or(child(a, brackets)?, child(b, brackets)?, here()),
        ObservationExpr::FollowedBy(a, b) => {
            ObsNode::FollowedBy(child(a, brackets)?, child(b, brackets)?, here())
        }
        ObservationExpr::Qualified(inner, q) => {
            let inner = child(inner, brackets)?;
            let at = Position::at(text, q.span().start);
            match q {
                Qualifier::Within { text, micros, .. } => {
                    if !has_nonzero_digit(text) {
                        return Err(EvalError(format!(
                            "at {at}: WITHIN {text} SECONDS: the duration must be positive"
                        )));
                    }
                    ObsNode::Within(inner, *micros, at)
                }
                Qualifier::Repeats { count, .. } => {
                    if *count < 1 {
                        return Err(EvalError(format!(
                            "at {at}: REPEATS {count} TIMES: the count must be at least 1"
                        )));
                    }
                    ObsNode::Repeats(inner, u64::try_from(*count).unwrap_or(u64::MAX), at)
                }
                Qualifier::StartStop { start, stop, .. } => {
                    if version == StixVersion::V20 {
                        return Err(EvalError(format!(
                            "at {at}: START/STOP cannot be evaluated against STIX 2.0 observed-data (the reference matcher refuses it too); use STIX 2.1"
                        )));
                    }
                    ObsNode::StartStop(inner, start.as_micros(), stop.as_micros(), at)
                }
            }
        }
    })
}

pub(crate) fn has_nonzero_digit(text: &str) -> bool {
    text.bytes().any(|c| (b'1'..=b'9').contains(&c))
}

/// Evaluates `pattern` against observed data.
pub fn evaluate(
    pattern: &Pattern,
    observations: &[Observation],
    version: StixVersion,
) -> Result<bool, EvalError> {
    CompiledPattern::new(pattern, version)?.matches(observations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_base64_follows_python() {
        assert_eq!(decode_base64_lenient("AQID"), Some(vec![1, 2, 3]));
        assert_eq!(decode_base64_lenient("AQ=="), Some(vec![1]));
        assert_eq!(decode_base64_lenient("A Q I D"), Some(vec![1, 2, 3]));
        assert_eq!(decode_base64_lenient("AQ==garbage"), Some(vec![1]));
        assert_eq!(decode_base64_lenient("AQI"), None);
        assert_eq!(decode_base64_lenient("A"), None);
    }
}
