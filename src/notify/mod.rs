//! Telling people: events (kept in the ledger's outbox), their delivery to webhooks, email and
//! ntfy, and the detection of check-ins, no-shows, guests locked out, unconfirmed arrivals and
//! double bookings. Knows nothing of how an event was caused: producers map their data into
//! [`NewEvent`] and the detector inputs.

pub mod deliver;
pub mod detect;
pub mod event;
pub mod health;
pub mod mapping;
pub mod produce;
pub mod refusal;
pub mod render;
pub mod send;

pub use detect::{AccessEntry, DetectRules, Stay};
pub use event::{Event, EventDetails, EventKind, EventObject, NewEvent, OtherStay};
pub use refusal::RefusalPatterns;
