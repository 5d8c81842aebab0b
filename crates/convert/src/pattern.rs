//! STIX patterns: writing comparisons with correctly escaped values, and
//! reading back the simple shapes the MVT export can carry.
//!
//! In a STIX pattern string literal only `'` and `\` are special, and both
//! are escaped with a backslash (STIX 2.1 section 9.3). A value that is not
//! escaped either breaks the pattern (`'`) or silently changes what it
//! matches (`\`): `C:\temp` written raw is `C:` + tab + `emp`.

use std::fmt::Write;

/// `'value'` with `\` and `'` escaped.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `path = 'value'`.
pub(crate) fn eq(path: &str, value: &str) -> String {
    format!("{path} = {}", quote(value))
}

/// `path = 123` (integer properties compare with numbers, not strings).
pub(crate) fn eq_int(path: &str, value: i64) -> String {
    format!("{path} = {value}")
}

/// `path = t'2026-09-15T08:00:00Z'`.
pub(crate) fn eq_time(path: &str, stamp: &str) -> String {
    format!("{path} = t'{stamp}'")
}

/// One observation expression joining its comparisons with AND.
pub(crate) fn all(comparisons: &[String]) -> String {
    let mut out = String::from("[");
    for (i, c) in comparisons.iter().enumerate() {
        if i > 0 {
            out.push_str(" AND ");
        }
        out.push_str(c);
    }
    out.push(']');
    out
}

/// A path segment: bare when it is a keyword, quoted otherwise
/// (`hashes.MD5`, `hashes.'SHA-256'`).
pub(crate) fn segment(name: &str) -> String {
    let mut chars = name.chars();
    let keyword = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if keyword {
        name.to_string()
    } else {
        quote(name)
    }
}

/// `object:hashes.<algorithm>`.
pub(crate) fn hash_path(object: &str, algorithm: &str) -> String {
    let mut out = String::new();
    let _ = write!(out, "{object}:hashes.{}", segment(algorithm));
    out
}

/// One comparison of a simple pattern: `path op 'string'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// The object path as written, with quoted segments unquoted
    /// (`file:hashes.SHA-256`).
    pub path: String,
    pub operator: String,
    /// The literal: a string unescaped, or a number or boolean as written.
    pub value: String,
    /// Whether the literal is a string.
    pub quoted: bool,
}

/// How the comparisons of a simple pattern are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Join {
    And,
    Or,
}

/// A pattern of one observation expression whose comparisons compare a path
/// with a string, number or boolean and are joined all by AND or all by OR,
/// parentheses allowed: `[a = 'x' AND (b = 'y' AND c = 443)]`. That covers
/// every pattern the converters here write and most that feeds publish;
/// anything else (qualifiers, several observations, other literals, mixed
/// AND/OR) is `None`.
pub(crate) fn parse_simple(pattern: &str) -> Option<(Join, Vec<Comparison>)> {
    let mut lexer = Lexer {
        s: pattern.trim(),
        at: 0,
    };
    lexer.expect('[')?;
    let mut comparisons = Vec::new();
    let mut join = None;
    let mut depth = 0usize;
    loop {
        while lexer.peek_char() == Some('(') {
            lexer.expect('(')?;
            depth += 1;
        }
        let path = lexer.path()?;
        let operator = lexer.operator()?;
        let (value, quoted) = match lexer.peek_char()? {
            '\'' => (lexer.string()?, true),
            _ => (lexer.bare()?, false),
        };
        comparisons.push(Comparison {
            path,
            operator,
            value,
            quoted,
        });
        while depth > 0 && lexer.peek_char() == Some(')') {
            lexer.expect(')')?;
            depth -= 1;
        }
        match lexer.word() {
            Some(w) if w == "AND" || w == "OR" => {
                let this = if w == "AND" { Join::And } else { Join::Or };
                if *join.get_or_insert(this) != this {
                    return None;
                }
            }
            Some(_) => return None,
            None => break,
        }
    }
    if depth != 0 {
        return None;
    }
    lexer.expect(']')?;
    lexer.skip_space();
    (lexer.at == lexer.s.len()).then(|| (join.unwrap_or(Join::And), comparisons))
}

struct Lexer<'a> {
    s: &'a str,
    at: usize,
}

impl Lexer<'_> {
    fn skip_space(&mut self) {
        while let Some(c) = self.s[self.at..].chars().next() {
            if !c.is_whitespace() {
                break;
            }
            self.at += c.len_utf8();
        }
    }

    fn peek_char(&mut self) -> Option<char> {
        self.skip_space();
        self.s[self.at..].chars().next()
    }

    fn expect(&mut self, c: char) -> Option<()> {
        (self.peek_char()? == c).then(|| self.at += c.len_utf8())
    }

    /// An uppercase word (AND, OR, LIKE …), if one is next.
    fn word(&mut self) -> Option<String> {
        self.skip_space();
        let rest = &self.s[self.at..];
        let len = rest
            .find(|c: char| !c.is_ascii_uppercase())
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        self.at += len;
        Some(rest[..len].to_string())
    }

    fn path(&mut self) -> Option<String> {
        self.skip_space();
        let mut path = String::new();
        loop {
            let c = self.s[self.at..].chars().next()?;
            match c {
                '\'' => path.push_str(&self.string()?),
                c if c.is_ascii_alphanumeric() || "_-:.[]*".contains(c) => {
                    path.push(c);
                    self.at += 1;
                }
                _ => break,
            }
        }
        (path.contains(':') && !path.starts_with(':')).then_some(path)
    }

    fn operator(&mut self) -> Option<String> {
        self.skip_space();
        let rest = &self.s[self.at..];
        for op in ["!=", "<=", ">=", "=", "<", ">"] {
            if rest.starts_with(op) {
                self.at += op.len();
                return Some(op.to_string());
            }
        }
        let mut word = self.word()?;
        if word == "NOT" {
            word = format!("NOT {}", self.word()?);
        }
        Some(word)
    }

    /// A number or boolean literal, as written.
    fn bare(&mut self) -> Option<String> {
        self.skip_space();
        let rest = &self.s[self.at..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            .unwrap_or(rest.len());
        let word = &rest[..len];
        let number = word.parse::<f64>().is_ok();
        if !(number || word == "true" || word == "false") {
            return None;
        }
        self.at += len;
        Some(word.to_string())
    }

    /// A string literal, unescaped.
    fn string(&mut self) -> Option<String> {
        self.skip_space();
        let mut chars = self.s[self.at..].char_indices();
        if chars.next()?.1 != '\'' {
            return None;
        }
        let mut out = String::new();
        let mut escaped = false;
        for (i, c) in chars {
            if escaped {
                if c != '\'' && c != '\\' {
                    return None;
                }
                out.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '\'' {
                self.at += i + 1;
                return Some(out);
            } else {
                out.push(c);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            eq("url:value", "http://x/a'b"),
            r"url:value = 'http://x/a\'b'"
        );
        assert_eq!(
            eq("file:parent_directory_ref.path", r"C:\temp"),
            r"file:parent_directory_ref.path = 'C:\\temp'"
        );
        assert_eq!(hash_path("file", "MD5"), "file:hashes.MD5");
        assert_eq!(hash_path("file", "SHA-256"), "file:hashes.'SHA-256'");
    }

    #[test]
    fn reads_simple_patterns() {
        let (join, cmps) = parse_simple(
            r"[(network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.5') AND file:hashes.'SHA-256' = 'a\'b\\c']",
        )
        .unwrap();
        assert_eq!(join, Join::And);
        assert_eq!(cmps.len(), 3);
        assert_eq!(cmps[2].path, "file:hashes.SHA-256");
        assert_eq!(cmps[2].value, r"a'b\c");
        let (join, cmps) =
            parse_simple("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']")
                .unwrap();
        assert_eq!((join, cmps.len()), (Join::Or, 2));
        let (_, cmps) = parse_simple("[ipv4-addr:value ISSUBSET '198.51.100.0/24']").unwrap();
        assert_eq!(cmps[0].operator, "ISSUBSET");
        let (_, cmps) = parse_simple("[email-message:to_refs[*].value NOT LIKE 'x%']").unwrap();
        assert_eq!(cmps[0].operator, "NOT LIKE");
        let (_, cmps) = parse_simple(
            "[network-traffic:dst_port = 443 AND x509-certificate:is_self_signed = true]",
        )
        .unwrap();
        assert_eq!((cmps[0].value.as_str(), cmps[0].quoted), ("443", false));
        assert_eq!(cmps[1].value, "true");
    }

    #[test]
    fn anything_else_is_not_simple() {
        for p in [
            "[a:b = 'x'] AND [c:d = 'y']",
            "[a:b = 'x'] WITHIN 5 SECONDS",
            "[a:b = 'x' AND c:d = 'y' OR e:f = 'z']",
            "[network-traffic:dst_port = 0x1bb]",
            "[file:name = b'aGk=']",
            "[a:b = 'unterminated]",
            "[(a:b = 'x']",
            "[a:b = 'x\\q']",
            "a:b = 'x'",
        ] {
            assert_eq!(parse_simple(p), None, "{p}");
        }
    }

    proptest! {
        #[test]
        fn any_value_round_trips_through_a_pattern(value in "\\PC*") {
            let pattern = all(&[eq("url:value", &value)]);
            let (_, cmps) = parse_simple(&pattern).unwrap();
            prop_assert_eq!(&cmps[0].value, &value);
        }
    }
}
