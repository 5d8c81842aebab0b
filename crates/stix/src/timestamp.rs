//! STIX timestamps: the strict grammar `YYYY-MM-DDTHH:MM:SS[.s+]Z`.
//!
//! General-purpose date libraries accept far more than STIX allows (lowercase
//! `t`/`z`, offsets, a space for `T`, missing seconds), so the lexer is ours.
//! Values are kept as microseconds since the Unix epoch in UTC: that is the
//! precision the store orders and compares versions by. Digits beyond the
//! sixth fractional place are accepted and truncated.

use std::fmt;

/// A point in time, UTC, with microsecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    micros: i64,
}

/// Why a string is not a STIX timestamp.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason} in timestamp {input:?} (expected YYYY-MM-DDTHH:MM:SS[.s+]Z)")]
pub struct TimestampError {
    pub input: String,
    pub reason: &'static str,
}

const MICROS_PER_SECOND: i64 = 1_000_000;

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp { micros }
    }

    pub const fn as_micros(self) -> i64 {
        self.micros
    }

    /// Parses the strict STIX form. Year 0000 to 9999 only.
    pub fn parse(input: &str) -> Result<Self, TimestampError> {
        let fail = |reason| TimestampError {
            input: input.chars().take(64).collect(),
            reason,
        };
        let b = input.as_bytes();
        if b.len() < 20 {
            return Err(fail("too short"));
        }
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            let mut v = 0i64;
            for &c in &b[range] {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + i64::from(c - b'0');
            }
            Some(v)
        };
        let year = digits(0..4).ok_or_else(|| fail("year is not four digits"))?;
        if b[4] != b'-' || b[7] != b'-' {
            return Err(fail("date separators must be '-'"));
        }
        let month = digits(5..7).ok_or_else(|| fail("month is not two digits"))?;
        let day = digits(8..10).ok_or_else(|| fail("day is not two digits"))?;
        if b[10] != b'T' {
            return Err(fail("date and time must be separated by an uppercase 'T'"));
        }
        let hour = digits(11..13).ok_or_else(|| fail("hour is not two digits"))?;
        if b[13] != b':' || b[16] != b':' {
            return Err(fail("time separators must be ':'"));
        }
        let minute = digits(14..16).ok_or_else(|| fail("minute is not two digits"))?;
        let second = digits(17..19).ok_or_else(|| fail("second is not two digits"))?;
        let mut micros_fraction = 0i64;
        let rest = &b[19..];
        let rest = if rest.first() == Some(&b'.') {
            let frac_len = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if frac_len == 0 {
                return Err(fail("a '.' must be followed by at least one digit"));
            }
            let mut scale = 100_000i64;
            for &c in rest[1..].iter().take(frac_len.min(6)) {
                micros_fraction += i64::from(c - b'0') * scale;
                scale /= 10;
            }
            &rest[1 + frac_len..]
        } else {
            rest
        };
        if rest != b"Z" {
            return Err(fail("must end in an uppercase 'Z' (UTC), with no offset"));
        }
        if !(1..=12).contains(&month) {
            return Err(fail("month out of range"));
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(fail("day out of range for the month"));
        }
        if hour > 23 {
            return Err(fail("hour out of range"));
        }
        if minute > 59 {
            return Err(fail("minute out of range"));
        }
        if second > 59 {
            // Leap seconds are legal RFC 3339 but no STIX toolchain (Python's
            // datetime included) can represent them; refusing is the safe choice.
            return Err(fail("second out of range (leap seconds are not accepted)"));
        }
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(Timestamp {
            micros: seconds * MICROS_PER_SECOND + micros_fraction,
        })
    }

    /// The civil date and time: (year, month, day, hour, minute, second, microsecond).
    pub fn to_parts(self) -> (i64, i64, i64, i64, i64, i64, i64) {
        let secs = self.micros.div_euclid(MICROS_PER_SECOND);
        let micro = self.micros.rem_euclid(MICROS_PER_SECOND);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (y, m, d, sod / 3600, (sod % 3600) / 60, sod % 60, micro)
    }

    /// Formats with exactly `digits` fractional digits (0 to 6).
    pub fn format_with_precision(self, digits: usize) -> String {
        let (y, mo, d, h, mi, s, us) = self.to_parts();
        let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        let digits = digits.min(6);
        if digits > 0 {
            let frac = format!("{us:06}");
            out.push('.');
            out.push_str(&frac[..digits]);
        }
        out.push('Z');
        out
    }

    /// The STIX form of an object time (`modified`, a version): milliseconds
    /// when that is exact, microseconds otherwise, so that the text read back
    /// is the same instant. TAXII `date_added` values use [`fmt::Display`]
    /// (always six digits) instead.
    pub fn to_stix(self) -> String {
        if self.micros.rem_euclid(1000) == 0 {
            self.format_with_precision(3)
        } else {
            self.format_with_precision(6)
        }
    }

    /// This instant with its microseconds dropped to whole milliseconds.
    pub fn truncated_to_millis(self) -> Timestamp {
        Timestamp::from_micros(self.micros - self.micros.rem_euclid(1000))
    }
}

impl fmt::Display for Timestamp {
    /// Microsecond precision, always six digits: the form TAXII `date_added`
    /// values take, so that a value read back parses to the same instant.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_with_precision(6))
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// Howard Hinnant's civil-calendar algorithms (public domain descriptions).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_stix_forms() {
        for ok in [
            "2016-05-12T08:17:27Z",
            "2016-05-12T08:17:27.1Z",
            "2016-05-12T08:17:27.123Z",
            "2016-05-12T08:17:27.123456789Z",
            "2000-02-29T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
        ] {
            assert!(Timestamp::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_general_parsers_allow() {
        for bad in [
            "2016-05-12t08:17:27z",
            "2016-05-12T08:17:27z",
            "2016-05-12 08:17:27Z",
            "2016-05-12T08:17:27+01:00",
            "2016-05-12T08:17:27",
            "2016-05-12T08:17Z",
            "20160512T081727Z",
            "2016-05-12T08:17:27,123Z",
            "2016-05-12T08:17:27.Z",
            "2016-13-12T08:17:27Z",
            "2016-02-30T08:17:27Z",
            "1900-02-29T08:17:27Z",
            "2016-05-12T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2016-05-12T08:17:27ZZ",
            "",
            "２016-05-12T08:17:27Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips_and_orders() {
        let a = Timestamp::parse("2016-05-12T08:17:27.5Z").unwrap();
        assert_eq!(a.to_string(), "2016-05-12T08:17:27.500000Z");
        assert_eq!(a.format_with_precision(3), "2016-05-12T08:17:27.500Z");
        assert_eq!(Timestamp::parse(&a.to_string()).unwrap(), a);
        let b = Timestamp::parse("2016-05-12T08:17:27.500001Z").unwrap();
        assert!(a < b);
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:01Z")
                .unwrap()
                .as_micros(),
            1_000_000
        );
        let early = Timestamp::parse("0001-01-01T00:00:00Z").unwrap();
        assert_eq!(early.to_string(), "0001-01-01T00:00:00.000000Z");
    }

    proptest::proptest! {
        #[test]
        fn display_parses_back(micros in -62_135_596_800_000_000i64..253_402_300_799_999_999i64) {
            let t = Timestamp::from_micros(micros);
            proptest::prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }
    }
}
