//! Timestamps as MISP and CSV files write them, read into STIX timestamps.
//!
//! STIX accepts one form (`YYYY-MM-DDTHH:MM:SS[.s]Z`); the inputs do not:
//! MISP writes epoch seconds (`"1789459200"`) and ISO 8601 with offsets
//! (`2026-08-01T00:00:00.000000+00:00`), spreadsheets write dates alone or a
//! space for the `T`. Each is converted to UTC here; anything else is an
//! error naming the forms accepted.

use stix::Timestamp;

const ACCEPTED: &str =
    "expected epoch seconds, YYYY-MM-DD, or YYYY-MM-DD[T ]HH:MM[:SS[.f]] with Z or ±HH:MM";

/// Epoch seconds, as MISP writes `timestamp` (a string or a number).
pub(crate) fn from_epoch(seconds: i64) -> Result<Timestamp, String> {
    // 9999-12-31T23:59:59Z: STIX timestamps have four-digit years.
    if !(0..=253_402_300_799).contains(&seconds) {
        return Err(format!(
            "{seconds} is not a time between 1970 and 9999 in epoch seconds"
        ));
    }
    Ok(Timestamp::from_micros(seconds * 1_000_000))
}

/// Any of the forms in [`ACCEPTED`].
pub(crate) fn parse_lenient(input: &str) -> Result<Timestamp, String> {
    let s = input.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map_err(|_| format!("{input:?}: {ACCEPTED}"))
            .and_then(from_epoch);
    }
    let fail = || format!("{input:?} is not a time: {ACCEPTED}");
    let b = s.as_bytes();
    if b.len() < 10 {
        return Err(fail());
    }
    let date = &s[..10];
    let rest = &s[10..];
    if rest.is_empty() {
        return Timestamp::parse(&format!("{date}T00:00:00Z")).map_err(|_| fail());
    }
    let (sep, rest) = rest.split_at(1);
    if sep != "T" && sep != " " && sep != "t" {
        return Err(fail());
    }
    // The time runs up to the zone designator, if any.
    let zone_at = rest
        .char_indices()
        .find(|&(i, c)| c == 'Z' || c == 'z' || ((c == '+' || c == '-') && i > 0))
        .map_or(rest.len(), |(i, _)| i);
    let (clock, zone) = rest.split_at(zone_at);
    let clock = clock.trim_end();
    let clock = match clock.len() {
        5 => format!("{clock}:00"),
        _ => clock.to_string(),
    };
    let utc = Timestamp::parse(&format!("{date}T{clock}Z")).map_err(|_| fail())?;
    let offset_minutes: i64 = match zone.trim() {
        "" | "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(fail());
            }
            let hours: i64 = digits[..2].parse().map_err(|_| fail())?;
            let minutes: i64 = digits[2..].parse().map_err(|_| fail())?;
            if hours > 23 || minutes > 59 {
                return Err(fail());
            }
            sign * (hours * 60 + minutes)
        }
    };
    Ok(Timestamp::from_micros(
        utc.as_micros() - offset_minutes * 60 * 1_000_000,
    ))
}

/// The STIX text of a timestamp: milliseconds (what `created` and `modified`
/// must carry at least), or microseconds when the input had them.
pub(crate) fn stamp(ts: Timestamp) -> String {
    if ts.as_micros() % 1000 == 0 {
        ts.format_with_precision(3)
    } else {
        ts.format_with_precision(6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        stamp(parse_lenient(s).unwrap())
    }

    #[test]
    fn reads_the_forms_misp_and_spreadsheets_write() {
        assert_eq!(text("1789459200"), "2026-09-15T08:00:00.000Z");
        assert_eq!(
            text("2026-08-01T00:00:00.000000+00:00"),
            "2026-08-01T00:00:00.000Z"
        );
        assert_eq!(
            text("2026-08-01T02:30:00+02:30"),
            "2026-08-01T00:00:00.000Z"
        );
        assert_eq!(
            text("2026-08-01T00:00:00-01:00"),
            "2026-08-01T01:00:00.000Z"
        );
        assert_eq!(text("2026-08-01 12:34"), "2026-08-01T12:34:00.000Z");
        assert_eq!(text("2026-08-01"), "2026-08-01T00:00:00.000Z");
        assert_eq!(
            text("2026-08-01T12:34:56.123456Z"),
            "2026-08-01T12:34:56.123456Z"
        );
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-08-01T25:00:00Z",
            "2026-08-01T00:00:00+2",
            "2026/08/01",
            "99999999999999",
        ] {
            assert!(parse_lenient(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
