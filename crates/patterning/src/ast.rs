//! The syntax tree of a STIX pattern.

use stix::Timestamp;

pub use crate::lexer::Span;

/// A parsed pattern: an observation expression and the text it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    pub root: ObservationExpr,
    pub text: String,
}

/// Expressions over observations (the part outside square brackets).
#[derive(Clone, Debug, PartialEq)]
pub enum ObservationExpr {
    /// `[ comparison ]`: one observation.
    Bracket(Box<ComparisonExpr>, Span),
    /// `( ... )`: grouping; kept because the reference validator treats
    /// qualifiers after a parenthesised group differently.
    Group(Box<ObservationExpr>),
    And(Box<ObservationExpr>, Box<ObservationExpr>),
    Or(Box<ObservationExpr>, Box<ObservationExpr>),
    FollowedBy(Box<ObservationExpr>, Box<ObservationExpr>),
    Qualified(Box<ObservationExpr>, Qualifier),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`, kept as the literal text and its value in microseconds
    /// (rounded half to even, as Python's `timedelta` does).
    Within {
        text: String,
        micros: i128,
        span: Span,
    },
    /// `REPEATS n TIMES`.
    Repeats { count: i128, span: Span },
    /// `START t'…' STOP t'…'`.
    StartStop {
        start: Timestamp,
        stop: Timestamp,
        span: Span,
    },
}

impl Qualifier {
    pub fn span(&self) -> Span {
        match self {
            Qualifier::Within { span, .. }
            | Qualifier::Repeats { span, .. }
            | Qualifier::StartStop { span, .. } => *span,
        }
    }
}

/// Expressions over the objects of one observation (inside square brackets).
#[derive(Clone, Debug, PartialEq)]
pub enum ComparisonExpr {
    And(Box<ComparisonExpr>, Box<ComparisonExpr>),
    Or(Box<ComparisonExpr>, Box<ComparisonExpr>),
    Test(Comparison),
}

/// `path [NOT] op literal` or `[NOT] EXISTS path`.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub path: ObjectPath,
    pub negated: bool,
    pub op: Operator,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operator {
    Equal(Literal),
    NotEqual(Literal),
    Less(Literal),
    LessOrEqual(Literal),
    Greater(Literal),
    GreaterOrEqual(Literal),
    In(Vec<Literal>),
    Like(StringOperand),
    Matches(StringOperand),
    IsSubset(StringOperand),
    IsSuperset(StringOperand),
    Exists,
}

impl Operator {
    pub fn name(&self) -> &'static str {
        match self {
            Operator::Equal(_) => "=",
            Operator::NotEqual(_) => "!=",
            Operator::Less(_) => "<",
            Operator::LessOrEqual(_) => "<=",
            Operator::Greater(_) => ">",
            Operator::GreaterOrEqual(_) => ">=",
            Operator::In(_) => "IN",
            Operator::Like(_) => "LIKE",
            Operator::Matches(_) => "MATCHES",
            Operator::IsSubset(_) => "ISSUBSET",
            Operator::IsSuperset(_) => "ISSUPERSET",
            Operator::Exists => "EXISTS",
        }
    }

    /// The literals the operator compares with.
    pub fn literals(&self) -> &[Literal] {
        match self {
            Operator::Equal(l)
            | Operator::NotEqual(l)
            | Operator::Less(l)
            | Operator::LessOrEqual(l)
            | Operator::Greater(l)
            | Operator::GreaterOrEqual(l) => std::slice::from_ref(l),
            Operator::In(set) => set,
            _ => &[],
        }
    }
}

/// The string operand of LIKE, MATCHES, ISSUBSET and ISSUPERSET.
#[derive(Clone, Debug, PartialEq)]
pub struct StringOperand {
    pub value: String,
    pub span: Span,
}

/// `type:step.step[0].step`.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectPath {
    pub object_type: String,
    pub steps: Vec<PathStep>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    Key(String),
    /// A list index; may be negative (which never selects anything).
    Index(i128),
    /// `[*]`.
    AnyIndex,
}

impl std::fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_plain_key(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "'{}'", k.replace('\\', "\\\\").replace('\'', "\\'"))?;
                    }
                }
                PathStep::Index(n) => write!(f, "[{n}]")?,
                PathStep::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// A literal with the token text it was written as (the reference validator
/// inspects that text, e.g. to check hash values).
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    pub value: LiteralValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LiteralValue {
    Int(i128),
    Float(f64),
    Str(String),
    Bool(bool),
    /// `b'…'` (base64) and `h'…'` (hex) both denote bytes.
    Bytes(Vec<u8>),
    Timestamp(Timestamp),
}

impl LiteralValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            LiteralValue::Int(_) => "integer",
            LiteralValue::Float(_) => "float",
            LiteralValue::Str(_) => "string",
            LiteralValue::Bool(_) => "boolean",
            LiteralValue::Bytes(_) => "binary",
            LiteralValue::Timestamp(_) => "timestamp",
        }
    }
}

impl Pattern {
    /// The text of `span` in the pattern.
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// Every bracketed observation expression, left to right.
    pub fn brackets(&self) -> Vec<&ComparisonExpr> {
        let mut out = Vec::new();
        self.root.visit_brackets(&mut |c| out.push(c));
        out
    }

    /// Every comparison, left to right.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        let mut out = Vec::new();
        self.root
            .visit_brackets(&mut |c| c.visit_tests(&mut |t| out.push(t)));
        out
    }
}

impl ObservationExpr {
    pub fn visit_brackets<'a>(&'a self, f: &mut dyn FnMut(&'a ComparisonExpr)) {
        match self {
            ObservationExpr::Bracket(c, _) => f(c),
            ObservationExpr::Group(e) | ObservationExpr::Qualified(e, _) => e.visit_brackets(f),
            ObservationExpr::And(a, b)
            | ObservationExpr::Or(a, b)
            | ObservationExpr::FollowedBy(a, b) => {
                a.visit_brackets(f);
                b.visit_brackets(f);
            }
        }
    }
}

impl ComparisonExpr {
    pub fn visit_tests<'a>(&'a self, f: &mut dyn FnMut(&'a Comparison)) {
        match self {
            ComparisonExpr::Test(t) => f(t),
            ComparisonExpr::And(a, b) | ComparisonExpr::Or(a, b) => {
                a.visit_tests(f);
                b.visit_tests(f);
            }
        }
    }
}
