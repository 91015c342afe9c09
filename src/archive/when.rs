//! `WHEN` on the command line: a date (`2026-01-14`) or an RFC 3339 time.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// Which end of a range a date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBound {
    /// A date means its first second (00:00:00 UTC).
    Start,
    /// A date means its last second (23:59:59 UTC), so `--to 2026-01-31` includes the 31st.
    End,
}

/// Parses `now`, a date (UTC day) or an RFC 3339 time such as `2026-01-14T08:00:00+01:00`.
pub fn parse_when(
    text: &str,
    bound: WhenBound,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let clock = match bound {
            WhenBound::Start => NaiveTime::MIN,
            WhenBound::End => NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN),
        };
        return Ok(date.and_time(clock).and_utc());
    }
    Err(format!(
        "expected a date such as 2026-01-14, an RFC 3339 time such as 2026-01-14T08:00:00Z, or \
         \"now\"; found {text:?}"
    ))
}
