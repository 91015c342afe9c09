//! Sources turn outside data (iCal feeds, webhooks) into reservations: one normalized, desired
//! FlexyKey booking each. Calendar rules live here; FlexyKey HTTP and SQL do not.

pub mod codes;
pub mod fetch;
pub mod guard;
pub mod ical;
pub mod phone;
mod read;
pub mod webhook;

pub use fetch::{FetchMemo, ReadContext, read_source};
pub use ical::{RuleContext, reservations_from_text};
pub use phone::normalize_phone;
pub use read::{ReadOutcome, ReadRequest, Reader, SnapshotRead, SourceReader, ZoneLookup};

pub use crate::model::{Credentials, Reservation};
