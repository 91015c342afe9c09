//! One full sync pass, in phases with typed values between them: read (what each source says,
//! with its certainty) → observe (FlexyKey's lists of the objects that need it) → resolve
//! (doubts, adoption, drift) → plan (pure) → apply (journaled) → verify (the objects written).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::apply::Applier;
use super::desired::{Desired, read_sources};
use super::names;
use super::observe::{Observed, desired_fingerprints, drift_due, listing_needs, observe};
use super::plan::{self, PlanInput, Policy, ReadKind, SourceState};
use super::resolve::resolve;
use super::verify::verify;
use super::zones::ObjectZones;
use crate::config::Config;
use crate::flexykey::Client;
use crate::ledger::{Ledger, LedgerError, ObjectRecord};
use crate::model::{JournalEntry, OwnedBooking};
use crate::sources::SourceReader;

pub use super::report::{PassFailure, PassFailureKind, PassReport, SourceReport};

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

    fn horizon_end(&self) -> DateTime<Utc> {
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
    // Observe.
    let open = match ctx.dry_run() {
        true => vec![],
        false => ledger.open_journal().await?,
    };
    let owned = ledger.owned_bookings().await?;
    confirm_removed_owners(&ctx, &owned, &mut desired);
    let seen = observe_phase(&ctx, client, &records, &desired, &owned, &open, &mut report).await;
    // Resolve.
    let (listings, reservations) = (&seen.observed.listings, &desired.reservations);
    let resolved = resolve(&ctx, client, listings, &open, reservations, owned);
    let resolved = resolved.await?;
    (report.adopted, report.foreign) = (resolved.adopted, resolved.foreign);
    report.vanished = resolved.vanished.clone();
    report.warnings.extend(resolved.warnings.iter().cloned());
    // Plan.
    report.plan = plan::plan(PlanInput {
        reservations: &desired.reservations,
        owned: &resolved.owned,
        sources: &desired.states,
        policy: &ctx.policy,
        now: ctx.now,
    });
    if ctx.dry_run() {
        report.settle();
        return Ok(report);
    }
    // Apply, verify.
    apply_phase(&ctx, client, &seen, &resolved.short_lists, &mut report).await?;
    finish(&ctx, &mut report).await?;
    Ok(report)
}

/// What the observe phase saw, with the fingerprints its choice was made on.
struct Seen {
    observed: Observed,
    fingerprints: HashMap<i64, String>,
}

/// Lists the objects that need it (all of them with `check_all`).
async fn observe_phase(
    ctx: &PassContext<'_>,
    client: &Client,
    records: &[ObjectRecord],
    desired: &Desired,
    owned: &[OwnedBooking],
    open: &[JournalEntry],
    report: &mut PassReport,
) -> Seen {
    let scope = objects_in_scope(ctx, desired, owned, open);
    let fingerprints = desired_fingerprints(&desired.reservations, ctx.policy.debounce_reads);
    let by_id: HashMap<i64, &ObjectRecord> =
        records.iter().map(|r| (r.booking_object_id, r)).collect();
    let pinned = pinned_objects(ctx, desired, owned, open);
    let period = ctx.policy.drift_check_minutes;
    let mut needs = listing_needs(&scope, pinned, &fingerprints, &by_id, period, ctx.now);
    if ctx.options.check_all {
        needs.objects.clone_from(&scope);
    }
    let (now, horizon_end) = (ctx.now, ctx.horizon_end());
    let observed = observe(client, &scope, &needs, now, horizon_end, &mut report.errors).await;
    report.listed_objects = u32::try_from(observed.listings.len()).unwrap_or(u32::MAX);
    report.unlisted_objects = u32::try_from(observed.skipped.len()).unwrap_or(u32::MAX);
    Seen {
        observed,
        fingerprints,
    }
}

/// Applies the plan, re-reads the objects written to, and remembers what was listed.
async fn apply_phase(
    ctx: &PassContext<'_>,
    client: &Client,
    seen: &Seen,
    short_lists: &HashSet<i64>,
    report: &mut PassReport,
) -> Result<(), LedgerError> {
    let stop = ctx.options.stop.clone();
    let mut applier = Applier::new(client, ctx.ledger, report.pass_id).with_stop(stop);
    // Objects whose list could not be read may hide a doubt, and a list shown short by
    // `GET /Bookings/{id}` may hide others: nothing is written there in this pass.
    applier.hold_objects(seen.observed.failed.iter().copied());
    applier.hold_objects(short_lists.iter().copied());
    report.applied = applier.apply(&report.plan).await?;
    let (now, horizon_end, errors) = (ctx.now, ctx.horizon_end(), &mut report.errors);
    let unconfirmed = verify(client, &report.applied, now, horizon_end, errors).await;
    // An object whose writes could not be confirmed is listed again in the next pass.
    let listed: Vec<(i64, String)> = seen
        .observed
        .listings
        .iter()
        .map(|l| l.booking_object_id)
        .filter(|o| !unconfirmed.contains(o))
        .map(|o| (o, seen.fingerprints.get(&o).cloned().unwrap_or_default()))
        .collect();
    ctx.ledger.objects_listed(&listed, ctx.now).await
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
