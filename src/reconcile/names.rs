//! Booking objects' names, kept in the ledger so that events, mails and the status page say
//! "Cabin 7" instead of a number. FlexyKey's object list is read only when an object in scope
//! has no name looked up yet or its name is older than [`NAME_REFRESH`]; the list read is handed
//! on to the zone lookup, so a pass reads it at most once. The zone a source configures for an
//! object is kept too: messages show local times even where the unit's zone was never looked up.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::config::Config;
use crate::flexykey::{BookingObject, Client};
use crate::ledger::{Ledger, ObjectRecord};

/// How long a kept name is trusted before FlexyKey's list is read again.
const NAME_REFRESH: Duration = Duration::days(1);

/// The objects whose names are wanted: those the config names and those the ledger knows.
fn name_scope(config: &Config, records: &[ObjectRecord]) -> BTreeSet<i64> {
    config
        .sources
        .iter()
        .flat_map(|s| {
            s.booking_object_id
                .into_iter()
                .chain(s.objects.values().copied())
        })
        .chain(records.iter().map(|r| r.booking_object_id))
        .collect()
}

/// The zone the config gives each object of `scope` (the first source naming one wins).
fn configured_zones(config: &Config, scope: &BTreeSet<i64>) -> BTreeMap<i64, Option<String>> {
    let mut zones: BTreeMap<i64, Option<String>> = scope.iter().map(|o| (*o, None)).collect();
    for source in &config.sources {
        let Some(zone) = &source.timezone else {
            continue;
        };
        let objects = source.booking_object_id.into_iter();
        for object in objects.chain(source.objects.values().copied()) {
            let kept = zones.entry(object).or_default();
            kept.get_or_insert_with(|| zone.0.name().to_owned());
        }
    }
    zones
}

/// True when an object of `scope` has no name looked up, or one looked up too long ago.
fn names_due(
    scope: &BTreeSet<i64>,
    checked: &HashMap<i64, Option<DateTime<Utc>>>,
    now: DateTime<Utc>,
) -> bool {
    scope.iter().any(|object| {
        checked
            .get(object)
            .copied()
            .flatten()
            .is_none_or(|at| at + NAME_REFRESH <= now)
    })
}

/// Keeps the objects' names (FlexyKey's object list is read when a name in scope is due; "no
/// name" is kept for an object it does not list) and the zones the config gives them, where
/// those changed. A failure only costs the names: it is logged, and the next pass tries again.
/// Returns the object list read, if any, for the zone lookup.
pub(super) async fn keep_names(
    config: &Config,
    ledger: &Ledger,
    client: &Client,
    records: &[ObjectRecord],
    now: DateTime<Utc>,
) -> Option<Vec<BookingObject>> {
    let kept = match ledger.object_names().await {
        Ok(kept) => kept,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the kept object names");
            return None;
        }
    };
    let scope = name_scope(config, records);
    let changed: Vec<(i64, Option<String>)> = configured_zones(config, &scope)
        .into_iter()
        .filter(|(object, zone)| {
            let before = kept.iter().find(|k| k.booking_object_id == *object);
            before.map(|k| &k.configured_timezone) != Some(zone)
        })
        .collect();
    if let Err(err) = ledger.keep_configured_zones(&changed).await {
        tracing::warn!(error = %err, "cannot keep the objects' configured zones");
    }
    let checked = kept
        .iter()
        .map(|k| (k.booking_object_id, k.checked_at))
        .collect();
    if !names_due(&scope, &checked, now) {
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
        .map(|o| {
            (
                o.booking_object_id,
                o.name.clone().filter(|n| !n.trim().is_empty()),
            )
        })
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
        let fresh: HashMap<i64, Option<DateTime<Utc>>> = [
            (1, Some(now - Duration::hours(23))),
            (2, Some(now - Duration::minutes(1))),
        ]
        .into();
        assert!(!names_due(&scope, &fresh, now));
        let mut missing = fresh.clone();
        missing.remove(&2);
        assert!(names_due(&scope, &missing, now));
        let mut never = fresh.clone();
        never.insert(2, None);
        assert!(names_due(&scope, &never, now));
        let mut stale = fresh;
        stale.insert(1, Some(now - Duration::days(1)));
        assert!(names_due(&scope, &stale, now));
        assert!(!names_due(&BTreeSet::new(), &HashMap::new(), now));
    }
}
