//! Occurrences → reservations: the source's preset, summary filters, check-in/out times,
//! buffers, phone numbers and keypad codes.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;
use serde::Serialize;

use super::codes::derive_code;
use super::event::Status;
use super::expand::{Occurrence, When};
use super::zone::Zone;
use crate::config::{CodePolicy, Preset, SourceConfig};
use crate::model::{Code, Credentials, Phone, Reservation};
use crate::redact::mask;
use crate::sources::normalize_phone;

/// What a source yields: reservations, and each skipped occurrence with its reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    pub reservations: Vec<Reservation>,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
    /// Why the reservations may not be the feed's whole truth (cut off, capped): a reader must
    /// then treat the read as unknown, never as a shrink.
    pub incomplete: Option<String>,
    /// Key prefixes (`source/UID/`) of VEVENTs that could not be read: the reader keeps what
    /// it knew of them.
    pub unreadable: Vec<String>,
    /// Floating times were read in UTC for want of a zone (no `timezone`, no X-WR-TIMEZONE,
    /// the unit's unknown): a reader must treat the result as unknown.
    pub zone_missing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub uid: String,
    pub recurrence_id: Option<String>,
    pub start: String,
    pub summary: Option<String>,
    pub reason: String,
}

static AIRBNB_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)reservations/details/([A-Z0-9]{6,12})").expect("constant regex")
});
static LAST4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)phone number \(last 4 digits\):\s*(\d{4})").expect("constant regex")
});
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b00|\b0|\b)\d[\d \-().]{5,18}\d\b").expect("constant regex")
});
static PHONE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(phone|tel|mobile|mobil|telefon|cell)").expect("constant regex")
});
static HELPER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(check[- ]?in|check[- ]?out|arrival|departure)\b").expect("constant regex")
});

/// The guest's phone numbers (at most three, E.164) from labelled DESCRIPTION lines and
/// `tel:` attendees. A number libphonenumber's rules refuse is left out with a warning that
/// shows only its last digits: no credential is better than a guessed one.
fn phones_of(occ: &Occurrence, region: &str, warnings: &mut Vec<String>) -> Vec<String> {
    let mut found = Vec::new();
    let mut read = |candidate: &str| match normalize_phone(candidate, region) {
        Ok(phone) => found.push(phone.into_string()),
        Err(err) => warnings.push(format!(
            "UID {}: phone number {} left out: {err}",
            occ.uid,
            mask(candidate.trim())
        )),
    };
    let description = occ.description.as_deref().unwrap_or("");
    for line in description.lines() {
        if !PHONE_LABEL.is_match(line) || LAST4.is_match(line) {
            continue;
        }
        for m in PHONE.find_iter(line) {
            read(m.as_str());
        }
    }
    for attendee in occ.attendees.iter() {
        if let Some(tel) = attendee
            .strip_prefix("tel:")
            .or_else(|| attendee.strip_prefix("TEL:"))
        {
            read(tel);
        }
    }
    found.dedup();
    let mut unique = Vec::new();
    for phone in found {
        if !unique.contains(&phone) && unique.len() < 3 {
            unique.push(phone);
        }
    }
    unique
}

/// A SUMMARY fit for a booking name: no phone numbers, one line, bounded length.
fn clean_label(summary: &str) -> String {
    let masked = PHONE.replace_all(summary, "[phone]");
    let one_line: String = masked.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(100).collect()
}

enum Verdict {
    Keep { label: String },
    Skip(String),
}

fn classify(occ: &Occurrence, preset: Preset) -> Verdict {
    let summary = occ.summary.as_deref().unwrap_or("").trim();
    let lower = summary.to_lowercase();
    if occ.status == Some(Status::Cancelled) {
        return Verdict::Skip("cancelled (STATUS:CANCELLED)".into());
    }
    if HELPER.is_match(summary) && occ.end_utc - occ.start_utc <= chrono::Duration::hours(2) {
        return Verdict::Skip("check-in/check-out helper event".into());
    }
    match preset {
        Preset::Airbnb => {
            if lower.contains("not available") || lower.contains("blocked") {
                return Verdict::Skip("blocked by the host (Airbnb \"Not available\")".into());
            }
            let code = occ
                .description
                .as_deref()
                .and_then(|d| AIRBNB_CODE.captures(d))
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_owned());
            let head = if summary.is_empty() {
                "Reserved".to_owned()
            } else {
                clean_label(summary)
            };
            Verdict::Keep {
                label: match code {
                    Some(code) => format!("{head} · {code}"),
                    None => head,
                },
            }
        }
        Preset::BookingCom => {
            // Booking.com exports every booking as "CLOSED - Not available", without guest
            // data: there is no way to tell a booking from a closure, so each one counts.
            Verdict::Keep {
                label: if lower.starts_with("closed") || summary.is_empty() {
                    "Booking.com reservation".to_owned()
                } else {
                    clean_label(summary)
                },
            }
        }
        Preset::Vrbo => {
            if lower == "blocked" || lower.starts_with("blocked ") || lower.starts_with("blocked -")
            {
                return Verdict::Skip("blocked by the owner (VRBO \"Blocked\")".into());
            }
            if occ.status == Some(Status::Tentative)
                || lower.contains("tentative")
                || lower.contains("hold")
            {
                return Verdict::Skip("tentative hold (VRBO)".into());
            }
            Verdict::Keep {
                label: if summary.is_empty() {
                    "Reserved".into()
                } else {
                    clean_label(summary)
                },
            }
        }
        Preset::Google | Preset::Generic => Verdict::Keep {
            label: if summary.is_empty() {
                "Reservation".into()
            } else {
                clean_label(summary)
            },
        },
    }
}

fn at_local(date: NaiveDate, time: chrono::NaiveTime, zone: &Zone) -> Option<DateTime<Utc>> {
    zone.to_utc(date.and_time(time))
}

/// Applies the source's rules to occurrences (already inside the window).
pub fn apply(
    occurrences: Vec<Occurrence>,
    source: &SourceConfig,
    zone: &Zone,
    secret: &[u8],
) -> Preview {
    let include = source
        .include_summary
        .as_deref()
        .and_then(|p| Regex::new(p).ok());
    let exclude = source
        .exclude_summary
        .as_deref()
        .and_then(|p| Regex::new(p).ok());
    let object = source.booking_object_id.unwrap_or_default();
    let mut preview = Preview::default();
    let mut derived: Vec<usize> = Vec::new();
    for occ in occurrences {
        let skip = |reason: &str, preview: &mut Preview| {
            preview.skipped.push(Skipped {
                uid: occ.uid.to_string(),
                recurrence_id: occ.recurrence_id.map(|r| r.to_string()),
                start: occ.start.to_string(),
                summary: occ
                    .summary
                    .as_deref()
                    .map(|s| PHONE.replace_all(s, "[phone]").into_owned()),
                reason: reason.to_owned(),
            });
        };
        let label = match classify(&occ, source.preset) {
            Verdict::Skip(reason) => {
                skip(&reason, &mut preview);
                continue;
            }
            Verdict::Keep { label } => label,
        };
        let summary = occ.summary.as_deref().unwrap_or("");
        if let Some(re) = &include
            && !re.is_match(summary)
        {
            skip("SUMMARY does not match include_summary", &mut preview);
            continue;
        }
        if let Some(re) = &exclude
            && re.is_match(summary)
        {
            skip("SUMMARY matches exclude_summary", &mut preview);
            continue;
        }
        let bounds = match (occ.start, occ.end) {
            (When::Date(s), When::Date(e)) => {
                at_local(s, source.check_in.0, zone).zip(at_local(e, source.check_out.0, zone))
            }
            _ => Some((occ.start_utc, occ.end_utc)),
        };
        // The stay itself is measured, without the buffers around it.
        if let Some(reason) = bounds.and_then(|(s, e)| crate::sources::overlong_stay(source, s, e))
        {
            preview
                .warnings
                .push(format!("UID {}: {reason}; skipped", occ.uid));
            skip(&reason, &mut preview);
            continue;
        }
        let widened = bounds.and_then(|(s, e)| {
            Some((
                s.checked_sub_signed(source.buffer_before.as_chrono())?,
                e.checked_add_signed(source.buffer_after.as_chrono())?,
            ))
        });
        let Some((start, end)) = widened else {
            skip("its times cannot be placed on the calendar", &mut preview);
            continue;
        };
        if end <= start {
            skip(
                "it ends before it starts (or has no length) after the check-in/out rules",
                &mut preview,
            );
            continue;
        }
        let phones = phones_of(&occ, &source.default_country, &mut preview.warnings);
        let last4 = occ
            .description
            .as_deref()
            .and_then(|d| LAST4.captures(d))
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_owned())
            .or_else(|| {
                phones
                    .first()
                    .map(|p| p[p.len().saturating_sub(4)..].to_owned())
            });
        let key = format!(
            "{}/{}/{}",
            source.name,
            occ.uid,
            occ.recurrence_id.map(|r| r.to_string()).unwrap_or_default()
        );
        let code = match (source.code, last4) {
            (CodePolicy::None, _) => None,
            (CodePolicy::PhoneLast4, Some(last4)) => Some(last4),
            (CodePolicy::PhoneLast4 | CodePolicy::Derived, _) => {
                derived.push(preview.reservations.len());
                Some(derive_code(secret, &key, source.code_length, 0))
            }
        };
        preview.reservations.push(Reservation {
            source: source.name.clone(),
            key,
            booking_object_id: object,
            start,
            end,
            credentials: Credentials {
                phones: phones.into_iter().map(Phone::from).collect(),
                code: code.map(Code::from),
                rfid: None,
            },
            label,
        });
    }
    make_unique(
        &mut preview.reservations,
        &derived,
        secret,
        source.code_length,
    );
    preview
}

/// Derived codes differ among the object's overlapping reservations: on a clash the later key
/// (in key order, so the result does not depend on feed order) takes its next candidate.
/// Settled reservations are kept by (object, code), so a clash check looks only at the few
/// that share a code, never at every earlier stay.
pub(super) fn make_unique(
    reservations: &mut [Reservation],
    derived: &[usize],
    secret: &[u8],
    length: u8,
) {
    type Windows = Vec<(DateTime<Utc>, DateTime<Utc>)>;
    let mut settled: HashMap<(i64, String), Windows> = HashMap::new();
    let is_derived: HashSet<usize> = derived.iter().copied().collect();
    for (index, reservation) in reservations.iter().enumerate() {
        if let (false, Some(code)) = (is_derived.contains(&index), &reservation.credentials.code) {
            settled
                .entry((reservation.booking_object_id, code.as_str().to_owned()))
                .or_default()
                .push((reservation.start, reservation.end));
        }
    }
    let mut order: Vec<usize> = derived.to_vec();
    order.sort_by(|a, b| reservations[*a].key.cmp(&reservations[*b].key));
    for index in order {
        let reservation = &mut reservations[index];
        let (object, start, end) = (
            reservation.booking_object_id,
            reservation.start,
            reservation.end,
        );
        let clashes = |settled: &HashMap<(i64, String), Windows>, code: &str| {
            settled
                .get(&(object, code.to_owned()))
                .is_some_and(|windows| windows.iter().any(|(s, e)| *s < end && *e > start))
        };
        let mut attempt = 0u32;
        while attempt <= 1000
            && reservation
                .credentials
                .code
                .as_deref()
                .is_some_and(|code| clashes(&settled, code))
        {
            attempt += 1;
            reservation.credentials.code =
                Some(derive_code(secret, &reservation.key, length, attempt).into());
        }
        if let Some(code) = &reservation.credentials.code {
            settled
                .entry((object, code.as_str().to_owned()))
                .or_default()
                .push((start, end));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_carry_full_phone_numbers() {
        let label = clean_label("Anna +46 70 123 45 67\n(late arrival)");
        assert!(!label.contains("123 45 67"), "{label}");
        assert!(label.starts_with("Anna [phone]"), "{label}");
    }
}
