//! Checks of a parsed pattern beyond its grammar.
//!
//! Three layers, each optional above the first:
//!
//! 1. What the OASIS tools refuse (always checked): a pattern must open with
//!    `[` (after any `(`), hash values must have the form of their
//!    algorithm, no negative list index, and the literals the reference
//!    matcher cannot evaluate (`REPEATS 0`, `WITHIN 0`, mixed sets, invalid
//!    regular expressions, and ones this matcher cannot execute). One
//!    qualifier of each kind per observation expression (STIX 2.1) only with
//!    [`Rules::one_qualifier_per_kind`]: the OASIS validator requires it, the
//!    OASIS matcher evaluates longer chains.
//! 2. Operand formats ([`Rules::operand_formats`]): CIDR operands of
//!    ISSUBSET / ISSUPERSET must be addresses or networks.
//! 3. Cyber-observable definitions ([`ObjectRules`]): object types and
//!    properties must be those of STIX 2.1 (or custom ones, when allowed),
//!    paths must step through lists and references correctly, and literals
//!    must have the type of the property they are compared with.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::StixVersion;
use crate::ast::*;
use crate::parser::ParseError;
use crate::pyregex::PyRegex;

/// How object types and properties are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ObjectRules {
    /// Only STIX 2.1 cyber-observables and their properties.
    #[default]
    Strict,
    /// STIX 2.1 definitions where they apply; other types, properties and
    /// extensions are accepted as custom ones.
    AllowCustom,
    /// Object types and properties are not checked.
    Ignore,
}

/// Which checks [`validate`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub objects: ObjectRules,
    pub operand_formats: bool,
    pub version: StixVersion,
    /// STIX 2.1 allows at most one qualifier of each kind directly on an
    /// observation expression: `[a] REPEATS 2 TIMES REPEATS 3 TIMES` is
    /// invalid, `([a] REPEATS 2 TIMES) REPEATS 3 TIMES` is not (the OASIS
    /// validator reads the rule so, oasis-open/cti-pattern-validator#71).
    /// The OASIS matcher never validates and evaluates any chain the grammar
    /// allows, so evaluation does not need the rule; indicators do.
    pub one_qualifier_per_kind: bool,
}

impl Rules {
    /// Full checking against the STIX 2.1 definitions.
    pub fn strict() -> Rules {
        Rules {
            objects: ObjectRules::Strict,
            operand_formats: true,
            version: StixVersion::V21,
            one_qualifier_per_kind: true,
        }
    }

    /// What the OASIS reference matcher (stix2-matcher) needs before it
    /// evaluates a pattern, and nothing more: the checks of the OASIS
    /// validator (stix2-patterns) except the one-qualifier-per-kind rule of
    /// STIX 2.1, since the matcher evaluates qualifier chains such as `[a]
    /// REPEATS 2 TIMES REPEATS 3 TIMES`. Patterns these rules accept are
    /// evaluated exactly as the matcher evaluates them.
    pub fn reference(version: StixVersion) -> Rules {
        Rules {
            objects: ObjectRules::Ignore,
            operand_formats: false,
            version,
            one_qualifier_per_kind: false,
        }
    }

    /// Exactly what the OASIS validator (stix2-patterns) accepts: what makes
    /// a pattern valid STIX for the OASIS tools.
    pub fn oasis_validator(version: StixVersion) -> Rules {
        Rules {
            one_qualifier_per_kind: true,
            ..Rules::reference(version)
        }
    }
}

/// Checks `pattern`; every problem found is returned, in pattern order.
pub fn validate(pattern: &Pattern, rules: &Rules) -> Vec<ParseError> {
    let mut v = Validator {
        pattern,
        rules,
        problems: Vec::new(),
    };
    v.opening_bracket();
    if rules.version == StixVersion::V21 && rules.one_qualifier_per_kind {
        let mut state = None;
        v.qualifier_kinds(&pattern.root, &mut state);
    }
    v.observation(&pattern.root);
    v.problems.sort_by_key(|p| p.offset);
    v.problems.dedup();
    v.problems
}

struct Validator<'a> {
    pattern: &'a Pattern,
    rules: &'a Rules,
    problems: Vec<ParseError>,
}

impl Validator<'_> {
    fn problem(&mut self, offset: usize, message: impl Into<String>) {
        self.problems
            .push(ParseError::new(&self.pattern.text, offset, message));
    }

    fn opening_bracket(&mut self) {
        let text = &self.pattern.text;
        let found = text
            .char_indices()
            .find(|(_, c)| *c != '(' && !is_python_space(*c));
        match found {
            Some((_, '[')) => {}
            Some((i, _)) => self.problem(
                i,
                "a pattern must start with '[' (after any opening parentheses)",
            ),
            None => self.problem(0, "a pattern must start with '['"),
        }
    }

    /// The reference validator resets its record of qualifiers at each
    /// bracket and forgets it after each parenthesised group; a second
    /// qualifier of the same kind while it remembers is an error.
    fn qualifier_kinds(&mut self, e: &ObservationExpr, state: &mut Option<HashSet<&'static str>>) {
        match e {
            ObservationExpr::Bracket(..) => *state = Some(HashSet::new()),
            ObservationExpr::Group(inner) => {
                self.qualifier_kinds(inner, state);
                *state = None;
            }
            ObservationExpr::And(a, b)
            | ObservationExpr::Or(a, b)
            | ObservationExpr::FollowedBy(a, b) => {
                self.qualifier_kinds(a, state);
                self.qualifier_kinds(b, state);
            }
            ObservationExpr::Qualified(inner, q) => {
                self.qualifier_kinds(inner, state);
                let kind = match q {
                    Qualifier::Within { .. } => "WITHIN",
                    Qualifier::Repeats { .. } => "REPEATS",
                    Qualifier::StartStop { .. } => "START/STOP",
                };
                if let Some(seen) = state
                    && !seen.insert(kind)
                {
                    self.problem(
                        q.span().start,
                        format!("a second {kind} qualifier on the same observation expression, which STIX 2.1 forbids (put the expression and its first {kind} in parentheses: the meaning is the same)"),
                    );
                }
            }
        }
    }

    fn observation(&mut self, e: &ObservationExpr) {
        match e {
            ObservationExpr::Bracket(c, _) => self.comparison_expr(c),
            ObservationExpr::Group(inner) => self.observation(inner),
            ObservationExpr::And(a, b)
            | ObservationExpr::Or(a, b)
            | ObservationExpr::FollowedBy(a, b) => {
                self.observation(a);
                self.observation(b);
            }
            ObservationExpr::Qualified(inner, q) => {
                self.observation(inner);
                match q {
                    Qualifier::Within { text, span, .. } if !crate::eval::has_nonzero_digit(text) => {
                        self.problem(span.start, "the WITHIN duration must be more than 0 seconds")
                    }
                    Qualifier::Repeats { count, span } if *count < 1 => {
                        self.problem(span.start, "REPEATS needs a count of at least 1")
                    }
                    Qualifier::StartStop { span, .. } if self.rules.version == StixVersion::V20 => self.problem(
                        span.start,
                        "START/STOP cannot be evaluated against STIX 2.0 observed-data (their timestamps were strings there; the OASIS matcher refuses both forms); use STIX 2.1",
                    ),
                    Qualifier::StartStop { start, stop, span } if start >= stop && self.rules.operand_formats => {
                        self.problem(span.start, "START must be earlier than STOP (this qualifier can never be satisfied)")
                    }
                    _ => {}
                }
            }
        }
    }

    fn comparison_expr(&mut self, c: &ComparisonExpr) {
        match c {
            ComparisonExpr::And(a, b) | ComparisonExpr::Or(a, b) => {
                self.comparison_expr(a);
                self.comparison_expr(b);
            }
            ComparisonExpr::Test(t) => self.comparison(t),
        }
    }

    fn comparison(&mut self, c: &Comparison) {
        self.path_shape(&c.path);
        self.hash_value(c);
        match &c.op {
            Operator::In(items) => {
                let values: Vec<LiteralValue> = items.iter().map(|l| l.value.clone()).collect();
                if crate::compare::SetLiteral::new(&values).is_none() {
                    let start = items.first().map_or(c.span.start, |l| l.span.start);
                    self.problem(start, "the set mixes literals of different types (only integers and floats may mix)");
                }
            }
            Operator::Matches(s) => {
                let normalized: String = s.value.nfc().collect();
                if let Err(e) = PyRegex::new(&normalized) {
                    self.problem(s.span.start, format!("MATCHES: {e}"));
                }
            }
            Operator::IsSubset(s) | Operator::IsSuperset(s) if self.rules.operand_formats => {
                let needs_prefix = matches!(c.op, Operator::IsSubset(_));
                if crate::compare::parse_net(&s.value, needs_prefix).is_err() {
                    let what = if needs_prefix {
                        "a CIDR network such as '10.0.0.0/8'"
                    } else {
                        "an IP address or CIDR network"
                    };
                    self.problem(
                        s.span.start,
                        format!("{} needs {what}, not {:?}", c.op.name(), s.value),
                    );
                }
            }
            _ => {}
        }
        if self.rules.objects != ObjectRules::Ignore {
            self.against_definitions(c);
        }
    }

    fn path_shape(&mut self, path: &ObjectPath) {
        for step in &path.steps {
            if let PathStep::Index(i) = step
                && *i < 0
            {
                self.problem(
                    path.span.start,
                    format!("list index {i} in {path} is negative (indexes start at 0)"),
                );
            }
        }
        let through_hashes = path
            .steps
            .iter()
            .any(|s| *s == PathStep::Key("hashes".into()));
        if through_hashes && matches!(path.steps.last(), Some(PathStep::Index(_))) {
            self.problem(
                path.span.start,
                format!("{path}: hashes are selected by algorithm name, not by list index"),
            );
        }
    }

    /// The OASIS validator's check of hash values, on the literal as written.
    fn hash_value(&mut self, c: &Comparison) {
        if !c
            .path
            .steps
            .iter()
            .any(|s| *s == PathStep::Key("hashes".into()))
        {
            return;
        }
        let Some(PathStep::Key(selector)) = c.path.steps.last() else {
            return;
        };
        let algorithm: String = selector.to_uppercase().replace(['-', '\''], "");
        let (raw, at) = match &c.op {
            Operator::Equal(l)
            | Operator::NotEqual(l)
            | Operator::Less(l)
            | Operator::LessOrEqual(l)
            | Operator::Greater(l)
            | Operator::GreaterOrEqual(l) => (self.pattern.slice(l.span), l.span.start),
            Operator::Like(s)
            | Operator::Matches(s)
            | Operator::IsSubset(s)
            | Operator::IsSuperset(s) => (self.pattern.slice(s.span), s.span.start),
            Operator::In(items) => {
                let start = items.first().map_or(c.span.start, |l| l.span.start);
                let end = items.last().map_or(c.span.end, |l| l.span.end);
                // The reference takes the whole set text, parentheses included.
                let text = self
                    .pattern
                    .text
                    .get(start.saturating_sub(1)..(end + 1).min(self.pattern.text.len()));
                match text {
                    Some(t) if !items.is_empty() => (t, start),
                    _ => ("()", c.span.start),
                }
            }
            Operator::Exists => return,
        };
        let value = raw.replace('\'', "");
        if let Some(ok) = hash_form_ok(&algorithm, &value)
            && !ok
        {
            self.problem(at, format!("'{value}' is not a valid {selector} hash"));
        }
    }

    fn against_definitions(&mut self, c: &Comparison) {
        let allow_custom = self.rules.objects == ObjectRules::AllowCustom;
        let schema = schema();
        let path = &c.path;
        let mut cursor = match schema.types.get(&path.object_type) {
            Some(_) => Cursor::Object(vec![path.object_type.clone()]),
            None if allow_custom => Cursor::Custom,
            None => {
                self.problem(
                    path.span.start,
                    format!(
                        "'{}' is not a STIX 2.1 cyber-observable object type (custom object types need --allow-custom)",
                        path.object_type
                    ),
                );
                return;
            }
        };
        let mut shown = format!("{}:", path.object_type);
        for (i, step) in path.steps.iter().enumerate() {
            let here = shown.clone();
            match step {
                PathStep::Key(k) => {
                    if i > 0 {
                        shown.push('.');
                    }
                    shown.push_str(k);
                }
                PathStep::Index(n) => shown.push_str(&format!("[{n}]")),
                PathStep::AnyIndex => shown.push_str("[*]"),
            }
            match cursor.step(schema, step, allow_custom) {
                Ok(next) => cursor = next,
                Err(why) => {
                    self.problem(
                        path.span.start,
                        format!("{shown}: {}", why.replace("{here}", &here)),
                    );
                    return;
                }
            }
        }
        if matches!(c.op, Operator::Exists) {
            return;
        }
        let kind = match cursor {
            Cursor::Custom => return,
            Cursor::Kind(k) => k,
            Cursor::Object(_) => {
                self.problem(path.span.start, format!("{shown} refers to another object: name the property to compare (e.g. {shown}.value)"));
                return;
            }
            Cursor::RefList(_) => {
                self.problem(path.span.start, format!("{shown} is a list of references: select with [*] and name a property (e.g. {shown}[*].value)"));
                return;
            }
            Cursor::Struct(_) | Cursor::Extensions(_) | Cursor::Extension(..) => {
                self.problem(
                    path.span.start,
                    format!("{shown} is a structure: compare one of its properties"),
                );
                return;
            }
        };
        match kind {
            Kind::List(_) => self.problem(
                path.span.start,
                format!("{shown} is a list: select its elements with [*] or [n]"),
            ),
            Kind::Hashes => self.problem(
                path.span.start,
                format!(
                    "{shown} is a dictionary of hashes: name the algorithm (e.g. {shown}.'SHA-256')"
                ),
            ),
            Kind::Dictionary | Kind::Extensions => self.problem(
                path.span.start,
                format!("{shown} is a dictionary: compare one of its entries"),
            ),
            kind => self.literal_types(c, &shown, &kind),
        }
    }

    fn literal_types(&mut self, c: &Comparison, shown: &str, kind: &Kind) {
        let at = c.path.span.start;
        let fits = |l: &LiteralValue| match kind {
            Kind::String => matches!(l, LiteralValue::Str(_)),
            Kind::Integer | Kind::Float => {
                matches!(l, LiteralValue::Int(_) | LiteralValue::Float(_))
            }
            Kind::Boolean => matches!(l, LiteralValue::Bool(_)),
            Kind::Timestamp => matches!(l, LiteralValue::Timestamp(_)),
            Kind::Binary | Kind::Hex => matches!(l, LiteralValue::Bytes(_)),
            _ => true,
        };
        let wanted = match kind {
            Kind::String => "a string literal '...'",
            Kind::Integer | Kind::Float => "a number",
            Kind::Boolean => "true or false",
            Kind::Timestamp => "a timestamp literal t'...'",
            Kind::Binary | Kind::Hex => "a binary literal (h'...' or b'...')",
            _ => "a literal",
        };
        match &c.op {
            Operator::Like(_) | Operator::Matches(_) => {
                if !matches!(
                    kind,
                    Kind::String | Kind::Binary | Kind::Hex | Kind::Dictionary
                ) {
                    self.problem(
                        at,
                        format!(
                            "{shown} is {}: {} applies to strings",
                            kind.describe(),
                            c.op.name()
                        ),
                    );
                }
            }
            Operator::IsSubset(_) | Operator::IsSuperset(_) => {
                let ip_value = matches!(c.path.object_type.as_str(), "ipv4-addr" | "ipv6-addr")
                    && c.path.steps == [PathStep::Key("value".into())];
                if !ip_value {
                    self.problem(at, format!("{} applies to IP addresses (ipv4-addr:value, ipv6-addr:value), not {shown}", c.op.name()));
                }
            }
            Operator::Less(_)
            | Operator::LessOrEqual(_)
            | Operator::Greater(_)
            | Operator::GreaterOrEqual(_)
                if *kind == Kind::Boolean =>
            {
                self.problem(at, format!("{shown} is a boolean: it cannot be ordered"));
            }
            op => {
                for l in op.literals() {
                    if !fits(&l.value) {
                        self.problem(
                            l.span.start,
                            format!(
                                "{shown} is {}: compare it with {wanted}, not {}",
                                kind.describe(),
                                l.value.type_name()
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// Python's `str.isspace`.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The OASIS validator's table of hash forms; `None` for other algorithms.
fn hash_form_ok(algorithm: &str, value: &str) -> Option<bool> {
    let hex = |n: usize| {
        // Python's `$` accepts one final newline.
        let v = value.strip_suffix('\n').unwrap_or(value);
        v.len() == n && v.bytes().all(|c| c.is_ascii_hexdigit())
    };
    let starts_hex =
        |s: &str, n: usize| s.len() >= n && s.as_bytes()[..n].iter().all(u8::is_ascii_hexdigit);
    Some(match algorithm {
        "MD5" => hex(32),
        "RIPEMD160" | "SHA1" => hex(40),
        "SHA224" | "SHA3224" => hex(56),
        "SHA256" | "SHA3256" => hex(64),
        "SHA384" | "SHA3384" => hex(96),
        "SHA512" | "SHA3512" | "WHIRLPOOL" => hex(128),
        // The reference's MD6 expression is an unanchored alternation:
        // starting with 32 hex digits is enough.
        "MD6" => {
            starts_hex(value, 32)
                || value
                    .strip_prefix("\n    ")
                    .is_some_and(|r| starts_hex(r, 64))
                || hex(128)
        }
        "SSDEEP" => {
            let v = value.strip_suffix('\n').unwrap_or(value);
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"/+:.".contains(&c))
        }
        _ => return None,
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    String,
    Integer,
    Float,
    Boolean,
    Timestamp,
    Binary,
    Hex,
    Hashes,
    Dictionary,
    Ref(Vec<String>),
    Refs(Vec<String>),
    List(Box<Kind>),
    Struct(String),
    Extensions,
}

impl Kind {
    fn describe(&self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Integer => "an integer",
            Kind::Float => "a number",
            Kind::Boolean => "a boolean",
            Kind::Timestamp => "a timestamp",
            Kind::Binary => "binary (base64)",
            Kind::Hex => "binary (hex)",
            Kind::Hashes => "a dictionary of hashes",
            Kind::Dictionary => "a dictionary",
            Kind::Ref(_) => "a reference",
            Kind::Refs(_) => "a list of references",
            Kind::List(_) => "a list",
            Kind::Struct(_) => "a structure",
            Kind::Extensions => "a dictionary of extensions",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        let types = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
        Some(match text {
            "string" => Kind::String,
            "integer" => Kind::Integer,
            "float" => Kind::Float,
            "boolean" => Kind::Boolean,
            "timestamp" => Kind::Timestamp,
            "binary" => Kind::Binary,
            "hex" => Kind::Hex,
            "hashes" => Kind::Hashes,
            "dictionary" => Kind::Dictionary,
            "extensions" => Kind::Extensions,
            t if t.starts_with("ref:") => Kind::Ref(types(&t[4..])),
            t if t.starts_with("refs:") => Kind::Refs(types(&t[5..])),
            t if t.starts_with("list:") => Kind::List(Box::new(Kind::parse(&t[5..])?)),
            t if t.starts_with('@') => Kind::Struct(t[1..].to_owned()),
            _ => return None,
        })
    }
}

type Props = HashMap<String, Kind>;

struct Schema {
    common: Props,
    types: HashMap<String, Props>,
    extensions: HashMap<(String, String), Props>,
    structs: HashMap<String, Props>,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut s = Schema {
            common: Props::new(),
            types: HashMap::new(),
            extensions: HashMap::new(),
            structs: HashMap::new(),
        };
        let mut current: Option<&mut Props> = None;
        for line in include_str!("sco-2.1.txt").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = Some(if section == "common" {
                    &mut s.common
                } else if let Some(name) = section.strip_prefix('@') {
                    s.structs.entry(name.to_owned()).or_default()
                } else if let Some((ty, ext)) = section.split_once('/') {
                    s.extensions
                        .entry((ty.to_owned(), ext.to_owned()))
                        .or_default()
                } else {
                    s.types.entry(section.to_owned()).or_default()
                });
                continue;
            }
            if let (Some(props), Some((name, kind))) =
                (current.as_deref_mut(), line.split_once(' '))
                && let Some(kind) = Kind::parse(kind)
            {
                props.insert(name.to_owned(), kind);
            }
        }
        s
    })
}

/// Where a path has got to, for checking the next step.
enum Cursor {
    Object(Vec<String>),
    Struct(String),
    Extensions(Vec<String>),
    /// Inside a predefined extension: the owning types and its name.
    Extension(Vec<String>, String),
    RefList(Vec<String>),
    Kind(Kind),
    Custom,
}

impl Cursor {
    fn step(self, schema: &Schema, step: &PathStep, allow_custom: bool) -> Result<Cursor, String> {
        let unknown = |what: String| {
            if allow_custom {
                Ok(Cursor::Custom)
            } else {
                Err(what)
            }
        };
        match (self, step) {
            (Cursor::Custom, _) => Ok(Cursor::Custom),
            (Cursor::Object(types), PathStep::Key(k)) => {
                if k == "extensions" {
                    return Ok(Cursor::Extensions(types));
                }
                let any = types.iter().any(|t| t == "*");
                let found = schema.common.get(k).or_else(|| {
                    types
                        .iter()
                        .filter_map(|t| schema.types.get(t))
                        .find_map(|props| props.get(k))
                });
                match found {
                    Some(kind) => Ok(Cursor::from_kind(kind.clone())),
                    None if any => Ok(Cursor::Custom),
                    None => unknown(format!(
                        "{} has no property '{k}' in STIX 2.1 (custom properties need --allow-custom)",
                        types.join(" or ")
                    )),
                }
            }
            (Cursor::Struct(name), PathStep::Key(k)) => {
                match schema.structs.get(&name).and_then(|p| p.get(k)) {
                    Some(kind) => Ok(Cursor::from_kind(kind.clone())),
                    None => unknown(format!(
                        "the structure {{here}} has no property '{k}' in STIX 2.1"
                    )),
                }
            }
            (Cursor::Extensions(types), PathStep::Key(k)) => {
                match types
                    .iter()
                    .find_map(|t| schema.extensions.get(&(t.clone(), k.clone())))
                {
                    Some(_) => Ok(Cursor::Extension(types, k.clone())),
                    None => unknown(format!(
                        "'{k}' is not a predefined extension of {} (custom extensions need --allow-custom)",
                        types.join(" or ")
                    )),
                }
            }
            (Cursor::Kind(Kind::Hashes), PathStep::Key(_)) => Ok(Cursor::Kind(Kind::String)),
            (Cursor::Kind(Kind::Dictionary), _) => Ok(Cursor::Custom),
            (Cursor::Kind(Kind::List(inner)), PathStep::Index(_) | PathStep::AnyIndex) => {
                Ok(Cursor::from_kind(*inner))
            }
            (Cursor::RefList(types), PathStep::Index(_) | PathStep::AnyIndex) => {
                Ok(Cursor::Object(types))
            }
            (Cursor::Kind(Kind::List(_)) | Cursor::RefList(_), PathStep::Key(_)) => {
                Err("{here} is a list: select its elements with [*] or [n] first".into())
            }
            (Cursor::Kind(k), PathStep::Key(_)) => Err(format!(
                "{{here}} is {}: it has no properties",
                k.describe()
            )),
            (Cursor::Extension(types, ext), PathStep::Key(k)) => {
                let props = types
                    .iter()
                    .find_map(|t| schema.extensions.get(&(t.clone(), ext.clone())));
                match props.and_then(|p| p.get(k)) {
                    Some(kind) => Ok(Cursor::from_kind(kind.clone())),
                    None => unknown(format!(
                        "the extension {ext} has no property '{k}' in STIX 2.1"
                    )),
                }
            }
            (_, PathStep::Index(_) | PathStep::AnyIndex) => Err("{here} is not a list".into()),
        }
    }

    fn from_kind(kind: Kind) -> Cursor {
        match kind {
            Kind::Ref(types) => Cursor::Object(types),
            Kind::Refs(types) => Cursor::RefList(types),
            Kind::Struct(name) => Cursor::Struct(name),
            other => Cursor::Kind(other),
        }
    }
}
