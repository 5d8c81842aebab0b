//! Instants, calendar dates and time zones as the incident record uses them.
//!
//! Every instant is stored in UTC. Time zones come from the copy of the IANA
//! database compiled into the binary, so that an assessment gives the same
//! answer on every machine, whatever tzdata the host has (or lacks).

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use jiff::civil::Date;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

static BUNDLED_TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// Looks up an IANA time zone name (`Europe/Berlin`) in the bundled database.
pub fn time_zone(name: &str) -> Option<TimeZone> {
    if name.eq_ignore_ascii_case("UTC") {
        return Some(TimeZone::UTC);
    }
    BUNDLED_TZDB.get(name).ok()
}

/// An instant in UTC, written as RFC 3339 (`2026-11-14T02:30:00Z`).
///
/// Input may carry any UTC offset (`+01:00`); it is converted to UTC. Input
/// without an offset is rejected, because a local wall-clock time without its
/// zone does not name one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Moment(pub Timestamp);

impl Moment {
    pub fn timestamp(self) -> Timestamp {
        self.0
    }

    /// The same instant on the wall clock of `tz`.
    pub fn in_zone(self, tz: &TimeZone) -> ZonedDateTime {
        self.0.to_zoned_datetime(tz.clone())
    }

    /// The calendar date of this instant on the wall clock of `tz`.
    pub fn local_date(self, tz: &TimeZone) -> Date {
        self.in_zone(tz).date()
    }
}

impl From<Timestamp> for Moment {
    fn from(ts: Timestamp) -> Self {
        Moment(ts)
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // jiff prints RFC 3339 in UTC with `Z` and only as many fraction
        // digits as the instant has.
        write!(f, "{}", self.0)
    }
}

/// The first year the record may not name. Deadlines run up to a few
/// months past their anchor (a month clock, 60 days after the year's end),
/// and jiff's timestamps end in 9999: an anchor in 9999 would give a
/// deadline that cannot be represented, and a record saying nothing is due.
const FIRST_UNSUPPORTED_YEAR: i16 = 9999;

/// The first year the record may name: an instant in year 0000 with a
/// positive offset is in year -1 in UTC, which RFC 3339 cannot write.
const FIRST_SUPPORTED_YEAR: i16 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` {reason}")]
pub struct MomentError {
    pub input: String,
    pub reason: String,
}

impl FromStr for Moment {
    type Err = MomentError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: String| MomentError {
            input: input.to_string(),
            reason,
        };
        let not_rfc3339 = || {
            error(
                "is not an RFC 3339 timestamp with a UTC offset (for example 2026-11-14T02:30:00Z)"
                    .into(),
            )
        };
        // jiff also accepts `2026-11-14 02:30Z` and friends; insist on the
        // `T` separator and seconds so that records stay in one format.
        let bytes = input.as_bytes();
        if bytes.len() < 20 || bytes[10] != b'T' || bytes[16] != b':' {
            return Err(not_rfc3339());
        }
        if let Some(date_text) = input.get(..10)
            && Date::from_str(date_text).is_err()
            && date_text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            })
        {
            return Err(error(format!(
                "names a day that does not exist: {date_text} is not a calendar date"
            )));
        }
        let too_far = || {
            error(format!(
                "is too far in the future: instants must be before {FIRST_UNSUPPORTED_YEAR}-01-01T00:00:00Z, so that every deadline counted from them can be computed"
            ))
        };
        let too_early = || {
            error(format!(
                "is too far in the past: instants must be in year {FIRST_SUPPORTED_YEAR:04} or later (UTC), the range RFC 3339 can write"
            ))
        };
        match Timestamp::from_str(input) {
            Ok(t) => {
                let year = t.to_zoned_datetime(TimeZone::UTC).year();
                if year < FIRST_SUPPORTED_YEAR {
                    Err(too_early())
                } else if year < FIRST_UNSUPPORTED_YEAR {
                    Ok(Moment(t))
                } else {
                    Err(too_far())
                }
            }
            // jiff's own range ends late in 9999.
            Err(_)
                if input.get(..4).and_then(|y| y.parse::<i16>().ok())
                    >= Some(FIRST_UNSUPPORTED_YEAR) =>
            {
                Err(too_far())
            }
            Err(_) => Err(not_rfc3339()),
        }
    }
}

impl Serialize for Moment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Moment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Moment::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// A calendar date without a time (`2026-06-10`), for rules that count days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub Date);

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` {reason}")]
pub struct DayError {
    pub input: String,
    pub reason: String,
}

impl FromStr for Day {
    type Err = DayError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = || DayError {
            input: input.to_string(),
            reason: "is not a calendar date YYYY-MM-DD (for example 2026-06-10)".into(),
        };
        if input.len() != 10 {
            return Err(error());
        }
        let day = Date::from_str(input).map_err(|_| error())?;
        if day.year() >= FIRST_UNSUPPORTED_YEAR {
            return Err(DayError {
                input: input.to_string(),
                reason: format!(
                    "is too far in the future: dates must be before {FIRST_UNSUPPORTED_YEAR}-01-01, so that every deadline counted from them can be computed"
                ),
            });
        }
        Ok(Day(day))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Day::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// Shows an instant on a local wall clock: `2026-11-15T03:30:00+01:00[Europe/Berlin]`.
pub fn local_display(moment: Moment, tz: &TimeZone, tz_name: &str) -> String {
    let zoned = moment.in_zone(tz);
    format!("{}[{tz_name}]", zoned.strftime("%Y-%m-%dT%H:%M:%S%:z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_convert_offsets_to_utc_and_print_rfc3339() {
        let m: Moment = "2026-11-14T03:30:00+01:00".parse().unwrap();
        assert_eq!(m.to_string(), "2026-11-14T02:30:00Z");
    }

    #[test]
    fn moments_without_offset_or_in_odd_forms_are_rejected() {
        for bad in [
            "2026-11-14T02:30:00",
            "2026-11-14 02:30:00Z",
            "2026-11-14T02:30Z",
            "2026-13-01T00:00:00Z",
            "yesterday",
            "",
        ] {
            assert!(bad.parse::<Moment>().is_err(), "{bad} accepted");
        }
        // Year 0000 at a positive offset is year -1 in UTC: not writable in RFC 3339.
        let early = "0000-01-01T00:00:00+01:00".parse::<Moment>().unwrap_err();
        assert!(early.to_string().contains("too far in the past"), "{early}");
        assert!("0001-01-01T00:00:00Z".parse::<Moment>().is_ok());
    }

    #[test]
    fn bundled_time_zones_work_without_system_tzdata() {
        let tz = time_zone("America/New_York").unwrap();
        let m: Moment = "2026-07-01T16:00:00Z".parse().unwrap();
        assert_eq!(
            local_display(m, &tz, "America/New_York"),
            "2026-07-01T12:00:00-04:00[America/New_York]"
        );
        assert!(time_zone("Mars/Olympus_Mons").is_none());
    }

    #[test]
    fn days_parse_only_iso_dates() {
        assert_eq!(
            "2026-06-10".parse::<Day>().unwrap().to_string(),
            "2026-06-10"
        );
        assert!("2026-6-10".parse::<Day>().is_err());
        assert!("2026-02-30".parse::<Day>().is_err());
    }
}
