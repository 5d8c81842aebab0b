//! Working-day calendars as data: weekends, public holidays computed by rule
//! (fixed dates, n-th weekdays, Easter offsets, weekend observance) and
//! one-off closures. One TOML file per calendar under `calendars/`.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::time::{self, Day};

/// How a holiday that falls on a weekend is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observance {
    /// The day off is the holiday itself, weekend or not.
    None,
    /// Saturday → the Friday before, Sunday → the Monday after (5 U.S.C. 6103(b)).
    NearestWeekday,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayFile {
    name: String,
    #[serde(default)]
    month: Option<i8>,
    #[serde(default)]
    day: Option<i8>,
    #[serde(default)]
    weekday: Option<String>,
    /// 1 = first, 2 = second, …, -1 = last.
    #[serde(default)]
    nth: Option<i8>,
    #[serde(default)]
    easter_offset: Option<i16>,
    #[serde(default)]
    date: Option<Day>,
    #[serde(default)]
    observed: Option<Observance>,
    #[serde(default)]
    from_year: Option<i16>,
    #[serde(default)]
    until_year: Option<i16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    id: String,
    name: String,
    time_zone: String,
    #[serde(default = "default_weekend")]
    weekend: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    holidays: Vec<HolidayFile>,
}

fn default_weekend() -> Vec<String> {
    vec!["saturday".into(), "sunday".into()]
}

#[derive(Debug, Clone)]
enum HolidayDate {
    Fixed {
        month: i8,
        day: i8,
    },
    NthWeekday {
        month: i8,
        weekday: Weekday,
        nth: i8,
    },
    Easter {
        offset: i16,
    },
    Once(Date),
}

#[derive(Debug, Clone)]
struct Holiday {
    name: String,
    date: HolidayDate,
    observed: Observance,
    from_year: Option<i16>,
    until_year: Option<i16>,
}

/// A working-day calendar: which days are not business days, and the time
/// zone in which its days begin and end.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub id: String,
    pub name: String,
    pub time_zone_name: String,
    pub time_zone: TimeZone,
    pub sources: Vec<String>,
    pub notes: Vec<String>,
    weekend: Vec<Weekday>,
    holidays: Vec<Holiday>,
}

fn parse_weekday(name: &str) -> Option<Weekday> {
    Some(match name.to_ascii_lowercase().as_str() {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

/// Easter Sunday in the Gregorian calendar (the anonymous algorithm
/// published by Meeus, after Jones and Butcher).
pub fn easter_sunday(year: i16) -> Option<Date> {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

impl Holiday {
    fn in_force(&self, year: i16) -> bool {
        self.from_year.is_none_or(|from| year >= from)
            && self.until_year.is_none_or(|until| year <= until)
    }

    /// The calendar date of this holiday in `year`, before observance.
    fn actual(&self, year: i16) -> Option<Date> {
        match &self.date {
            HolidayDate::Fixed { month, day } => Date::new(year, *month, *day).ok(),
            HolidayDate::NthWeekday {
                month,
                weekday,
                nth,
            } => Date::new(year, *month, 1)
                .ok()?
                .nth_weekday_of_month(*nth, *weekday)
                .ok(),
            HolidayDate::Easter { offset } => easter_sunday(year)?
                .checked_add(i64::from(*offset).days())
                .ok(),
            HolidayDate::Once(date) => (date.year() == year).then_some(*date),
        }
    }

    fn observed_on(&self, actual: Date) -> Option<Date> {
        match self.observed {
            Observance::None => Some(actual),
            Observance::NearestWeekday => match actual.weekday() {
                Weekday::Saturday => actual.checked_sub(1.day()).ok(),
                Weekday::Sunday => actual.checked_add(1.day()).ok(),
                _ => Some(actual),
            },
        }
    }
}

impl Calendar {
    pub(crate) fn from_toml(text: &str) -> Result<Calendar, String> {
        let file: CalendarFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let time_zone = time::time_zone(&file.time_zone)
            .ok_or_else(|| format!("time_zone `{}` is not an IANA time zone", file.time_zone))?;
        let weekend = file
            .weekend
            .iter()
            .map(|w| parse_weekday(w).ok_or_else(|| format!("weekend: `{w}` is not a weekday")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut holidays = Vec::new();
        for (index, h) in file.holidays.into_iter().enumerate() {
            let at = format!("holidays[{index}] ({})", h.name);
            let date = match (h.month, h.day, &h.weekday, h.nth, h.easter_offset, h.date) {
                (Some(month), Some(day), None, None, None, None) => {
                    Date::new(2000, month, day)
                        .map_err(|e| format!("{at}: month {month} day {day}: {e}"))?;
                    HolidayDate::Fixed { month, day }
                }
                (Some(month), None, Some(weekday), Some(nth), None, None) => {
                    let weekday = parse_weekday(weekday)
                        .ok_or_else(|| format!("{at}: `{weekday}` is not a weekday"))?;
                    if !(1..=12).contains(&month) || nth == 0 || !(-5..=5).contains(&nth) {
                        return Err(format!("{at}: month must be 1–12 and nth ±1–5"));
                    }
                    HolidayDate::NthWeekday {
                        month,
                        weekday,
                        nth,
                    }
                }
                (None, None, None, None, Some(offset), None) => HolidayDate::Easter { offset },
                (None, None, None, None, None, Some(date)) => HolidayDate::Once(date.0),
                _ => {
                    return Err(format!(
                        "{at}: give exactly one of month+day, month+weekday+nth, easter_offset or date"
                    ));
                }
            };
            holidays.push(Holiday {
                name: h.name,
                date,
                observed: h.observed.unwrap_or(Observance::None),
                from_year: h.from_year,
                until_year: h.until_year,
            });
        }
        Ok(Calendar {
            id: file.id,
            name: file.name,
            time_zone_name: file.time_zone,
            time_zone,
            sources: file.sources,
            notes: file.notes,
            weekend,
            holidays,
        })
    }

    /// A calendar that knows only the weekend, for a place whose holidays
    /// are not on file (the assessment says so in a note).
    pub fn weekends_only(id: &str, time_zone_name: &str, time_zone: TimeZone) -> Calendar {
        Calendar {
            id: id.to_string(),
            name: format!("{id} (weekends only: no holiday calendar on file)"),
            time_zone_name: time_zone_name.to_string(),
            time_zone,
            sources: Vec::new(),
            notes: Vec::new(),
            weekend: vec![Weekday::Saturday, Weekday::Sunday],
            holidays: Vec::new(),
        }
    }

    /// Whether the calendar lists public holidays, or only weekends (a
    /// Member State whose holiday calendar is not on file).
    pub fn knows_holidays(&self) -> bool {
        !self.holidays.is_empty()
    }

    /// Days off in `year` (observed dates), with their names.
    pub fn holidays_in(&self, year: i16) -> BTreeMap<Date, String> {
        let mut days = BTreeMap::new();
        // A holiday observed across a year boundary (1 January on a
        // Saturday is observed on 31 December) is found from the next year.
        for source_year in [year, year.saturating_add(1)] {
            for holiday in &self.holidays {
                if !holiday.in_force(source_year) {
                    continue;
                }
                if let Some(observed) = holiday
                    .actual(source_year)
                    .and_then(|actual| holiday.observed_on(actual))
                    && observed.year() == year
                {
                    days.entry(observed).or_insert_with(|| holiday.name.clone());
                }
            }
        }
        days
    }

    pub fn holiday_name(&self, date: Date) -> Option<String> {
        self.holidays_in(date.year()).remove(&date)
    }

    pub fn is_business_day(&self, date: Date) -> bool {
        !self.weekend.contains(&date.weekday()) && self.holiday_name(date).is_none()
    }

    /// Why `date` is not a business day, or `None` if it is one.
    pub fn closed_because(&self, date: Date) -> Option<String> {
        if self.weekend.contains(&date.weekday()) {
            return Some(format!("{:?}", date.weekday()));
        }
        self.holiday_name(date)
    }

    /// The first business day strictly after `date`.
    pub fn next_business_day_after(&self, date: Date) -> Option<Date> {
        let mut day = date;
        // Any real calendar has a business day within a few weeks; the bound
        // keeps a calendar file that closes every day from looping forever.
        for _ in 0..366 {
            day = day.tomorrow().ok()?;
            if self.is_business_day(day) {
                return Some(day);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn easter_dates_match_published_tables() {
        assert_eq!(easter_sunday(2024), Some(date(2024, 3, 31)));
        assert_eq!(easter_sunday(2025), Some(date(2025, 4, 20)));
        assert_eq!(easter_sunday(2026), Some(date(2026, 4, 5)));
        assert_eq!(easter_sunday(2027), Some(date(2027, 3, 28)));
        assert_eq!(easter_sunday(2038), Some(date(2038, 4, 25)));
        assert_eq!(easter_sunday(2285), Some(date(2285, 3, 22)));
    }

    #[test]
    fn calendar_files_reject_ambiguous_holidays() {
        let bad = r#"
            id = "X"
            name = "x"
            time_zone = "UTC"
            [[holidays]]
            name = "both"
            month = 1
            day = 1
            easter_offset = 1
        "#;
        let err = Calendar::from_toml(bad).unwrap_err();
        assert!(err.contains("exactly one"), "{err}");
    }
}
