//! A reservation: one desired FlexyKey booking, as a source says it; and as the ledger
//! remembers it between reads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Credentials;

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
            field(phone.as_str());
        }
        field("|");
        field(self.credentials.code.as_deref().unwrap_or(""));
        field(self.credentials.rfid.as_deref().unwrap_or(""));
        field(&self.label);
        hex::encode(&hasher.finalize()[..16])
    }
}

/// A reservation as the ledger remembers it, with how many consecutive successful reads of
/// its source it has been missing from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReservation {
    pub reservation: Reservation,
    pub fingerprint: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub misses: u32,
}

impl StoredReservation {
    pub fn new(reservation: Reservation, now: DateTime<Utc>) -> Self {
        StoredReservation {
            fingerprint: reservation.fingerprint(),
            reservation,
            first_seen: now,
            last_seen: now,
            misses: 0,
        }
    }
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
