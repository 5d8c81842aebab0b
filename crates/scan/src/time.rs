//! Timestamps as logs write them: RFC 3339 / ISO 8601 with or without an
//! offset (Suricata writes `2024-01-31T12:00:00.123456+0000`), a space for
//! `T`, or seconds since the epoch (Zeek's `ts`). Everything becomes
//! microseconds since the epoch, UTC.

use serde_json::Value;

/// Microseconds since the epoch for a JSON timestamp field.
pub fn from_json(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().and_then(from_epoch_seconds),
        Value::String(s) => parse(s),
        _ => None,
    }
}

pub fn from_epoch_seconds(secs: f64) -> Option<i64> {
    if !secs.is_finite() || secs.abs() > 253_402_300_799.0 {
        return None;
    }
    Some((secs * 1e6).round() as i64)
}

/// Parses an ISO 8601 date-time (or epoch seconds written as text).
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = stix::Timestamp::parse(s) {
        return Some(t.as_micros());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return from_epoch_seconds(secs);
    }
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut fraction = String::from(".0");
    if let Some(r) = rest.strip_prefix('.') {
        let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        rest = &r[digits.len()..];
        fraction = format!(".{digits}");
    }
    let offset_secs: i64 = match rest {
        "" | "Z" | "z" => 0,
        o if (o.starts_with('+') || o.starts_with('-'))
            && (o.len() == 5 || o.len() == 6 || o.len() == 3) =>
        {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let digits: String = o[1..].chars().filter(char::is_ascii_digit).collect();
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i64>().ok()?,
                    digits[2..].parse::<i64>().ok()?,
                ),
                _ => return None,
            };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let canonical = format!("{}T{}{}Z", &s[..10], &s[11..19], fraction);
    let t = stix::Timestamp::parse(&canonical).ok()?;
    Some(t.as_micros() - offset_secs * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let base = parse("2024-01-31T12:00:00Z").unwrap();
        assert_eq!(parse("2024-01-31T12:00:00.000000+0000"), Some(base));
        assert_eq!(parse("2024-01-31T13:00:00+01:00"), Some(base));
        assert_eq!(parse("2024-01-31 12:00:00"), Some(base));
        assert_eq!(parse("1706702400"), Some(base));
        assert_eq!(parse("1706702400.5"), Some(base + 500_000));
        assert_eq!(parse("yesterday"), None);
    }
}
