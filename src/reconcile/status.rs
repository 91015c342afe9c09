//! What `flexysync status` (and the daemon's status page) shows, gathered from the ledger
//! alone: each source's freshness and held deletions, each object's upcoming arrivals (those
//! within 24 hours without a confirmed booking flagged), the last pass, open journal entries,
//! and what needs someone's attention (what makes `status` exit 1).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::attention::attention;
pub use super::attention::{Attention, AttentionKind, FAILING_ATTENTION_AFTER};
use super::plan::{PlanInput, Policy, ReadKind, SourceState, plan};
use crate::config::{Config, SourceConfig};
use crate::ledger::{Ledger, LedgerError, PassRecord};
use crate::model::{
    BookingState, FailureKind, JournalState, OwnedBooking, ReadStatus, SourceReadRecord,
    StoredReservation, WriteKind,
};

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub now: DateTime<Utc>,
    pub sources: Vec<SourceStatus>,
    pub objects: Vec<ObjectStatus>,
    pub last_pass: Option<PassRecord>,
    pub open_journal: Vec<OpenWrite>,
    /// Arrivals within 24 hours without a confirmed booking, over all objects.
    pub flagged_arrivals: u32,
    /// What monitoring should page someone for; empty when all is well.
    pub attention: Vec<Attention>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: &'static str,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// `fresh`, `unchanged` or `failed`.
    pub last_outcome: Option<&'static str>,
    /// Which step of a failed read failed.
    pub failure_kind: Option<FailureKind>,
    pub last_reason: Option<String>,
    pub last_fresh_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// Why its deletions are held by the shrink guard (a webhook source: its snapshot is
    /// held), if they are.
    pub shrink_hold: Option<String>,
    /// Why its creates are held by the growth guard, if they are.
    pub creates_hold: Option<String>,
    pub held_deletions: Vec<HeldBooking>,
    pub upcoming_reservations: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeldBooking {
    pub booking_id: i64,
    pub booking_object_id: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectStatus {
    pub booking_object_id: i64,
    /// Owned bookings that have not ended.
    pub owned_bookings: u32,
    /// Arrivals in the next 7 days (and stays in progress), soonest first.
    pub arrivals: Vec<Arrival>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arrival {
    pub reservation_key: String,
    pub source: String,
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// An owned booking of exactly this reservation version exists.
    pub confirmed: bool,
    /// Starts within 24 hours (or is in progress) and is not confirmed.
    pub flagged: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenWrite {
    pub id: i64,
    pub kind: WriteKind,
    pub state: JournalState,
    pub booking_object_id: i64,
    pub booking_id: Option<i64>,
    pub reservation_key: String,
    pub error: Option<String>,
    pub intended_at: DateTime<Utc>,
}

/// Gathers the status at `now` from the ledger.
pub async fn status_report(
    config: &Config,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<StatusReport, LedgerError> {
    let policy = Policy::from_config(&config.sync);
    let reservations = ledger.reservations().await?;
    let owned = ledger.owned_bookings().await?;
    let reads: HashMap<String, SourceReadRecord> = ledger
        .source_reads()
        .await?
        .into_iter()
        .map(|r| (r.source.clone(), r))
        .collect();
    // The plan over what the ledger knows says which deletions are held and why.
    let planned = plan(PlanInput {
        reservations: &reservations,
        owned: &owned,
        sources: &source_states(config, &reads),
        policy: &policy,
        now,
    });
    let mut sources: Vec<SourceStatus> = config
        .sources
        .iter()
        .map(|s| {
            let mine = reservations
                .iter()
                .filter(|r| r.reservation.source == s.name);
            let upcoming = super::reads::upcoming(mine, &policy, now);
            source_status(s, reads.get(&s.name), upcoming)
        })
        .collect();
    for held in &planned.held {
        let entry = HeldBooking {
            booking_id: held.booking.booking_id,
            booking_object_id: held.booking.booking_object_id,
            start: held.booking.start,
            end: held.booking.end,
            reason: held.reason.clone(),
        };
        match sources.iter_mut().find(|s| s.name == held.booking.source) {
            Some(source) => source.held_deletions.push(entry),
            None => sources.push(SourceStatus {
                name: held.booking.source.clone(),
                kind: "removed from the config",
                held_deletions: vec![entry],
                ..SourceStatus::default()
            }),
        }
    }
    let (objects, flagged_arrivals) = object_statuses(&reservations, &owned, &policy, now);
    let open_journal = ledger
        .open_journal()
        .await?
        .into_iter()
        .map(|e| OpenWrite {
            id: e.id,
            kind: e.kind,
            state: e.state,
            booking_object_id: e.booking_object_id,
            booking_id: e.booking_id,
            reservation_key: e.reservation_key,
            error: e.error,
            intended_at: e.intended_at,
        })
        .collect();
    let attention = attention(&sources, &objects, &reads, now);
    Ok(StatusReport {
        now,
        attention,
        sources,
        objects,
        last_pass: ledger.recent_passes(1).await?.into_iter().next(),
        open_journal,
        flagged_arrivals,
    })
}

/// Each configured source's certainty and holds, as the ledger last recorded them.
fn source_states(
    config: &Config,
    reads: &HashMap<String, SourceReadRecord>,
) -> HashMap<String, SourceState> {
    config
        .sources
        .iter()
        .map(|s| {
            let read = reads.get(&s.name);
            let outcome = read.map(|r| r.last_outcome);
            let pushed = crate::sources::is_pushed(s);
            let mut state = SourceState::new(match outcome {
                Some(ReadStatus::Failed(_)) => ReadKind::Failed,
                _ if pushed => ReadKind::Pushed,
                _ => ReadKind::Fresh,
            });
            state.failure = read.and_then(|r| r.last_reason.clone());
            // A pushed source's hold is its snapshot's: it holds no deletion.
            state.hold = read
                .and_then(|r| r.hold.as_ref().map(|h| h.reason.clone()))
                .filter(|_| !pushed);
            state.creates_held =
                read.and_then(|r| r.growth_hold.as_ref().map(|h| h.reason.clone()));
            (s.name.clone(), state)
        })
        .collect()
}

fn source_status(
    source: &SourceConfig,
    read: Option<&SourceReadRecord>,
    upcoming: u32,
) -> SourceStatus {
    SourceStatus {
        name: source.name.clone(),
        kind: crate::sources::kind_label(source),
        last_attempt_at: read.map(|r| r.last_attempt_at),
        last_outcome: read.map(|r| r.last_outcome.as_str()),
        failure_kind: read.and_then(|r| r.last_outcome.failure()),
        last_reason: read.and_then(|r| r.last_reason.clone()),
        last_fresh_at: read.and_then(|r| r.last_fresh_at),
        consecutive_failures: read.map_or(0, |r| r.consecutive_failures),
        shrink_hold: read.and_then(|r| r.hold.as_ref().map(|h| h.reason.clone())),
        creates_hold: read.and_then(|r| r.growth_hold.as_ref().map(|h| h.reason.clone())),
        held_deletions: vec![],
        upcoming_reservations: upcoming,
    }
}

/// Each object's owned bookings and arrivals of the next 7 days; the count of arrivals
/// within 24 hours without a confirmed booking.
fn object_statuses(
    reservations: &[StoredReservation],
    owned: &[OwnedBooking],
    policy: &Policy,
    now: DateTime<Utc>,
) -> (Vec<ObjectStatus>, u32) {
    let mut objects: BTreeMap<i64, ObjectStatus> = BTreeMap::new();
    for booking in owned
        .iter()
        .filter(|b| b.state == BookingState::Active && b.end > now)
    {
        object_entry(&mut objects, booking.booking_object_id).owned_bookings += 1;
    }
    let week = now + Duration::days(7);
    let day = now + Duration::hours(24);
    let mut flagged_arrivals = 0;
    for stored in reservations {
        let r = &stored.reservation;
        if stored.misses >= policy.debounce_reads || r.end <= now || r.start > week {
            continue;
        }
        let confirmed = owned.iter().any(|b| {
            b.state == BookingState::Active
                && b.reservation_key == r.key
                && b.fingerprint == stored.fingerprint
        });
        let flagged = !confirmed && r.start <= day;
        flagged_arrivals += u32::from(flagged);
        object_entry(&mut objects, r.booking_object_id)
            .arrivals
            .push(Arrival {
                reservation_key: r.key.clone(),
                source: r.source.clone(),
                label: r.label.clone(),
                start: r.start,
                end: r.end,
                confirmed,
                flagged,
            });
    }
    for o in objects.values_mut() {
        o.arrivals
            .sort_by(|a, b| (a.start, &a.reservation_key).cmp(&(b.start, &b.reservation_key)));
    }
    (objects.into_values().collect(), flagged_arrivals)
}

fn object_entry(objects: &mut BTreeMap<i64, ObjectStatus>, id: i64) -> &mut ObjectStatus {
    objects.entry(id).or_insert_with(|| ObjectStatus {
        booking_object_id: id,
        owned_bookings: 0,
        arrivals: vec![],
    })
}
