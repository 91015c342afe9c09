//! A point in time as people type it (command-line flags, webhook payloads without an offset),
//! and the one rule for local times the clock skips or repeats.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset};
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

/// Which end of a window a bare date stands for. Every window on the command line is
/// `[from, to)`: it holds `from` and stops just before `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBound {
    /// A date means its start (00:00 that day).
    Start,
    /// A date means its end, which is the next day's 00:00 (exclusive), so `--to 2026-01-31`
    /// takes in all of the 31st, and a day that a clock change shortens or lengthens is
    /// 23 or 25 hours long.
    End,
}

/// Parses `now`, an RFC 3339 time (`2026-12-01T15:00:00Z`), a local date-time
/// (`2026-12-01T15:00`, `2026-12-01 15:00`) or a date (`2026-12-01`, its start or its end by
/// `bound`). Local forms are read in `zone`, else UTC; see [`local_to_utc`] for times the
/// clock skips or repeats.
pub fn parse_when(
    text: &str,
    bound: WhenBound,
    zone: Option<Tz>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            let day = match bound {
                WhenBound::Start => date,
                WhenBound::End => date.succ_opt()?,
            };
            Some(day.and_time(NaiveTime::MIN))
        })
        .ok_or_else(|| {
            format!(
                "expected a date such as 2026-01-14, a time such as 2026-01-14T08:00:00Z (or \
                 2026-01-14T08:00, read in --tz), or \"now\"; found {text:?}"
            )
        })?;
    let zone = zone.unwrap_or(chrono_tz::UTC);
    local_to_utc(local, zone).ok_or_else(|| format!("{text:?} does not exist in {}", zone.name()))
}

/// A wall-clock time in `zone` as UTC. Local times the clock skips (spring forward) are read
/// with the offset in force before the gap, as RFC 5545 does; times the clock passes twice
/// (fall back) are the first of the two.
pub fn local_to_utc(local: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(time) => Some(time.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            // In a gap: find the offset in force just before it (gaps last at most a day).
            let offset = (1..=48).find_map(|hours| {
                let before = local.checked_sub_signed(chrono::Duration::hours(hours))?;
                match zone.from_local_datetime(&before) {
                    LocalResult::Single(time) => Some(time.offset().fix()),
                    LocalResult::Ambiguous(_, last) => Some(last.offset().fix()),
                    LocalResult::None => None,
                }
            })?;
            with_fixed_offset(local, offset)
        }
    }
}

/// `time` without its fraction of a second. FlexyKey keeps whole seconds, so every time that is
/// compared with a listed booking is cut to whole seconds where it enters the model.
pub fn whole_seconds(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(time.timestamp(), 0).unwrap_or(time)
}

fn with_fixed_offset(local: NaiveDateTime, offset: FixedOffset) -> Option<DateTime<Utc>> {
    offset
        .from_local_datetime(&local)
        .single()
        .map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn whole_seconds_drops_the_fraction_only() {
        let precise = at(2026, 5, 1, 12, 0, 7) + chrono::Duration::milliseconds(999);
        assert_eq!(whole_seconds(precise), at(2026, 5, 1, 12, 0, 7));
        assert_eq!(
            whole_seconds(at(1969, 12, 31, 23, 59, 59)),
            at(1969, 12, 31, 23, 59, 59)
        );
    }

    #[test]
    fn parse_when_reads_rfc3339_dates_and_local_times() {
        let now = at(2026, 5, 1, 12, 0, 0);
        let stockholm = Some(chrono_tz::Europe::Stockholm);
        let utc = parse_when("2026-12-01T15:00:00Z", WhenBound::Start, None, now).unwrap();
        assert_eq!(utc.to_rfc3339(), "2026-12-01T15:00:00+00:00");
        let date = parse_when("2026-12-01", WhenBound::Start, stockholm, now).unwrap();
        assert_eq!(date.to_rfc3339(), "2026-11-30T23:00:00+00:00");
        // 02:30 does not exist on 2026-03-29 in Stockholm: read with the offset before the gap.
        let gap = parse_when("2026-03-29T02:30", WhenBound::Start, stockholm, now).unwrap();
        assert_eq!(gap.to_rfc3339(), "2026-03-29T01:30:00+00:00");
        assert!(
            parse_when("tomorrow", WhenBound::Start, None, now)
                .unwrap_err()
                .contains("tomorrow")
        );
    }

    #[test]
    fn when_reads_dates_times_and_now() {
        let now = at(2026, 5, 1, 12, 0, 0);
        assert_eq!(
            parse_when("2026-01-14", WhenBound::Start, None, now).unwrap(),
            at(2026, 1, 14, 0, 0, 0)
        );
        assert_eq!(
            parse_when("2026-01-14", WhenBound::End, None, now).unwrap(),
            at(2026, 1, 15, 0, 0, 0),
            "a bare date as the end is the end of that day, exclusive"
        );
        assert_eq!(
            parse_when("2026-12-31", WhenBound::End, None, now).unwrap(),
            at(2027, 1, 1, 0, 0, 0)
        );
        assert_eq!(
            parse_when("2026-01-14T08:00:00+01:00", WhenBound::Start, None, now).unwrap(),
            at(2026, 1, 14, 7, 0, 0)
        );
        assert_eq!(parse_when("now", WhenBound::End, None, now).unwrap(), now);
        let err = parse_when("14/01/2026", WhenBound::Start, None, now).unwrap_err();
        assert!(
            err.contains("14/01/2026") && err.contains("2026-01-14"),
            "{err}"
        );
    }

    #[test]
    fn a_bare_end_date_ends_at_local_midnight_across_clock_changes() {
        let now = at(2026, 5, 1, 12, 0, 0);
        let stockholm = Some(chrono_tz::Europe::Stockholm);
        let window = |from: &str, to: &str| {
            let start = parse_when(from, WhenBound::Start, stockholm, now).unwrap();
            let end = parse_when(to, WhenBound::End, stockholm, now).unwrap();
            (start, end)
        };
        // Spring forward (2026-03-29): the day is 23 hours, ending at 00:00 CEST = 22:00Z.
        let (start, end) = window("2026-03-29", "2026-03-29");
        assert_eq!(start, at(2026, 3, 28, 23, 0, 0));
        assert_eq!(end, at(2026, 3, 29, 22, 0, 0));
        assert_eq!((end - start).num_hours(), 23);
        // Fall back (2026-10-25): 25 hours, ending at 00:00 CET = 23:00Z.
        let (start, end) = window("2026-10-25", "2026-10-25");
        assert_eq!(start, at(2026, 10, 24, 22, 0, 0));
        assert_eq!(end, at(2026, 10, 25, 23, 0, 0));
        assert_eq!((end - start).num_hours(), 25);
        // A time as the end is taken as it is: the window stops just before it.
        let end = parse_when("2026-10-25T00:00", WhenBound::End, stockholm, now).unwrap();
        assert_eq!(end, at(2026, 10, 24, 22, 0, 0));
    }
}
