//! Drift is confirmed, never inferred: an owned booking missing from its object's list is read
//! on its own (`GET /Bookings/{id}`) before it counts as deleted by hand and gets repaired. A
//! list can be short (a server cut it off, a replica lagging), and a repair made on its
//! strength would duplicate the booking.

use std::collections::HashSet;

use super::adopt::Comparison;
use crate::flexykey::{ApiError, Client};
use crate::model::OwnedBooking;

/// What the single reads said about the bookings a list left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VanishedCheck {
    /// Answered 404: deleted by hand.
    pub confirmed: Vec<i64>,
    /// Objects whose list left out a booking that still exists: the list is not to be trusted,
    /// so nothing is written there in this pass.
    pub short_lists: Vec<i64>,
    /// Plain words for the operator, one per booking that was not confirmed.
    pub warnings: Vec<String>,
}

/// Reads each of `candidates` (owned bookings missing from their lists). A 404 confirms it; a
/// booking found is not vanished (its object's list was short); any other error leaves it
/// unknown, and nothing is repaired for it in this pass.
pub async fn check_vanished(
    client: &Client,
    candidates: &[i64],
    owned: &[OwnedBooking],
) -> VanishedCheck {
    let mut check = VanishedCheck::default();
    let mut short: HashSet<i64> = HashSet::new();
    for &booking_id in candidates {
        let object = owned
            .iter()
            .find(|b| b.booking_id == booking_id)
            .map(|b| b.booking_object_id);
        let on = object.map_or_else(String::new, |o| format!(" on booking object {o}"));
        match client.booking(booking_id).await {
            Err(ApiError::NotFound { .. }) => check.confirmed.push(booking_id),
            Ok(found) => {
                check.warnings.push(format!(
                    "booking {booking_id}{on} is missing from FlexyKey's list but still exists: \
                     the list was incomplete, so nothing is repaired or written there in this pass"
                ));
                for object in object.into_iter().chain([found.booking_object_id]) {
                    if short.insert(object) {
                        check.short_lists.push(object);
                    }
                }
            }
            Err(err) => check.warnings.push(format!(
                "booking {booking_id}{on} is missing from FlexyKey's list and could not be read \
                 on its own ({err}): whether it was deleted is unknown, so it is not repaired in \
                 this pass"
            )),
        }
    }
    check
}

/// `comparison` with only the confirmed disappearances left in it; the objects whose lists
/// proved short are added to `unlisted`, and what could not be confirmed to `warnings`.
pub async fn confirm_vanished(
    client: &Client,
    mut comparison: Comparison,
    owned: &[OwnedBooking],
    unlisted: &mut HashSet<i64>,
    warnings: &mut Vec<String>,
) -> Comparison {
    if comparison.vanished.is_empty() {
        return comparison;
    }
    let check = check_vanished(client, &comparison.vanished, owned).await;
    unlisted.extend(check.short_lists);
    warnings.extend(check.warnings);
    comparison.vanished = check.confirmed;
    comparison
}
