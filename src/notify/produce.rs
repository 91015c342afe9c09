//! Detection run against the ledger after each pass and archive pull: reads the stays and the
//! recent access log, runs the pure detectors, and writes what they found to the outbox (each
//! fact once, by its stable id).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;

use super::detect::{DetectRules, Stay, detect};
use super::event::{EventKind, NewEvent};
use super::health::{SourceState, source_events};
use super::mapping;
use super::refusal::RefusalPatterns;
use crate::config::Config;
use crate::ledger::{ArchiveFilter, Ledger, LedgerError};

/// How far back the access log is read: the longest a check-in can be waited for.
const LOG_LOOKBACK: Duration = Duration::days(3);

/// Outages older than this are not followed up with a recovery.
const TOLD_LOOKBACK: Duration = Duration::days(14);

/// The detection rules of a config's `[alerts]`.
pub fn rules(config: &Config) -> DetectRules {
    let alerts = &config.alerts;
    DetectRules {
        default_country: alerts.default_country.clone(),
        refusals: RefusalPatterns::new(&alerts.refusal_patterns),
        no_show_after: Duration::hours(i64::from(alerts.no_show_hours)),
        arrival_window: Duration::hours(i64::from(alerts.alert_hours)),
        denial_lead: Duration::hours(2),
    }
}

/// Runs detection over the ledger at `now`; returns how many new events were written.
pub async fn detect_and_record(
    ledger: &Ledger,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<u64, LedgerError> {
    let rules = rules(config);
    let stays = current_stays(ledger, config, now).await?;
    let filter = ArchiveFilter {
        from: Some(now - LOG_LOOKBACK),
        to: Some(now),
        ..ArchiveFilter::default()
    };
    let entries: Vec<_> = ledger
        .archive_entries(&filter)
        .map_ok(|archived| mapping::access_entry(&archived))
        .try_collect()
        .await?;
    // The log is known up to where every unit has been pulled; without an archive, nothing
    // is known, so no no-show is ever claimed.
    let units = ledger.archive_units().await?;
    let log_known_to = units
        .iter()
        .filter(|u| u.present)
        .map(|u| u.pulled_to)
        .min()
        .flatten()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut events = detect(&stays, &entries, now, log_known_to, &rules);
    events.extend(source_health(ledger, now).await?);
    ledger.record_events(&events, now).await
}

/// Outages and held deletions of the sources, and the ends of those told before.
async fn source_health(ledger: &Ledger, now: DateTime<Utc>) -> Result<Vec<NewEvent>, LedgerError> {
    let states: Vec<SourceState> = ledger
        .source_reads()
        .await?
        .into_iter()
        .map(mapping::source_state)
        .collect();
    let kinds = [
        EventKind::SourceFailing,
        EventKind::SourceRecovered,
        EventKind::DeletionsHeld,
        EventKind::DeletionsReleased,
    ];
    let told = ledger
        .recent_events(&kinds, now - TOLD_LOOKBACK, 1000)
        .await?;
    Ok(source_events(&states, &told, now))
}

async fn current_stays(
    ledger: &Ledger,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Vec<Stay>, LedgerError> {
    let overlap_ok: HashSet<&str> = config
        .sources
        .iter()
        .filter(|s| s.overlap_ok)
        .map(|s| s.name.as_str())
        .collect();
    let zones: HashMap<&str, String> = config
        .sources
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.timezone?.0.name().to_owned())))
        .collect();
    let confirmed: HashSet<String> = ledger
        .owned_bookings()
        .await?
        .into_iter()
        .map(|b| b.reservation_key)
        .collect();
    let mut units: HashMap<i64, Vec<i64>> = HashMap::new();
    for (object, unit) in ledger.object_units().await? {
        units.entry(object).or_default().push(unit);
    }
    Ok(ledger
        .reservations()
        .await?
        .into_iter()
        .map(|stored| stored.reservation)
        .filter(|r| r.end > now - LOG_LOOKBACK)
        .map(|r| {
            let object_units = units.get(&r.booking_object_id).cloned().unwrap_or_default();
            let overlap = overlap_ok.contains(r.source.as_str());
            let is_confirmed = confirmed.contains(&r.key);
            let mut stay = mapping::stay(&r, object_units, overlap, is_confirmed);
            // Messages show times in the source's zone, where the guest is.
            stay.object.timezone = zones.get(r.source.as_str()).cloned();
            stay
        })
        .collect())
}
