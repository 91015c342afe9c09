//! Sources turn outside data (iCal feeds, webhooks) into reservations: one normalized, desired
//! FlexyKey booking each. Calendar rules live here; FlexyKey HTTP and SQL do not.

pub mod codes;
pub mod fetch;
pub mod guard;
pub mod ical;
mod read;
pub mod webhook;

pub use crate::model::phone;
pub use crate::model::phone::normalize_phone;
pub use fetch::{FetchMemo, ReadContext, read_source};
pub use ical::{RuleContext, reservations_from_text};
pub use read::{
    ReadOutcome, ReadRequest, Reader, SnapshotRead, SourceReader, ZoneLookup, is_pushed, kind_label,
};

use chrono::{DateTime, Utc};

pub use crate::model::{Credentials, Reservation};

/// Why a stay is too long to become a booking, or `None`. One rule for every kind of source
/// (iCal and webhook alike): a stay longer than the source's `max_stay_days` (by default
/// `sync.max_stay_days`) is a typo or a hostile sender's year-9999 end, never a door to open
/// for years.
pub fn overlong_stay(
    source: &crate::config::SourceConfig,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<String> {
    let max = source.max_stay();
    let length = end.signed_duration_since(start);
    (length > max).then(|| {
        format!(
            "the stay lasts {} days, more than max_stay_days = {} (from {} to {})",
            length.num_days(),
            max.num_days(),
            start.format("%Y-%m-%d %H:%M UTC"),
            end.format("%Y-%m-%d %H:%M UTC"),
        )
    })
}
