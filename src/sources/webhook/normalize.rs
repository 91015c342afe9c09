//! Times and phone numbers as senders write them, turned into UTC and E.164.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

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

fn local_to_utc(local: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
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

fn with_fixed_offset(local: NaiveDateTime, offset: FixedOffset) -> Option<DateTime<Utc>> {
    offset
        .from_local_datetime(&local)
        .single()
        .map(|time| time.with_timezone(&Utc))
}

/// E.164 (`+46701234567`) from what people type: spaces, dashes, dots, parentheses and a
/// `(0)` are dropped; a leading `00` is `+`; a number without a country code gets
/// `default_country` in place of its leading trunk `0`. `None` when it is not a phone number.
pub fn normalize_phone(raw: &str, default_country: &str) -> Option<String> {
    let text = raw.trim().replace("(0)", "");
    let (international, rest) = if let Some(rest) = text.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix("00") {
        (true, rest)
    } else {
        (false, text.as_str())
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}') {
            return None;
        }
    }
    let number = if international {
        digits
    } else {
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        format!("{default_country}{national}")
    };
    // E.164: at most 15 digits; fewer than 8 is no mobile or landline anywhere.
    let valid = (8..=15).contains(&number.len()) && !number.starts_with('0');
    valid.then(|| format!("+{number}"))
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

    #[test]
    fn phones_become_e164() {
        let cases = [
            ("+46701234567", Some("+46701234567")),
            ("+46 (0)70-123 45 67", Some("+46701234567")),
            ("0046701234567", Some("+46701234567")),
            ("070-123 45 67", Some("+46701234567")),
            ("+1 (415) 555-0100", Some("+14155550100")),
            ("070 12", None),
            ("call me", None),
            ("+46 70 123 45 67 89 01 23", None),
            ("", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize_phone(raw, "46").as_deref(), expected, "{raw}");
        }
        assert_eq!(
            normalize_phone("040-123456", "47").as_deref(),
            Some("+4740123456")
        );
    }
}
