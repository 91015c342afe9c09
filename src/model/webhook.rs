//! What webhook senders tell: a booking's latest state, one delivery, a snapshot's effect.

use chrono::{DateTime, Utc};

/// The sender's status of a booking. Only confirmed bookings become reservations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookingStatus {
    Confirmed,
    Tentative,
    Cancelled,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Tentative => "tentative",
            BookingStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<BookingStatus> {
        match text {
            "confirmed" => Some(BookingStatus::Confirmed),
            "tentative" => Some(BookingStatus::Tentative),
            "cancelled" => Some(BookingStatus::Cancelled),
            _ => None,
        }
    }
}

/// One booking as the sender last described it, times in UTC. Fields other than the id and
/// status may be absent on a cancellation.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookBooking {
    pub booking_id: String,
    pub status: BookingStatus,
    pub resource: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub name: Option<String>,
    /// E.164.
    pub phones: Vec<String>,
    pub code: Option<String>,
    pub rfid: Option<String>,
}

impl std::fmt::Debug for WebhookBooking {
    // Phones, codes and tags are credentials: only their presence is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookBooking")
            .field("booking_id", &self.booking_id)
            .field("status", &self.status)
            .field("resource", &self.resource)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("name", &self.name)
            .field("phones", &self.phones.len())
            .field("code", &self.code.as_ref().map(|_| "REDACTED"))
            .field("rfid", &self.rfid.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

/// One signed delivery, about to be stored.
#[derive(Debug, Clone, Copy)]
pub struct WebhookDelivery<'a> {
    pub source: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The body exactly as received (it is valid UTF-8 JSON by then).
    pub raw_json: &'a str,
    pub booking: &'a WebhookBooking,
}

/// How far after its receipt a stored booking state may be dated. An event dated later (a
/// sender's wrong clock) is refused, and one stored before is kept as if dated this much after
/// it came, so that one event can never make every later one stale (migration 0008).
pub const MAX_OCCURRED_AHEAD: chrono::Duration = chrono::Duration::minutes(5);

/// What storing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The booking's state is now this event's.
    Applied,
    /// Recorded, but an event that occurred later was already applied to the booking.
    Stale,
    /// The event id was seen before: recorded as a redelivery, nothing else changed.
    Duplicate,
}

impl DeliveryResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryResult::Applied => "applied",
            DeliveryResult::Stale => "stale",
            DeliveryResult::Duplicate => "duplicate",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryResult> {
        match text {
            "applied" => Some(DeliveryResult::Applied),
            "stale" => Some(DeliveryResult::Stale),
            "duplicate" => Some(DeliveryResult::Duplicate),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotChanges {
    /// Booking ids whose state the snapshot set (new or different).
    pub updated: Vec<String>,
    /// Booking ids absent from the snapshot, now cancelled.
    pub cancelled: Vec<String>,
    /// Booking ids left alone because an event newer than the snapshot had set them.
    pub kept_newer: Vec<String>,
}

impl SnapshotChanges {
    pub fn is_empty(&self) -> bool {
        self.updated.is_empty() && self.cancelled.is_empty()
    }
}
