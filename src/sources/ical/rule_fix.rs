//! RRULE parts read as RFC 5545 §3.3.10 (and libical) mean them where calcard's engine, a
//! port of python-dateutil, reads them otherwise; and rules that can never match, found
//! without iterating.

use calcard::icalendar::{
    ICalendarDay, ICalendarFrequency, ICalendarRecurrenceRule, ICalendarWeekday,
};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};

/// Adjusts `rule` for a series starting at `start`; `notes` gets what was changed.
/// - BYHOUR, BYMINUTE and BYSECOND mean nothing for a DATE start (all day) and are ignored.
/// - BYWEEKNO without BYDAY (nor BYMONTHDAY, BYYEARDAY) takes DTSTART's weekday: the other
///   parts are "derived from DTSTART", not every day of the week.
pub fn adjust(
    rule: &mut ICalendarRecurrenceRule,
    start: NaiveDateTime,
    all_day: bool,
    notes: &mut Vec<String>,
) {
    if all_day && !(rule.byhour.is_empty() && rule.byminute.is_empty() && rule.bysecond.is_empty())
    {
        rule.byhour.clear();
        rule.byminute.clear();
        rule.bysecond.clear();
        notes.push("RRULE BYHOUR/BYMINUTE/BYSECOND ignored: the series is all day".to_owned());
    }
    if !rule.byweekno.is_empty() {
        take_start_weekday(rule, start);
    }
}

/// Makes the weekday "derived from DTSTART" explicit when no other part names the days.
fn take_start_weekday(rule: &mut ICalendarRecurrenceRule, start: NaiveDateTime) {
    if rule.byday.is_empty() && rule.bymonthday.is_empty() && rule.byyearday.is_empty() {
        rule.byday.push(ICalendarDay {
            ordwk: None,
            weekday: weekday_of(start.date()),
        });
    }
}

fn weekday_of(day: NaiveDate) -> ICalendarWeekday {
    match day.weekday() {
        Weekday::Mon => ICalendarWeekday::Monday,
        Weekday::Tue => ICalendarWeekday::Tuesday,
        Weekday::Wed => ICalendarWeekday::Wednesday,
        Weekday::Thu => ICalendarWeekday::Thursday,
        Weekday::Fri => ICalendarWeekday::Friday,
        Weekday::Sat => ICalendarWeekday::Saturday,
        Weekday::Sun => ICalendarWeekday::Sunday,
    }
}

/// For a WEEKLY rule with BYSETPOS: where the iteration must begin so that the first week is
/// whole (calcard's first week begins at DTSTART, so BYSETPOS would pick among fewer days).
/// The weekday derived from DTSTART is made explicit first, since the iteration start moves.
pub fn whole_first_week(
    rule: &mut ICalendarRecurrenceRule,
    start: NaiveDateTime,
) -> Option<NaiveDateTime> {
    if rule.freq != ICalendarFrequency::Weekly || rule.bysetpos.is_empty() {
        return None;
    }
    take_start_weekday(rule, start);
    let wkst: Weekday = rule.wkst.unwrap_or(ICalendarWeekday::Monday).into();
    let back = (7 + start.weekday().num_days_from_monday() - wkst.num_days_from_monday()) % 7;
    start.checked_sub_signed(chrono::Duration::days(i64::from(back)))
}

/// Why `rule` can yield no date at all, whatever the year: a day that no month has
/// (`BYMONTH=2;BYMONTHDAY=30`, `BYMONTHDAY=31` with only 30-day months), a year day outside
/// the months asked for, or a BYSETPOS beyond the candidates of any one period.
pub fn never_matches(rule: &ICalendarRecurrenceRule) -> Option<String> {
    let restricts_days =
        !(rule.bymonth.is_empty() && rule.bymonthday.is_empty() && rule.byyearday.is_empty());
    if restricts_days && !any_day_matches(rule) {
        return Some("its BYMONTH, BYMONTHDAY and BYYEARDAY name no day of any year".to_owned());
    }
    if !rule.bysetpos.is_empty() {
        let most = candidates_per_period(rule);
        if rule
            .bysetpos
            .iter()
            .all(|pos| u64::from(pos.unsigned_abs()) > most)
        {
            return Some(format!(
                "its BYSETPOS asks for more than the {most} candidates a period can have"
            ));
        }
    }
    None
}

/// Tries every day of a common and of a leap year against the day filters (BYDAY only with
/// ordinals limits further, and every date falls on every weekday in some year).
fn any_day_matches(rule: &ICalendarRecurrenceRule) -> bool {
    [2023, 2024].into_iter().any(|year| {
        let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
            return false;
        };
        first
            .iter_days()
            .take_while(|d| d.year() == year)
            .any(|day| day_matches(rule, day))
    })
}

fn day_matches(rule: &ICalendarRecurrenceRule, day: NaiveDate) -> bool {
    let month_ok = rule.bymonth.is_empty()
        || rule
            .bymonth
            .iter()
            .any(|m| u32::from(m.month()) == day.month());
    let length = days_in_month(day);
    let monthday_ok = rule.bymonthday.is_empty()
        || rule.bymonthday.iter().any(|d| {
            let d = i64::from(*d);
            let n = i64::from(day.day());
            d == n || d == n - i64::from(length) - 1
        });
    let year_length: i64 = if day.leap_year() { 366 } else { 365 };
    let yearday_ok = rule.byyearday.is_empty()
        || rule.byyearday.iter().any(|d| {
            let d = i64::from(*d);
            let n = i64::from(day.ordinal());
            d == n || d == n - year_length - 1
        });
    month_ok && monthday_ok && yearday_ok
}

fn days_in_month(day: NaiveDate) -> u32 {
    let (y, m) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|next| next.pred_opt())
        .map_or(31, |last| last.day())
}

/// An upper bound of the candidates one period of the rule can hold before BYSETPOS.
pub fn candidates_per_period(rule: &ICalendarRecurrenceRule) -> u64 {
    let count = |list_len: usize| u64::try_from(list_len.max(1)).unwrap_or(u64::MAX);
    let listed = |len: usize, each: u64| {
        if len == 0 {
            u64::MAX
        } else {
            u64::try_from(len).unwrap_or(u64::MAX).saturating_mul(each)
        }
    };
    let days: u64 = match rule.freq {
        ICalendarFrequency::Yearly => 366,
        // A weekday comes at most five times a month.
        ICalendarFrequency::Monthly => 31
            .min(listed(rule.byday.len(), 5))
            .min(listed(rule.bymonthday.len(), 1)),
        ICalendarFrequency::Weekly => 7.min(listed(rule.byday.len(), 1)),
        _ => 1,
    };
    let (hours, minutes, seconds) = match rule.freq {
        ICalendarFrequency::Secondly => (1, 1, 1),
        ICalendarFrequency::Minutely => (1, 1, count(rule.bysecond.len())),
        ICalendarFrequency::Hourly => (1, count(rule.byminute.len()), count(rule.bysecond.len())),
        _ => (
            count(rule.byhour.len()),
            count(rule.byminute.len()),
            count(rule.bysecond.len()),
        ),
    };
    days.saturating_mul(hours)
        .saturating_mul(minutes)
        .saturating_mul(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ical::rule_text::parse_rule;

    fn rule(text: &str) -> ICalendarRecurrenceRule {
        parse_rule(text, &mut vec![]).expect("readable rule")
    }

    #[test]
    fn impossible_days_are_found() {
        for text in [
            "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=YEARLY;BYMONTH=4,6,9,11;BYMONTHDAY=31",
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=-30",
            "FREQ=DAILY;BYMONTH=1;BYYEARDAY=100",
            "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=8",
        ] {
            assert!(never_matches(&rule(text)).is_some(), "{text}");
        }
        for text in [
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            "FREQ=MONTHLY;BYMONTHDAY=31",
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=-29",
            "FREQ=YEARLY;BYYEARDAY=366",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=DAILY;BYHOUR=9,10;BYMINUTE=0,30;BYSETPOS=4",
        ] {
            assert!(never_matches(&rule(text)).is_none(), "{text}");
        }
    }
}
