//! Booking objects' names, kept in the ledger so that events, mails and the status page say
//! "Cabin 7" instead of a number. FlexyKey's object list is read only when an object in scope
//! has no name looked up yet or its name is older than [`NAME_REFRESH`]; the list read is handed
//! on to the zone lookup, so a pass reads it at most once.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::config::Config;
use crate::flexykey::{BookingObject, Client};
use crate::ledger::{Ledger, ObjectRecord};

/// How long a kept name is trusted before FlexyKey's list is read again.
const NAME_REFRESH: Duration = Duration::days(1);

/// The objects whose names are wanted: those the config names and those the ledger knows.
pub(super) fn name_scope(config: &Config, records: &[ObjectRecord]) -> BTreeSet<i64> {
    config
        .sources
        .iter()
        .flat_map(|s| s.booking_object_id.into_iter().chain(s.objects.values().copied()))
        .chain(records.iter().map(|r| r.booking_object_id))
        .collect()
}

/// True when an object of `scope` has no name looked up, or one looked up too long ago.
pub(super) fn names_due(
    scope: &BTreeSet<i64>,
    checked: &HashMap<i64, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    scope
        .iter()
        .any(|object| checked.get(object).is_none_or(|at| *at + NAME_REFRESH <= now))
}

/// Reads FlexyKey's object list when a name in `scope` is due and keeps every name in it (and
/// "no name" for the objects of `scope` it does not list). A failure only costs the names: it
/// is logged, and the next pass tries again. Returns the list read, if any; no scope (a dry
/// run) reads and keeps nothing.
pub(super) async fn refresh_names(
    ledger: &Ledger,
    client: &Client,
    scope: Option<&BTreeSet<i64>>,
    now: DateTime<Utc>,
) -> Option<Vec<BookingObject>> {
    let scope = scope?;
    let checked = match ledger.object_names().await {
        Ok(names) => names
            .into_iter()
            .map(|n| (n.booking_object_id, n.checked_at))
            .collect(),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the kept object names");
            return None;
        }
    };
    if !names_due(scope, &checked, now) {
        return None;
    }
    let objects = match client.booking_objects().await {
        Ok(objects) => objects,
        Err(err) => {
            tracing::warn!(error = %err, "cannot list the booking objects for their names");
            return None;
        }
    };
    let mut names: Vec<(i64, Option<String>)> = objects
        .iter()
        .map(|o| (o.booking_object_id, o.name.clone().filter(|n| !n.trim().is_empty())))
        .collect();
    let listed: BTreeSet<i64> = names.iter().map(|(id, _)| *id).collect();
    names.extend(scope.difference(&listed).map(|id| (*id, None)));
    if let Err(err) = ledger.keep_object_names(&names, now).await {
        tracing::warn!(error = %err, "cannot keep the object names");
    }
    Some(objects)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn names_are_due_when_never_looked_up_or_a_day_old() {
        let now = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        let scope: BTreeSet<i64> = [1, 2].into();
        let fresh: HashMap<i64, DateTime<Utc>> =
            [(1, now - Duration::hours(23)), (2, now - Duration::minutes(1))].into();
        assert!(!names_due(&scope, &fresh, now));
        let mut missing = fresh.clone();
        missing.remove(&2);
        assert!(names_due(&scope, &missing, now));
        let mut stale = fresh;
        stale.insert(1, now - Duration::days(1));
        assert!(names_due(&scope, &stale, now));
        assert!(!names_due(&BTreeSet::new(), &HashMap::new(), now));
    }
}
