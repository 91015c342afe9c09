//! What one read of a source does to its stored reservations (debounce counting). Pure
//! functions, like the plan: the pass stores what they return.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::plan::Policy;
use crate::model::{Reservation, StoredReservation};

/// A fresh read: every reservation it holds is present (misses reset); every stored one it
/// lacks has been missing from one more successful read, unless its key begins with one of
/// `unknown` (a VEVENT that could not be read): those are kept exactly as they were.
pub fn merge_fresh(
    stored: &[StoredReservation],
    fresh: &[Reservation],
    unknown: &[String],
    now: DateTime<Utc>,
) -> Vec<StoredReservation> {
    let previous: HashMap<&str, &StoredReservation> = stored
        .iter()
        .map(|s| (s.reservation.key.as_str(), s))
        .collect();
    let mut seen = std::collections::HashSet::with_capacity(fresh.len());
    let mut merged = Vec::with_capacity(fresh.len().max(stored.len()));
    for reservation in fresh {
        if !seen.insert(reservation.key.as_str()) {
            continue; // a duplicate key: the first one wins
        }
        let mut row = StoredReservation::new(reservation.clone(), now);
        if let Some(before) = previous.get(reservation.key.as_str()) {
            row.first_seen = before.first_seen;
        }
        merged.push(row);
    }
    for before in stored {
        let key = before.reservation.key.as_str();
        if seen.contains(key) {
            continue;
        }
        let mut row = before.clone();
        if !unknown
            .iter()
            .any(|prefix| key.starts_with(prefix.as_str()))
        {
            row.misses = row.misses.saturating_add(1);
        }
        merged.push(row);
    }
    merged
}

/// A read that found the content unchanged since the last fresh one: what was there is still
/// there, what was missing is missing from one more successful read.
pub fn merge_unchanged(stored: &[StoredReservation], now: DateTime<Utc>) -> Vec<StoredReservation> {
    stored
        .iter()
        .map(|before| {
            let mut row = before.clone();
            if row.misses == 0 {
                row.last_seen = now;
            } else {
                row.misses = row.misses.saturating_add(1);
            }
            row
        })
        .collect()
}

/// Stored reservations that still matter: in the last successful read (no misses), not
/// ended, starting within the horizon.
pub fn upcoming<'a>(
    stored: impl IntoIterator<Item = &'a StoredReservation>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> u32 {
    let horizon_end = policy.horizon_end(now);
    let count = stored
        .into_iter()
        .filter(|s| s.misses == 0)
        .map(|s| &s.reservation)
        .filter(|r| r.end > now && r.start <= horizon_end)
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn res(key: &str, day: u32) -> Reservation {
        Reservation {
            source: "s".into(),
            key: key.into(),
            booking_object_id: 123,
            start: Utc.with_ymd_and_hms(2026, 12, day, 15, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 12, day + 1, 11, 0, 0).unwrap(),
            credentials: Default::default(),
            label: "Reserved".into(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    #[test]
    fn misses_count_only_successful_reads_and_reset_on_return() {
        let first = merge_fresh(&[], &[res("a", 1), res("b", 2)], &[], now());
        let second = merge_fresh(&first, &[res("a", 1)], &[], now());
        let b = second.iter().find(|s| s.reservation.key == "b").unwrap();
        assert_eq!(b.misses, 1);
        let third = merge_unchanged(&second, now());
        let b = third.iter().find(|s| s.reservation.key == "b").unwrap();
        assert_eq!(b.misses, 2);
        let a = third.iter().find(|s| s.reservation.key == "a").unwrap();
        assert_eq!(a.misses, 0);
        let back = merge_fresh(&third, &[res("a", 1), res("b", 2)], &[], now());
        assert!(back.iter().all(|s| s.misses == 0));
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn an_unreadable_uid_keeps_its_stored_reservations_as_they_were() {
        let first = merge_fresh(
            &[],
            &[res("s/a/", 1), res("s/b/", 2), res("s/b/x", 3)],
            &[],
            now(),
        );
        // UID b could not be read: neither of its occurrences is counted missing.
        let second = merge_fresh(&first, &[res("s/a/", 1)], &["s/b/".to_owned()], now());
        assert_eq!(second.len(), 3);
        assert!(second.iter().all(|s| s.misses == 0), "{second:?}");
        // Read again, and gone: now it is missing.
        let third = merge_fresh(&second, &[res("s/a/", 1)], &[], now());
        assert_eq!(third.iter().filter(|s| s.misses == 1).count(), 2);
    }
}
