//! The domain model: the values the pass reasons about, shared by the sources that produce
//! them, the ledger that stores them and the reconciler that acts on them. This module
//! imports nothing from the others, so none of them depends on another for its types.

mod booking;
mod credentials;
mod journal;
#[cfg(test)]
mod layering;
mod log;
pub mod phone;
mod read;
mod reservation;
mod webhook;

pub use booking::{BookingState, OwnedBooking};
pub use credentials::{Code, Credentials, Phone};
pub use journal::{JournalEntry, JournalState, WriteKind};
pub use log::LogEntry;
pub use read::{FailureKind, ReadFailure, ReadStatus, ShrinkHold, SourceReadRecord};
pub use reservation::{Reservation, StoredReservation};
pub use webhook::{
    BookingStatus, DeliveryResult, MAX_OCCURRED_AHEAD, SnapshotChanges, WebhookBooking,
    WebhookDelivery,
};
