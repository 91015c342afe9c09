//! The write journal's entries: every FlexyKey write is recorded before it is sent.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{BookingState, Credentials, OwnedBooking};

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
