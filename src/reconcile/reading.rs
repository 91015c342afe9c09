//! How one read of a source becomes stored reservations, a read record and a report: iCal
//! sources through debounce and the shrink guard, pushed (webhook) sources as they stand.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::pass::{PassOptions, SourceReport};
use super::plan::{Policy, ReadKind};
use super::reads::{ShrinkInput, assess_shrink, merge_fresh, merge_unchanged, upcoming};
use crate::config::{Config, SourceConfig, SourceKind};
use crate::flexykey::Client;
use crate::ledger::{SourceReadRecord, StoredReservation};
use crate::sources::{ReadOutcome, Reservation};

/// One read of an iCal source and what the ledger knew before it.
pub(super) struct ReadInput<'a> {
    pub name: &'a str,
    pub outcome: ReadOutcome,
    pub memo: Option<String>,
    pub stored: &'a [StoredReservation],
    pub previous: Option<&'a SourceReadRecord>,
    /// The operator ran `sync --confirm SOURCE`.
    pub confirmed: bool,
}

type Absorbed = (Vec<StoredReservation>, SourceReadRecord, SourceReport);

/// Folds one read into the source's stored reservations, its read record and its report.
pub(super) fn absorb_read(input: ReadInput<'_>, policy: &Policy, now: DateTime<Utc>) -> Absorbed {
    let ReadInput {
        name,
        outcome,
        memo,
        stored,
        previous,
        confirmed,
    } = input;
    let before = upcoming(stored, policy, now);
    let previous_hold = previous.and_then(|p| p.hold.as_ref());
    let mut record = SourceReadRecord {
        source: name.to_owned(),
        last_attempt_at: now,
        last_outcome: String::new(),
        last_reason: None,
        last_success_at: previous.and_then(|p| p.last_success_at),
        last_fresh_at: previous.and_then(|p| p.last_fresh_at),
        content_fingerprint: previous.and_then(|p| p.content_fingerprint.clone()),
        consecutive_failures: 0,
        // As the reader returned it: none after a failure, so the next fetch is unconditional.
        fetch_memo: memo,
        hold: previous_hold.cloned(),
    };
    let mut report = SourceReport {
        name: name.to_owned(),
        read: ReadKind::Failed,
        failure: None,
        upcoming: before,
        warnings: vec![],
        hold: None,
        released: None,
    };
    let (merged, content) = match outcome {
        ReadOutcome::Failed { reason } => {
            record.last_outcome = "failed".into();
            record.last_reason = Some(reason.clone());
            record.consecutive_failures = previous
                .map_or(0, |p| p.consecutive_failures)
                .saturating_add(1);
            report.failure = Some(reason);
            report.hold = previous_hold.map(|h| h.reason.clone());
            return (stored.to_vec(), record, report);
        }
        ReadOutcome::Fresh {
            reservations,
            content_fingerprint,
            warnings,
        } => {
            record.last_outcome = "fresh".into();
            record.last_fresh_at = Some(now);
            report.read = ReadKind::Fresh;
            report.warnings = warnings;
            let merged = merge_fresh(stored, &reservations, now);
            (merged, content_fingerprint)
        }
        ReadOutcome::Unchanged => {
            record.last_outcome = "unchanged".into();
            report.read = ReadKind::Unchanged;
            let content = record.content_fingerprint.clone().unwrap_or_default();
            (merge_unchanged(stored, now), content)
        }
    };
    record.last_success_at = Some(now);
    record.content_fingerprint = Some(content.clone());
    let after = upcoming(&merged, policy, now);
    let verdict = assess_shrink(
        ShrinkInput {
            source: name,
            previous: previous_hold,
            before,
            after,
            content: &content,
            confirmed,
        },
        policy,
        now,
    );
    record.hold = verdict.hold.clone();
    report.upcoming = after;
    report.hold = verdict.hold.map(|h| h.reason);
    report.released = verdict.released;
    (merged, record, report)
}

/// The zone of each source's booking object (its first unit's), for sources without one.
pub(super) async fn object_timezones(
    client: &Client,
    config: &Config,
    options: &PassOptions,
    warnings: &mut Vec<String>,
) -> HashMap<i64, Tz> {
    let wanted: Vec<&SourceConfig> = config
        .sources
        .iter()
        .filter(|s| s.kind == SourceKind::Ical && s.timezone.is_none())
        .filter(|s| {
            options
                .only_source
                .as_ref()
                .is_none_or(|only| only == &s.name)
        })
        .collect();
    let mut zones = HashMap::new();
    if wanted.is_empty() {
        return zones;
    }
    let objects = match client.booking_objects().await {
        Ok(objects) => objects,
        Err(err) => {
            warnings.push(format!(
                "cannot list the booking objects to find their time zones ({err}); sources \
                 without `timezone` are read in UTC"
            ));
            return zones;
        }
    };
    for source in wanted {
        let Some(object_id) = source.booking_object_id else {
            continue;
        };
        if zones.contains_key(&object_id) {
            continue;
        }
        let unit = objects
            .iter()
            .find(|o| o.booking_object_id == object_id)
            .and_then(|o| o.unit_ids.first().copied());
        let zone = match unit {
            Some(unit_id) => client.unit(unit_id).await.ok().and_then(|u| u.timezone()),
            None => None,
        };
        match zone {
            Some(zone) => {
                zones.insert(object_id, zone);
            }
            None => warnings.push(format!(
                "source {}: the time zone of booking object {object_id} is unknown; its \
                 calendar is read in UTC (set `timezone` on the source)",
                source.name
            )),
        }
    }
    zones
}

/// A pushed (webhook) source: the ledger's confirmed bookings are its whole desired state, so a
/// booking that left it (cancelled) is gone at once, without debounce or shrink guard. A failed
/// snapshot refresh makes the read unknown: nothing is deleted.
pub(super) fn absorb_pushed(
    name: &str,
    refreshed: Result<(), String>,
    listed: Result<Vec<Reservation>, String>,
    stored: &[StoredReservation],
    previous: Option<&SourceReadRecord>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Absorbed {
    let failure = match (&refreshed, &listed) {
        (_, Err(why)) => Some(why.clone()),
        (Err(why), Ok(_)) => Some(format!("snapshot: {why}")),
        _ => None,
    };
    let merged = match &listed {
        Ok(list) => {
            let mut merged = merge_fresh(stored, list, now);
            for row in merged.iter_mut().filter(|row| row.misses > 0) {
                row.misses = row.misses.max(policy.debounce_reads);
            }
            merged
        }
        Err(_) => stored.to_vec(),
    };
    let upcoming_now = upcoming(&merged, policy, now);
    let record = SourceReadRecord {
        source: name.to_owned(),
        last_attempt_at: now,
        last_outcome: if failure.is_some() { "failed" } else { "fresh" }.to_owned(),
        last_reason: failure.clone(),
        last_success_at: if failure.is_some() {
            previous.and_then(|p| p.last_success_at)
        } else {
            Some(now)
        },
        last_fresh_at: if failure.is_some() {
            previous.and_then(|p| p.last_fresh_at)
        } else {
            Some(now)
        },
        content_fingerprint: None,
        consecutive_failures: match failure {
            Some(_) => previous
                .map_or(0, |p| p.consecutive_failures)
                .saturating_add(1),
            None => 0,
        },
        fetch_memo: None,
        hold: None,
    };
    let report = SourceReport {
        name: name.to_owned(),
        read: if failure.is_some() {
            ReadKind::Failed
        } else {
            ReadKind::Pushed
        },
        failure,
        upcoming: upcoming_now,
        warnings: vec![],
        hold: None,
        released: None,
    };
    (merged, record, report)
}
