//! DATE and DATE-TIME values read from their text. RFC 5545 forms are read as they are; other
//! forms feeds write (`T1300Z` without seconds, ISO 8601 dashes and colons, fractions of a
//! second, a numeric UTC offset) are repaired, and each repair is described so that the caller
//! can warn about what was assumed.

use calcard::icalendar::ICalendarDuration;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// A value as written: a date, or a date-time that is local or at a UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Date(NaiveDate),
    /// Local (floating, or in the TZID's zone).
    Local(NaiveDateTime),
    /// The UTC instant, from `Z` or a numeric offset.
    Utc(NaiveDateTime),
}

/// Reads one value; `repairs` gets a sentence for each liberty taken.
pub fn parse_date_or_time(text: &str, repairs: &mut Vec<String>) -> Option<Written> {
    basic_form(text.as_bytes()).or_else(|| repaired_form(text, repairs))
}

/// `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ` exactly (what nearly every feed writes),
/// read by bytes; `None` for anything else, which [`repaired_form`] reads.
fn basic_form(text: &[u8]) -> Option<Written> {
    let number = |from: usize, to: usize| {
        text.get(from..to)?.iter().try_fold(0u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(4, 6)?,
        number(6, 8)?,
    )?;
    let utc = match text.len() {
        8 => return Some(Written::Date(date)),
        15 => false,
        16 if text[15] == b'Z' => true,
        _ => return None,
    };
    if text[8] != b'T' {
        return None;
    }
    // A leap second is read as the last second of its minute, as the repaired form reads it.
    let time = NaiveTime::from_hms_opt(number(9, 11)?, number(11, 13)?, number(13, 15)?.min(59))?;
    let local = date.and_time(time);
    Some(if utc {
        Written::Utc(local)
    } else {
        Written::Local(local)
    })
}

/// Any form [`parse_date_or_time`] reads, each liberty taken described in `repairs`.
fn repaired_form(text: &str, repairs: &mut Vec<String>) -> Option<Written> {
    let original = text;
    let text = text.trim();
    let mut fixes: Vec<&str> = Vec::new();
    let (date_text, time_text) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some(text[at + 1..].trim())),
        None => (text, None),
    };
    let date_digits: String = date_text.chars().filter(|c| *c != '-').collect();
    if date_digits.len() != date_text.len() {
        fixes.push("ISO 8601 dashes");
    }
    if date_digits.len() != 8 || !date_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        date_digits[..4].parse().ok()?,
        date_digits[4..6].parse().ok()?,
        date_digits[6..8].parse().ok()?,
    )?;
    let Some(time_text) = time_text else {
        return Some(Written::Date(date));
    };
    // The zone part: Z, or ±HH[:]MM.
    let (clock_text, offset) = split_offset(time_text)?;
    let mut clock: String = clock_text.chars().filter(|c| *c != ':').collect();
    if clock.len() != clock_text.len() {
        fixes.push("ISO 8601 colons");
    }
    if let Some(dot) = clock.find(['.', ',']) {
        clock.truncate(dot);
        fixes.push("a fraction of a second");
    }
    if !clock.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match clock.len() {
        6 => {}
        4 => {
            clock.push_str("00");
            fixes.push("no seconds");
        }
        2 => {
            clock.push_str("0000");
            fixes.push("no minutes");
        }
        _ => return None,
    }
    let time = NaiveTime::from_hms_opt(
        clock[..2].parse().ok()?,
        clock[2..4].parse().ok()?,
        // A leap second is read as the last second of its minute.
        clock[4..6].parse::<u32>().ok()?.min(59),
    )?;
    let local = date.and_time(time);
    let written = match offset {
        Offset::None => Written::Local(local),
        Offset::Utc => Written::Utc(local),
        Offset::Seconds(secs) => {
            fixes.push("a numeric UTC offset");
            Written::Utc(local.checked_sub_signed(Duration::seconds(i64::from(secs)))?)
        }
    };
    if !fixes.is_empty() {
        let read_as = match written {
            Written::Date(d) => d.format("%Y%m%d").to_string(),
            Written::Local(t) => t.format("%Y%m%dT%H%M%S").to_string(),
            Written::Utc(t) => t.format("%Y%m%dT%H%M%SZ").to_string(),
        };
        repairs.push(format!(
            "{original:?} has {}; read as {read_as}",
            fixes.join(", ")
        ));
    }
    Some(written)
}

enum Offset {
    None,
    Utc,
    Seconds(i32),
}

fn split_offset(time: &str) -> Option<(&str, Offset)> {
    if let Some(rest) = time.strip_suffix(['Z', 'z']) {
        return Some((rest.trim_end(), Offset::Utc));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, Offset::None));
    };
    let digits: String = time[at + 1..].chars().filter(|c| *c != ':').collect();
    if !(digits.len() == 4 || digits.len() == 2) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let secs = hours * 3600 + minutes * 60;
    let secs = if time.as_bytes()[at] == b'-' {
        -secs
    } else {
        secs
    };
    Some((time[..at].trim_end(), Offset::Seconds(secs)))
}

/// An RFC 5545 duration (`P1W`, `-PT15M`, `P1DT2H`).
pub fn parse_duration(text: &str) -> Option<ICalendarDuration> {
    let text = text.trim().to_ascii_uppercase();
    let (neg, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let rest = rest.strip_prefix('P')?;
    let mut duration = ICalendarDuration {
        neg,
        ..Default::default()
    };
    let mut number: Option<u32> = None;
    let mut in_time = false;
    let mut any = false;
    for ch in rest.chars() {
        if let Some(digit) = ch.to_digit(10) {
            number = Some(number.unwrap_or(0).checked_mul(10)?.checked_add(digit)?);
            continue;
        }
        if ch == 'T' {
            in_time = true;
            continue;
        }
        let n = number.take()?;
        any = true;
        match (ch, in_time) {
            ('W', false) => duration.weeks = n,
            ('D', false) => duration.days = n,
            ('H', true) => duration.hours = n,
            ('M', true) => duration.minutes = n,
            ('S', true) => duration.seconds = n,
            _ => return None,
        }
    }
    (any && number.is_none()).then_some(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn rfc_forms_are_read_without_repairs() {
        let mut repairs = vec![];
        assert_eq!(
            parse_date_or_time("20240101", &mut repairs),
            NaiveDate::from_ymd_opt(2024, 1, 1).map(Written::Date)
        );
        assert_eq!(
            parse_date_or_time("20240101T100000Z", &mut repairs),
            Some(Written::Utc(at("2024-01-01 10:00:00")))
        );
        assert_eq!(
            parse_date_or_time("20240101T100000", &mut repairs),
            Some(Written::Local(at("2024-01-01 10:00:00")))
        );
        assert!(repairs.is_empty(), "{repairs:?}");
    }

    #[test]
    fn other_forms_are_repaired_with_a_description() {
        let mut repairs = vec![];
        assert_eq!(
            parse_date_or_time("20240101T1300Z", &mut repairs),
            Some(Written::Utc(at("2024-01-01 13:00:00")))
        );
        assert!(repairs[0].contains("no seconds"), "{repairs:?}");
        assert_eq!(
            parse_date_or_time("2024-01-01T13:00:00+01:00", &mut repairs),
            Some(Written::Utc(at("2024-01-01 12:00:00")))
        );
        assert_eq!(repairs.len(), 2);
        assert!(repairs[1].contains("offset"), "{repairs:?}");
        assert_eq!(parse_date_or_time("2024011", &mut repairs), None);
        assert_eq!(parse_date_or_time("20240101T25", &mut repairs), None);
    }

    proptest::proptest! {
        /// Values of the basic forms, valid or not, read by bytes exactly as the repairing
        /// reader reads them (and without a repair).
        #[test]
        fn the_basic_forms_read_as_the_repairing_reader_reads_them(
            (year, month, day) in (0u32..10_000, 0u32..14, 0u32..33),
            (hour, minute, second) in (0u32..26, 0u32..61, 0u32..62),
            separator in proptest::sample::select(vec!["T", "t", " ", "X", ""]),
            zone in proptest::sample::select(vec!["", "", "Z", "z", "+0100", " "]),
            time in proptest::bool::ANY,
        ) {
            let date = format!("{year:04}{month:02}{day:02}");
            let text = match time {
                true => format!("{date}{separator}{hour:02}{minute:02}{second:02}{zone}"),
                false => date,
            };
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            proptest::prop_assert_eq!(
                parse_date_or_time(&text, &mut fast),
                repaired_form(&text, &mut slow),
                "{}", text
            );
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn the_basic_forms_are_read_by_bytes() {
        assert_eq!(
            basic_form(b"20240229T235960Z"),
            Some(Written::Utc(at("2024-02-29 23:59:59")))
        );
        assert_eq!(
            basic_form(b"20241231T000000"),
            Some(Written::Local(at("2024-12-31 00:00:00")))
        );
        for other in [
            "20240230",
            "20240101T240000",
            "20240101t100000",
            "2024010",
            " 20240101",
        ] {
            assert_eq!(basic_form(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn durations() {
        let d = parse_duration("P1DT2H30M").unwrap();
        assert_eq!((d.days, d.hours, d.minutes), (1, 2, 30));
        assert!(parse_duration("-PT15M").unwrap().neg);
        assert_eq!(parse_duration("P2W").unwrap().weeks, 2);
        assert!(parse_duration("P").is_none());
        assert!(parse_duration("PT5").is_none());
    }
}
