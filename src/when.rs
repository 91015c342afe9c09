//! A point in time as people type it (command-line flags, webhook payloads without an offset),
//! and the one rule for local times the clock skips or repeats.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset};
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

/// Which end of a range a bare date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBound {
    /// A date means its first second (00:00:00).
    Start,
    /// A date means its last second (23:59:59), so `--to 2026-01-31` includes the 31st.
    End,
}

/// Parses `now`, an RFC 3339 time (`2026-12-01T15:00:00Z`), a local date-time
/// (`2026-12-01T15:00`, `2026-12-01 15:00`) or a date (`2026-12-01`, its first or last second
/// by `bound`). Local forms are read in `zone`, else UTC; see [`local_to_utc`] for times the
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
            let clock = match bound {
                WhenBound::Start => NaiveTime::MIN,
                WhenBound::End => NaiveTime::from_hms_opt(23, 59, 59)?,
            };
            Some(date.and_time(clock))
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
            at(2026, 1, 14, 23, 59, 59)
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
}
