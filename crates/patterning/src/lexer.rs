//! Tokens of the STIX Patterning language.
//!
//! The lexer follows the OASIS ANTLR grammar (`STIXPattern.g4`) exactly: at
//! each position the longest token wins, and between tokens of equal length
//! the rule listed first in the grammar wins (so `AND` is a keyword but
//! `ANDROID` an identifier, and `true` a boolean). A malformed literal
//! therefore does not fail here: `b'abc'` becomes an identifier `b` followed by
//! a string, and the parser reports what it expected at that point. Keeping
//! the accepted language identical to the reference grammar matters because
//! other tools will read the patterns we accept.

use std::fmt;

/// A byte range of the pattern text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    IntNeg,
    IntPos,
    FloatNeg,
    FloatPos,
    Hex,
    Binary,
    Str,
    Bool,
    Timestamp,
    And,
    Or,
    Not,
    FollowedBy,
    Like,
    Matches,
    IsSuperset,
    IsSubset,
    Exists,
    Last,
    In,
    Start,
    Stop,
    Seconds,
    Within,
    Repeats,
    Times,
    IdentWithoutHyphen,
    IdentWithHyphen,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Quote,
    Colon,
    Dot,
    Comma,
    RParen,
    LParen,
    RBrack,
    LBrack,
    Plus,
    Hyphen,
    Caret,
    Slash,
    Asterisk,
    Invalid,
    Eof,
}

impl TokenKind {
    /// How the token kind is named in "expected ..." messages.
    pub fn describe(self) -> &'static str {
        use TokenKind::*;
        match self {
            IntNeg | IntPos => "an integer",
            FloatNeg | FloatPos => "a float",
            Hex => "a hex literal h'...'",
            Binary => "a binary literal b'...'",
            Str => "a string literal '...'",
            Bool => "true or false",
            Timestamp => "a timestamp literal t'...'",
            And => "AND",
            Or => "OR",
            Not => "NOT",
            FollowedBy => "FOLLOWEDBY",
            Like => "LIKE",
            Matches => "MATCHES",
            IsSuperset => "ISSUPERSET",
            IsSubset => "ISSUBSET",
            Exists => "EXISTS",
            Last => "LAST",
            In => "IN",
            Start => "START",
            Stop => "STOP",
            Seconds => "SECONDS",
            Within => "WITHIN",
            Repeats => "REPEATS",
            Times => "TIMES",
            IdentWithoutHyphen => "an identifier",
            IdentWithHyphen => "an identifier",
            Eq => "'='",
            Neq => "'!='",
            Lt => "'<'",
            Le => "'<='",
            Gt => "'>'",
            Ge => "'>='",
            Quote => "a quote",
            Colon => "':'",
            Dot => "'.'",
            Comma => "','",
            RParen => "')'",
            LParen => "'('",
            RBrack => "']'",
            LBrack => "'['",
            Plus => "'+'",
            Hyphen => "'-'",
            Caret => "'^'",
            Slash => "'/'",
            Asterisk => "'*'",
            Invalid => "an invalid character",
            Eof => "the end of the pattern",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Splits `text` into tokens, skipping whitespace and comments. The last
/// token is always [`TokenKind::Eof`].
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if let Some(len) = skippable(rest) {
            pos += len;
            continue;
        }
        let (kind, len) = longest_token(rest);
        tokens.push(Token {
            kind,
            span: Span {
                start: pos,
                end: pos + len,
            },
        });
        pos += len;
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        span: Span {
            start: text.len(),
            end: text.len(),
        },
    });
    tokens
}

/// The grammar's whitespace class (`WS`).
pub fn is_pattern_whitespace(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{000B}'
            | '\u{000C}'
            | '\u{0085}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Length of whitespace or a comment at the start of `rest`, if any.
fn skippable(rest: &str) -> Option<usize> {
    let ws: usize = rest
        .chars()
        .take_while(|c| is_pattern_whitespace(*c))
        .map(char::len_utf8)
        .sum();
    if ws > 0 {
        return Some(ws);
    }
    if let Some(body) = rest.strip_prefix("/*") {
        // An unterminated comment is not a comment: `/` and `*` become tokens.
        return body.find("*/").map(|end| 2 + end + 2);
    }
    if rest.starts_with("//") {
        return Some(rest.find(['\r', '\n']).unwrap_or(rest.len()));
    }
    None
}

/// The longest token at the start of `rest` (never empty).
fn longest_token(rest: &str) -> (TokenKind, usize) {
    use TokenKind::*;
    let b = rest.as_bytes();
    // Candidates in grammar order; the first of the longest wins.
    let mut best: (TokenKind, usize) = (Invalid, rest.chars().next().map_or(1, char::len_utf8));
    let mut consider = |kind: TokenKind, len: Option<usize>| {
        if let Some(len) = len
            && len > 0
            && (len > best.1 || (len == best.1 && best.0 == Invalid))
        {
            best = (kind, len);
        }
    };
    consider(IntNeg, int_literal(b, true));
    consider(IntPos, int_literal(b, false));
    consider(FloatNeg, float_literal(b, true));
    consider(FloatPos, float_literal(b, false));
    consider(Hex, hex_literal(b));
    consider(Binary, binary_literal(b));
    consider(Str, string_literal(rest));
    consider(Bool, word_literal(b, &["true", "false"]));
    consider(Timestamp, timestamp_literal(b));
    for (kind, word) in [
        (And, "AND"),
        (Or, "OR"),
        (Not, "NOT"),
        (FollowedBy, "FOLLOWEDBY"),
        (Like, "LIKE"),
        (Matches, "MATCHES"),
        (IsSuperset, "ISSUPERSET"),
        (IsSubset, "ISSUBSET"),
        (Exists, "EXISTS"),
        (Last, "LAST"),
        (In, "IN"),
        (Start, "START"),
        (Stop, "STOP"),
        (Seconds, "SECONDS"),
        (Within, "WITHIN"),
        (Repeats, "REPEATS"),
        (Times, "TIMES"),
    ] {
        consider(kind, word_literal(b, &[word]));
    }
    consider(IdentWithoutHyphen, identifier(b, false));
    consider(IdentWithHyphen, identifier(b, true));
    let two = b.get(..2);
    let one = b.first().copied();
    consider(
        Eq,
        match (two, one) {
            (Some(b"=="), _) => Some(2),
            (_, Some(b'=')) => Some(1),
            _ => None,
        },
    );
    consider(Neq, matches!(two, Some(b"!=") | Some(b"<>")).then_some(2));
    consider(Lt, (one == Some(b'<')).then_some(1));
    consider(Le, (two == Some(b"<=")).then_some(2));
    consider(Gt, (one == Some(b'>')).then_some(1));
    consider(Ge, (two == Some(b">=")).then_some(2));
    for (kind, c) in [
        (Quote, b'\''),
        (Colon, b':'),
        (Dot, b'.'),
        (Comma, b','),
        (RParen, b')'),
        (LParen, b'('),
        (RBrack, b']'),
        (LBrack, b'['),
        (Plus, b'+'),
        (Hyphen, b'-'),
        (Caret, b'^'),
        (Slash, b'/'),
        (Asterisk, b'*'),
    ] {
        consider(kind, (one == Some(c)).then_some(1));
    }
    best
}

fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `'-' ('0' | [1-9][0-9]*)` or `'+'? ('0' | [1-9][0-9]*)`.
fn int_literal(b: &[u8], negative: bool) -> Option<usize> {
    let sign = match (negative, b.first()) {
        (true, Some(b'-')) => 1,
        (true, _) => return None,
        (false, Some(b'+')) => 1,
        (false, _) => 0,
    };
    match b.get(sign) {
        Some(b'0') => Some(sign + 1),
        Some(b'1'..=b'9') => Some(sign + digits(&b[sign..])),
        _ => None,
    }
}

/// `'-' [0-9]* '.' [0-9]+` or `'+'? [0-9]* '.' [0-9]+`.
fn float_literal(b: &[u8], negative: bool) -> Option<usize> {
    let sign = match (negative, b.first()) {
        (true, Some(b'-')) => 1,
        (true, _) => return None,
        (false, Some(b'+')) => 1,
        (false, _) => 0,
    };
    let whole = digits(&b[sign..]);
    let dot = sign + whole;
    if b.get(dot) != Some(&b'.') {
        return None;
    }
    let frac = digits(&b[dot + 1..]);
    (frac > 0).then_some(dot + 1 + frac)
}

/// `h' (hex hex)* '`.
fn hex_literal(b: &[u8]) -> Option<usize> {
    if !b.starts_with(b"h'") {
        return None;
    }
    let hex = b[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let pairs = hex / 2 * 2;
    (b.get(2 + pairs) == Some(&b'\'')).then_some(2 + pairs + 1)
}

fn is_base64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// `b' (b64 x4)* (b64 x4 | b64 x3 '=' | b64 x2 '==') '`.
fn binary_literal(b: &[u8]) -> Option<usize> {
    if !b.starts_with(b"b'") {
        return None;
    }
    let body = &b[2..];
    let n = body.iter().take_while(|c| is_base64_char(**c)).count();
    let close = |at: usize| (body.get(at) == Some(&b'\'')).then_some(2 + at + 1);
    // The base64 run must end exactly at a group boundary, padded or not.
    match n % 4 {
        0 if n > 0 => close(n),
        3 if body.get(n) == Some(&b'=') => close(n + 1),
        2 if body.get(n..n + 2) == Some(b"==") => close(n + 2),
        _ => None,
    }
}

/// `' ( [^'\\] | \\' | \\\\ )* '`.
fn string_literal(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices();
    if chars.next()?.1 != '\'' {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => return Some(i + 1),
            '\\' => match chars.next() {
                Some((_, '\'' | '\\')) => {}
                _ => return None,
            },
            _ => {}
        }
    }
    None
}

fn word_literal(b: &[u8], words: &[&str]) -> Option<usize> {
    words
        .iter()
        .find(|w| b.starts_with(w.as_bytes()))
        .map(|w| w.len())
}

/// `[a-zA-Z_] [a-zA-Z0-9_]*`, with `-` allowed after the first character when
/// `hyphen` is set.
fn identifier(b: &[u8], hyphen: bool) -> Option<usize> {
    let first = *b.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    Some(
        1 + b[1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || (hyphen && **c == b'-'))
            .count(),
    )
}

/// `t'YYYY-MM-DDTHH:MM:SS(.d+)?Z'` with the grammar's digit ranges.
fn timestamp_literal(b: &[u8]) -> Option<usize> {
    if !b.starts_with(b"t'") {
        return None;
    }
    let s = &b[2..];
    let d = |i: usize| s.get(i).copied().filter(u8::is_ascii_digit);
    let at = |i: usize, c: u8| s.get(i) == Some(&c);
    (0..4).try_for_each(|i| d(i).map(drop))?;
    if !at(4, b'-') || !at(7, b'-') || !at(10, b'T') || !at(13, b':') || !at(16, b':') {
        return None;
    }
    let month = (d(5)?, d(6)?);
    if !matches!(month, (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2')) {
        return None;
    }
    let day = (d(8)?, d(9)?);
    if !matches!(
        day,
        (b'0', b'1'..=b'9') | (b'1' | b'2', _) | (b'3', b'0' | b'1')
    ) {
        return None;
    }
    let hour = (d(11)?, d(12)?);
    if !matches!(hour, (b'0' | b'1', _) | (b'2', b'0'..=b'3')) {
        return None;
    }
    if !matches!((d(14)?, d(15)?), (b'0'..=b'5', _)) {
        return None;
    }
    if !matches!((d(17)?, d(18)?), (b'0'..=b'5', _) | (b'6', b'0')) {
        return None;
    }
    let mut i = 19;
    if at(i, b'.') {
        let frac = digits(&s[i + 1..]);
        if frac == 0 {
            return None;
        }
        i += 1 + frac;
    }
    if !at(i, b'Z') || !at(i + 1, b'\'') {
        return None;
    }
    Some(2 + i + 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenKind::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn longest_match_and_rule_order() {
        assert_eq!(
            kinds("AND ANDROID and"),
            [And, IdentWithoutHyphen, IdentWithoutHyphen, Eof]
        );
        assert_eq!(
            kinds("ipv4-addr file"),
            [IdentWithHyphen, IdentWithoutHyphen, Eof]
        );
        assert_eq!(kinds("true truex"), [Bool, IdentWithoutHyphen, Eof]);
        assert_eq!(kinds("012"), [IntPos, IntPos, Eof]);
        assert_eq!(
            kinds("-0 -.5 +.5 .5 1."),
            [IntNeg, FloatNeg, FloatPos, FloatPos, IntPos, Dot, Eof]
        );
        assert_eq!(
            kinds("== = <> != <= < >= >"),
            [Eq, Eq, Neq, Neq, Le, Lt, Ge, Gt, Eof]
        );
    }

    #[test]
    fn literals() {
        assert_eq!(
            kinds("h'' h'0a' h'abc'"),
            [Hex, Hex, IdentWithoutHyphen, Str, Eof]
        );
        assert_eq!(
            kinds("b'AAAA' b'AA==' b'AAA=' b''"),
            [Binary, Binary, Binary, IdentWithoutHyphen, Str, Eof]
        );
        assert_eq!(kinds(r"'it\'s' 'a\\b'"), [Str, Str, Eof]);
        assert_eq!(
            kinds(r"'a\b'"),
            [
                Quote,
                IdentWithoutHyphen,
                Invalid,
                IdentWithoutHyphen,
                Quote,
                Eof
            ]
        );
        assert_eq!(kinds("t'2016-01-01T00:00:60.5Z'"), [Timestamp, Eof]);
        assert_eq!(
            kinds("t'2016-13-01T00:00:00Z'"),
            [IdentWithoutHyphen, Str, Eof]
        );
    }

    #[test]
    fn comments_and_whitespace() {
        assert_eq!(kinds("/* x */ [ // y\n ]\u{3000}"), [LBrack, RBrack, Eof]);
        assert_eq!(kinds("/* open"), [Slash, Asterisk, IdentWithoutHyphen, Eof]);
    }
}
