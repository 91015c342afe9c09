//! RRULE values read from the VEVENT's own text, leniently: a broken part (`COUNT=-1`, a typo,
//! `\;` written for `;`) is dropped with a warning and the readable rest is kept, as other
//! readers do. calcard's own rule parser turns `COUNT=-1` into `COUNT=1` and rejects a whole rule
//! for one bad part, so it is not used for RRULE.

use calcard::common::{CalendarScale, PartialDateTime};
use calcard::icalendar::{
    ICalendarDay, ICalendarFrequency, ICalendarMonth, ICalendarRecurrenceRule, ICalendarWeekday,
};

/// Why a whole RRULE cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRefusal {
    /// No readable FREQ: only DTSTART and RDATE count.
    Unreadable(String),
    /// A non-Gregorian RSCALE (RFC 7529): the series is refused rather than booked on the
    /// wrong days.
    Rscale(String),
    /// `COUNT=0`: the rule yields nothing beyond DTSTART.
    CountZero,
}

/// Reads one RRULE value. Dropped parts are reported through `repairs`.
pub fn parse_rule(
    text: &str,
    repairs: &mut Vec<String>,
) -> Result<ICalendarRecurrenceRule, RuleRefusal> {
    let mut text = text.trim().to_owned();
    if text.contains("\\;") || text.contains("\\,") {
        repairs.push("RRULE has escaped separators (\\; or \\,): read as plain ones".to_owned());
        text = text.replace("\\;", ";").replace("\\,", ",");
    }
    let mut rule = ICalendarRecurrenceRule::default();
    let mut freq = None;
    let mut seen: Vec<String> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            repairs.push(format!("RRULE part {part:?} is not NAME=VALUE; ignored"));
            continue;
        };
        let name = name.trim().to_ascii_uppercase();
        let value = value.trim();
        if seen.contains(&name) {
            repairs.push(format!(
                "RRULE gives {name} twice; the second one was ignored"
            ));
            continue;
        }
        seen.push(name.clone());
        let mut until_notes = Vec::new();
        let mut bad = |what: &str| {
            repairs.push(format!(
                "RRULE {name}={value} {what}; that part was ignored"
            ));
        };
        match name.as_str() {
            "FREQ" => match frequency(value) {
                Some(f) => freq = Some(f),
                None => return Err(RuleRefusal::Unreadable(format!("FREQ={value}"))),
            },
            "UNTIL" => match until(value, &mut until_notes) {
                Some(at) => rule.until = Some(at),
                None => bad("is not a date or date-time; that part was ignored"),
            },
            "COUNT" => match value.parse::<i64>() {
                Ok(0) => return Err(RuleRefusal::CountZero),
                Ok(n) if n > 0 => rule.count = Some(u32::try_from(n).unwrap_or(u32::MAX)),
                _ => bad("is not a positive number; that part was ignored"),
            },
            "INTERVAL" => match value.parse::<u16>() {
                Ok(n) if n > 0 => rule.interval = Some(n),
                _ => bad("is not a positive number; that part was ignored"),
            },
            "BYSECOND" => rule.bysecond = numbers(value, 0, 60, false, &mut bad),
            "BYMINUTE" => rule.byminute = numbers(value, 0, 59, false, &mut bad),
            "BYHOUR" => rule.byhour = numbers(value, 0, 23, false, &mut bad),
            "BYMONTHDAY" => rule.bymonthday = numbers(value, 1, 31, true, &mut bad),
            "BYYEARDAY" => rule.byyearday = numbers(value, 1, 366, true, &mut bad),
            "BYWEEKNO" => rule.byweekno = numbers(value, 1, 53, true, &mut bad),
            "BYSETPOS" => rule.bysetpos = numbers(value, 1, 366, true, &mut bad),
            "BYMONTH" => {
                let months: Vec<u8> = numbers(value, 1, 12, false, &mut bad);
                rule.bymonth = months
                    .into_iter()
                    .map(|m| ICalendarMonth::new(m, false))
                    .collect();
            }
            "BYDAY" => rule.byday = days(value, &mut bad),
            "WKST" => match weekday(value) {
                Some(day) => rule.wkst = Some(day),
                None => bad("is not a weekday; that part was ignored"),
            },
            "RSCALE" => {
                if !value.eq_ignore_ascii_case("GREGORIAN") {
                    return Err(RuleRefusal::Rscale(value.to_owned()));
                }
                rule.rscale = Some(CalendarScale::Gregorian);
            }
            // SKIP=OMIT is what a rule without RSCALE does anyway; the other two move
            // invalid dates (RFC 7529), which calcard's engine cannot.
            "SKIP" if value.eq_ignore_ascii_case("OMIT") => {}
            "SKIP" => return Err(RuleRefusal::Rscale(format!("GREGORIAN with SKIP={value}"))),
            _ => repairs.push(format!("RRULE part {name} is unknown; ignored")),
        }
        repairs.append(&mut until_notes);
    }
    match freq {
        Some(freq) => {
            rule.freq = freq;
            Ok(rule)
        }
        None => Err(RuleRefusal::Unreadable("no FREQ".to_owned())),
    }
}

fn frequency(value: &str) -> Option<ICalendarFrequency> {
    Some(match value.to_ascii_uppercase().as_str() {
        "YEARLY" => ICalendarFrequency::Yearly,
        "MONTHLY" => ICalendarFrequency::Monthly,
        "WEEKLY" => ICalendarFrequency::Weekly,
        "DAILY" => ICalendarFrequency::Daily,
        "HOURLY" => ICalendarFrequency::Hourly,
        "MINUTELY" => ICalendarFrequency::Minutely,
        "SECONDLY" => ICalendarFrequency::Secondly,
        _ => return None,
    })
}

fn weekday(value: &str) -> Option<ICalendarWeekday> {
    Some(match value.trim().to_ascii_uppercase().as_str() {
        "MO" => ICalendarWeekday::Monday,
        "TU" => ICalendarWeekday::Tuesday,
        "WE" => ICalendarWeekday::Wednesday,
        "TH" => ICalendarWeekday::Thursday,
        "FR" => ICalendarWeekday::Friday,
        "SA" => ICalendarWeekday::Saturday,
        "SU" => ICalendarWeekday::Sunday,
        _ => return None,
    })
}

/// A comma list of integers within `min..=max` (or its negation when `signed`); items out of
/// range are dropped with one warning for the part.
fn numbers<T: TryFrom<i64>>(
    value: &str,
    min: i64,
    max: i64,
    signed: bool,
    bad: &mut dyn FnMut(&str),
) -> Vec<T> {
    let mut out = Vec::new();
    let mut dropped = false;
    for item in value.split(',').map(str::trim) {
        let parsed = item.strip_prefix('+').unwrap_or(item).parse::<i64>().ok();
        let fits = |n: i64| (min..=max).contains(&n) || (signed && (min..=max).contains(&-n));
        match parsed
            .filter(|n| fits(*n))
            .and_then(|n| T::try_from(n).ok())
        {
            Some(n) => out.push(n),
            None => dropped = true,
        }
    }
    if dropped {
        bad(&format!(
            "has values outside {min}..{max}; they were dropped{}",
            if out.is_empty() {
                " (so was the part)"
            } else {
                ""
            }
        ));
    }
    out
}

fn days(value: &str, bad: &mut dyn FnMut(&str)) -> Vec<ICalendarDay> {
    let mut out = Vec::new();
    let mut dropped = false;
    for item in value.split(',').map(str::trim) {
        let split = item.len().saturating_sub(2);
        let (ord, day) = (item.get(..split), item.get(split..));
        let ordwk = match ord.map(|o| o.strip_prefix('+').unwrap_or(o)) {
            Some("") => Some(None),
            Some(o) => o
                .parse::<i16>()
                .ok()
                .filter(|n| *n != 0 && n.abs() <= 53)
                .map(Some),
            None => None,
        };
        match (ordwk, day.and_then(weekday)) {
            (Some(ordwk), Some(weekday)) => out.push(ICalendarDay { ordwk, weekday }),
            _ => dropped = true,
        }
    }
    if dropped {
        bad(if out.is_empty() {
            "names no weekday ([±n]MO..SU); that part was ignored"
        } else {
            "has entries that are not [±n]MO..SU; they were dropped"
        });
    }
    out
}

/// UNTIL as `YYYYMMDD`, `YYYYMMDDTHHMMSS[Z]`; a time without seconds is read with `:00`.
fn until(value: &str, repairs: &mut Vec<String>) -> Option<PartialDateTime> {
    let mut at = PartialDateTime::default();
    let (text, utc) = match value.strip_suffix(['Z', 'z']) {
        Some(rest) => (rest, true),
        None => (value, false),
    };
    let (date, time) = match text.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    at.year = date[..4].parse().ok();
    at.month = date[4..6].parse().ok();
    at.day = date[6..8].parse().ok();
    if let Some(time) = time {
        if !(time.len() == 4 || time.len() == 6) || !time.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        at.hour = time[..2].parse().ok();
        at.minute = time[2..4].parse().ok();
        at.second = Some(time.get(4..6).and_then(|s| s.parse().ok()).unwrap_or(0));
        if time.len() == 4 {
            repairs.push(format!(
                "RRULE UNTIL={value} has no seconds; read as {}00",
                value.trim_end_matches(['Z', 'z'])
            ));
        }
        if utc {
            at.tz_hour = Some(0);
            at.tz_minute = Some(0);
        }
    }
    at.to_date_time().map(|_| at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_parts_are_dropped_and_the_rest_kept() {
        let mut repairs = vec![];
        let rule = parse_rule(
            "FREQ=WEEKLY;UNTIL=20240301T000000Z;COUNT=-1;INTERVAL=4;BYDAY=MO",
            &mut repairs,
        )
        .expect("readable");
        assert_eq!(rule.freq, ICalendarFrequency::Weekly);
        assert_eq!(rule.count, None);
        assert_eq!(rule.interval, Some(4));
        assert_eq!(rule.byday.len(), 1);
        assert!(rule.until.is_some());
        assert_eq!(repairs.len(), 1, "{repairs:?}");
        assert!(repairs[0].contains("COUNT=-1"), "{repairs:?}");

        let mut repairs = vec![];
        let rule = parse_rule("FREQ=DAILY\\;COUNT=10", &mut repairs).expect("readable");
        assert_eq!(rule.count, Some(10));
        assert_eq!(repairs.len(), 1, "{repairs:?}");
    }

    #[test]
    fn refusals() {
        let mut repairs = vec![];
        assert!(matches!(
            parse_rule("RSCALE=HEBREW;FREQ=YEARLY", &mut repairs),
            Err(RuleRefusal::Rscale(_))
        ));
        assert!(parse_rule("RSCALE=GREGORIAN;FREQ=YEARLY", &mut repairs).is_ok());
        assert!(matches!(
            parse_rule("FREQ=SOMETIMES", &mut repairs),
            Err(RuleRefusal::Unreadable(_))
        ));
        assert_eq!(
            parse_rule("FREQ=DAILY;COUNT=0", &mut repairs),
            Err(RuleRefusal::CountZero)
        );
    }
}
