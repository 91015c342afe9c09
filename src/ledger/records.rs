//! The ledger's records as typed values. Times are UTC; they are stored as unix seconds.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::sources::{Credentials, Reservation};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingState {
    /// Exists in FlexyKey as far as flexysync knows.
    Active,
    /// Missing from FlexyKey's list although flexysync never deleted it (deleted by hand).
    Vanished,
    /// Deleted by flexysync (or found gone when it tried).
    Deleted,
}

impl BookingState {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingState::Active => "active",
            BookingState::Vanished => "vanished",
            BookingState::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(BookingState::Active),
            "vanished" => Some(BookingState::Vanished),
            "deleted" => Some(BookingState::Deleted),
            _ => None,
        }
    }
}

/// A FlexyKey booking flexysync created (or adopted by its marker) and owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedBooking {
    pub booking_id: i64,
    pub reservation_key: String,
    pub source: String,
    pub booking_object_id: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub credentials: Credentials,
    pub name: String,
    /// Fingerprint of the reservation version the booking was made from.
    pub fingerprint: String,
    pub state: BookingState,
}

/// What a source's last read said, and its shrink guard.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceReadRecord {
    pub source: String,
    pub last_attempt_at: DateTime<Utc>,
    /// `fresh`, `unchanged` or `failed`.
    pub last_outcome: String,
    pub last_reason: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_fresh_at: Option<DateTime<Utc>>,
    pub content_fingerprint: Option<String>,
    pub consecutive_failures: u32,
    pub fetch_memo: Option<String>,
    pub hold: Option<ShrinkHold>,
}

/// A source's deletions held because its upcoming reservations shrank too much in one read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShrinkHold {
    pub reason: String,
    pub since: DateTime<Utc>,
    /// The content that shrank; unchanged content for `shrink_confirm_hours` releases the hold.
    pub fingerprint: String,
    /// Upcoming reservations before the shrink.
    pub baseline: u32,
}

/// The state of one journaled write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalState {
    /// Written before the call; still open if the process died during it.
    Intent,
    /// The call's outcome is unknown; the object's bookings must be read to resolve it.
    InDoubt,
    Created,
    Deleted,
    /// Resolved by finding the booking in FlexyKey's list.
    Adopted,
    /// Resolved by finding no such booking: the create never happened.
    NotCreated,
    Failed,
}

impl JournalState {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalState::Intent => "intent",
            JournalState::InDoubt => "in_doubt",
            JournalState::Created => "created",
            JournalState::Deleted => "deleted",
            JournalState::Adopted => "adopted",
            JournalState::NotCreated => "not_created",
            JournalState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "intent" => JournalState::Intent,
            "in_doubt" => JournalState::InDoubt,
            "created" => JournalState::Created,
            "deleted" => JournalState::Deleted,
            "adopted" => JournalState::Adopted,
            "not_created" => JournalState::NotCreated,
            "failed" => JournalState::Failed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteKind {
    Create,
    Delete,
}

impl WriteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteKind::Create => "create",
            WriteKind::Delete => "delete",
        }
    }
}

/// One write as journaled: everything needed to recognise the booking in FlexyKey's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub id: i64,
    pub kind: WriteKind,
    pub reservation_key: String,
    pub source: String,
    pub booking_object_id: i64,
    /// For a delete, the booking deleted; for a create, the booking once known.
    pub booking_id: Option<i64>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub credentials: Credentials,
    pub name: String,
    pub fingerprint: String,
    pub reason: String,
    pub state: JournalState,
    pub error: Option<String>,
    pub intended_at: DateTime<Utc>,
}

impl JournalEntry {
    /// The owned booking this create made (or found made) under `booking_id`.
    pub fn owned_as(&self, booking_id: i64) -> OwnedBooking {
        OwnedBooking {
            booking_id,
            reservation_key: self.reservation_key.clone(),
            source: self.source.clone(),
            booking_object_id: self.booking_object_id,
            start: self.start,
            end: self.end,
            credentials: self.credentials.clone(),
            name: self.name.clone(),
            fingerprint: self.fingerprint.clone(),
            state: BookingState::Active,
        }
    }
}

/// The counts of one sync pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassCounts {
    pub created: u32,
    pub deleted: u32,
    pub adopted: u32,
    pub failed: u32,
    pub held: u32,
    pub foreign_bookings: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassRecord {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub dry_run: bool,
    pub counts: PassCounts,
    pub converged: bool,
    pub errors: Vec<String>,
}
