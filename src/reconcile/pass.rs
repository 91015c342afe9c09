//! One full sync pass, in phases with typed values between them: read (what each source says,
//! with its certainty) → observe (FlexyKey's lists of the objects that need it) → resolve
//! (doubts, adoption, drift) → plan (pure) → apply (journaled) → verify (the objects written).
//! Observe to verify run in two rounds (`round`): the objects where something changed or
//! waits, then the drift checks.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::desired::{Desired, read_sources};
use super::names;
use super::observe::{ListingNeeds, desired_fingerprints, drift_due, listing_needs};
use super::plan::{self, PlanInput, Policy, ReadKind, SourceState};
use super::round::{Known, Round, RoundKind, run_round, unlisted};
use super::waiting::PassWaiting;
use super::zones::ObjectZones;
use crate::config::Config;
use crate::flexykey::Client;
use crate::ledger::{Ledger, LedgerError, ObjectRecord};
use crate::model::{JournalEntry, OwnedBooking};
use crate::sources::SourceReader;

pub use super::report::{DriftRound, PassFailure, PassFailureKind, PassReport, SourceReport};

#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    /// Read and plan, but make no write call to FlexyKey and change nothing in the ledger.
    pub dry_run: bool,
    /// Only these sources are read and reconciled (`sync --source`, or the sources whose
    /// schedules fired together); empty: all of them.
    pub sources: Vec<String>,
    /// Sources whose held deletions (or creates) the operator lets through.
    pub confirm: Vec<String>,
    /// The daemon's shutdown: no write starts after it fires.
    pub stop: Option<tokio_util::sync::CancellationToken>,
    /// List every booking object in scope, as if each drift check were due (the daemon's
    /// first pass, or one after the FlexyKey client changed).
    pub check_all: bool,
    /// Who waits for the next pass: the drift round gives way to them.
    pub waiting: Option<std::sync::Arc<PassWaiting>>,
    /// Objects whose drift checks an earlier pass owes: listed as though due.
    pub owed_checks: BTreeSet<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("source {0:?} is not in the config")]
    UnknownSource(String),
    #[error("--confirm {0:?}: no source of that name in the config or the ledger")]
    UnknownConfirm(String),
    /// Past `sync.pass_timeout` and its grace, the pass was dropped (see `deadline`).
    #[error("{0}")]
    Abandoned(String),
}

/// What every phase of one pass shares.
pub(super) struct PassContext<'a> {
    pub config: &'a Config,
    pub ledger: &'a Ledger,
    pub options: &'a PassOptions,
    pub policy: Policy,
    /// Whole seconds: FlexyKey keeps seconds, so a clamped start compares equal after a
    /// round trip.
    pub now: DateTime<Utc>,
}

impl<'a> PassContext<'a> {
    fn new(config: &'a Config, ledger: &'a Ledger, options: &'a PassOptions) -> Self {
        let now = Utc::now();
        PassContext {
            config,
            ledger,
            options,
            policy: Policy::from_config(&config.sync),
            now: DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now),
        }
    }

    pub fn dry_run(&self) -> bool {
        self.options.dry_run
    }

    /// True when `source` is read in this pass.
    pub fn in_scope(&self, source: &str) -> bool {
        self.options.sources.is_empty() || self.options.sources.iter().any(|s| s == source)
    }

    pub fn confirmed(&self, source: &str) -> bool {
        self.options.confirm.iter().any(|c| c == source)
    }

    pub fn horizon_end(&self) -> DateTime<Utc> {
        self.policy.horizon_end(self.now)
    }
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
    let client = &match &options.stop {
        Some(stop) => client.clone().with_stop(Some(stop.clone())),
        None => client.clone(),
    };
    check_options(config, ledger, options).await?;
    let ctx = PassContext::new(config, ledger, options);
    let pass_id = match ctx.dry_run() {
        true => None,
        false => Some(ledger.pass_started(ctx.now, false).await?),
    };
    let mut report = PassReport::new(pass_id, ctx.dry_run(), ctx.now);

    // Read.
    let records = ledger.object_records().await?;
    let listing = match ctx.dry_run() {
        true => None,
        false => names::keep_names(config, ledger, client, &records, ctx.now).await,
    };
    let zones = zone_lookup(&ctx, client, &records).with_listing(listing);
    let mut desired = read_sources(&ctx, reader, &zones).await?;
    report.sources = std::mem::take(&mut desired.reports);
    let known = Known::load(&ctx).await?;
    confirm_removed_owners(&ctx, &known.owned, &mut desired);
    // Observe, resolve, plan, apply, verify: the objects where something changed or waits,
    // then (after their writes) the drift checks. A dry run lists them all at once.
    let choice = choose_listings(&ctx, &records, &desired, &known);
    let rounds = choice.needs.rounds(ctx.dry_run());
    report.unlisted_objects = unlisted(&choice.in_scope, &rounds);
    let [first, drift] = &rounds;
    let fingerprints = &choice.fingerprints;
    let round = |kind, objects| Round {
        kind,
        objects,
        fingerprints,
    };
    let first = round(RoundKind::First, first);
    run_round(&ctx, client, &desired, known, first, &mut report).await?;
    let stopped = options.stop.as_ref().is_some_and(|s| s.is_cancelled());
    if !drift.is_empty() && !ctx.dry_run() && !stopped {
        let known = Known::load(&ctx).await?;
        let drift = round(RoundKind::Drift, drift);
        run_round(&ctx, client, &desired, known, drift, &mut report).await?;
    }
    if ctx.dry_run() {
        report.settle();
        return Ok(report);
    }
    finish(&ctx, &mut report).await?;
    Ok(report)
}

/// Which objects the pass lists, and why.
struct ListingChoice {
    in_scope: BTreeSet<i64>,
    needs: ListingNeeds,
    /// The wanted bookings' fingerprint per object, remembered for the objects listed.
    fingerprints: HashMap<i64, String>,
}

/// Chooses the objects to list (all of them with `check_all`).
fn choose_listings(
    ctx: &PassContext<'_>,
    records: &[ObjectRecord],
    desired: &Desired,
    known: &Known,
) -> ListingChoice {
    let (owned, open) = (&known.owned, &known.open);
    let in_scope = objects_in_scope(ctx, desired, owned, open);
    let fingerprints = desired_fingerprints(&desired.reservations, ctx.policy.debounce_reads);
    let by_id: HashMap<i64, &ObjectRecord> =
        records.iter().map(|r| (r.booking_object_id, r)).collect();
    let pinned = pinned_objects(ctx, desired, owned, open);
    let period = ctx.policy.drift_check_minutes;
    let mut needs = listing_needs(&in_scope, pinned, &fingerprints, &by_id, period, ctx.now);
    if ctx.options.check_all {
        needs.check_all(&in_scope);
    }
    needs.owe_checks(&ctx.options.owed_checks, &in_scope);
    ListingChoice {
        in_scope,
        needs,
        fingerprints,
    }
}

async fn check_options(
    config: &Config,
    ledger: &Ledger,
    options: &PassOptions,
) -> Result<(), PassError> {
    if let Some(name) =
        (options.sources.iter()).find(|n| !config.sources.iter().any(|s| &s.name == *n))
    {
        return Err(PassError::UnknownSource(name.clone()));
    }
    for name in &options.confirm {
        if !config.sources.iter().any(|s| &s.name == name) && !ledger.knows_source(name).await? {
            return Err(PassError::UnknownConfirm(name.clone()));
        }
    }
    Ok(())
}

/// Zones kept in the ledger, looked up again where missing or where the drift check is due.
fn zone_lookup<'a>(
    ctx: &PassContext<'a>,
    client: &'a Client,
    records: &[ObjectRecord],
) -> ObjectZones<'a> {
    let period = ctx.policy.drift_check_minutes;
    let due: HashSet<i64> = records
        .iter()
        .filter(|r| {
            ctx.options.check_all || drift_due(r.booking_object_id, r.listed_at, period, ctx.now)
        })
        .map(|r| r.booking_object_id)
        .collect();
    let ledger = (!ctx.dry_run()).then_some(ctx.ledger);
    ObjectZones::new(client, ledger, records, due, ctx.now)
}

/// Bookings of a source removed from the config whose removal the operator confirms: the
/// plan may delete them.
fn confirm_removed_owners(ctx: &PassContext<'_>, owned: &[OwnedBooking], desired: &mut Desired) {
    for booking in owned {
        if !desired.states.contains_key(&booking.source) && ctx.confirmed(&booking.source) {
            let fresh = SourceState::new(ReadKind::Fresh);
            desired.states.insert(booking.source.clone(), fresh);
        }
    }
}

/// Every booking object the pass may act on.
fn objects_in_scope(
    ctx: &PassContext<'_>,
    desired: &Desired,
    owned: &[OwnedBooking],
    open: &[JournalEntry],
) -> BTreeSet<i64> {
    let configured = ctx
        .config
        .sources
        .iter()
        .filter(|s| desired.in_scope(&s.name));
    let reservations = desired.reservations.iter().map(|s| &s.reservation);
    configured
        .filter_map(|s| s.booking_object_id)
        .chain(
            reservations
                .filter(|r| desired.in_scope(&r.source))
                .map(|r| r.booking_object_id),
        )
        .chain(
            owned
                .iter()
                .filter(|b| desired.in_scope(&b.source))
                .map(|b| b.booking_object_id),
        )
        .chain(open.iter().map(|e| e.booking_object_id))
        .collect()
}

/// Objects that must be listed whatever else: a write in doubt waits on them, or the plan
/// (made from the ledger alone) would write on them.
fn pinned_objects(
    ctx: &PassContext<'_>,
    desired: &Desired,
    owned: &[OwnedBooking],
    open: &[JournalEntry],
) -> HashSet<i64> {
    let tentative = plan::plan(PlanInput {
        reservations: &desired.reservations,
        owned,
        sources: &desired.states,
        policy: &ctx.policy,
        now: ctx.now,
    });
    let writes = tentative.operations.iter();
    open.iter()
        .map(|e| e.booking_object_id)
        .chain(writes.map(|op| op.action.booking_object_id()))
        .collect()
}

/// Prunes what ended a month ago and records the pass.
async fn finish(ctx: &PassContext<'_>, report: &mut PassReport) -> Result<(), LedgerError> {
    // What ended a month ago is never acted on again.
    let month_ago = ctx.now - Duration::days(30);
    ctx.ledger.prune_reservations(month_ago).await?;
    ctx.ledger.prune_bookings(month_ago).await?;
    report.settle();
    let errors: Vec<String> = report.failures().map(|f| f.text.clone()).collect();
    if let Some(id) = report.pass_id {
        ctx.ledger
            .pass_finished(id, Utc::now(), &report.counts(), report.converged, &errors)
            .await?;
    }
    Ok(())
}
