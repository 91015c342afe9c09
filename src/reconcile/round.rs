//! One round of a pass over a set of booking objects: observe (list them) → resolve (doubts,
//! adoption, drift) → plan (pure) → apply (journaled) → verify. A pass makes two: first the
//! objects where something changed or waits, then the drift checks, so that a changed stay's
//! create never waits behind the lists of objects where nothing changed. The drift round gives
//! way when another pass waits (`waiting`): what it did not list stays due.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::apply::Applier;
use super::desired::Desired;
use super::observe::{Observed, observe};
use super::pass::PassContext;
use super::plan::{self, Plan, PlanInput};
use super::report::PassReport;
use super::resolve::resolve;
use super::verify::verify;
use crate::flexykey::Client;
use crate::ledger::LedgerError;
use crate::model::{JournalEntry, OwnedBooking};

/// What the ledger holds when a round begins: open journal entries and owned bookings.
pub(super) struct Known {
    pub open: Vec<JournalEntry>,
    pub owned: Vec<OwnedBooking>,
}

impl Known {
    pub async fn load(ctx: &PassContext<'_>) -> Result<Known, LedgerError> {
        let open = match ctx.dry_run() {
            true => vec![],
            false => ctx.ledger.open_journal().await?,
        };
        let owned = ctx.ledger.owned_bookings().await?;
        Ok(Known { open, owned })
    }
}

/// Which round of the pass: the first plans everything (its plan is the pass's), the drift
/// round writes only on the objects it listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RoundKind {
    First,
    Drift,
}

/// One round: the objects it lists, and the wanted bookings' fingerprints to remember for them.
pub(super) struct Round<'r> {
    pub kind: RoundKind,
    pub objects: &'r BTreeSet<i64>,
    pub fingerprints: &'r HashMap<i64, String>,
}

/// Runs one round and adds what it found and did to `report`.
pub(super) async fn run_round(
    ctx: &PassContext<'_>,
    client: &Client,
    desired: &Desired,
    known: Known,
    round: Round<'_>,
    report: &mut PassReport,
) -> Result<(), LedgerError> {
    let started = std::time::Instant::now();
    let (now, horizon_end) = (ctx.now, ctx.horizon_end());
    let give_way = match round.kind {
        RoundKind::First => None,
        RoundKind::Drift => ctx.options.waiting.as_deref(),
    };
    let errors = &mut report.errors;
    let observed = observe(client, round.objects, now, horizon_end, errors, give_way).await;
    note_listed(&observed, &round, report);
    let reservations = &desired.reservations;
    let resolved = resolve(
        ctx,
        client,
        &observed.listings,
        &known.open,
        reservations,
        known.owned,
    );
    let resolved = resolved.await?;
    report.adopted = report.adopted.saturating_add(resolved.adopted);
    report.foreign = report.foreign.saturating_add(resolved.foreign);
    report.vanished.extend(resolved.vanished.iter().copied());
    report.warnings.extend(resolved.warnings.iter().cloned());
    let mut plan = plan::plan(PlanInput {
        reservations,
        owned: &resolved.owned,
        sources: &desired.states,
        policy: &ctx.policy,
        now,
    });
    if round.kind == RoundKind::Drift {
        // Only where this round listed: an object it gave way on was not looked at.
        let reached = |o: &i64| round.objects.contains(o) && !observed.skipped.contains(o);
        plan.operations
            .retain(|op| reached(&op.action.booking_object_id()));
    }
    if !ctx.dry_run() {
        let held = &resolved.short_lists;
        apply_and_verify(ctx, client, &plan, &observed, held, &round, report).await?;
    }
    // Where a pass's time goes, for an operator tuning schedules against the rate limit.
    tracing::debug!(
        round = ?round.kind,
        listed = observed.listings.len(),
        operations = plan.operations.len(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "pass round finished"
    );
    match round.kind {
        RoundKind::First => report.plan = plan,
        RoundKind::Drift => merge_drift_plan(&mut report.plan, plan),
    }
    Ok(())
}

/// Counts what the round listed; for the drift round, what it planned and still owes.
fn note_listed(observed: &Observed, round: &Round<'_>, report: &mut PassReport) {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let listed = observed.listings.iter().map(|l| l.booking_object_id);
    report.listed.extend(listed);
    let listed = count(observed.listings.len());
    report.listed_objects = report.listed_objects.saturating_add(listed);
    if round.kind != RoundKind::Drift {
        return;
    }
    let drift = &mut report.drift;
    drift.planned = count(round.objects.len());
    drift.made = count(round.objects.len() - observed.skipped.len());
    drift
        .owed
        .extend(observed.skipped.iter().chain(&observed.failed));
    if let Some(summary) = drift.summary() {
        // The operator sees why some drift checks moved to the next pass.
        tracing::info!(
            made = drift.made,
            planned = drift.planned,
            "{summary}: another pass was waiting; the other drift checks stay due"
        );
    }
}

/// The drift round's writes and notes join the pass's plan (its held lists are the first
/// round's already).
fn merge_drift_plan(pass_plan: &mut Plan, drift: Plan) {
    pass_plan.operations.extend(drift.operations);
    for note in drift.notes {
        if !pass_plan.notes.contains(&note) {
            pass_plan.notes.push(note);
        }
    }
}

/// Applies the plan, re-reads the objects written to, and remembers what was listed.
async fn apply_and_verify(
    ctx: &PassContext<'_>,
    client: &Client,
    plan: &Plan,
    observed: &Observed,
    short_lists: &HashSet<i64>,
    round: &Round<'_>,
    report: &mut PassReport,
) -> Result<(), LedgerError> {
    let stop = ctx.options.stop.clone();
    let mut applier = Applier::new(client, ctx.ledger, report.pass_id).with_stop(stop);
    // Objects whose list could not be read may hide a doubt, and a list shown short by
    // `GET /Bookings/{id}` may hide others: nothing is written there in this pass.
    applier.hold_objects(observed.failed.iter().copied());
    applier.hold_objects(short_lists.iter().copied());
    let applied = applier.apply(plan).await?;
    let (now, horizon_end) = (ctx.now, ctx.horizon_end());
    let unconfirmed = verify(client, &applied, now, horizon_end, &mut report.errors).await;
    report.applied.absorb(applied);
    // An object whose writes could not be confirmed is listed again in the next pass.
    let listed: Vec<(i64, String)> = (observed.listings.iter())
        .map(|l| l.booking_object_id)
        .filter(|o| !unconfirmed.contains(o))
        .map(|o| (o, round.fingerprints.get(&o).cloned().unwrap_or_default()))
        .collect();
    ctx.ledger.objects_listed(&listed, ctx.now).await
}

/// The objects listed by neither round.
pub(super) fn unlisted(in_scope: &BTreeSet<i64>, rounds: &[BTreeSet<i64>; 2]) -> u32 {
    let listed: HashSet<i64> = rounds.iter().flatten().copied().collect();
    let count = in_scope.iter().filter(|o| !listed.contains(o)).count();
    u32::try_from(count).unwrap_or(u32::MAX)
}
