//! The verify phase: only the objects written to are read again, to check that what was
//! created is there and what was deleted is gone.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};

use super::apply::ApplyReport;
use super::report::{PassFailure, PassFailureKind};
use crate::flexykey::Client;

/// Re-reads the objects written to; returns those whose writes are not confirmed (the re-read
/// failed or disagrees), so that the next pass lists them again.
pub(super) async fn verify(
    client: &Client,
    applied: &ApplyReport,
    now: DateTime<Utc>,
    horizon_end: DateTime<Utc>,
    errors: &mut Vec<PassFailure>,
) -> BTreeSet<i64> {
    let objects: BTreeSet<i64> = applied
        .created_ids
        .iter()
        .chain(&applied.deleted_ids)
        .map(|(object, _)| *object)
        .collect();
    let mut unconfirmed = BTreeSet::new();
    for object in objects {
        let mut fail = |text: String| {
            unconfirmed.insert(object);
            errors.push(PassFailure::new(PassFailureKind::Verify, text));
        };
        let listed: HashSet<i64> = match client.bookings(object, now, horizon_end).await {
            Ok(list) => list.into_iter().map(|b| b.booking_id).collect(),
            Err(err) => {
                fail(format!(
                    "cannot re-read booking object {object} to confirm the writes: {err}"
                ));
                continue;
            }
        };
        for (_, id) in applied.created_ids.iter().filter(|(o, _)| *o == object) {
            if !listed.contains(id) {
                fail(format!(
                    "booking {id} was created on booking object {object} but is missing on re-read"
                ));
            }
        }
        for (_, id) in applied.deleted_ids.iter().filter(|(o, _)| *o == object) {
            if listed.contains(id) {
                fail(format!(
                    "booking {id} was deleted on booking object {object} but is still listed"
                ));
            }
        }
    }
    unconfirmed
}
