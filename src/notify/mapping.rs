//! The only place where notify reads other parts' domain types: each maps one of them into
//! notify's own event and detector inputs. When those types move (to `model`), only this file
//! changes.

use chrono::{DateTime, Utc};

use super::detect::{AccessEntry, Stay};
use super::event::{EventDetails, EventKind, EventObject, NewEvent};
use super::health::SourceState;
use crate::ledger::ArchivedEntry;
use crate::model::{JournalEntry, ReadStatus, Reservation, SourceReadRecord};

fn object(id: i64) -> EventObject {
    EventObject {
        id,
        name: String::new(),
        timezone: None,
    }
}

/// `booking.created` / `booking.deleted` / `booking.failed` for a journaled write.
pub fn booking_event(
    kind: EventKind,
    entry: &JournalEntry,
    journal_id: i64,
    booking_id: Option<i64>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> NewEvent {
    let key = match (kind, booking_id) {
        // A create refused pass after pass is one fact until the stay changes.
        (EventKind::BookingFailed, _) => {
            format!("refused {} {}", entry.reservation_key, entry.fingerprint)
        }
        (_, Some(id)) => format!("booking {id}"),
        (_, None) => format!("journal {journal_id}"),
    };
    NewEvent::new(kind, key, now).with(EventDetails {
        object: Some(object(entry.booking_object_id)),
        source: Some(entry.source.clone()),
        label: Some(entry.name.clone()),
        booking_id,
        start: Some(entry.start),
        end: Some(entry.end),
        phones: entry.credentials.phone_strings(),
        code: entry.credentials.code.clone().map(String::from),
        rfid: entry.credentials.rfid.clone(),
        detail: error.map(str::to_owned),
        ..EventDetails::default()
    })
}

/// A reservation as detection sees it.
pub fn stay(reservation: &Reservation, units: Vec<i64>, overlap_ok: bool, confirmed: bool) -> Stay {
    Stay {
        key: reservation.key.clone(),
        object: object(reservation.booking_object_id),
        units,
        source: reservation.source.clone(),
        label: reservation.label.clone(),
        start: reservation.start,
        end: reservation.end,
        phones: reservation.credentials.phone_strings(),
        rfid: reservation.credentials.rfid.clone(),
        overlap_ok,
        confirmed,
    }
}

/// An archived access-log entry as detection sees it.
pub fn access_entry(archived: &ArchivedEntry) -> AccessEntry {
    let entry = &archived.entry;
    AccessEntry {
        unit_id: archived.unit_id,
        at: entry.server_date,
        source_id: entry.source_id.clone().unwrap_or_default(),
        labels: [&entry.source_label, &entry.action_label]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        message: entry.log_msg.clone().unwrap_or_default(),
    }
}

/// A source's last read as outage detection sees it.
pub fn source_state(read: SourceReadRecord) -> SourceState {
    let failing = matches!(read.last_outcome, ReadStatus::Failed(_));
    SourceState {
        failing_since: failing.then(|| read.last_success_at.unwrap_or(read.last_attempt_at)),
        failure: if failing {
            read.last_reason.clone()
        } else {
            None
        },
        held_since: read.hold.as_ref().map(|h| h.since),
        hold_reason: read.hold.map(|h| h.reason),
        name: read.source,
    }
}
