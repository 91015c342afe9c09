//! A FlexyKey booking flexysync owns, and what it knows of its state.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Credentials;

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
