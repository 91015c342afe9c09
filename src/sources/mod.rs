//! Sources turn outside data (iCal feeds, webhooks) into reservations: one normalized, desired
//! FlexyKey booking each. Calendar rules live here; FlexyKey HTTP and SQL do not.

pub mod fetch;
pub mod ical;
pub mod phone;
pub mod webhook;

pub use fetch::{FetchMemo, ReadContext, read_source};
pub use ical::{RuleContext, reservations_from_text};
pub use phone::normalize_phone;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who may enter: FlexyKey grants access to phone numbers (up to three), a keypad code, or an
/// RFID credential. Phone numbers are E.164 (`+46701234567`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Credentials {
    pub phones: Vec<String>,
    pub code: Option<String>,
    pub rfid: Option<String>,
}

/// One desired FlexyKey booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The source's name from the config.
    pub source: String,
    /// Stable across reads: source + UID + RECURRENCE-ID (or the webhook booking id).
    pub key: String,
    pub booking_object_id: i64,
    /// UTC, inclusive.
    pub start: DateTime<Utc>,
    /// UTC, exclusive; always after `start`.
    pub end: DateTime<Utc>,
    pub credentials: Credentials,
    /// Who it is for, e.g. "Reserved · HMABC123"; reaches FlexyKey as part of the booking name.
    pub label: String,
}

impl Reservation {
    /// A hash over exactly the fields that reach FlexyKey, so that a change of anything else
    /// (DTSTAMP, SEQUENCE, LAST-MODIFIED, ...) is no change at all.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |value: &str| {
            hasher.update((value.len() as u64).to_le_bytes());
            hasher.update(value.as_bytes());
        };
        field(&self.booking_object_id.to_string());
        field(&self.start.timestamp().to_string());
        field(&self.end.timestamp().to_string());
        for phone in &self.credentials.phones {
            field(phone);
        }
        field("|");
        field(self.credentials.code.as_deref().unwrap_or(""));
        field(self.credentials.rfid.as_deref().unwrap_or(""));
        field(&self.label);
        hex::encode(&hasher.finalize()[..16])
    }
}

/// Why a stay is too long to become a booking, or `None`. One rule for every kind of source
/// (iCal and webhook alike): a stay longer than the source's `max_stay_days` (by default
/// `sync.max_stay_days`) is a typo or a hostile sender's year-9999 end, never a door to open
/// for years.
pub fn overlong_stay(
    source: &crate::config::SourceConfig,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<String> {
    let max = source.max_stay();
    let length = end.signed_duration_since(start);
    (length > max).then(|| {
        format!(
            "the stay lasts {} days, more than max_stay_days = {} (from {} to {})",
            length.num_days(),
            max.num_days(),
            start.format("%Y-%m-%d %H:%M UTC"),
            end.format("%Y-%m-%d %H:%M UTC"),
        )
    })
}

/// How one read of a source ended. A failed read is *unknown*, never *empty*: it yields no
/// reservations and no deletions (DESIGN.md invariant 2).
#[derive(Debug, Clone)]
pub enum ReadOutcome {
    /// Fetched and parsed: this is the source's whole desired state.
    Fresh {
        reservations: Vec<Reservation>,
        /// Hash of the fetched content, to tell "unchanged since" apart.
        content_fingerprint: String,
        /// Components skipped or repaired, with their UID and line.
        warnings: Vec<String>,
    },
    /// The server said 304 Not Modified: the last fresh read still holds.
    Unchanged,
    /// Nothing is known about this source's reservations.
    Failed { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> Reservation {
        Reservation {
            source: "cabin".into(),
            key: "cabin/uid-1/".into(),
            booking_object_id: 123,
            start: Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap(),
            credentials: Credentials {
                phones: vec!["+46701234567".into()],
                code: Some("482193".into()),
                rfid: None,
            },
            label: "Reserved · HM123".into(),
        }
    }

    #[test]
    fn fingerprint_changes_with_every_field_that_reaches_flexykey() {
        let base = sample();
        let mut changed = vec![];
        let mut r = base.clone();
        r.end += chrono::Duration::hours(1);
        changed.push(r);
        let mut r = base.clone();
        r.credentials.code = Some("111111".into());
        changed.push(r);
        let mut r = base.clone();
        r.credentials.phones.clear();
        changed.push(r);
        let mut r = base.clone();
        r.label = "Other".into();
        changed.push(r);
        let mut r = base.clone();
        r.booking_object_id = 124;
        changed.push(r);
        for other in changed {
            assert_ne!(base.fingerprint(), other.fingerprint(), "{other:?}");
        }
        let mut same = base.clone();
        same.key = "cabin/uid-1/x".into();
        assert_eq!(base.fingerprint(), same.fingerprint());
    }
}
