//! Recursive-descent parser for the STIX Patterning grammar.
//!
//! Precedence, loosest first: `FOLLOWEDBY`, `OR`, `AND` between observation
//! expressions (all left-associative), then the postfix qualifiers; inside
//! brackets `OR` then `AND`. Errors carry the position of the offending token
//! and what the grammar allowed there.

use std::fmt;

use stix::Timestamp;

use crate::ast::*;
use crate::lexer::{Token, TokenKind, tokenize};

/// Why a pattern could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Byte offset in the pattern.
    pub offset: usize,
    /// 1-based line and column (in characters).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 1 {
            write!(f, "at column {}: {}", self.column, self.message)
        } else {
            write!(
                f,
                "at line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

impl ParseError {
    pub fn new(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        ParseError {
            offset,
            line,
            column,
            message: message.into(),
        }
    }
}

/// Parses `text` as a STIX pattern (the grammar is the same for STIX 2.0 and
/// 2.1, except that 2.0 has no `EXISTS`; see [`parse_for_version`]).
pub fn parse(text: &str) -> Result<Pattern, ParseError> {
    parse_for_version(text, crate::StixVersion::V21)
}

/// Parses `text` with the grammar of the given STIX version.
pub fn parse_for_version(text: &str, version: crate::StixVersion) -> Result<Pattern, ParseError> {
    let tokens = tokenize(text);
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        version,
    };
    let root = p.observation_expressions()?;
    p.expect(
        TokenKind::Eof,
        "the end of the pattern (or AND, OR, FOLLOWEDBY or a qualifier)",
    )?;
    Ok(Pattern {
        root,
        text: text.to_owned(),
    })
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    version: crate::StixVersion,
}

/// Deepest nesting accepted, so that hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 200;

impl<'a> Parser<'a> {
    fn peek(&self) -> Token {
        self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_kind(&self) -> TokenKind {
        self.peek().kind
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, kind: TokenKind) -> Option<Token> {
        (self.peek_kind() == kind).then(|| self.bump())
    }

    fn token_text(&self, t: Token) -> &'a str {
        &self.text[t.span.start..t.span.end]
    }

    fn error_at(&self, t: Token, expected: &str) -> ParseError {
        let found = if t.kind == TokenKind::Eof {
            "the end of the pattern".to_owned()
        } else {
            let shown: String = self.token_text(t).chars().take(40).collect();
            format!("{} `{}`", t.kind.describe(), shown)
        };
        ParseError::new(
            self.text,
            t.span.start,
            format!("expected {expected}, found {found}"),
        )
    }

    fn expect(&mut self, kind: TokenKind, expected: &str) -> Result<Token, ParseError> {
        match self.eat(kind) {
            Some(t) => Ok(t),
            None => Err(self.error_at(self.peek(), expected)),
        }
    }

    fn depth_guard(&self, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::new(
                self.text,
                self.peek().span.start,
                format!("the pattern nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn observation_expressions(&mut self) -> Result<ObservationExpr, ParseError> {
        self.followed_by(0)
    }

    fn followed_by(&mut self, depth: usize) -> Result<ObservationExpr, ParseError> {
        let mut left = self.observation_or(depth)?;
        while self.eat(TokenKind::FollowedBy).is_some() {
            let right = self.observation_or(depth)?;
            left = ObservationExpr::FollowedBy(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_or(&mut self, depth: usize) -> Result<ObservationExpr, ParseError> {
        let mut left = self.observation_and(depth)?;
        while self.eat(TokenKind::Or).is_some() {
            let right = self.observation_and(depth)?;
            left = ObservationExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_and(&mut self, depth: usize) -> Result<ObservationExpr, ParseError> {
        let mut left = self.qualified(depth)?;
        while self.eat(TokenKind::And).is_some() {
            let right = self.qualified(depth)?;
            left = ObservationExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn qualified(&mut self, depth: usize) -> Result<ObservationExpr, ParseError> {
        self.depth_guard(depth)?;
        let mut expr = match self.peek_kind() {
            TokenKind::LBrack => {
                let open = self.bump();
                let cmp = self.comparison_or(depth + 1)?;
                let close = self.expect(TokenKind::RBrack, "']' (or AND, OR)")?;
                ObservationExpr::Bracket(
                    Box::new(cmp),
                    Span {
                        start: open.span.start,
                        end: close.span.end,
                    },
                )
            }
            TokenKind::LParen => {
                self.bump();
                let inner = self.followed_by(depth + 1)?;
                self.expect(
                    TokenKind::RParen,
                    "')' (or AND, OR, FOLLOWEDBY or a qualifier)",
                )?;
                ObservationExpr::Group(Box::new(inner))
            }
            _ => {
                return Err(self.error_at(
                    self.peek(),
                    "'[' starting an observation expression, or '('",
                ));
            }
        };
        loop {
            let qualifier = match self.peek_kind() {
                TokenKind::Within => self.within()?,
                TokenKind::Repeats => self.repeats()?,
                TokenKind::Start => self.start_stop()?,
                _ => break,
            };
            expr = ObservationExpr::Qualified(Box::new(expr), qualifier);
        }
        Ok(expr)
    }

    fn within(&mut self) -> Result<Qualifier, ParseError> {
        let kw = self.bump();
        let t = self.peek();
        let micros = match t.kind {
            TokenKind::IntPos => {
                self.bump();
                let n = self.integer(t)?;
                n.checked_mul(1_000_000).ok_or_else(|| {
                    ParseError::new(self.text, t.span.start, "the WITHIN duration is too large")
                })?
            }
            TokenKind::FloatPos => {
                self.bump();
                let f = self.float(t)?;
                (f * 1e6).round_ties_even() as i128
            }
            _ => return Err(self.error_at(t, "a positive number of seconds after WITHIN")),
        };
        let end = self.expect(TokenKind::Seconds, "SECONDS")?;
        Ok(Qualifier::Within {
            text: self.token_text(t).to_owned(),
            micros,
            span: Span {
                start: kw.span.start,
                end: end.span.end,
            },
        })
    }

    fn repeats(&mut self) -> Result<Qualifier, ParseError> {
        let kw = self.bump();
        let t = self.expect(TokenKind::IntPos, "a positive integer after REPEATS")?;
        let count = self.integer(t)?;
        let end = self.expect(TokenKind::Times, "TIMES")?;
        Ok(Qualifier::Repeats {
            count,
            span: Span {
                start: kw.span.start,
                end: end.span.end,
            },
        })
    }

    fn start_stop(&mut self) -> Result<Qualifier, ParseError> {
        let kw = self.bump();
        let start_token = self.expect(
            TokenKind::Timestamp,
            "a timestamp literal t'...' after START",
        )?;
        let start = self.timestamp(start_token)?;
        self.expect(TokenKind::Stop, "STOP")?;
        let stop_token = self.expect(
            TokenKind::Timestamp,
            "a timestamp literal t'...' after STOP",
        )?;
        let stop = self.timestamp(stop_token)?;
        Ok(Qualifier::StartStop {
            start,
            stop,
            span: Span {
                start: kw.span.start,
                end: stop_token.span.end,
            },
        })
    }

    fn comparison_or(&mut self, depth: usize) -> Result<ComparisonExpr, ParseError> {
        let mut left = self.comparison_and(depth)?;
        while self.eat(TokenKind::Or).is_some() {
            let right = self.comparison_and(depth)?;
            left = ComparisonExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison_and(&mut self, depth: usize) -> Result<ComparisonExpr, ParseError> {
        let mut left = self.prop_test(depth)?;
        while self.eat(TokenKind::And).is_some() {
            let right = self.prop_test(depth)?;
            left = ComparisonExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn prop_test(&mut self, depth: usize) -> Result<ComparisonExpr, ParseError> {
        self.depth_guard(depth)?;
        let first = self.peek();
        let exists_allowed = self.version == crate::StixVersion::V21;
        match first.kind {
            TokenKind::LParen => {
                self.bump();
                let inner = self.comparison_or(depth + 1)?;
                self.expect(TokenKind::RParen, "')' (or AND, OR)")?;
                return Ok(inner);
            }
            TokenKind::Not | TokenKind::Exists if exists_allowed => {
                let negated = self.eat(TokenKind::Not).is_some();
                self.expect(TokenKind::Exists, "EXISTS after NOT")?;
                let path = self.object_path()?;
                return Ok(ComparisonExpr::Test(Comparison {
                    span: Span {
                        start: first.span.start,
                        end: path.span.end,
                    },
                    path,
                    negated,
                    op: Operator::Exists,
                }));
            }
            TokenKind::IdentWithoutHyphen | TokenKind::IdentWithHyphen => {}
            _ => {
                let expected = if exists_allowed {
                    "an object path (type:property), EXISTS, NOT EXISTS or '('"
                } else {
                    "an object path (type:property) or '('"
                };
                return Err(self.error_at(first, expected));
            }
        }
        let path = self.object_path()?;
        let negated = self.eat(TokenKind::Not).is_some();
        let op_token = self.bump();
        let op = match op_token.kind {
            TokenKind::Eq => Operator::Equal(self.primitive_literal()?),
            TokenKind::Neq => Operator::NotEqual(self.primitive_literal()?),
            TokenKind::Lt => Operator::Less(self.orderable_literal()?),
            TokenKind::Le => Operator::LessOrEqual(self.orderable_literal()?),
            TokenKind::Gt => Operator::Greater(self.orderable_literal()?),
            TokenKind::Ge => Operator::GreaterOrEqual(self.orderable_literal()?),
            TokenKind::In => Operator::In(self.set_literal()?),
            TokenKind::Like => Operator::Like(self.string_operand("LIKE")?),
            TokenKind::Matches => Operator::Matches(self.string_operand("MATCHES")?),
            TokenKind::IsSubset => Operator::IsSubset(self.string_operand("ISSUBSET")?),
            TokenKind::IsSuperset => Operator::IsSuperset(self.string_operand("ISSUPERSET")?),
            _ => {
                let expected = if negated {
                    "a comparison operator after NOT (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)"
                } else {
                    "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET) or NOT"
                };
                return Err(self.error_at(op_token, expected));
            }
        };
        let end = self.tokens[self.pos.saturating_sub(1)].span.end;
        Ok(ComparisonExpr::Test(Comparison {
            span: Span {
                start: first.span.start,
                end,
            },
            path,
            negated,
            op,
        }))
    }

    fn object_path(&mut self) -> Result<ObjectPath, ParseError> {
        let type_token = self.peek();
        if !matches!(
            type_token.kind,
            TokenKind::IdentWithoutHyphen | TokenKind::IdentWithHyphen
        ) {
            return Err(self.error_at(type_token, "an object type"));
        }
        self.bump();
        self.expect(TokenKind::Colon, "':' after the object type")?;
        let first = self.peek();
        let mut steps = Vec::new();
        match first.kind {
            TokenKind::IdentWithoutHyphen => {
                self.bump();
                steps.push(PathStep::Key(self.token_text(first).to_owned()));
            }
            TokenKind::Str => {
                self.bump();
                steps.push(PathStep::Key(unescape_string(self.token_text(first))));
            }
            _ => {
                return Err(self.error_at(
                    first,
                    "a property name (letters, digits and '_', or quoted as '...')",
                ));
            }
        }
        loop {
            match self.peek_kind() {
                TokenKind::Dot => {
                    self.bump();
                    let t = self.peek();
                    match t.kind {
                        TokenKind::IdentWithoutHyphen => {
                            self.bump();
                            steps.push(PathStep::Key(self.token_text(t).to_owned()));
                        }
                        TokenKind::Str => {
                            self.bump();
                            steps.push(PathStep::Key(unescape_string(self.token_text(t))));
                        }
                        _ => {
                            return Err(self.error_at(
                                t,
                                "a property name after '.' (letters, digits and '_', or quoted as '...')",
                            ));
                        }
                    }
                }
                TokenKind::LBrack => {
                    self.bump();
                    let t = self.bump();
                    let step = match t.kind {
                        TokenKind::IntPos | TokenKind::IntNeg => PathStep::Index(self.integer(t)?),
                        TokenKind::Asterisk => PathStep::AnyIndex,
                        _ => return Err(self.error_at(t, "a list index (an integer or '*')")),
                    };
                    self.expect(TokenKind::RBrack, "']' closing the list index")?;
                    steps.push(step);
                }
                _ => break,
            }
        }
        let end = self.tokens[self.pos - 1].span.end;
        Ok(ObjectPath {
            object_type: self.token_text(type_token).to_owned(),
            steps,
            span: Span {
                start: type_token.span.start,
                end,
            },
        })
    }

    fn primitive_literal(&mut self) -> Result<Literal, ParseError> {
        let t = self.peek();
        if t.kind == TokenKind::Bool {
            self.bump();
            return Ok(Literal {
                value: LiteralValue::Bool(self.token_text(t) == "true"),
                span: t.span,
            });
        }
        self.literal("a literal (string, number, boolean, t'...', h'...' or b'...')")
    }

    fn orderable_literal(&mut self) -> Result<Literal, ParseError> {
        self.literal("a literal that can be ordered (string, number, t'...', h'...' or b'...')")
    }

    fn literal(&mut self, expected: &str) -> Result<Literal, ParseError> {
        let t = self.peek();
        let value = match t.kind {
            TokenKind::IntPos | TokenKind::IntNeg => LiteralValue::Int(self.integer(t)?),
            TokenKind::FloatPos | TokenKind::FloatNeg => LiteralValue::Float(self.float(t)?),
            TokenKind::Str => LiteralValue::Str(unescape_string(self.token_text(t))),
            TokenKind::Hex => LiteralValue::Bytes(decode_hex(
                &self.token_text(t)[2..t.span.end - t.span.start - 1],
            )),
            TokenKind::Binary => {
                let text = self.token_text(t);
                let decoded = decode_base64_strict(&text[2..text.len() - 1]).ok_or_else(|| {
                    ParseError::new(self.text, t.span.start, "invalid base64 in b'...' literal")
                })?;
                LiteralValue::Bytes(decoded)
            }
            TokenKind::Timestamp => LiteralValue::Timestamp(self.timestamp(t)?),
            _ => return Err(self.error_at(t, expected)),
        };
        self.bump();
        Ok(Literal {
            value,
            span: t.span,
        })
    }

    fn set_literal(&mut self) -> Result<Vec<Literal>, ParseError> {
        self.expect(TokenKind::LParen, "'(' starting the set after IN")?;
        let mut items = Vec::new();
        if self.eat(TokenKind::RParen).is_some() {
            return Ok(items);
        }
        loop {
            items.push(self.primitive_literal()?);
            if self.eat(TokenKind::Comma).is_some() {
                continue;
            }
            self.expect(TokenKind::RParen, "',' or ')' in the set")?;
            return Ok(items);
        }
    }

    fn string_operand(&mut self, op: &str) -> Result<StringOperand, ParseError> {
        let t = self.peek();
        if t.kind != TokenKind::Str {
            return Err(self.error_at(t, &format!("a string literal '...' after {op}")));
        }
        self.bump();
        Ok(StringOperand {
            value: unescape_string(self.token_text(t)),
            span: t.span,
        })
    }

    fn integer(&self, t: Token) -> Result<i128, ParseError> {
        let text = self.token_text(t);
        text.trim_start_matches('+').parse::<i128>().map_err(|_| {
            ParseError::new(
                self.text,
                t.span.start,
                format!("integer {text} is out of range"),
            )
        })
    }

    fn float(&self, t: Token) -> Result<f64, ParseError> {
        let text = self.token_text(t);
        text.parse::<f64>()
            .map_err(|_| ParseError::new(self.text, t.span.start, format!("invalid number {text}")))
    }

    fn timestamp(&self, t: Token) -> Result<Timestamp, ParseError> {
        let text = self.token_text(t);
        Timestamp::parse(&text[2..text.len() - 1]).map_err(|e| {
            ParseError::new(
                self.text,
                t.span.start,
                format!("invalid timestamp literal: {}", e.reason),
            )
        })
    }
}

/// The value of a `'...'` token: `\'` and `\\` are the only escapes.
pub fn unescape_string(token: &str) -> String {
    let inner = &token[1..token.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn decode_hex(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let v = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            v(pair[0]) << 4 | v(pair[1])
        })
        .collect()
}

/// Standard base64 with padding; `None` if malformed.
pub fn decode_base64_strict(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, quad) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let mut acc = 0u32;
        let mut pads = 0;
        for (j, &c) in quad.iter().enumerate() {
            let v = if c == b'=' {
                if !last || j < 2 {
                    return None;
                }
                pads += 1;
                0
            } else {
                if pads > 0 {
                    return None;
                }
                base64_value(c)? as u32
            };
            acc = acc << 6 | v;
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pads]);
    }
    Some(out)
}

pub(crate) fn base64_value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let p = parse("[a:b = 1] AND [a:b = 2] OR [a:b = 3] FOLLOWEDBY [a:b = 4] WITHIN 5 SECONDS")
            .unwrap();
        let ObservationExpr::FollowedBy(left, right) = &p.root else {
            panic!("{:?}", p.root)
        };
        assert!(matches!(**left, ObservationExpr::Or(..)));
        assert!(matches!(**right, ObservationExpr::Qualified(..)));
    }

    #[test]
    fn errors_name_position_and_expectation() {
        let e = parse("[file:name = 'x'").unwrap_err();
        assert_eq!(e.column, 17);
        assert!(e.message.contains("expected ']'"), "{e}");
        let e = parse("[file:name == ]").unwrap_err();
        assert!(e.message.starts_with("expected a literal"), "{e}");
        let e = parse("[file:a-b = 1]").unwrap_err();
        assert_eq!(e.column, 7, "{e}");
    }

    #[test]
    fn literals_decode() {
        let p =
            parse(r"[x:a IN (1, -2.5, 'it\'s', true, h'0aff', b'AQID', t'2016-01-01T00:00:00Z')]")
                .unwrap();
        let Operator::In(set) = &p.comparisons()[0].op else {
            panic!()
        };
        let values: Vec<_> = set.iter().map(|l| l.value.clone()).collect();
        assert_eq!(values[0], LiteralValue::Int(1));
        assert_eq!(values[1], LiteralValue::Float(-2.5));
        assert_eq!(values[2], LiteralValue::Str("it's".into()));
        assert_eq!(values[3], LiteralValue::Bool(true));
        assert_eq!(values[4], LiteralValue::Bytes(vec![0x0a, 0xff]));
        assert_eq!(values[5], LiteralValue::Bytes(vec![1, 2, 3]));
    }

    #[test]
    fn invalid_calendar_dates_are_refused() {
        assert!(parse("[x:a = t'2016-02-30T00:00:00Z']").is_err());
        assert!(parse("[x:a = t'2016-01-01T00:00:60Z']").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_crashed() {
        let deep = format!("{}[x:a = 1]{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).is_err());
    }
}
