//! Times as senders write them, turned into UTC.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::when::local_to_utc;

/// `text` quoted for an error message, cut short: payload values may be long.
pub(super) fn excerpt(text: &str) -> String {
    const SHOWN: usize = 40;
    if text.chars().count() <= SHOWN {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(SHOWN).collect();
        format!("{head:?}…")
    }
}

/// Reads an RFC 3339 time with an offset (`2026-12-01T08:00:00+01:00`, `...Z`), or a local
/// date-time without one (`2026-12-01T08:00:00`, `2026-12-01 08:00`) in `zone`.
///
/// Local times the clock skips (spring forward) are read with the offset in force before the
/// gap, as RFC 5545 does; times the clock passes twice (fall back) are the first of the two.
pub fn parse_time(text: &str, zone: Option<Tz>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%d %H:%M%:z"] {
        if let Ok(time) = DateTime::parse_from_str(text, format) {
            return Ok(time.with_timezone(&Utc));
        }
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .ok_or_else(|| {
        format!(
            "expected an RFC 3339 time such as \"2026-12-01T08:00:00+01:00\" or a local time \
             such as \"2026-12-01T08:00:00\", found {}",
            excerpt(text)
        )
    })?;
    let zone = zone.ok_or_else(|| {
        format!(
            "{} has no UTC offset and this source has no `timezone` to read it in; \
             add an offset or set `timezone` in the source's config",
            excerpt(text)
        )
    })?;
    local_to_utc(local, zone).ok_or_else(|| format!("{} is out of range", excerpt(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    const STOCKHOLM: Option<Tz> = Some(chrono_tz::Europe::Stockholm);

    #[test]
    fn offsets_are_honoured_and_local_times_use_the_zone() {
        assert_eq!(
            parse_time("2026-12-01T08:00:00+01:00", None).unwrap(),
            utc("2026-12-01T07:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-01T08:00+01:00", None).unwrap(),
            utc("2026-12-01T07:00:00Z")
        );
        assert_eq!(
            parse_time("2026-12-01T08:00:00", STOCKHOLM).unwrap(),
            utc("2026-12-01T07:00:00Z")
        );
        assert_eq!(
            parse_time("2026-07-01 08:00", STOCKHOLM).unwrap(),
            utc("2026-07-01T06:00:00Z")
        );
        let err = parse_time("2026-12-01T08:00:00", None).unwrap_err();
        assert!(err.contains("timezone"), "{err}");
        assert!(parse_time("tomorrow", STOCKHOLM).is_err());
        let long = "9".repeat(10_000);
        assert!(parse_time(&long, STOCKHOLM).unwrap_err().len() < 200);
        assert!(parse_time("2026-02-30T08:00:00", STOCKHOLM).is_err());
    }

    #[test]
    fn spring_forward_gap_uses_the_offset_before_it() {
        // Stockholm skipped 02:00-03:00 on 2026-03-29; 02:30 read at +01:00 is 01:30 UTC.
        assert_eq!(
            parse_time("2026-03-29T02:30:00", STOCKHOLM).unwrap(),
            utc("2026-03-29T01:30:00Z")
        );
        assert_eq!(
            parse_time("2026-03-29T03:00:00", STOCKHOLM).unwrap(),
            utc("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn fall_back_takes_the_first_of_the_two_times() {
        // 02:30 happened twice on 2026-10-25: first at +02:00.
        assert_eq!(
            parse_time("2026-10-25T02:30:00", STOCKHOLM).unwrap(),
            utc("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            parse_time("2026-10-25T03:30:00", STOCKHOLM).unwrap(),
            utc("2026-10-25T02:30:00Z")
        );
    }
}
