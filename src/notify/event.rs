//! The events flexysync tells people about. Notify's own types: the parts that cause events
//! map their data into these, so notify knows nothing of how an event came about.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Every kind of event, spelled on the wire as `booking.created` etc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "booking.created")]
    BookingCreated,
    #[serde(rename = "booking.deleted")]
    BookingDeleted,
    #[serde(rename = "booking.failed")]
    BookingFailed,
    #[serde(rename = "arrival.unconfirmed")]
    ArrivalUnconfirmed,
    #[serde(rename = "guest.checked_in")]
    GuestCheckedIn,
    #[serde(rename = "guest.no_show")]
    GuestNoShow,
    #[serde(rename = "guest.denied")]
    GuestDenied,
    #[serde(rename = "stay.double_booked")]
    StayDoubleBooked,
    #[serde(rename = "source.failing")]
    SourceFailing,
    #[serde(rename = "source.recovered")]
    SourceRecovered,
    #[serde(rename = "deletions.held")]
    DeletionsHeld,
    #[serde(rename = "deletions.released")]
    DeletionsReleased,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        EventKind::BookingCreated,
        EventKind::BookingDeleted,
        EventKind::BookingFailed,
        EventKind::ArrivalUnconfirmed,
        EventKind::GuestCheckedIn,
        EventKind::GuestNoShow,
        EventKind::GuestDenied,
        EventKind::StayDoubleBooked,
        EventKind::SourceFailing,
        EventKind::SourceRecovered,
        EventKind::DeletionsHeld,
        EventKind::DeletionsReleased,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BookingCreated => "booking.created",
            EventKind::BookingDeleted => "booking.deleted",
            EventKind::BookingFailed => "booking.failed",
            EventKind::ArrivalUnconfirmed => "arrival.unconfirmed",
            EventKind::GuestCheckedIn => "guest.checked_in",
            EventKind::GuestNoShow => "guest.no_show",
            EventKind::GuestDenied => "guest.denied",
            EventKind::StayDoubleBooked => "stay.double_booked",
            EventKind::SourceFailing => "source.failing",
            EventKind::SourceRecovered => "source.recovered",
            EventKind::DeletionsHeld => "deletions.held",
            EventKind::DeletionsReleased => "deletions.released",
        }
    }

    /// Someone should act now: a guest at a locked door, an arrival without access.
    pub fn is_urgent(self) -> bool {
        matches!(
            self,
            EventKind::GuestDenied | EventKind::ArrivalUnconfirmed | EventKind::StayDoubleBooked
        )
    }

    /// Words for a phone's lock screen.
    pub fn headline(self) -> &'static str {
        match self {
            EventKind::BookingCreated => "Door access ready",
            EventKind::BookingDeleted => "Door access removed",
            EventKind::BookingFailed => "Door access could NOT be set up",
            EventKind::ArrivalUnconfirmed => "Arrival without door access",
            EventKind::GuestCheckedIn => "Guest checked in",
            EventKind::GuestNoShow => "Guest has not arrived",
            EventKind::GuestDenied => "Guest locked out",
            EventKind::StayDoubleBooked => "Double booking",
            EventKind::SourceFailing => "Calendar unreadable",
            EventKind::SourceRecovered => "Calendar readable again",
            EventKind::DeletionsHeld => "Cancellations held back",
            EventKind::DeletionsReleased => "Held cancellations released",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown event kind {text:?}; expected one of {}",
                    known.join(", ")
                )
            })
    }
}

/// A booking object as a guest would name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventObject {
    pub id: i64,
    pub name: String,
    /// IANA zone of the object, for local times in messages.
    pub timezone: Option<String>,
}

/// What an event is about. Optional fields are left out of the JSON when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<EventObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// E.164; shown in full only to targets with `include_codes = true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
    /// The keypad code; only to targets with `include_codes = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfid: Option<String>,
    /// The access-log entry's time (check-in, denial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// The other stay of a double booking: its source and label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<OtherStay>,
    /// Free words for a human: an error, a count of held deletions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The stay's key (a detected guest event), for the status page to draw it on its stay.
    /// Kept in the outbox only: not part of what targets receive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherStay {
    pub source: String,
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// An event about to be written to the outbox. Its id is derived from `key`, so the same fact
/// found on two passes (a check-in, a double booking) is one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: EventKind,
    /// What makes this event unique, e.g. `guest.checked_in|<stay key>`.
    pub key: String,
    pub occurred_at: DateTime<Utc>,
    pub details: EventDetails,
}

impl NewEvent {
    pub fn new(kind: EventKind, key: impl AsRef<str>, occurred_at: DateTime<Utc>) -> NewEvent {
        NewEvent {
            kind,
            key: format!("{}|{}", kind.as_str(), key.as_ref()),
            occurred_at,
            details: EventDetails::default(),
        }
    }

    pub fn with(mut self, details: EventDetails) -> NewEvent {
        self.details = details;
        self
    }

    /// The event's id: stable for its key, sent in a header for de-duplication.
    pub fn id(&self) -> String {
        event_id(&self.key)
    }
}

/// `evt_` and 24 hex digits of SHA-256 over the key.
pub fn event_id(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("evt_{}", hex::encode(&digest[..12]))
}

/// An event as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub details: EventDetails,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names_and_serde() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert!("guest.arrived".parse::<EventKind>().is_err());
    }

    #[test]
    fn the_id_depends_on_kind_and_key_only() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let a = NewEvent::new(EventKind::GuestCheckedIn, "ical:a|1", at);
        let b = NewEvent::new(
            EventKind::GuestCheckedIn,
            "ical:a|1",
            at + chrono::Duration::hours(1),
        );
        let c = NewEvent::new(EventKind::GuestNoShow, "ical:a|1", at);
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
        assert!(a.id().starts_with("evt_") && a.id().len() == 28);
    }
}
