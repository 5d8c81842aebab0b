//! Comparison of observed values with pattern literals, with the semantics of
//! the OASIS reference matcher (which inherits Python's comparison rules).
//!
//! In short: numbers compare exactly across integers and floats; booleans
//! only equal booleans (except in `IN`, where Python's set membership makes
//! `true` equal `1`); strings compare by code point; binary values compare
//! with binary literals, and with strings whose characters are all below
//! U+0100; a timestamp literal parses the observed string, and a string that
//! is not a timestamp is an error, not a mismatch. Ordering operators on
//! values that cannot be ordered are simply false.

use std::cmp::Ordering;
use std::sync::OnceLock;

use serde_json::Value;

use crate::ast::LiteralValue;

/// A value selected by an object path.
#[derive(Clone, Debug)]
pub enum Selected<'a> {
    Json(&'a Value),
    /// The decoded value of a `*_hex` or `*_bin` property.
    Bytes(std::rc::Rc<[u8]>),
    /// The objects a `*_refs` list refers to.
    Objects(Vec<&'a Value>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i128),
    Float(f64),
}

pub fn json_number(n: &serde_json::Number) -> Number {
    if let Some(i) = n.as_i64() {
        Number::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Number::Int(i128::from(u))
    } else {
        Number::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Exact comparison, as Python compares `int` with `float`.
pub fn compare_numbers(a: Number, b: Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => Some(x.cmp(&y)),
        (Number::Float(x), Number::Float(y)) => x.partial_cmp(&y),
        (Number::Int(i), Number::Float(f)) => compare_int_float(i, f),
        (Number::Float(f), Number::Int(i)) => compare_int_float(i, f).map(Ordering::reverse),
    }
}

fn compare_int_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^127 is exactly representable; beyond it every i128 is smaller.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let floor = f.floor();
    let whole = floor as i128;
    match i.cmp(&whole) {
        Ordering::Equal if f > floor => Some(Ordering::Less),
        other => Some(other),
    }
}

/// Why a comparison could not be made (the whole evaluation fails, as in
/// the reference).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompareError(pub String);

/// `value = literal`.
pub fn equals(value: &Selected<'_>, literal: &LiteralValue) -> Result<bool, CompareError> {
    Ok(match (value, literal) {
        (Selected::Json(Value::String(s)), LiteralValue::Timestamp(t)) => {
            parse_observed_timestamp(s)? == t.as_micros()
        }
        (Selected::Json(Value::Number(n)), LiteralValue::Int(i)) => {
            compare_numbers(json_number(n), Number::Int(*i)) == Some(Ordering::Equal)
        }
        (Selected::Json(Value::Number(n)), LiteralValue::Float(f)) => {
            compare_numbers(json_number(n), Number::Float(*f)) == Some(Ordering::Equal)
        }
        (Selected::Json(Value::String(s)), LiteralValue::Str(l)) => s == l,
        (Selected::Json(Value::String(s)), LiteralValue::Bytes(b)) => {
            latin1_bytes(s).is_some_and(|v| v == *b)
        }
        (Selected::Bytes(b), LiteralValue::Bytes(l)) => **b == **l,
        (Selected::Bytes(b), LiteralValue::Str(s)) => latin1_bytes(s).is_some_and(|v| *v == **b),
        (Selected::Json(Value::Bool(b)), LiteralValue::Bool(l)) => b == l,
        _ => false,
    })
}

/// The outcome of an ordering comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ordered {
    Yes(Ordering),
    /// The two types have no ordering at all: the comparison is false, and
    /// the reference returns before applying `NOT`.
    NoOrdering,
    /// Binary against a string with characters above U+00FF: false, and
    /// `NOT` then applies.
    Incomparable,
}

/// `value <op> literal` for the ordering operators.
pub fn order(value: &Selected<'_>, literal: &LiteralValue) -> Result<Ordered, CompareError> {
    let known = |o: Option<Ordering>| o.map_or(Ordered::Incomparable, Ordered::Yes);
    Ok(match (value, literal) {
        (Selected::Json(Value::String(s)), LiteralValue::Timestamp(t)) => {
            Ordered::Yes(parse_observed_timestamp(s)?.cmp(&t.as_micros()))
        }
        (Selected::Json(Value::Number(n)), LiteralValue::Int(i)) => {
            known(compare_numbers(json_number(n), Number::Int(*i)))
        }
        (Selected::Json(Value::Number(n)), LiteralValue::Float(f)) => {
            known(compare_numbers(json_number(n), Number::Float(*f)))
        }
        (Selected::Json(Value::String(s)), LiteralValue::Str(l)) => {
            Ordered::Yes(s.as_str().cmp(l.as_str()))
        }
        (Selected::Json(Value::String(s)), LiteralValue::Bytes(b)) => {
            known(latin1_bytes(s).map(|v| v.as_slice().cmp(b)))
        }
        (Selected::Bytes(b), LiteralValue::Bytes(l)) => Ordered::Yes(b[..].cmp(&l[..])),
        (Selected::Bytes(b), LiteralValue::Str(s)) => {
            known(latin1_bytes(s).map(|v| b[..].cmp(&v[..])))
        }
        _ => Ordered::NoOrdering,
    })
}

/// A set literal, ready for Python-style membership tests.
#[derive(Clone, Debug)]
pub enum SetLiteral {
    /// Integers, floats or booleans (Python's `True == 1`).
    Numbers(Vec<Number>),
    Strings(Vec<String>),
    Bytes(Vec<Vec<u8>>),
    Timestamps(Vec<i64>),
    Empty,
}

impl SetLiteral {
    /// `None` when the members are of different kinds (the reference refuses
    /// such sets; integers and floats may mix).
    pub fn new(items: &[LiteralValue]) -> Option<SetLiteral> {
        let Some(first) = items.first() else {
            return Some(SetLiteral::Empty);
        };
        let numeric = |v: &LiteralValue| matches!(v, LiteralValue::Int(_) | LiteralValue::Float(_));
        let same_kind = items
            .iter()
            .all(|v| std::mem::discriminant(v) == std::mem::discriminant(first))
            || items.iter().all(numeric);
        if !same_kind {
            return None;
        }
        Some(match first {
            LiteralValue::Int(_) | LiteralValue::Float(_) | LiteralValue::Bool(_) => {
                SetLiteral::Numbers(
                    items
                        .iter()
                        .map(|v| match v {
                            LiteralValue::Int(i) => Number::Int(*i),
                            LiteralValue::Float(f) => Number::Float(*f),
                            LiteralValue::Bool(b) => Number::Int(i128::from(*b)),
                            _ => Number::Float(f64::NAN),
                        })
                        .collect(),
                )
            }
            LiteralValue::Str(_) => SetLiteral::Strings(
                items
                    .iter()
                    .filter_map(|v| {
                        if let LiteralValue::Str(s) = v {
                            Some(s.clone())
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
            LiteralValue::Bytes(_) => SetLiteral::Bytes(
                items
                    .iter()
                    .filter_map(|v| {
                        if let LiteralValue::Bytes(b) = v {
                            Some(b.clone())
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
            LiteralValue::Timestamp(_) => SetLiteral::Timestamps(
                items
                    .iter()
                    .filter_map(|v| {
                        if let LiteralValue::Timestamp(t) = v {
                            Some(t.as_micros())
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
        })
    }

    pub fn contains(&self, value: &Selected<'_>) -> Result<bool, CompareError> {
        Ok(match (self, value) {
            (SetLiteral::Timestamps(set), Selected::Json(Value::String(s))) => {
                let t = parse_observed_timestamp(s)?;
                set.contains(&t)
            }
            (SetLiteral::Numbers(set), Selected::Json(v)) => {
                let n = match v {
                    Value::Number(n) => json_number(n),
                    Value::Bool(b) => Number::Int(i128::from(*b)),
                    _ => return Ok(false),
                };
                set.iter()
                    .any(|m| compare_numbers(n, *m) == Some(Ordering::Equal))
            }
            (SetLiteral::Strings(set), Selected::Json(Value::String(s))) => {
                set.iter().any(|m| m == s)
            }
            (SetLiteral::Bytes(set), Selected::Bytes(b)) => set.iter().any(|m| m[..] == b[..]),
            _ => false,
        })
    }
}

/// The string as bytes if every character is below U+0100.
pub fn latin1_bytes(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(c as u32).ok()).collect()
}

/// Parses a timestamp found in observed data as the reference does (Python's
/// `strptime` with `%Y-%m-%dT%H:%M:%S[.%f]Z`): uppercase only, but one-digit
/// fields are tolerated. Fractions longer than six digits are truncated.
pub fn parse_observed_timestamp(s: &str) -> Result<i64, CompareError> {
    if let Ok(t) = stix::Timestamp::parse(s) {
        return Ok(t.as_micros());
    }
    lenient_timestamp(s)
        .ok_or_else(|| CompareError(format!("invalid timestamp {:?}", truncate(s, 64))))
}

fn lenient_timestamp(s: &str) -> Option<i64> {
    if s.chars().any(char::is_lowercase) {
        return None;
    }
    static WITH_FRACTION: OnceLock<regex::Regex> = OnceLock::new();
    static WITHOUT_FRACTION: OnceLock<regex::Regex> = OnceLock::new();
    const FIELDS: &str = r"\A([0-9]{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])T(2[0-3]|[0-1][0-9]|[0-9]):([0-5][0-9]|[0-9]):(6[0-1]|[0-5][0-9]|[0-9])";
    let owned;
    let (re, text) = if s.contains('.') {
        let mut parts: Vec<&str> = s.split('.').collect();
        let fixed;
        if parts[1].chars().count() > 7 && parts[1].ends_with('Z') {
            fixed = format!("{}Z", parts[1].chars().take(6).collect::<String>());
            parts[1] = &fixed;
            owned = parts.join(".");
        } else {
            owned = s.to_owned();
        }
        (
            WITH_FRACTION.get_or_init(|| {
                regex::Regex::new(&format!(r"{FIELDS}\.([0-9]{{1,6}})Z"))
                    .unwrap_or_else(|_| unreachable_regex())
            }),
            owned.as_str(),
        )
    } else {
        (
            WITHOUT_FRACTION.get_or_init(|| {
                regex::Regex::new(&format!("{FIELDS}Z")).unwrap_or_else(|_| unreachable_regex())
            }),
            s,
        )
    };
    let caps = re.captures(text)?;
    if caps.get(0)?.end() != text.len() {
        return None;
    }
    let num = |i: usize| {
        caps.get(i)
            .and_then(|m| m.as_str().trim().parse::<i64>().ok())
    };
    let (year, month, day, hour, minute, second) =
        (num(1)?, num(2)?, num(3)?, num(4)?, num(5)?, num(6)?);
    let micro = match caps.get(7) {
        Some(m) => format!("{:0<6}", m.as_str()).parse::<i64>().ok()?,
        None => 0,
    };
    if year < 1 || second > 59 {
        return None;
    }
    let canonical =
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{micro:06}Z");
    stix::Timestamp::parse(&canonical)
        .ok()
        .map(|t| t.as_micros())
}

fn unreachable_regex() -> regex::Regex {
    // The expressions above are constants known to compile; a regex that
    // matches nothing keeps this path total anyway.
    regex::Regex::new(r"[^\s\S]").unwrap_or_else(|_| std::process::abort())
}

pub fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// An address with its prefix length: IPv4 in 32 bits, IPv6 in 128 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpNet {
    V4(u32, u8),
    V6(u128, u8),
}

impl IpNet {
    pub fn contains(&self, inner: &IpNet) -> bool {
        match (self, inner) {
            (IpNet::V4(a, p), IpNet::V4(b, q)) => {
                if p > q {
                    return false;
                }
                let mask = if *p == 0 { 0 } else { u32::MAX << (32 - p) };
                a & mask == b & mask
            }
            (IpNet::V6(a, p), IpNet::V6(b, q)) => {
                if p > q {
                    return false;
                }
                let mask = if *p == 0 { 0 } else { u128::MAX << (128 - p) };
                a & mask == b & mask
            }
            _ => false,
        }
    }
}

/// IPv4 the way the C library's `inet_aton` (which the reference calls)
/// reads it: one to four parts, each decimal, octal (leading `0`) or hex
/// (`0x`), the last part filling the remaining bytes; anything after
/// whitespace is ignored.
pub fn inet_aton(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let mut parts = [0u64; 4];
    let mut n = 0usize;
    let mut i = 0;
    loop {
        if !b.get(i)?.is_ascii_digit() {
            return None;
        }
        let mut base = 10;
        if b[i] == b'0' {
            base = 8;
            i += 1;
            if matches!(b.get(i), Some(b'x' | b'X')) {
                base = 16;
                i += 1;
            }
        }
        let mut val: u64 = 0;
        while let Some(&c) = b.get(i) {
            let d = match c {
                b'0'..=b'9' if base != 8 || c < b'8' => u64::from(c - b'0'),
                b'8' | b'9' => return None,
                b'a'..=b'f' | b'A'..=b'F' if base == 16 => u64::from((c | 0x20) - b'a' + 10),
                _ => break,
            };
            val = val.checked_mul(base)?.checked_add(d)?;
            if val > u64::from(u32::MAX) {
                return None;
            }
            i += 1;
        }
        match b.get(i) {
            Some(b'.') => {
                if n >= 3 || val > 0xff {
                    return None;
                }
                parts[n] = val;
                n += 1;
                i += 1;
            }
            Some(c) if !c.is_ascii_whitespace() && *c != 0x0b => return None,
            _ => {
                parts[n] = val;
                n += 1;
                break;
            }
        }
    }
    let last = parts[n - 1];
    let lead = &parts[..n - 1];
    let limit: u64 = match lead.len() {
        0 => 0xffff_ffff,
        1 => 0xff_ffff,
        2 => 0xffff,
        _ => 0xff,
    };
    if last > limit {
        return None;
    }
    let mut v: u64 = 0;
    for (k, p) in lead.iter().enumerate() {
        v |= p << (24 - 8 * k);
    }
    Some((v | last) as u32)
}

/// An address or CIDR network: IPv4 as the reference reads it, IPv6 (which
/// the reference cannot read) as the standard library does.
pub fn parse_net(s: &str, require_prefix: bool) -> Result<IpNet, CompareError> {
    let bad = || {
        CompareError(format!(
            "invalid IP address or CIDR network {:?}",
            truncate(s, 64)
        ))
    };
    let (addr, prefix) = match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None if require_prefix => return Err(bad()),
        None => (s, None),
    };
    let prefix = match prefix {
        Some(p) if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) => {
            Some(p.parse::<u32>().map_err(|_| bad())?)
        }
        Some(_) => return Err(bad()),
        None => None,
    };
    if addr.contains(':') {
        let ip: std::net::Ipv6Addr = addr.parse().map_err(|_| bad())?;
        let p = prefix.unwrap_or(128);
        if !(1..=128).contains(&p) {
            return Err(bad());
        }
        return Ok(IpNet::V6(u128::from(ip), p as u8));
    }
    let ip = inet_aton(addr).ok_or_else(bad)?;
    let p = prefix.unwrap_or(32);
    if !(1..=32).contains(&p) {
        return Err(bad());
    }
    Ok(IpNet::V4(ip, p as u8))
}

/// `inner ISSUBSET outer` on the two texts.
pub fn in_subnet(inner: &str, outer: &str) -> Result<bool, CompareError> {
    let inner = parse_net(inner, false)?;
    let outer = parse_net(outer, true)?;
    Ok(outer.contains(&inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_exactly() {
        assert_eq!(
            compare_numbers(Number::Int(1), Number::Float(1.0)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            compare_numbers(
                Number::Int(9_007_199_254_740_993),
                Number::Float(9_007_199_254_740_992.0)
            ),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare_numbers(Number::Int(-1), Number::Float(-0.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare_numbers(Number::Int(2), Number::Float(1.5)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn inet_aton_forms() {
        assert_eq!(inet_aton("1.2.3.4"), Some(0x01020304));
        assert_eq!(inet_aton("127.1"), Some(0x7f000001));
        assert_eq!(inet_aton("0x7f.1"), Some(0x7f000001));
        assert_eq!(inet_aton("010.0.0.1"), Some(0x08000001));
        assert_eq!(inet_aton("1.2.3.4 trailing"), Some(0x01020304));
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("09.1.1.1"), None);
        assert_eq!(inet_aton(""), None);
        assert_eq!(inet_aton("4294967295"), Some(u32::MAX));
    }

    #[test]
    fn subnets() {
        assert_eq!(in_subnet("10.1.2.3", "10.0.0.0/8"), Ok(true));
        assert_eq!(in_subnet("10.0.0.0/7", "10.0.0.0/8"), Ok(false));
        assert!(in_subnet("10.0.0.0", "0.0.0.0/0").is_err());
        assert_eq!(in_subnet("2001:db8::1", "2001:db8::/32"), Ok(true));
        assert_eq!(in_subnet("10.0.0.1", "2001:db8::/32"), Ok(false));
    }

    #[test]
    fn lenient_timestamps() {
        assert!(parse_observed_timestamp("2016-5-1T1:2:3Z").is_ok());
        assert!(parse_observed_timestamp("2016-05-01T01:02:03.1234567Z").is_ok());
        assert!(parse_observed_timestamp("2016-05-01t01:02:03Z").is_err());
        assert!(parse_observed_timestamp("2016-02-30T01:02:03Z").is_err());
        assert!(parse_observed_timestamp("2016-05-01T01:02:60Z").is_err());
    }
}
