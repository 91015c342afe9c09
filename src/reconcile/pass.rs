//! One full sync pass: read the sources, store what they said, compare FlexyKey's lists with
//! the ledger (doubts, adoption, drift), plan, apply, re-read, record the pass.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::adopt::{self, Listing};
use super::apply::{Applier, ApplyReport, matches_entry};
use super::codes::distinct_across_sources;
use super::plan::{self, Plan, PlanInput, Policy, ReadKind, SourceState};
use super::reading::{ReadInput, absorb_pushed, absorb_read, object_timezones};
use super::vanished::confirm_vanished;
use crate::config::{CodePolicy, Config, SourceConfig, SourceKind};
use crate::flexykey::Client;
use crate::ledger::{
    BookingState, JournalState, Ledger, LedgerError, PassCounts, SourceReadRecord,
    StoredReservation, WriteKind,
};
use crate::sources::ReadOutcome;
use crate::sources::webhook::webhook_reservations;

/// Reads one source. The memo is the reader's own (conditional-fetch state, as JSON).
pub trait SourceReader: Sync {
    /// The secret behind derived keypad codes (to keep them distinct across sources).
    fn code_secret(&self) -> &[u8];

    fn read(
        &self,
        source: &SourceConfig,
        default_timezone: Option<Tz>,
        memo: Option<&str>,
    ) -> impl Future<Output = (ReadOutcome, Option<String>)> + Send;

    /// Refreshes a pushed source from its `snapshot_url` (the truth that corrects missed or
    /// lost webhook events); the error says why it could not.
    fn refresh_pushed(
        &self,
        source: &SourceConfig,
        max_drop: Option<f64>,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    /// Read and plan, but make no write call to FlexyKey and change nothing in the ledger.
    pub dry_run: bool,
    /// Only this source is read and reconciled.
    pub only_source: Option<String>,
    /// Sources whose held deletions the operator lets through.
    pub confirm: Vec<String>,
    /// The daemon's shutdown: no write starts after it fires.
    pub stop: Option<tokio_util::sync::CancellationToken>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceReport {
    pub name: String,
    pub read: ReadKind,
    pub failure: Option<String>,
    /// Upcoming reservations the source now stands for.
    pub upcoming: u32,
    pub warnings: Vec<String>,
    pub hold: Option<String>,
    pub released: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PassReport {
    pub pass_id: Option<i64>,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    pub sources: Vec<SourceReport>,
    pub plan: Plan,
    pub applied: ApplyReport,
    /// Bookings found in FlexyKey by their marker and recorded as owned before planning.
    pub adopted: u32,
    /// Owned bookings found deleted by hand.
    pub vanished: Vec<i64>,
    /// Bookings on the objects that are not flexysync's.
    pub foreign: u32,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub converged: bool,
}

impl PassReport {
    pub fn counts(&self) -> PassCounts {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        PassCounts {
            created: self.applied.created,
            deleted: self.applied.deleted,
            adopted: self.adopted.saturating_add(self.applied.adopted),
            failed: count(self.applied.failures.len() + self.errors.len()),
            held: count(self.plan.held.len()),
            foreign_bookings: self.foreign,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("source {0:?} is not in the config")]
    UnknownSource(String),
    #[error("--confirm {0:?}: no source of that name in the config or the ledger")]
    UnknownConfirm(String),
}

/// Runs one pass. The ledger should be opened exclusively by the caller.
pub async fn run_pass<R: SourceReader>(
    config: &Config,
    ledger: &Ledger,
    client: &Client,
    reader: &R,
    options: &PassOptions,
) -> Result<PassReport, PassError> {
    // On shutdown no call is sent any more, not even one waiting for the rate limiter.
    let stopping;
    let client = match &options.stop {
        Some(stop) => {
            stopping = client.clone().with_stop(Some(stop.clone()));
            &stopping
        }
        None => client,
    };
    if let Some(name) = &options.only_source
        && !config.sources.iter().any(|s| &s.name == name)
    {
        return Err(PassError::UnknownSource(name.clone()));
    }
    for name in &options.confirm {
        if !config.sources.iter().any(|s| &s.name == name) && !ledger.knows_source(name).await? {
            return Err(PassError::UnknownConfirm(name.clone()));
        }
    }
    let now = Utc::now().with_nanosecond_zero();
    let policy = Policy::from_config(&config.sync);
    let dry = options.dry_run;
    let pass_id = if dry {
        None
    } else {
        Some(ledger.pass_started(now, false).await?)
    };
    let mut report = PassReport {
        pass_id,
        dry_run: dry,
        started_at: now,
        sources: vec![],
        plan: Plan::default(),
        applied: ApplyReport::default(),
        adopted: 0,
        vanished: vec![],
        foreign: 0,
        errors: vec![],
        warnings: vec![],
        converged: false,
    };

    // 1. Sources.
    let stored_all = ledger.reservations().await?;
    let reads: HashMap<String, SourceReadRecord> = ledger
        .source_reads()
        .await?
        .into_iter()
        .map(|r| (r.source.clone(), r))
        .collect();
    let mut by_source: HashMap<String, Vec<StoredReservation>> = HashMap::new();
    for stored in stored_all {
        by_source
            .entry(stored.reservation.source.clone())
            .or_default()
            .push(stored);
    }
    let timezones = object_timezones(client, config, options, &mut report.warnings).await;
    let mut states: HashMap<String, SourceState> = HashMap::new();
    let mut reservations: Vec<StoredReservation> = vec![];
    for source in &config.sources {
        let stored = by_source.remove(&source.name).unwrap_or_default();
        let in_scope = options
            .only_source
            .as_ref()
            .is_none_or(|only| only == &source.name);
        let previous = reads.get(&source.name);
        if !in_scope {
            let mut state = SourceState::new(ReadKind::NotRead);
            state.hold = previous.and_then(|r| r.hold.as_ref().map(|h| h.reason.clone()));
            states.insert(source.name.clone(), state);
            reservations.extend(stored);
            continue;
        }
        let (mut merged, record, mut source_report) = if source.kind == SourceKind::Webhook {
            let refreshed = match (&source.snapshot_url, dry) {
                (Some(_), false) => {
                    // The shrink guard, unless the operator confirmed this source.
                    let confirmed = options.confirm.iter().any(|c| c == &source.name);
                    let max_drop = (!confirmed).then_some(config.sync.max_shrink);
                    reader.refresh_pushed(source, max_drop).await
                }
                _ => Ok(()),
            };
            let listed = webhook_reservations(ledger, source, now)
                .await
                .map_err(|err| err.to_string());
            absorb_pushed(
                &source.name,
                refreshed,
                listed,
                &stored,
                previous,
                &policy,
                now,
            )
        } else {
            let timezone = source
                .booking_object_id
                .and_then(|id| timezones.get(&id).copied());
            let (outcome, memo) = reader
                .read(
                    source,
                    timezone,
                    previous.and_then(|p| p.fetch_memo.as_deref()),
                )
                .await;
            let confirmed = options.confirm.iter().any(|c| c == &source.name);
            absorb_read(
                ReadInput {
                    name: &source.name,
                    outcome,
                    memo,
                    stored: &stored,
                    previous,
                    confirmed,
                },
                &policy,
                now,
            )
        };
        // Derived codes also differ from those of earlier sources' stays on the same door.
        if source.kind == SourceKind::Ical
            && source.code != CodePolicy::None
            && source_report.read != ReadKind::Failed
        {
            let clashes = distinct_across_sources(
                &mut merged,
                &reservations,
                reader.code_secret(),
                source.code_length,
            );
            source_report.warnings.extend(clashes);
        }
        if !dry {
            let rows = (source_report.read != ReadKind::Failed).then_some(merged.as_slice());
            ledger.store_read(&record, rows).await?;
        }
        let mut state = SourceState::new(source_report.read);
        state.failure = source_report.failure.clone();
        state.hold = source_report.hold.clone();
        states.insert(source.name.clone(), state);
        report.sources.push(source_report);
        reservations.extend(merged);
    }
    // Sources gone from the config: kept (held by the plan) unless the operator confirms.
    for (name, stored) in by_source {
        if options.confirm.contains(&name) {
            states.insert(name.clone(), SourceState::new(ReadKind::Fresh));
            if !dry {
                let record = SourceReadRecord {
                    source: name.clone(),
                    last_attempt_at: now,
                    last_outcome: "fresh".into(),
                    last_reason: Some("removed from the config; confirmed".into()),
                    last_success_at: Some(now),
                    last_fresh_at: Some(now),
                    content_fingerprint: None,
                    consecutive_failures: 0,
                    fetch_memo: None,
                    hold: None,
                };
                ledger.store_read(&record, Some(&[])).await?;
            }
        } else {
            reservations.extend(stored);
        }
    }
    let mut owned = ledger.owned_bookings().await?;
    for booking in &owned {
        if !states.contains_key(&booking.source) && options.confirm.contains(&booking.source) {
            states.insert(booking.source.clone(), SourceState::new(ReadKind::Fresh));
        }
    }

    // 2. FlexyKey's lists of the objects in scope.
    let in_scope = |source: &str| {
        states
            .get(source)
            .is_none_or(|s| s.read != ReadKind::NotRead)
    };
    let open = if dry {
        vec![]
    } else {
        ledger.open_journal().await?
    };
    let mut objects: BTreeSet<i64> = BTreeSet::new();
    objects.extend(
        config
            .sources
            .iter()
            .filter(|s| in_scope(&s.name))
            .filter_map(|s| s.booking_object_id),
    );
    objects.extend(
        reservations
            .iter()
            .filter(|s| in_scope(&s.reservation.source))
            .map(|s| s.reservation.booking_object_id),
    );
    objects.extend(
        owned
            .iter()
            .filter(|b| in_scope(&b.source))
            .map(|b| b.booking_object_id),
    );
    objects.extend(open.iter().map(|e| e.booking_object_id));
    let horizon_end = policy.horizon_end(now);
    let mut listings = vec![];
    let mut unlisted: HashSet<i64> = HashSet::new();
    for object in objects {
        match client.bookings(object, now, horizon_end).await {
            Ok(bookings) => listings.push(Listing {
                booking_object_id: object,
                from: now,
                to: horizon_end,
                bookings,
            }),
            Err(err) => {
                report.errors.push(format!(
                    "cannot read the bookings of booking object {object}: {err}; nothing is \
                     written there in this pass"
                ));
                unlisted.insert(object);
            }
        }
    }

    // 3. Doubts left by a crash or a lost answer, resolved before anything else.
    for entry in &open {
        let Some(listing) = listings
            .iter()
            .find(|l| l.booking_object_id == entry.booking_object_id)
        else {
            continue;
        };
        match entry.kind {
            WriteKind::Create => {
                let known: HashSet<i64> = owned.iter().map(|b| b.booking_id).collect();
                let found = listing
                    .bookings
                    .iter()
                    .find(|b| !known.contains(&b.booking_id) && matches_entry(b, entry));
                match found {
                    Some(booking) => {
                        let adopted = entry.owned_as(booking.booking_id);
                        ledger
                            .journal_booking_created(entry.id, JournalState::Adopted, &adopted, now)
                            .await?;
                        owned.retain(|b| {
                            !(b.reservation_key == adopted.reservation_key
                                && b.state == BookingState::Vanished)
                        });
                        owned.push(adopted);
                        report.adopted += 1;
                    }
                    None => {
                        ledger
                            .journal_resolve(
                                entry.id,
                                JournalState::NotCreated,
                                Some("not in FlexyKey's list: the create never happened"),
                                now,
                            )
                            .await?;
                    }
                }
            }
            WriteKind::Delete => {
                let booking_id = entry.booking_id.unwrap_or_default();
                if listing.bookings.iter().any(|b| b.booking_id == booking_id) {
                    ledger
                        .journal_resolve(
                            entry.id,
                            JournalState::Failed,
                            Some("still in FlexyKey's list: deleted again if still wanted"),
                            now,
                        )
                        .await?;
                } else {
                    ledger
                        .journal_booking_deleted(entry.id, booking_id, now)
                        .await?;
                    owned.retain(|b| b.booking_id != booking_id);
                }
            }
        }
    }

    // 4. Adoption by marker, drift, foreign bookings.
    let comparison = adopt::compare(&listings, &reservations, &owned, now);
    let comparison = confirm_vanished(
        client,
        comparison,
        &owned,
        &mut unlisted,
        &mut report.warnings,
    )
    .await;
    report.foreign = comparison.foreign;
    report.adopted += u32::try_from(comparison.adopted.len()).unwrap_or(u32::MAX);
    if !dry {
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
    report.vanished = comparison.vanished;

    // 5. Plan.
    let planned = plan::plan(PlanInput {
        reservations: &reservations,
        owned: &owned,
        sources: &states,
        policy: &policy,
        now,
    });
    report.plan = planned;
    if dry {
        // A dry run "converges" when applying its plan would: nothing held, nothing unknown.
        report.converged = report.plan.held.is_empty()
            && report.errors.is_empty()
            && sources_settled(&report.sources);
        return Ok(report);
    }

    // 6. Apply, then re-read what was written.
    // Objects whose list could not be read may hide a doubt: nothing is written there.
    let mut applier = Applier::new(client, ledger, pass_id).with_stop(options.stop.clone());
    applier.hold_objects(unlisted.iter().copied());
    report.applied = applier.apply(&report.plan).await?;
    verify(
        client,
        &report.applied,
        now,
        horizon_end,
        &mut report.errors,
    )
    .await;
    // What ended a month ago is never acted on again.
    ledger.prune_reservations(now - Duration::days(30)).await?;
    ledger.prune_bookings(now - Duration::days(30)).await?;

    report.converged = report.applied.failures.is_empty()
        && report.errors.is_empty()
        && report.plan.held.is_empty()
        && sources_settled(&report.sources);
    let mut errors = report.errors.clone();
    errors.extend(report.applied.failures.iter().cloned());
    if let Some(id) = pass_id {
        ledger
            .pass_finished(id, Utc::now(), &report.counts(), report.converged, &errors)
            .await?;
    }
    Ok(report)
}

/// Every source was read, and none is held by the shrink guard.
fn sources_settled(sources: &[SourceReport]) -> bool {
    sources
        .iter()
        .all(|s| s.read != ReadKind::Failed && s.hold.is_none())
}

/// Re-reads the objects written to and checks that what was created is there and what was
/// deleted is gone.
async fn verify(
    client: &Client,
    applied: &ApplyReport,
    now: DateTime<Utc>,
    horizon_end: DateTime<Utc>,
    errors: &mut Vec<String>,
) {
    let objects: BTreeSet<i64> = applied
        .created_ids
        .iter()
        .chain(&applied.deleted_ids)
        .map(|(object, _)| *object)
        .collect();
    for object in objects {
        let listed: HashSet<i64> = match client.bookings(object, now, horizon_end).await {
            Ok(list) => list.into_iter().map(|b| b.booking_id).collect(),
            Err(err) => {
                errors.push(format!(
                    "cannot re-read booking object {object} to confirm the writes: {err}"
                ));
                continue;
            }
        };
        for (_, id) in applied.created_ids.iter().filter(|(o, _)| *o == object) {
            if !listed.contains(id) {
                errors.push(format!(
                    "booking {id} was created on booking object {object} but is missing on re-read"
                ));
            }
        }
        for (_, id) in applied.deleted_ids.iter().filter(|(o, _)| *o == object) {
            if listed.contains(id) {
                errors.push(format!(
                    "booking {id} was deleted on booking object {object} but is still listed"
                ));
            }
        }
    }
}

trait SecondPrecision {
    fn with_nanosecond_zero(self) -> Self;
}

impl SecondPrecision for DateTime<Utc> {
    /// FlexyKey keeps seconds: a clamped start must compare equal after a round trip.
    fn with_nanosecond_zero(self) -> Self {
        DateTime::from_timestamp(self.timestamp(), 0).unwrap_or(self)
    }
}
