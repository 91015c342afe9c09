//! A start or end of an occurrence as `feed occurrences` prints it.

use chrono::{DateTime, NaiveDate, Utc};

/// A start or end as the feed gave it: a date (all day) or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum When {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

impl When {
    /// Appends `2025-03-07` or `2025-03-07T14:00:00Z` to `out` (digit by digit: `feed
    /// occurrences` formats two of these per occurrence, and chrono's `format` is slow).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        use chrono::{Datelike, Timelike};
        let (date, time) = match self {
            When::Date(date) => (*date, None),
            When::Instant(at) => (at.date_naive(), Some(at.time())),
        };
        let Ok(year) = u32::try_from(date.year()) else {
            out.extend_from_slice(self.to_string().as_bytes());
            return;
        };
        if year > 9999 {
            out.extend_from_slice(self.to_string().as_bytes());
            return;
        }
        out.extend_from_slice(&two_digits(year / 100));
        out.extend_from_slice(&two_digits(year % 100));
        let fields = [date.month(), date.day()];
        for field in fields {
            out.push(b'-');
            out.extend_from_slice(&two_digits(field));
        }
        if let Some(time) = time {
            out.push(b'T');
            for (i, field) in [time.hour(), time.minute(), time.second()]
                .iter()
                .enumerate()
            {
                if i > 0 {
                    out.push(b':');
                }
                out.extend_from_slice(&two_digits(*field));
            }
            out.push(b'Z');
        }
    }
}

fn two_digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
}

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            When::Date(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            When::Instant(at) => write!(f, "{}", at.format("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}
