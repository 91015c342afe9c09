//! What one read of a source does to its stored reservations (debounce counting) and to its
//! shrink guard. Pure functions, like the plan: the pass stores what they return.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::plan::Policy;
use crate::ledger::{ShrinkHold, StoredReservation};
use crate::sources::Reservation;
use crate::text::{HOUR, UPCOMING, count};

/// A fresh read: every reservation it holds is present (misses reset); every stored one it
/// lacks has been missing from one more successful read.
pub fn merge_fresh(
    stored: &[StoredReservation],
    fresh: &[Reservation],
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
        if !seen.contains(before.reservation.key.as_str()) {
            let mut row = before.clone();
            row.misses = row.misses.saturating_add(1);
            merged.push(row);
        }
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

/// The shrink guard's verdict on one successful read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShrinkVerdict {
    /// Deletions stay held while this is set.
    pub hold: Option<ShrinkHold>,
    /// Why an earlier hold ended in this read, if it did.
    pub released: Option<String>,
}

/// One successful read as the shrink guard sees it.
#[derive(Debug, Clone, Copy)]
pub struct ShrinkInput<'a> {
    pub source: &'a str,
    /// The hold in force before this read, if any.
    pub previous: Option<&'a ShrinkHold>,
    /// Upcoming reservations the ledger knew before this read.
    pub before: u32,
    /// Upcoming reservations this read yields.
    pub after: u32,
    /// Fingerprint of the content read.
    pub content: &'a str,
    /// The operator ran `sync --confirm SOURCE`.
    pub confirmed: bool,
}

/// Decides whether a source's deletions are held.
pub fn assess_shrink(input: ShrinkInput<'_>, policy: &Policy, now: DateTime<Utc>) -> ShrinkVerdict {
    let ShrinkInput {
        source,
        previous,
        before,
        after,
        content,
        confirmed,
    } = input;
    let released = |why: String| ShrinkVerdict {
        hold: None,
        released: previous.map(|_| why),
    };
    if confirmed {
        return ShrinkVerdict {
            hold: None,
            released: Some(format!("confirmed by the operator (--confirm {source})")),
        };
    }
    let baseline = previous.map_or(before, |hold| hold.baseline);
    let lost = baseline.saturating_sub(after);
    let share = if baseline == 0 {
        0.0
    } else {
        f64::from(lost) / f64::from(baseline)
    };
    if share <= policy.max_shrink {
        return released(format!(
            "{source} recovered: {} against {baseline} before",
            count(after, UPCOMING)
        ));
    }
    let confirm_after = Duration::hours(i64::from(policy.shrink_confirm_hours));
    if let Some(hold) = previous.filter(|hold| hold.fingerprint == content) {
        if now.signed_duration_since(hold.since) >= confirm_after {
            return released(format!(
                "{source}'s shrunken content stayed the same for {}: accepted",
                count(policy.shrink_confirm_hours, HOUR)
            ));
        }
        return ShrinkVerdict {
            hold: Some(hold.clone()),
            released: None,
        };
    }
    ShrinkVerdict {
        hold: Some(ShrinkHold {
            reason: format!(
                "{source} shrank from {baseline} to {} ({:.0} % gone, \
                 more than the {:.0} % allowed by max_shrink); its deletions are held until \
                 `flexysync sync --confirm {source}` or until the feed stays like this for {}",
                count(after, UPCOMING),
                share * 100.0,
                policy.max_shrink * 100.0,
                count(policy.shrink_confirm_hours, HOUR)
            ),
            since: now,
            fingerprint: content.to_owned(),
            baseline,
        }),
        released: None,
    }
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

    /// The shrink guard's verdict on a read of source "s" under the default policy.
    fn assess(
        previous: Option<&ShrinkHold>,
        before: u32,
        after: u32,
        content: &str,
        confirmed: bool,
        at: DateTime<Utc>,
    ) -> ShrinkVerdict {
        let input = ShrinkInput {
            source: "s",
            previous,
            before,
            after,
            content,
            confirmed,
        };
        assess_shrink(input, &Policy::default(), at)
    }

    #[test]
    fn misses_count_only_successful_reads_and_reset_on_return() {
        let first = merge_fresh(&[], &[res("a", 1), res("b", 2)], now());
        let second = merge_fresh(&first, &[res("a", 1)], now());
        let b = second.iter().find(|s| s.reservation.key == "b").unwrap();
        assert_eq!(b.misses, 1);
        let third = merge_unchanged(&second, now());
        let b = third.iter().find(|s| s.reservation.key == "b").unwrap();
        assert_eq!(b.misses, 2);
        let a = third.iter().find(|s| s.reservation.key == "a").unwrap();
        assert_eq!(a.misses, 0);
        let back = merge_fresh(&third, &[res("a", 1), res("b", 2)], now());
        assert!(back.iter().all(|s| s.misses == 0));
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn a_big_shrink_holds_until_confirmed_or_unchanged_long_enough() {
        let verdict = assess(None, 30, 10, "c1", false, now());
        let hold = verdict.hold.expect("held");
        assert_eq!(hold.baseline, 30);
        assert!(hold.reason.contains("--confirm s"), "{}", hold.reason);
        // Same content an hour later: still held, since the first time.
        let later = now() + Duration::hours(1);
        let again = assess(Some(&hold), 10, 10, "c1", false, later);
        assert_eq!(again.hold.as_ref().map(|h| h.since), Some(now()));
        // Different shrunken content restarts the clock.
        let other = assess(Some(&hold), 10, 9, "c2", false, later);
        assert_eq!(other.hold.as_ref().map(|h| h.since), Some(later));
        // Unchanged for 24 hours: released.
        let day = now() + Duration::hours(24);
        let released = assess(Some(&hold), 10, 10, "c1", false, day);
        assert_eq!(released.hold, None);
        assert!(released.released.is_some());
        // Recovered content: released.
        let recovered = assess(Some(&hold), 10, 29, "c3", false, later);
        assert_eq!(recovered.hold, None);
        // Operator confirmation: released at once.
        let confirmed = assess(Some(&hold), 10, 10, "c1", true, later);
        assert_eq!(confirmed.hold, None);
    }

    #[test]
    fn small_shrinks_and_empty_sources_hold_nothing() {
        assert_eq!(assess(None, 30, 15, "c", false, now()).hold, None);
        assert_eq!(assess(None, 0, 0, "c", false, now()).hold, None);
        assert!(assess(None, 3, 0, "c", false, now()).hold.is_some());
    }
}
