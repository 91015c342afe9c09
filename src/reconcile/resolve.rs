//! The resolve phase: writes left in doubt by a crash or a lost answer are settled against
//! FlexyKey's lists before anything else, then the lists are compared with what the ledger
//! owns (adoption by marker, drift, foreign bookings). [`resolve_create`] is the one rule for
//! a create in doubt: the pass uses it here, `apply` right after a doubtful call.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::adopt::{self, Listing, same_credentials};
use super::marker::marker_in;
use super::pass::PassContext;
use super::vanished::confirm_vanished;
use crate::flexykey::{Booking, Client};
use crate::ledger::{Ledger, LedgerError};
use crate::model::{
    BookingState, JournalEntry, JournalState, OwnedBooking, StoredReservation, WriteKind,
};

/// The bookings flexysync owns after the doubts are settled and the lists compared.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    pub owned: Vec<OwnedBooking>,
    pub adopted: u32,
    pub vanished: Vec<i64>,
    pub foreign: u32,
    /// Objects whose list left out a booking that `GET /Bookings/{id}` still found.
    pub short_lists: HashSet<i64>,
    /// Owned bookings missing from a list whose fate could not be confirmed.
    pub warnings: Vec<String>,
}

/// True when a listed booking is the one a journaled create asked for: same object, window,
/// credentials and marker.
pub fn matches_entry(booking: &Booking, entry: &JournalEntry) -> bool {
    booking.booking_object_id == entry.booking_object_id
        && booking.start == entry.start
        && booking.end == entry.end
        && same_credentials(booking, &entry.credentials)
        && booking.name.as_deref().and_then(marker_in).is_some()
        && booking.name.as_deref().and_then(marker_in) == marker_in(&entry.name)
}

/// The booking a create in doubt made, if `listed` shows one: it matches the entry and no
/// owned booking is it (when only the label changed, the old booking matches the new one's
/// window, credentials and marker exactly). `None`: the create never happened.
pub fn resolve_create<'a>(
    entry: &JournalEntry,
    listed: &'a [Booking],
    owned: impl Fn(i64) -> bool,
) -> Option<&'a Booking> {
    listed
        .iter()
        .find(|b| matches_entry(b, entry) && !owned(b.booking_id))
}

/// Settles the open journal entries of the listed objects, then compares the lists with the
/// ledger; records what it finds (not in a dry run: there are no open entries then either).
pub(super) async fn resolve(
    ctx: &PassContext<'_>,
    client: &Client,
    listings: &[Listing],
    open: &[JournalEntry],
    reservations: &[StoredReservation],
    mut owned: Vec<OwnedBooking>,
) -> Result<Resolved, LedgerError> {
    let (ledger, dry_run, now) = (ctx.ledger, ctx.dry_run(), ctx.now);
    let mut resolved = Resolved::default();
    for entry in open {
        let listing = listings
            .iter()
            .find(|l| l.booking_object_id == entry.booking_object_id);
        if let Some(listing) = listing {
            resolved.adopted += settle(ledger, entry, &listing.bookings, &mut owned, now).await?;
        }
    }
    let comparison = adopt::compare(listings, reservations, &owned, now);
    // Absence from one list is not proof: each missing booking is read on its own first.
    let comparison = confirm_vanished(
        client,
        comparison,
        &owned,
        &mut resolved.short_lists,
        &mut resolved.warnings,
    )
    .await;
    resolved.foreign = comparison.foreign;
    resolved.adopted += u32::try_from(comparison.adopted.len()).unwrap_or(u32::MAX);
    if !dry_run {
        for booking in &comparison.adopted {
            ledger.adopt_booking(booking, now).await?;
        }
        ledger
            .set_booking_states(&comparison.vanished, BookingState::Vanished, now)
            .await?;
    }
    for booking in owned.iter_mut() {
        if comparison.vanished.contains(&booking.booking_id) {
            booking.state = BookingState::Vanished;
        }
    }
    owned.extend(comparison.adopted);
    resolved.owned = owned;
    resolved.vanished = comparison.vanished;
    Ok(resolved)
}

/// Settles one open entry against its object's list; returns 1 when a create is adopted.
async fn settle(
    ledger: &Ledger,
    entry: &JournalEntry,
    listed: &[Booking],
    owned: &mut Vec<OwnedBooking>,
    now: DateTime<Utc>,
) -> Result<u32, LedgerError> {
    match entry.kind {
        WriteKind::Create => {
            let known: HashSet<i64> = owned.iter().map(|b| b.booking_id).collect();
            let Some(booking) = resolve_create(entry, listed, |id| known.contains(&id)) else {
                let why = "not in FlexyKey's list: the create never happened";
                ledger
                    .journal_resolve(entry.id, JournalState::NotCreated, Some(why), now)
                    .await?;
                return Ok(0);
            };
            let adopted = entry.owned_as(booking.booking_id);
            ledger
                .journal_booking_created(entry.id, JournalState::Adopted, &adopted, now)
                .await?;
            owned.retain(|b| {
                !(b.reservation_key == adopted.reservation_key && b.state == BookingState::Vanished)
            });
            owned.push(adopted);
            Ok(1)
        }
        WriteKind::Delete => {
            let booking_id = entry.booking_id.unwrap_or_default();
            if listed.iter().any(|b| b.booking_id == booking_id) {
                let why = "still in FlexyKey's list: deleted again if still wanted";
                ledger
                    .journal_resolve(entry.id, JournalState::Failed, Some(why), now)
                    .await?;
            } else {
                ledger
                    .journal_booking_deleted(entry.id, booking_id, now)
                    .await?;
                owned.retain(|b| b.booking_id != booking_id);
            }
            Ok(0)
        }
    }
}
