//! Deadline arithmetic. Every function is total: an input that would leave
//! the representable range gives `None` rather than a panic.
//!
//! Conventions (see the crate README for the sources):
//! - hour clocks are exact and run through nights, weekends and holidays;
//! - day clocks counted in hours (CRA's 14 days) are n × 24 h;
//! - month clocks keep the UTC instant and clamp to the last day of a
//!   shorter month (Regulation 1182/71 Art. 3(2)(c)); this is stricter than
//!   the end of that day and needs no time zone;
//! - calendar-day clocks (HIPAA) count dates and end at 23:59:59 UTC;
//! - business-day clocks count the business days strictly after the day of
//!   the event in the calendar's time zone (an event on a weekend or holiday
//!   therefore counts from, and including, the next business day, as Form
//!   8-K General Instruction B.1 says) and end at the cut-off time there.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::calendar::Calendar;

/// The instant an event happened, or only its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    At(Timestamp),
    On(Date),
}

impl Anchor {
    /// The instant a date-only anchor stands for: its start, in UTC.
    pub fn instant(self) -> Option<Timestamp> {
        match self {
            Anchor::At(t) => Some(t),
            Anchor::On(d) => d
                .to_zoned_datetime(TimeZone::UTC)
                .ok()
                .map(|z| z.timestamp()),
        }
    }

    /// The date of the anchor on the wall clock of `tz`.
    pub fn date_in(self, tz: &TimeZone) -> Date {
        match self {
            Anchor::At(t) => t.to_zoned_datetime(tz.clone()).date(),
            Anchor::On(d) => d,
        }
    }
}

pub fn add_hours(t: Timestamp, hours: u32) -> Option<Timestamp> {
    t.checked_add(SignedDuration::from_hours(i64::from(hours)))
        .ok()
}

/// Same UTC wall-clock time `months` later; a day that the target month
/// lacks (31 → 30, 29 February) becomes that month's last day.
pub fn add_months_clamped(t: Timestamp, months: u32) -> Option<Timestamp> {
    let utc = t.to_zoned_datetime(TimeZone::UTC);
    let date = utc.date();
    let total = i64::from(date.year()) * 12 + i64::from(date.month() - 1) + i64::from(months);
    let year = i16::try_from(total.div_euclid(12)).ok()?;
    let month = i8::try_from(total.rem_euclid(12) + 1).ok()?;
    let first = Date::new(year, month, 1).ok()?;
    let day = date.day().min(first.days_in_month());
    let target = Date::new(year, month, day).ok()?;
    target
        .to_datetime(utc.time())
        .to_zoned_datetime(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// A month clock that is never later than Regulation 1182/71 Art. 3(2)(c)
/// read on the wall clock of `tz`: the end of the same date `months` later
/// there (its last day when the month is shorter). The UTC rule alone can
/// overshoot it when the event falls after local midnight but before UTC
/// midnight and the local date's month end clamps (00:30 on 31 March in
/// Berlin is 30 March in UTC: UTC gives 22:30 UTC on 30 April, but the
/// period ends with 30 April in Berlin, at 21:59:59 UTC), or late in the
/// evening when summer time begins within the month.
pub fn add_months_clamped_within_local_day(
    t: Timestamp,
    months: u32,
    tz: &TimeZone,
) -> Option<Timestamp> {
    let utc_rule = add_months_clamped(t, months)?;
    let local = t.to_zoned_datetime(tz.clone()).date();
    let shifted = local.checked_add(i64::from(months).months()).ok()?;
    let local_end = at_local(shifted, Time::constant(23, 59, 59, 0), tz)?;
    Some(utc_rule.min(local_end))
}

/// The last second of `date` in UTC.
pub fn end_of_day_utc(date: Date) -> Option<Timestamp> {
    date.to_datetime(Time::constant(23, 59, 59, 0))
        .to_zoned_datetime(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

pub fn add_calendar_days(date: Date, days: u32) -> Option<Timestamp> {
    end_of_day_utc(date.checked_add(i64::from(days).days()).ok()?)
}

/// The last second of `date` in UTC or in `tz`, whichever comes first: a
/// day-counted deadline must not outlast the day where the entity is
/// (Guam's day ends ten hours before UTC's).
pub fn end_of_day_here_and_in_utc(date: Date, tz: &TimeZone) -> Option<Timestamp> {
    let utc = end_of_day_utc(date)?;
    let local = at_local(date, Time::constant(23, 59, 59, 0), tz)?;
    Some(utc.min(local))
}

/// `days` calendar days after `date`, ending as [`end_of_day_here_and_in_utc`].
pub fn add_calendar_days_in(date: Date, days: u32, tz: &TimeZone) -> Option<Timestamp> {
    end_of_day_here_and_in_utc(date.checked_add(i64::from(days).days()).ok()?, tz)
}

/// `days` after 31 December of the anchor's year (HIPAA 164.408(c)).
pub fn add_days_after_year_end(date: Date, days: u32) -> Option<Timestamp> {
    add_days_after_year_end_in(date, days, &TimeZone::UTC)
}

/// [`add_days_after_year_end`], ending as [`end_of_day_here_and_in_utc`].
pub fn add_days_after_year_end_in(date: Date, days: u32, tz: &TimeZone) -> Option<Timestamp> {
    let year_end = Date::new(date.year(), 12, 31).ok()?;
    add_calendar_days_in(year_end, days, tz)
}

/// The instant `time` on `date` in `tz` (a time skipped by a DST change is
/// moved forward, as jiff's "compatible" rule does).
pub fn at_local(date: Date, time: Time, tz: &TimeZone) -> Option<Timestamp> {
    date.to_datetime(time)
        .to_zoned_datetime(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// The `count`-th business day after the event's local date, at `cutoff`
/// local time (end of day when there is no cut-off).
pub fn add_business_days(
    anchor: Anchor,
    count: u32,
    calendar: &Calendar,
    tz: &TimeZone,
    cutoff: Option<Time>,
) -> Option<Timestamp> {
    let mut day = anchor.date_in(tz);
    for _ in 0..count {
        day = calendar.next_business_day_after(day)?;
    }
    at_local(day, cutoff.unwrap_or(Time::constant(23, 59, 59, 0)), tz)
}

/// If `due` falls on a day the calendar is closed, the instant `at` on the
/// next business day, in the calendar's time zone (DORA RTS 2025/301
/// Art. 5(4)); `None` when `due` is on a business day.
pub fn next_working_day_relief(
    due: Timestamp,
    calendar: &Calendar,
    at: Time,
) -> Option<(Timestamp, String)> {
    let local = due.to_zoned_datetime(calendar.time_zone.clone()).date();
    let reason = calendar.closed_because(local)?;
    let next = calendar.next_business_day_after(local)?;
    let relieved = at_local(next, at, &calendar.time_zone)?;
    Some((relieved, format!("{local} is {reason} in {}", calendar.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn month_clock_clamps_to_the_end_of_shorter_months() {
        assert_eq!(
            add_months_clamped(ts("2026-01-31T15:00:00Z"), 1),
            Some(ts("2026-02-28T15:00:00Z"))
        );
        assert_eq!(
            add_months_clamped(ts("2028-01-31T15:00:00Z"), 1),
            Some(ts("2028-02-29T15:00:00Z"))
        );
        assert_eq!(
            add_months_clamped(ts("2026-03-31T08:00:00Z"), 1),
            Some(ts("2026-04-30T08:00:00Z"))
        );
        assert_eq!(
            add_months_clamped(ts("2026-12-16T15:00:00Z"), 1),
            Some(ts("2027-01-16T15:00:00Z"))
        );
    }

    #[test]
    fn month_clock_never_ends_after_the_local_day_it_names() {
        let berlin = crate::time::time_zone("Europe/Berlin").unwrap();
        // 00:30 on 31 March in Berlin; 30 April is that month's last day.
        assert_eq!(
            add_months_clamped_within_local_day(ts("2026-03-30T22:30:00Z"), 1, &berlin),
            Some(ts("2026-04-30T21:59:59Z"))
        );
        // 23:30 on 15 March (CET); 15 April ends at 23:59:59 CEST, which is
        // before 22:30 UTC.
        assert_eq!(
            add_months_clamped_within_local_day(ts("2026-03-15T22:30:00Z"), 1, &berlin),
            Some(ts("2026-04-15T21:59:59Z"))
        );
        // Otherwise the UTC rule is the stricter one.
        assert_eq!(
            add_months_clamped_within_local_day(ts("2026-05-15T20:00:00Z"), 1, &berlin),
            Some(ts("2026-06-15T20:00:00Z"))
        );
        assert_eq!(
            add_months_clamped_within_local_day(ts("2026-01-31T15:00:00Z"), 1, &TimeZone::UTC),
            Some(ts("2026-02-28T15:00:00Z"))
        );
    }

    #[test]
    fn clocks_at_the_edge_of_time_give_none_instead_of_panicking() {
        assert_eq!(add_hours(Timestamp::MAX, 1), None);
        assert_eq!(add_months_clamped(Timestamp::MAX, 1), None);
    }

    #[test]
    fn calendar_day_clocks_end_at_the_end_of_the_day() {
        let discovered = Date::constant(2026, 6, 10);
        assert_eq!(
            add_calendar_days(discovered, 60),
            Some(ts("2026-08-09T23:59:59Z"))
        );
        assert_eq!(
            add_days_after_year_end(discovered, 60),
            Some(ts("2027-03-01T23:59:59Z"))
        );
    }
}
