//! The read phase: every source in scope is read through the one `SourceReader` interface,
//! and what it says is folded into the stored reservations and stored with its read record.
//! Its result is what the sources want, with each source's certainty.

use std::collections::HashMap;

use super::absorb::{Absorbed, ReadInput, absorb};
use super::pass::PassContext;
use super::plan::{ReadKind, SourceState};
use super::report::SourceReport;
use crate::config::SourceConfig;
use crate::ledger::LedgerError;
use crate::model::{ReadStatus, SourceReadRecord, StoredReservation};
use crate::sources::{ReadOutcome, ReadRequest, SourceReader, ZoneLookup};

/// What the sources want, and how sure each one is.
#[derive(Debug, Default)]
pub(super) struct Desired {
    pub reservations: Vec<StoredReservation>,
    pub states: HashMap<String, SourceState>,
    pub reports: Vec<SourceReport>,
}

impl Desired {
    /// True when the source was read in this pass or is gone from the config (the plan
    /// then decides about its bookings).
    pub fn in_scope(&self, source: &str) -> bool {
        self.states
            .get(source)
            .is_none_or(|s| s.read != ReadKind::NotRead)
    }

    fn add(&mut self, absorbed: Absorbed) {
        let report = absorbed.report;
        let mut state = SourceState::new(report.read);
        state.failure = report.failure.as_ref().map(|f| f.text.clone());
        // A pushed source's hold is its snapshot's: its signed cancellations still apply.
        state.hold = report
            .hold
            .clone()
            .filter(|_| report.read != ReadKind::Pushed);
        state.creates_held = report.creates_held.clone();
        self.states.insert(report.name.clone(), state);
        self.reports.push(report);
        self.reservations.extend(absorbed.merged);
    }
}

/// Reads every source in scope; stores each read (not in a dry run).
pub(super) async fn read_sources(
    ctx: &PassContext<'_>,
    reader: &impl SourceReader,
    zones: &impl ZoneLookup,
) -> Result<Desired, LedgerError> {
    let mut by_source: HashMap<String, Vec<StoredReservation>> = HashMap::new();
    for stored in ctx.ledger.reservations().await? {
        by_source
            .entry(stored.reservation.source.clone())
            .or_default()
            .push(stored);
    }
    let reads: HashMap<String, SourceReadRecord> = ctx
        .ledger
        .source_reads()
        .await?
        .into_iter()
        .map(|r| (r.source.clone(), r))
        .collect();
    let mut fetched = fetch_in_scope(ctx, reader, zones, &reads).await;
    let mut desired = Desired::default();
    let mut to_store = Vec::new();
    for source in &ctx.config.sources {
        let stored = by_source.remove(&source.name).unwrap_or_default();
        let previous = reads.get(&source.name);
        let Some(read) = fetched.remove(source.name.as_str()) else {
            let mut state = SourceState::new(ReadKind::NotRead);
            state.hold = previous.and_then(|r| r.hold.as_ref().map(|h| h.reason.clone()));
            desired.states.insert(source.name.clone(), state);
            desired.reservations.extend(stored);
            continue;
        };
        let absorbed = read_one(ctx, reader, read, source, &stored, previous, &desired);
        let read = absorbed.report.read != ReadKind::Failed;
        let rows = read.then(|| absorbed.merged.clone());
        to_store.push((absorbed.record.clone(), rows));
        desired.add(absorbed);
    }
    if !ctx.dry_run() {
        // Every read of the pass in one transaction: one sync to disk for a thousand feeds.
        let reads: Vec<_> = (to_store.iter())
            .map(|(record, rows)| (record, rows.as_deref()))
            .collect();
        ctx.ledger.store_reads(&reads).await?;
    }
    forget_removed(ctx, by_source, &mut desired).await?;
    Ok(desired)
}

/// Feeds fetched at once: a tick that makes many sources due costs about the slowest few
/// fetches rather than their sum, while one feed host still sees only a few requests at a time.
const CONCURRENT_READS: usize = 8;

/// Reads every source in scope, a few at a time; by source name.
async fn fetch_in_scope<'c>(
    ctx: &'c PassContext<'_>,
    reader: &impl SourceReader,
    zones: &impl ZoneLookup,
    reads: &HashMap<String, SourceReadRecord>,
) -> HashMap<&'c str, (ReadOutcome, Option<String>)> {
    let permits = tokio::sync::Semaphore::new(CONCURRENT_READS);
    let mut pending = Vec::new();
    for source in ctx.config.sources.iter().filter(|s| ctx.in_scope(&s.name)) {
        let previous = reads.get(&source.name);
        let request = ReadRequest {
            source,
            memo: previous.and_then(|p| p.fetch_memo.as_deref()),
            hold: previous.and_then(|p| p.hold.as_ref()),
            guard: ctx.policy.guard(),
            confirmed: ctx.confirmed(&source.name),
            dry_run: ctx.dry_run(),
        };
        let permits = &permits;
        pending.push(async move {
            // Never closed, so a permit always comes.
            let _permit = permits.acquire().await.ok();
            (source.name.as_str(), reader.read(request, zones).await)
        });
    }
    futures::future::join_all(pending)
        .await
        .into_iter()
        .collect()
}

/// Folds one source's read into its stored reservations, record and report.
fn read_one(
    ctx: &PassContext<'_>,
    reader: &impl SourceReader,
    (outcome, memo): (ReadOutcome, Option<String>),
    source: &SourceConfig,
    stored: &[StoredReservation],
    previous: Option<&SourceReadRecord>,
    earlier: &Desired,
) -> Absorbed {
    let confirmed = ctx.confirmed(&source.name);
    let input = ReadInput {
        name: &source.name,
        outcome,
        memo,
        stored,
        previous,
        confirmed,
    };
    let mut absorbed = absorb(input, &ctx.policy, ctx.now);
    if absorbed.report.read != ReadKind::Failed {
        // Derived codes also differ from those of earlier sources' stays on the same door.
        let clashes = reader.distinct_codes(source, &mut absorbed.merged, &earlier.reservations);
        absorbed.report.warnings.extend(clashes);
    }
    absorbed
}

/// Sources gone from the config: their reservations are kept (the plan holds their bookings)
/// unless the operator confirms the removal.
async fn forget_removed(
    ctx: &PassContext<'_>,
    removed: HashMap<String, Vec<StoredReservation>>,
    desired: &mut Desired,
) -> Result<(), LedgerError> {
    for (name, stored) in removed {
        if !ctx.confirmed(&name) {
            desired.reservations.extend(stored);
            continue;
        }
        desired
            .states
            .insert(name.clone(), SourceState::new(ReadKind::Fresh));
        if !ctx.dry_run() {
            let record = SourceReadRecord {
                source: name.clone(),
                last_attempt_at: ctx.now,
                last_outcome: ReadStatus::Fresh,
                last_reason: Some("removed from the config; confirmed".into()),
                last_success_at: Some(ctx.now),
                last_fresh_at: Some(ctx.now),
                content_fingerprint: None,
                consecutive_failures: 0,
                fetch_memo: None,
                hold: None,
                growth_hold: None,
            };
            ctx.ledger.store_read(&record, Some(&[])).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReadStatus;

    fn absorbed(read: ReadKind, hold: Option<&str>) -> Absorbed {
        let mut report = SourceReport::new("s", read, 0);
        report.hold = hold.map(str::to_owned);
        Absorbed {
            merged: vec![],
            record: SourceReadRecord {
                source: "s".into(),
                last_attempt_at: chrono::Utc::now(),
                last_outcome: ReadStatus::Fresh,
                last_reason: None,
                last_success_at: None,
                last_fresh_at: None,
                content_fingerprint: None,
                consecutive_failures: 0,
                fetch_memo: None,
                hold: None,
                growth_hold: None,
            },
            report,
        }
    }

    #[test]
    fn a_held_snapshot_holds_no_deletion_a_calendars_shrink_does() {
        let mut desired = Desired::default();
        desired.add(absorbed(
            ReadKind::Pushed,
            Some("snapshot would cancel 9 of 10"),
        ));
        assert_eq!(
            desired.states["s"].hold, None,
            "signed cancellations still apply"
        );
        assert!(
            desired.reports[0].hold.is_some(),
            "and the hold is reported"
        );
        let mut desired = Desired::default();
        desired.add(absorbed(ReadKind::Fresh, Some("s shrank")));
        assert_eq!(desired.states["s"].hold.as_deref(), Some("s shrank"));
    }
}
