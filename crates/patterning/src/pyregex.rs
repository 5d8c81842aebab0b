//! `MATCHES` regular expressions: the syntax of Python's `re` (what the OASIS
//! reference matcher runs, and close to the PCRE the specification names),
//! executed by the `regex` crate.
//!
//! The expression is parsed with Python's rules (so that what Python rejects
//! is rejected) and re-emitted in the `regex` crate's syntax with every
//! construct spelled out, because the same characters mean different things
//! in the two dialects (`[[]`, `$`, `\w`, `{` …). Constructs the `regex` crate
//! cannot execute (look-around, back-references, atomic groups, possessive
//! quantifiers, conditionals) are refused with [`RegexError::Unsupported`],
//! never approximated.
//!
//! Python compiles a second, byte-oriented form of the expression when every
//! character is below U+0100 (for `*_bin` / `*_hex` values); that form is
//! compiled here too, and its errors are errors of the pattern.

use std::fmt;

/// Why an expression cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegexError {
    /// The expression is not valid (Python would refuse it too).
    Invalid { offset: usize, message: String },
    /// Valid, but uses a construct this matcher does not execute.
    Unsupported { offset: usize, message: String },
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegexError::Invalid { offset, message } => {
                write!(
                    f,
                    "invalid regular expression at character {}: {message}",
                    offset + 1
                )
            }
            RegexError::Unsupported { offset, message } => write!(
                f,
                "unsupported regular expression construct at character {}: {message}",
                offset + 1
            ),
        }
    }
}

impl std::error::Error for RegexError {}

/// A compiled `MATCHES` operand.
#[derive(Clone, Debug)]
pub struct PyRegex {
    /// For string values (searched after NFC normalisation).
    pub text: regex::Regex,
    /// For binary values; `None` when the expression has characters at or
    /// above U+0100 (binary values then never match).
    pub bytes: Option<regex::bytes::Regex>,
    /// The translated expression for text (used to build multi-pattern sets).
    pub text_source: String,
}

impl PyRegex {
    /// Parses `source` (already NFC-normalised, as the reference does) with
    /// Python's rules and compiles it.
    pub fn new(source: &str) -> Result<PyRegex, RegexError> {
        let chars: Vec<char> = source.chars().collect();
        let binary_convertible = chars.iter().all(|c| (*c as u32) < 256);
        let text_ast = Parser::new(&chars, true).parse()?;
        check_dollars(&text_ast, true)?;
        let text_source = emit(&text_ast, Mode::Text);
        let text = build_text(&text_source)?;
        let bytes = if binary_convertible {
            let bytes_ast = Parser::new(&chars, false).parse()?;
            let src = emit(&bytes_ast, Mode::Bytes);
            Some(
                regex::bytes::RegexBuilder::new(&src)
                    .unicode(false)
                    .size_limit(SIZE_LIMIT)
                    .build()
                    .map_err(too_big)?,
            )
        } else {
            None
        };
        Ok(PyRegex {
            text,
            bytes,
            text_source,
        })
    }
}

const SIZE_LIMIT: usize = 8 << 20;

fn build_text(src: &str) -> Result<regex::Regex, RegexError> {
    regex::RegexBuilder::new(src)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(too_big)
}

fn too_big(e: regex::Error) -> RegexError {
    RegexError::Unsupported {
        offset: 0,
        message: match e {
            regex::Error::CompiledTooBig(limit) => {
                format!(
                    "the expression compiles to more than {limit} bytes (reduce its repetition counts)"
                )
            }
            other => format!("the regex engine refused the translated expression: {other}"),
        },
    }
}

/// Translates a LIKE operand into an anchored expression of the `regex`
/// crate: `%` is any run of characters except newline, `_` one such
/// character, and the end may precede a final newline (Python's `$`).
pub fn like_to_regex(like: &str) -> String {
    let mut out = String::from(r"\A");
    for c in like.chars() {
        match c {
            '%' => out.push_str(r"[^\n]*"),
            '_' => out.push_str(r"[^\n]"),
            c => push_literal(&mut out, c, Mode::Text),
        }
    }
    out.push_str(r"\n?\z");
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Flags {
    ignore_case: bool,
    multiline: bool,
    dotall: bool,
    verbose: bool,
    ascii: bool,
}

#[derive(Clone, Debug)]
enum ClassItem {
    Char(u32),
    Range(u32, u32),
    Digit(bool),
    Word(bool),
    Space(bool),
}

#[derive(Clone, Debug)]
enum Node {
    Literal {
        c: u32,
        flags: Flags,
    },
    Any {
        flags: Flags,
    },
    Class {
        items: Vec<ClassItem>,
        negated: bool,
        flags: Flags,
    },
    /// `^`
    LineStart {
        flags: Flags,
    },
    /// `$`
    LineEnd {
        flags: Flags,
    },
    TextStart,
    TextEnd,
    WordBoundary {
        negated: bool,
        flags: Flags,
    },
    Group(Box<Node>),
    Concat(Vec<Node>),
    Alternation(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
}

impl Node {
    fn is_anchor(&self) -> bool {
        matches!(
            self,
            Node::LineStart { .. }
                | Node::LineEnd { .. }
                | Node::TextStart
                | Node::TextEnd
                | Node::WordBoundary { .. }
        )
    }

    fn is_repeat(&self) -> bool {
        matches!(self, Node::Repeat { .. })
    }

    /// Whether the node can match anything at all (a character or an
    /// assertion); used to decide whether `$` is followed by something.
    fn is_nothing(&self) -> bool {
        match self {
            Node::Group(n) => n.is_nothing(),
            Node::Concat(items) => items.iter().all(Node::is_nothing),
            Node::Alternation(items) => items.iter().all(Node::is_nothing),
            Node::Repeat { node, max, .. } => *max == Some(0) || node.is_nothing(),
            _ => false,
        }
    }
}

const MAX_REPEAT: u64 = u32::MAX as u64;

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
    text: bool,
    flags: Flags,
    group_names: Vec<String>,
    open_groups: usize,
}

fn invalid(offset: usize, message: impl Into<String>) -> RegexError {
    RegexError::Invalid {
        offset,
        message: message.into(),
    }
}

fn unsupported(offset: usize, message: impl Into<String>) -> RegexError {
    RegexError::Unsupported {
        offset,
        message: message.into(),
    }
}

impl<'a> Parser<'a> {
    fn new(chars: &'a [char], text: bool) -> Self {
        Parser {
            chars,
            pos: 0,
            text,
            flags: Flags::default(),
            group_names: Vec::new(),
            open_groups: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn parse(mut self) -> Result<Node, RegexError> {
        let node = self.alternation(0, self.flags)?;
        if self.peek().is_some() {
            return Err(invalid(self.pos, "unbalanced parenthesis"));
        }
        Ok(node)
    }

    fn alternation(&mut self, nested: usize, flags: Flags) -> Result<Node, RegexError> {
        let mut branches = Vec::new();
        let mut flags = flags;
        loop {
            let first = nested == 0 && branches.is_empty();
            let (branch, after) = self.sequence(nested, flags, first)?;
            branches.push(branch);
            if nested == 0 {
                // Global flags set at the start apply to every branch.
                flags = after;
            }
            if !self.eat('|') {
                break;
            }
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Concat(Vec::new()))
        } else {
            Node::Alternation(branches)
        })
    }

    fn sequence(
        &mut self,
        nested: usize,
        mut flags: Flags,
        first: bool,
    ) -> Result<(Node, Flags), RegexError> {
        let mut items: Vec<Node> = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let start = self.pos;
            self.pos += 1;
            if flags.verbose {
                if matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}') {
                    continue;
                }
                if c == '#' {
                    while let Some(c) = self.next() {
                        if c == '\n' {
                            break;
                        }
                    }
                    continue;
                }
            }
            match c {
                '\\' => items.push(self.escape(start, flags)?),
                '[' => items.push(self.class(start, flags)?),
                '*' | '+' | '?' | '{' => {
                    let (min, max) = match c {
                        '*' => (0, None),
                        '+' => (1, None),
                        '?' => (0, Some(1)),
                        _ => match self.braces()? {
                            Some(bounds) => bounds,
                            None => {
                                items.push(Node::Literal {
                                    c: '{' as u32,
                                    flags,
                                });
                                continue;
                            }
                        },
                    };
                    let Some(last) = items.pop() else {
                        return Err(invalid(start, "nothing to repeat"));
                    };
                    if last.is_anchor() {
                        return Err(invalid(start, "nothing to repeat"));
                    }
                    if last.is_repeat() {
                        return Err(invalid(start, "multiple repeat"));
                    }
                    let greedy = !self.eat('?');
                    if greedy && self.peek() == Some('+') {
                        return Err(unsupported(
                            self.pos,
                            "possessive quantifiers (*+, ++, ?+, {m,n}+)",
                        ));
                    }
                    items.push(Node::Repeat {
                        node: Box::new(last),
                        min,
                        max,
                        greedy,
                    });
                }
                '.' => items.push(Node::Any { flags }),
                '^' => items.push(Node::LineStart { flags }),
                '$' => items.push(Node::LineEnd { flags }),
                '(' => {
                    if let Some(node) =
                        self.group(start, nested, &mut flags, first && items.is_empty())?
                    {
                        items.push(node);
                    }
                }
                c => items.push(Node::Literal { c: c as u32, flags }),
            }
        }
        Ok((Node::Concat(items), flags))
    }

    /// After `{`: `Some((min, max))` for a quantifier, `None` (position
    /// restored) when the brace is a literal.
    fn braces(&mut self) -> Result<Option<(u32, Option<u32>)>, RegexError> {
        let here = self.pos;
        if self.peek() == Some('}') {
            return Ok(None);
        }
        let number = |p: &mut Self| {
            let mut s = String::new();
            while let Some(c) = p.peek().filter(char::is_ascii_digit) {
                s.push(c);
                p.pos += 1;
            }
            s
        };
        let lo = number(self);
        let hi = if self.eat(',') {
            number(self)
        } else {
            lo.clone()
        };
        if !self.eat('}') {
            self.pos = here;
            return Ok(None);
        }
        let parse = |s: &str| -> Result<u64, RegexError> {
            s.parse::<u64>()
                .ok()
                .filter(|n| *n < MAX_REPEAT)
                .ok_or_else(|| invalid(here, "the repetition number is too large"))
        };
        let min = if lo.is_empty() { 0 } else { parse(&lo)? };
        let max = if hi.is_empty() {
            None
        } else {
            Some(parse(&hi)?)
        };
        if let Some(max) = max
            && max < min
        {
            return Err(invalid(here, "min repeat greater than max repeat"));
        }
        Ok(Some((min as u32, max.map(|m| m as u32))))
    }

    fn group(
        &mut self,
        start: usize,
        nested: usize,
        flags: &mut Flags,
        may_set_global: bool,
    ) -> Result<Option<Node>, RegexError> {
        let mut inner_flags = *flags;
        if self.eat('?') {
            let Some(c) = self.next() else {
                return Err(invalid(self.pos, "unexpected end of pattern"));
            };
            match c {
                'P' => {
                    if self.eat('<') {
                        let name = self.until('>', "group name")?;
                        self.check_group_name(&name, start)?;
                        if self.group_names.contains(&name) {
                            return Err(invalid(start, "redefinition of group name"));
                        }
                        self.group_names.push(name);
                    } else if self.eat('=') {
                        let name = self.until(')', "group name")?;
                        self.check_group_name(&name, start)?;
                        if !self.group_names.contains(&name) {
                            return Err(invalid(start, format!("unknown group name {name:?}")));
                        }
                        return Err(unsupported(start, "back-references ((?P=name))"));
                    } else {
                        return Err(invalid(start, "unknown extension ?P"));
                    }
                }
                ':' => {}
                '#' => loop {
                    match self.next() {
                        None => return Err(invalid(start, "missing ), unterminated comment")),
                        Some(')') => return Ok(None),
                        Some(_) => {}
                    }
                },
                '=' | '!' => {
                    return Err(unsupported(
                        start,
                        "look-ahead assertions ((?=...), (?!...))",
                    ));
                }
                '<' => {
                    return match self.next() {
                        Some('=' | '!') => Err(unsupported(
                            start,
                            "look-behind assertions ((?<=...), (?<!...))",
                        )),
                        _ => Err(invalid(start, "unknown extension ?<")),
                    };
                }
                '(' => return Err(unsupported(start, "conditional groups ((?(id)yes|no))")),
                '>' => return Err(unsupported(start, "atomic groups ((?>...))")),
                c if "iLmsxatu-".contains(c) => match self.inline_flags(c, start)? {
                    InlineFlags::Global(set) => {
                        if !may_set_global {
                            return Err(invalid(
                                start,
                                "global flags not at the start of the expression",
                            ));
                        }
                        apply_flags(flags, &set, true);
                        return Ok(None);
                    }
                    InlineFlags::Scoped(on, off) => {
                        apply_flags(&mut inner_flags, &on, true);
                        apply_flags(&mut inner_flags, &off, false);
                    }
                },
                c => return Err(invalid(start, format!("unknown extension ?{c}"))),
            }
        }
        self.open_groups += 1;
        let inner = self.alternation(nested + 1, inner_flags)?;
        self.open_groups -= 1;
        if !self.eat(')') {
            return Err(invalid(start, "missing ), unterminated subpattern"));
        }
        Ok(Some(Node::Group(Box::new(inner))))
    }

    fn until(&mut self, terminator: char, what: &str) -> Result<String, RegexError> {
        let mut s = String::new();
        loop {
            match self.next() {
                None => return Err(invalid(self.pos, format!("missing {what}"))),
                Some(c) if c == terminator => {
                    if s.is_empty() {
                        return Err(invalid(self.pos, format!("missing {what}")));
                    }
                    return Ok(s);
                }
                Some(c) => s.push(c),
            }
        }
    }

    fn check_group_name(&self, name: &str, start: usize) -> Result<(), RegexError> {
        let mut chars = name.chars();
        let ok = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric());
        if ok {
            Ok(())
        } else {
            Err(invalid(
                start,
                format!("bad character in group name {name:?}"),
            ))
        }
    }

    fn inline_flags(&mut self, first: char, start: usize) -> Result<InlineFlags, RegexError> {
        let mut on = String::new();
        let mut c = first;
        if c != '-' {
            loop {
                self.check_flag(c, start)?;
                on.push(c);
                let types = on
                    .chars()
                    .filter(|f| "aLu".contains(*f))
                    .collect::<std::collections::BTreeSet<_>>();
                if types.len() > 1 {
                    return Err(invalid(
                        start,
                        "bad inline flag: flags 'a', 'u' and 'L' are incompatible",
                    ));
                }
                c = self
                    .next()
                    .ok_or_else(|| invalid(self.pos, "missing -, : or )"))?;
                if ")-:".contains(c) {
                    break;
                }
                if !"iLmsxatu".contains(c) {
                    return Err(invalid(
                        self.pos,
                        if c.is_alphabetic() {
                            "unknown flag"
                        } else {
                            "missing -, : or )"
                        },
                    ));
                }
            }
        }
        if c == ')' {
            return Ok(InlineFlags::Global(on));
        }
        if on.contains('t') {
            return Err(invalid(
                start,
                "bad inline flag: cannot turn on global flag",
            ));
        }
        let mut off = String::new();
        if c == '-' {
            c = self
                .next()
                .ok_or_else(|| invalid(self.pos, "missing flag"))?;
            if !"iLmsxatu".contains(c) {
                return Err(invalid(
                    self.pos,
                    if c.is_alphabetic() {
                        "unknown flag"
                    } else {
                        "missing flag"
                    },
                ));
            }
            loop {
                if "aLu".contains(c) {
                    return Err(invalid(
                        start,
                        "bad inline flag: cannot turn off flags 'a', 'u' and 'L'",
                    ));
                }
                off.push(c);
                c = self.next().ok_or_else(|| invalid(self.pos, "missing :"))?;
                if c == ':' {
                    break;
                }
                if !"iLmsxatu".contains(c) {
                    return Err(invalid(
                        self.pos,
                        if c.is_alphabetic() {
                            "unknown flag"
                        } else {
                            "missing :"
                        },
                    ));
                }
            }
        }
        if off.contains('t') {
            return Err(invalid(
                start,
                "bad inline flag: cannot turn off global flag",
            ));
        }
        if on.chars().any(|f| off.contains(f)) {
            return Err(invalid(start, "bad inline flags: flag turned on and off"));
        }
        Ok(InlineFlags::Scoped(on, off))
    }

    fn check_flag(&self, c: char, start: usize) -> Result<(), RegexError> {
        if self.text && c == 'L' {
            return Err(invalid(
                start,
                "bad inline flag: cannot use 'L' flag with a str pattern",
            ));
        }
        if !self.text && c == 'u' {
            return Err(invalid(
                start,
                "bad inline flag: cannot use 'u' flag with a bytes pattern",
            ));
        }
        if c == 't' {
            return Err(unsupported(start, "the TEMPLATE flag (?t)"));
        }
        if c == 'L' {
            return Err(unsupported(start, "the LOCALE flag (?L)"));
        }
        Ok(())
    }

    /// An escape outside a class; `start` is the backslash.
    fn escape(&mut self, start: usize, flags: Flags) -> Result<Node, RegexError> {
        let Some(c) = self.next() else {
            return Err(invalid(start, "bad escape (end of pattern)"));
        };
        let class = |item: ClassItem| Node::Class {
            items: vec![item],
            negated: false,
            flags,
        };
        Ok(match c {
            'A' => Node::TextStart,
            'Z' => Node::TextEnd,
            'b' => Node::WordBoundary {
                negated: false,
                flags,
            },
            'B' => Node::WordBoundary {
                negated: true,
                flags,
            },
            'd' => class(ClassItem::Digit(false)),
            'D' => class(ClassItem::Digit(true)),
            's' => class(ClassItem::Space(false)),
            'S' => class(ClassItem::Space(true)),
            'w' => class(ClassItem::Word(false)),
            'W' => class(ClassItem::Word(true)),
            '0' => {
                let v = self.octal_digits(0, 2);
                Node::Literal { c: v, flags }
            }
            '1'..='9' => {
                let d1 = c;
                if let Some(d2) = self.peek().filter(char::is_ascii_digit) {
                    let d3 = self.chars.get(self.pos + 1).copied();
                    if d1 <= '7' && d2 <= '7' && d3.is_some_and(|d| ('0'..='7').contains(&d)) {
                        self.pos += 2;
                        let v = (d1 as u32 - 48) * 64
                            + (d2 as u32 - 48) * 8
                            + (d3.unwrap_or('0') as u32 - 48);
                        if v > 0o377 {
                            return Err(invalid(
                                start,
                                "octal escape value outside of range 0-0o377",
                            ));
                        }
                        return Ok(Node::Literal { c: v, flags });
                    }
                    self.pos += 1;
                }
                return Err(unsupported(start, "back-references (\\1 ... \\99)"));
            }
            _ => Node::Literal {
                c: self.common_escape(c, start)?,
                flags,
            },
        })
    }

    /// Escapes that denote one character, shared by both contexts.
    fn common_escape(&mut self, c: char, start: usize) -> Result<u32, RegexError> {
        Ok(match c {
            'a' => 7,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            't' => 9,
            'v' => 11,
            'x' => self.hex_digits(2, start)?,
            'u' if self.text => self.hex_digits(4, start)?,
            'U' if self.text => {
                let v = self.hex_digits(8, start)?;
                if char::from_u32(v).is_none() && v > 0x10FFFF {
                    return Err(invalid(start, "bad escape \\U"));
                }
                v
            }
            'N' if self.text => return Err(unsupported(start, "named characters (\\N{...})")),
            c if c.is_ascii_alphabetic() => {
                return Err(invalid(start, format!("bad escape \\{c}")));
            }
            c => c as u32,
        })
    }

    fn hex_digits(&mut self, n: usize, start: usize) -> Result<u32, RegexError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.pos += 1;
                }
                None => return Err(invalid(start, "incomplete escape")),
            }
        }
        Ok(v)
    }

    fn octal_digits(&mut self, initial: u32, max: usize) -> u32 {
        let mut v = initial;
        for _ in 0..max {
            match self.peek().and_then(|c| c.to_digit(8)) {
                Some(d) => {
                    v = v * 8 + d;
                    self.pos += 1;
                }
                None => break,
            }
        }
        v
    }

    fn class(&mut self, start: usize, flags: Flags) -> Result<Node, RegexError> {
        let negated = self.eat('^');
        let mut items: Vec<ClassItem> = Vec::new();
        loop {
            let Some(c) = self.next() else {
                return Err(invalid(start, "unterminated character set"));
            };
            if c == ']' && !items.is_empty() {
                break;
            }
            let first = if c == '\\' {
                self.class_escape()?
            } else {
                ClassItem::Char(c as u32)
            };
            if self.eat('-') {
                let Some(that) = self.next() else {
                    return Err(invalid(start, "unterminated character set"));
                };
                if that == ']' {
                    items.push(first);
                    items.push(ClassItem::Char('-' as u32));
                    break;
                }
                let second = if that == '\\' {
                    self.class_escape()?
                } else {
                    ClassItem::Char(that as u32)
                };
                match (first, second) {
                    (ClassItem::Char(lo), ClassItem::Char(hi)) if hi >= lo => {
                        items.push(ClassItem::Range(lo, hi))
                    }
                    _ => return Err(invalid(start, "bad character range")),
                }
            } else {
                items.push(first);
            }
        }
        Ok(Node::Class {
            items,
            negated,
            flags,
        })
    }

    fn class_escape(&mut self) -> Result<ClassItem, RegexError> {
        let start = self.pos - 1;
        let Some(c) = self.next() else {
            return Err(invalid(start, "bad escape (end of pattern)"));
        };
        Ok(match c {
            'b' => ClassItem::Char(8),
            'd' => ClassItem::Digit(false),
            'D' => ClassItem::Digit(true),
            's' => ClassItem::Space(false),
            'S' => ClassItem::Space(true),
            'w' => ClassItem::Word(false),
            'W' => ClassItem::Word(true),
            '0'..='7' => {
                let v = self.octal_digits(c as u32 - 48, 2);
                if v > 0o377 {
                    return Err(invalid(
                        start,
                        "octal escape value outside of range 0-0o377",
                    ));
                }
                ClassItem::Char(v)
            }
            '8' | '9' => return Err(invalid(start, format!("bad escape \\{c}"))),
            c => ClassItem::Char(self.common_escape(c, start)?),
        })
    }
}

enum InlineFlags {
    Global(String),
    Scoped(String, String),
}

fn apply_flags(flags: &mut Flags, set: &str, on: bool) {
    for c in set.chars() {
        match c {
            'i' => flags.ignore_case = on,
            'm' => flags.multiline = on,
            's' => flags.dotall = on,
            'x' => flags.verbose = on,
            'a' => flags.ascii = on,
            _ => {}
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Text,
    Bytes,
}

/// Emits `node`; `$` is only translatable when nothing can follow it.
fn emit(node: &Node, mode: Mode) -> String {
    let mut out = String::new();
    if mode == Mode::Bytes {
        out.push_str("(?-u)");
    }
    emit_node(node, mode, &mut out, true);
    out
}

fn emit_node(node: &Node, mode: Mode, out: &mut String, nothing_follows: bool) {
    match node {
        Node::Literal { c, flags } => {
            with_case(out, flags.ignore_case, |out| push_code(out, *c, mode));
        }
        Node::Any { flags } => out.push_str(match (flags.dotall, mode) {
            (true, Mode::Text) => r"(?s:.)",
            (true, Mode::Bytes) => r"(?s-u:.)",
            (false, Mode::Text) => r"[^\n]",
            (false, Mode::Bytes) => r"(?-u:[^\n])",
        }),
        Node::Class {
            items,
            negated,
            flags,
        } => {
            with_case(out, flags.ignore_case, |out| {
                out.push('[');
                if *negated {
                    out.push('^');
                }
                for item in items {
                    push_class_item(out, item, mode, flags.ascii);
                }
                // An empty class cannot occur (Python needs one item), but a
                // negated class of everything must still be well formed.
                out.push(']');
            });
        }
        Node::LineStart { flags } => out.push_str(if flags.multiline { "(?m:^)" } else { r"\A" }),
        Node::LineEnd { flags } => {
            if flags.multiline {
                out.push_str("(?m:$)");
            } else if nothing_follows {
                out.push_str(r"(?:\n?\z)");
            } else {
                // Python's `$` also matches just before a final newline; with
                // more expression after it that position would have to be
                // tracked, which the regex crate cannot do. Emitting a class
                // that can never match keeps the search sound, and the check
                // in `compile` refuses such expressions before they get here.
                out.push_str(r"\z");
            }
        }
        Node::TextStart => out.push_str(r"\A"),
        Node::TextEnd => out.push_str(r"\z"),
        Node::WordBoundary { negated, flags } => {
            let ascii = flags.ascii || mode == Mode::Bytes;
            out.push_str(match (negated, ascii) {
                (false, false) => r"\b",
                (true, false) => r"\B",
                (false, true) => r"(?-u:\b)",
                (true, true) => r"(?-u:\B)",
            });
        }
        Node::Group(inner) => {
            out.push_str("(?:");
            emit_node(inner, mode, out, nothing_follows);
            out.push(')');
        }
        Node::Concat(items) => {
            for (i, item) in items.iter().enumerate() {
                let rest_empty = items[i + 1..].iter().all(Node::is_nothing);
                emit_node(item, mode, out, nothing_follows && rest_empty);
            }
        }
        Node::Alternation(branches) => {
            out.push_str("(?:");
            for (i, b) in branches.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                emit_node(b, mode, out, nothing_follows);
            }
            out.push(')');
        }
        Node::Repeat {
            node,
            min,
            max,
            greedy,
        } => {
            let again = max.is_none_or(|m| m > 1);
            out.push_str("(?:");
            emit_node(node, mode, out, nothing_follows && !again);
            out.push(')');
            match max {
                None => out.push_str(&format!("{{{min},}}")),
                Some(m) => out.push_str(&format!("{{{min},{m}}}")),
            }
            if !greedy {
                out.push('?');
            }
        }
    }
}

/// Finds a `$` (not multi-line) that something can follow: such expressions
/// are refused rather than evaluated with a different meaning.
fn check_dollars(node: &Node, nothing_follows: bool) -> Result<(), RegexError> {
    match node {
        Node::LineEnd { flags } if !flags.multiline && !nothing_follows => Err(unsupported(
            0,
            "'$' followed by more of the expression (Python's '$' also matches before a final newline; put '$' last or use \\Z)",
        )),
        Node::Group(inner) => check_dollars(inner, nothing_follows),
        Node::Concat(items) => {
            for (i, item) in items.iter().enumerate() {
                let rest_empty = items[i + 1..].iter().all(Node::is_nothing);
                check_dollars(item, nothing_follows && rest_empty)?;
            }
            Ok(())
        }
        Node::Alternation(branches) => branches
            .iter()
            .try_for_each(|b| check_dollars(b, nothing_follows)),
        Node::Repeat { node, max, .. } => {
            let again = max.is_none_or(|m| m > 1);
            check_dollars(node, nothing_follows && !again)
        }
        _ => Ok(()),
    }
}

fn with_case(out: &mut String, ignore_case: bool, f: impl FnOnce(&mut String)) {
    if ignore_case {
        // In the byte form the whole expression is in `(?-u)`, so folding is
        // ASCII-only there, as in Python's byte patterns.
        out.push_str("(?i:");
        f(out);
        out.push(')');
    } else {
        f(out);
    }
}

fn push_code(out: &mut String, c: u32, mode: Mode) {
    match mode {
        Mode::Bytes => out.push_str(&format!(r"\x{c:02X}")),
        Mode::Text => match char::from_u32(c) {
            Some(ch) => push_literal(out, ch, mode),
            // Lone surrogates cannot occur in Rust strings: never matches.
            None => out.push_str(r"[^\x00-\x{10FFFF}]"),
        },
    }
}

fn push_literal(out: &mut String, c: char, mode: Mode) {
    match mode {
        Mode::Bytes => out.push_str(&format!(r"\x{:02X}", c as u32)),
        Mode::Text => {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else {
                out.push_str(&format!(r"\x{{{:X}}}", c as u32));
            }
        }
    }
}

fn push_class_item(out: &mut String, item: &ClassItem, mode: Mode, ascii: bool) {
    let ascii = ascii || mode == Mode::Bytes;
    let code = |out: &mut String, c: u32| match mode {
        Mode::Bytes => out.push_str(&format!(r"\x{c:02X}")),
        Mode::Text => match char::from_u32(c) {
            Some(_) => out.push_str(&format!(r"\x{{{c:X}}}")),
            // Surrogates are not characters in Rust strings; keep the class
            // valid with a character that cannot occur next to it.
            None => out.push_str(r"\x{FFFF}"),
        },
    };
    match item {
        ClassItem::Char(c) => code(out, *c),
        ClassItem::Range(lo, hi) => {
            let (lo, hi) = if mode == Mode::Text && (0xD800..=0xDFFF).contains(lo) {
                (0xE000.min(*hi), *hi)
            } else {
                (*lo, *hi)
            };
            code(out, lo);
            out.push('-');
            code(out, hi);
        }
        ClassItem::Digit(neg) => out.push_str(match (ascii, neg) {
            (true, false) => "0-9",
            (true, true) => r"[^0-9]",
            (false, false) => r"\p{Nd}",
            (false, true) => r"\P{Nd}",
        }),
        ClassItem::Word(neg) => out.push_str(match (ascii, neg) {
            (true, false) => "0-9A-Za-z_",
            (true, true) => r"[^0-9A-Za-z_]",
            (false, false) => r"\p{L}\p{N}_",
            (false, true) => r"[^\p{L}\p{N}_]",
        }),
        ClassItem::Space(neg) => out.push_str(match (ascii, neg) {
            (true, false) => r"\t\n\x0B\x0C\r ",
            (true, true) => r"[^\t\n\x0B\x0C\r ]",
            (false, false) => r"\s\x1C-\x1F",
            (false, true) => r"[^\s\x1C-\x1F]",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(re: &str, text: &str) -> bool {
        PyRegex::new(re)
            .unwrap_or_else(|e| panic!("{re}: {e}"))
            .text
            .is_match(text)
    }

    #[test]
    fn python_meanings() {
        assert!(search("a$", "a\n"));
        assert!(!search("a$", "a\n\n"));
        assert!(search("[[]", "["));
        assert!(search("a{", "a{"));
        assert!(search("a{1,x}", "a{1,x}"));
        assert!(search("x{,2}y", "xxy"));
        assert!(search("[]a]", "]"));
        assert!(search("[^]]", "a"));
        assert!(search(r"\d", "٣"));
        assert!(!search(r"(?a)\d", "٣"));
        assert!(search(r"\s", "\u{1c}"));
        assert!(!search(r".", "\n"));
        assert!(search(r"(?s).", "\n"));
        assert!(search(r"(?i)K", "k"));
        assert!(search(r"^a", "ab"));
        assert!(!search(r"^b", "ab"));
        assert!(search(r"(?m)^b", "a\nb"));
        assert!(search(r"\x41\101", "AA"));
        assert!(search("\u{101}?\\u0041", "A"));
        assert!(search("(?x) a b # comment\n c", "abc"));
        assert!(search("(?P<n>a)b", "ab"));
    }

    #[test]
    fn python_rejections() {
        for bad in [
            "*a", "a**", "(", ")", "[a", r"\q", "a{2,1}", r"\x4", "(?P<1>a)", "a|(?i)b", "[z-a]",
            r"[\d-z]", "(?<n>a)", r"\",
        ] {
            assert!(
                matches!(PyRegex::new(bad), Err(RegexError::Invalid { .. })),
                "{bad}"
            );
        }
        // Valid as text, invalid as bytes: Python compiles both when it can.
        assert!(matches!(
            PyRegex::new(r"\u0041"),
            Err(RegexError::Invalid { .. })
        ));
        assert!(PyRegex::new("\u{0101}\\u0041").is_ok());
    }

    #[test]
    fn refusals_are_precise() {
        for (re, word) in [
            ("(?=a)", "look-ahead"),
            ("(?<!a)b", "look-behind"),
            (r"(a)\1", "back-references"),
            ("(?P<x>a)(?P=x)", "back-references"),
            ("(?>a)", "atomic"),
            ("a*+", "possessive"),
            ("a$b", "'$'"),
        ] {
            match PyRegex::new(re) {
                Err(RegexError::Unsupported { message, .. }) => {
                    assert!(message.contains(word), "{re}: {message}")
                }
                other => panic!("{re}: {other:?}"),
            }
        }
    }

    #[test]
    fn binary_form() {
        let re = PyRegex::new("\u{e9}+").unwrap();
        assert!(re.bytes.as_ref().unwrap().is_match(&[0xe9, 0xe9]));
        let like = regex::Regex::new(&like_to_regex("a%b_")).unwrap();
        assert!(like.is_match("axxbc"));
        assert!(like.is_match("abc\n"));
        assert!(!like.is_match("a\nbc"));
    }
}
