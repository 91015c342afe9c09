//! The observe phase: FlexyKey's lists, read only for the booking objects that need it. An
//! object is listed when the bookings wanted on it changed since its last successful listing,
//! when a write in doubt waits on it, when the plan would write on it, or when its drift check
//! is due (every `drift_check_minutes`, each object at its own offset in the period, so that
//! no minute lists more than its share). Anything else was listed when it last changed and
//! costs no call.
//!
//! The objects where something changed or waits are urgent: the pass writes there first and
//! makes its drift checks afterwards, so a changed stay never waits behind them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::adopt::Listing;
use super::report::{PassFailure, PassFailureKind};
use super::waiting::PassWaiting;
use crate::flexykey::Client;
use crate::ledger::ObjectRecord;
use crate::model::StoredReservation;

/// FlexyKey's lists of the objects read in this pass.
#[derive(Debug, Default)]
pub(super) struct Observed {
    pub listings: Vec<Listing>,
    /// Objects whose list could not be read: nothing is written there in this pass.
    pub failed: BTreeSet<i64>,
    /// Objects left unlisted because another pass is waiting (the drift round gave way).
    pub skipped: BTreeSet<i64>,
}

/// Why each object in scope is or is not listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ListingNeeds {
    pub objects: BTreeSet<i64>,
    /// Of `objects`, those where the wanted bookings changed, a doubt or a planned write waits,
    /// or that were never listed: listed and written before any drift check.
    pub urgent: BTreeSet<i64>,
    /// Objects whose drift check is due (their zone is looked up again too).
    pub due: HashSet<i64>,
    /// Objects with an open journal entry or a planned write.
    pub pinned: HashSet<i64>,
}

/// The fingerprint of the bookings wanted on each object: the reservations that count (not
/// yet debounced away), by key and version.
pub(super) fn desired_fingerprints(
    reservations: &[StoredReservation],
    debounce_reads: u32,
) -> HashMap<i64, String> {
    let mut by_object: BTreeMap<i64, Vec<(&str, &str, bool)>> = BTreeMap::new();
    for stored in reservations {
        by_object
            .entry(stored.reservation.booking_object_id)
            .or_default()
            .push((
                &stored.reservation.key,
                &stored.fingerprint,
                stored.misses >= debounce_reads,
            ));
    }
    by_object
        .into_iter()
        .map(|(object, mut rows)| {
            rows.sort_unstable();
            let mut hasher = Sha256::new();
            for (key, fingerprint, gone) in rows {
                hasher.update(key.as_bytes());
                hasher.update([0]);
                hasher.update(fingerprint.as_bytes());
                hasher.update([u8::from(gone)]);
            }
            (object, hex::encode(&hasher.finalize()[..16]))
        })
        .collect()
}

/// True when the object's drift check fell due since its last listing: its checks come at
/// `offset + k × period`, the offset a stable hash of its id.
pub(super) fn drift_due(
    object: i64,
    listed_at: Option<DateTime<Utc>>,
    period_minutes: u32,
    now: DateTime<Utc>,
) -> bool {
    let Some(listed_at) = listed_at else {
        return true;
    };
    let period = i64::from(period_minutes.max(1)) * 60;
    let digest = Sha256::digest(object.to_le_bytes());
    let hash = u64::from_le_bytes(digest[..8].try_into().unwrap_or_default());
    let offset = i64::try_from(hash % period.unsigned_abs()).unwrap_or(0);
    let tick = |at: DateTime<Utc>| (at.timestamp() - offset).div_euclid(period);
    tick(now) > tick(listed_at)
}

/// Which objects in scope must be listed. `pinned`: objects with an open journal entry or a
/// write planned on them.
pub(super) fn listing_needs(
    in_scope: &BTreeSet<i64>,
    pinned: HashSet<i64>,
    desired: &HashMap<i64, String>,
    records: &HashMap<i64, &ObjectRecord>,
    period_minutes: u32,
    now: DateTime<Utc>,
) -> ListingNeeds {
    let mut needs = ListingNeeds {
        pinned,
        ..ListingNeeds::default()
    };
    for &object in in_scope {
        let record = records.get(&object);
        let due = drift_due(
            object,
            record.and_then(|r| r.listed_at),
            period_minutes,
            now,
        );
        if due {
            needs.due.insert(object);
        }
        let changed = record.and_then(|r| r.desired_fingerprint.as_ref()) != desired.get(&object)
            && desired.contains_key(&object);
        let never_listed = record.is_none_or(|r| r.listed_at.is_none());
        if changed || never_listed || needs.pinned.contains(&object) {
            needs.urgent.insert(object);
        }
        if due || changed || needs.pinned.contains(&object) {
            needs.objects.insert(object);
        }
    }
    needs
}

impl ListingNeeds {
    /// Lists every object in scope, as if each drift check were due; the urgent ones stay
    /// urgent.
    pub fn check_all(&mut self, in_scope: &BTreeSet<i64>) {
        self.objects.clone_from(in_scope);
    }

    /// Lists the objects of `owed` in scope as though their drift check were due (checks an
    /// earlier pass that listed every object gave way on).
    pub fn owe_checks(&mut self, owed: &BTreeSet<i64>, in_scope: &BTreeSet<i64>) {
        for &object in owed.intersection(in_scope) {
            self.objects.insert(object);
            self.due.insert(object);
        }
    }

    /// The objects to list in each round of the pass: the urgent ones, then the drift checks
    /// (after the urgent objects' writes). `together`: one round for all (a dry run).
    pub fn rounds(&self, together: bool) -> [BTreeSet<i64>; 2] {
        if together {
            return [self.objects.clone(), BTreeSet::new()];
        }
        let urgent: BTreeSet<i64> = self.objects.intersection(&self.urgent).copied().collect();
        let drift = self.objects.difference(&urgent).copied().collect();
        [urgent, drift]
    }
}

/// Lists `objects` over `[now, horizon_end)`. With `give_way`, stops after any list call
/// once another pass waits (at least one list is made, so drift checks never starve); the
/// objects not reached are `skipped`.
pub(super) async fn observe(
    client: &Client,
    objects: &BTreeSet<i64>,
    now: DateTime<Utc>,
    horizon_end: DateTime<Utc>,
    errors: &mut Vec<PassFailure>,
    give_way: Option<&PassWaiting>,
) -> Observed {
    let mut observed = Observed::default();
    let mut remaining = objects.iter();
    while let Some(&object) = remaining.next() {
        list_one(client, object, now, horizon_end, errors, &mut observed).await;
        if give_way.is_some_and(PassWaiting::is_waiting) {
            observed.skipped = remaining.copied().collect();
            break;
        }
    }
    observed
}

/// Lists one object into `observed` (its listing, or its failure).
async fn list_one(
    client: &Client,
    object: i64,
    now: DateTime<Utc>,
    horizon_end: DateTime<Utc>,
    errors: &mut Vec<PassFailure>,
    observed: &mut Observed,
) {
    match client.bookings(object, now, horizon_end).await {
        Ok(bookings) => observed.listings.push(Listing {
            booking_object_id: object,
            from: now,
            to: horizon_end,
            bookings,
        }),
        Err(err) => {
            errors.push(PassFailure::new(
                PassFailureKind::List,
                format!(
                    "cannot read the bookings of booking object {object}: {err}; nothing \
                         is written there in this pass"
                ),
            ));
            observed.failed.insert(object);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    #[test]
    fn each_object_is_due_once_per_period_and_the_checks_spread_over_it() {
        // Listed an hour ago: due, whatever the object.
        assert!(drift_due(7, Some(now() - Duration::minutes(61)), 60, now()));
        assert!(drift_due(7, None, 60, now()));
        // Stepping through one period a minute at a time, every object falls due exactly
        // once, and no minute takes much more than its share.
        let objects: Vec<i64> = (1..=600).collect();
        let mut per_minute = vec![0usize; 60];
        let start = now();
        for &object in &objects {
            let mut listed = start;
            let mut times = 0;
            for minute in 1..=60 {
                let at = start + Duration::minutes(minute);
                if drift_due(object, Some(listed), 60, at) {
                    times += 1;
                    per_minute[usize::try_from(minute - 1).unwrap()] += 1;
                    listed = at;
                }
            }
            assert_eq!(times, 1, "object {object}");
        }
        let most = per_minute.iter().max().copied().unwrap_or(0);
        assert!(most <= 25, "600 objects over 60 minutes: {per_minute:?}");
    }

    #[test]
    fn only_changed_pinned_or_due_objects_are_listed() {
        // A moment at which none of objects 1–4 fell due in the minute before.
        let at = (0..120)
            .map(|m| now() + Duration::minutes(m))
            .find(|at| (1..=4).all(|o| !drift_due(o, Some(*at - Duration::minutes(1)), 60, *at)))
            .unwrap();
        let record = |id: i64, fingerprint: &str| ObjectRecord {
            booking_object_id: id,
            timezone: None,
            timezone_checked_at: None,
            listed_at: Some(at - Duration::minutes(1)),
            desired_fingerprint: Some(fingerprint.to_owned()),
        };
        let records = [
            record(1, "a"),
            record(2, "b"),
            record(3, "c"),
            record(4, "d"),
        ];
        let records: HashMap<i64, &ObjectRecord> =
            records.iter().map(|r| (r.booking_object_id, r)).collect();
        let desired = HashMap::from([
            (1, "a".to_owned()),
            (2, "B".to_owned()),
            (3, "c".to_owned()),
            (4, "d".to_owned()),
        ]);
        let in_scope: BTreeSet<i64> = [1, 2, 3, 4, 5].into();
        let needs = listing_needs(&in_scope, HashSet::from([3]), &desired, &records, 60, at);
        // 2 changed, 3 pinned, 5 never listed; 1 and 4 cost nothing.
        assert_eq!(needs.objects, BTreeSet::from([2, 3, 5]));
        assert_eq!(needs.due, HashSet::from([5]));
    }

    #[test]
    fn urgent_objects_come_in_the_first_round_drift_checks_after() {
        let at = now();
        let record = |id: i64, listed_minutes_ago: i64| ObjectRecord {
            booking_object_id: id,
            timezone: None,
            timezone_checked_at: None,
            listed_at: Some(at - Duration::minutes(listed_minutes_ago)),
            desired_fingerprint: Some(format!("f{id}")),
        };
        // 1 due for its drift check, 2 changed, 3 pinned, 4 never listed, 5 quiet.
        let records = [record(1, 120), record(2, 120), record(3, 0), record(5, 0)];
        let records: HashMap<i64, &ObjectRecord> =
            records.iter().map(|r| (r.booking_object_id, r)).collect();
        let mut desired: HashMap<i64, String> = (1..=5).map(|id| (id, format!("f{id}"))).collect();
        desired.insert(2, "changed".to_owned());
        let in_scope: BTreeSet<i64> = (1..=5).collect();
        let mut needs = listing_needs(&in_scope, HashSet::from([3]), &desired, &records, 60, at);
        assert!(!needs.objects.contains(&5), "{needs:?}");
        let [first, drift] = needs.rounds(false);
        assert_eq!(first, BTreeSet::from([2, 3, 4]));
        assert_eq!(drift, BTreeSet::from([1]));
        // A dry run lists them all at once.
        assert_eq!(needs.rounds(true)[0], BTreeSet::from([1, 2, 3, 4]));
        // Listing everything (the daemon's first pass) still writes the urgent ones first.
        needs.check_all(&in_scope);
        let [first, drift] = needs.rounds(false);
        assert_eq!(first, BTreeSet::from([2, 3, 4]));
        assert_eq!(drift, BTreeSet::from([1, 5]));
    }
}
