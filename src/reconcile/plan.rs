//! The plan: a pure function from what the sources want and what flexysync owns to the
//! FlexyKey writes that close the gap, each with its reason. No I/O, no clock (`now` is an
//! input): this is what `sync --dry-run` prints, and what the property tests exercise.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::config::{DriftPolicy, GrowthLimit, SyncConfig};
use crate::model::{BookingState, OwnedBooking, Reservation, StoredReservation};
use crate::sources::guard::GuardPolicy;
use crate::text::{CONSECUTIVE_READ, SUCCESSFUL_READ, count};

/// The `[sync]` rules the plan follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub horizon_days: u32,
    pub debounce_reads: u32,
    pub max_shrink: f64,
    pub shrink_confirm_hours: u32,
    pub max_growth: GrowthLimit,
    pub drift_check_minutes: u32,
    pub drift: DriftPolicy,
}

impl Policy {
    pub fn from_config(sync: &SyncConfig) -> Policy {
        Policy {
            horizon_days: sync.horizon_days,
            debounce_reads: sync.debounce_reads.max(1),
            max_shrink: sync.max_shrink,
            shrink_confirm_hours: sync.shrink_confirm_hours,
            max_growth: sync.max_growth,
            drift_check_minutes: sync.drift_check_minutes.max(1),
            drift: sync.drift,
        }
    }

    /// The limits of the shrink and growth guards.
    pub fn guard(&self) -> GuardPolicy {
        GuardPolicy {
            max_shrink: self.max_shrink,
            max_growth: self.max_growth,
            confirm_hours: self.shrink_confirm_hours,
        }
    }

    pub fn horizon_end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_add_signed(Duration::days(i64::from(self.horizon_days)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_config(&SyncConfig::default())
    }
}

/// How this pass's read of a source went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadKind {
    /// Fetched and parsed: the source's whole desired state.
    Fresh,
    /// Not modified since the last fresh read, which still holds.
    Unchanged,
    /// Unknown: nothing is deleted for this source.
    Failed,
    /// A pushed source (webhooks): its stored reservations are its truth.
    Pushed,
    /// Left out of this pass (`sync --source other`): nothing is planned for it.
    NotRead,
}

/// What the plan needs to know about one configured source in this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    pub read: ReadKind,
    /// Why the read failed.
    pub failure: Option<String>,
    /// Why the source's deletions are held (shrink guard), if they are.
    pub hold: Option<String>,
    /// Why the source's creates are held (growth guard), if they are.
    pub creates_held: Option<String>,
}

impl SourceState {
    pub fn new(read: ReadKind) -> SourceState {
        SourceState {
            read,
            failure: None,
            hold: None,
            creates_held: None,
        }
    }
}

/// Everything the plan looks at.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub reservations: &'a [StoredReservation],
    /// Owned bookings in state `Active` or `Vanished` (others are ignored).
    pub owned: &'a [OwnedBooking],
    /// Every configured source; a booking whose source is absent is held, never deleted.
    pub sources: &'a HashMap<String, SourceState>,
    pub policy: &'a Policy,
    pub now: DateTime<Utc>,
}

/// One FlexyKey write (or a create-then-delete pair) the plan asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create a booking for the reservation, starting at `start` (clamped to now).
    Create {
        reservation: Reservation,
        fingerprint: String,
        start: DateTime<Utc>,
    },
    /// Make before break: create the new booking, then delete the old ones. If FlexyKey refuses
    /// the overlap (409) and no old booking has started yet, delete first, then create.
    Replace {
        reservation: Reservation,
        fingerprint: String,
        start: DateTime<Utc>,
        old: Vec<OwnedBooking>,
    },
    Delete {
        booking: OwnedBooking,
    },
}

impl Action {
    pub fn booking_object_id(&self) -> i64 {
        match self {
            Action::Create { reservation, .. } | Action::Replace { reservation, .. } => {
                reservation.booking_object_id
            }
            Action::Delete { booking } => booking.booking_object_id,
        }
    }

    pub fn source(&self) -> &str {
        match self {
            Action::Create { reservation, .. } | Action::Replace { reservation, .. } => {
                &reservation.source
            }
            Action::Delete { booking } => &booking.source,
        }
    }

    /// When the access it concerns begins.
    pub fn start(&self) -> DateTime<Utc> {
        match self {
            Action::Create { start, .. } | Action::Replace { start, .. } => *start,
            Action::Delete { booking } => booking.start,
        }
    }

    /// Write calls it costs when all goes well.
    pub fn write_calls(&self) -> usize {
        match self {
            Action::Create { .. } | Action::Delete { .. } => 1,
            Action::Replace { old, .. } => 1 + old.len(),
        }
    }
}

/// Decides the order: revocations first, then arrivals soonest first, then the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Revocation,
    Arrival,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub action: Action,
    pub category: Category,
    /// Plain words for an operator: why this write.
    pub reason: String,
}

/// A deletion the plan would make but may not, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldDeletion {
    pub booking: OwnedBooking,
    pub reason: String,
}

/// A create the plan would make but may not (growth guard), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldCreate {
    pub reservation: Reservation,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub operations: Vec<Operation>,
    pub held: Vec<HeldDeletion>,
    pub held_creates: Vec<HeldCreate>,
    /// Things worth saying that need no write (debounced disappearances, drift reports).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    pub fn write_calls(&self) -> usize {
        self.operations
            .iter()
            .map(|op| op.action.write_calls())
            .sum()
    }
}

/// Plans the writes that bring FlexyKey in step with the reservations.
pub fn plan(input: PlanInput<'_>) -> Plan {
    let mut planner = Planner::new(input);
    for stored in input.reservations {
        planner.reservation(stored);
    }
    for booking in input.owned {
        planner.orphan(booking);
    }
    let mut out = planner.out;
    out.operations.sort_by(|a, b| {
        (a.category, a.action.start(), op_key(&a.action)).cmp(&(
            b.category,
            b.action.start(),
            op_key(&b.action),
        ))
    });
    out
}

/// The plan as it is built: one reservation, then one owned booking, at a time.
struct Planner<'a> {
    input: PlanInput<'a>,
    horizon_end: DateTime<Utc>,
    /// Active and vanished bookings by reservation key.
    by_key: HashMap<&'a str, Vec<&'a OwnedBooking>>,
    /// Keys whose bookings the reservations decided about.
    handled: HashSet<&'a str>,
    /// Keys debounced away, with how many reads they were missing from.
    misses: HashMap<&'a str, u32>,
    out: Plan,
}

/// One reservation's bookings, sorted by what the plan does with them.
struct Versions<'a> {
    /// The booking of its current version, if any.
    current: Option<&'a OwnedBooking>,
    /// Active bookings of other versions, not ended.
    stale: Vec<&'a OwnedBooking>,
    /// Bookings deleted by hand in FlexyWeb.
    vanished: Vec<i64>,
}

impl<'a> Planner<'a> {
    fn new(input: PlanInput<'a>) -> Self {
        let mut by_key: HashMap<&str, Vec<&OwnedBooking>> =
            HashMap::with_capacity(input.owned.len());
        for booking in input.owned {
            if matches!(booking.state, BookingState::Active | BookingState::Vanished) {
                by_key
                    .entry(booking.reservation_key.as_str())
                    .or_default()
                    .push(booking);
            }
        }
        Planner {
            horizon_end: input.policy.horizon_end(input.now),
            by_key,
            handled: HashSet::with_capacity(input.reservations.len()),
            misses: HashMap::new(),
            out: Plan::default(),
            input,
        }
    }

    fn reservation(&mut self, stored: &'a StoredReservation) {
        let (policy, now) = (self.input.policy, self.input.now);
        let r = &stored.reservation;
        let Some(state) = self.input.sources.get(&r.source) else {
            return;
        };
        if state.read == ReadKind::NotRead {
            self.handled.insert(&r.key);
            return;
        }
        if stored.misses >= policy.debounce_reads {
            self.misses.insert(&r.key, stored.misses);
            return;
        }
        self.handled.insert(&r.key);
        if r.end <= now {
            return; // ended: neither created nor deleted
        }
        let bookings = self.by_key.get(r.key.as_str()).cloned().unwrap_or_default();
        if stored.misses > 0 {
            if !bookings.is_empty() {
                self.out.notes.push(format!(
                    "{}: missing from {} of {}; deleted after {}",
                    r.key,
                    count(stored.misses, SUCCESSFUL_READ),
                    r.source,
                    policy.debounce_reads
                ));
            }
            return;
        }
        let versions = Versions {
            current: bookings
                .iter()
                .copied()
                .find(|b| b.state == BookingState::Active && b.fingerprint == stored.fingerprint),
            stale: bookings
                .iter()
                .copied()
                .filter(|b| {
                    b.state == BookingState::Active
                        && b.fingerprint != stored.fingerprint
                        && b.end > now
                })
                .collect(),
            vanished: bookings
                .iter()
                .filter(|b| b.state == BookingState::Vanished)
                .map(|b| b.booking_id)
                .collect(),
        };
        self.versions(stored, state, versions);
    }

    /// Decides about a live reservation's bookings: keep, replace, repair or create.
    fn versions(&mut self, stored: &StoredReservation, state: &SourceState, v: Versions<'_>) {
        let (policy, now) = (self.input.policy, self.input.now);
        let r = &stored.reservation;
        let block = deletion_block(Some(state), &r.source);
        // Nothing to create: the current version exists, or the reservation is beyond the
        // horizon; only its other versions go.
        let nothing_to_create = match v.current {
            Some(current) => Some(format!(
                "superseded by booking {} of the same reservation",
                current.booking_id
            )),
            None if r.start > self.horizon_end => Some(format!(
                "its reservation moved beyond the {}-day horizon",
                policy.horizon_days
            )),
            None => None,
        };
        if let Some(why) = nothing_to_create {
            for old in v.stale {
                push_delete(&mut self.out, old, Category::Other, why.clone(), &block);
            }
            return;
        }
        if v.stale.is_empty() && !v.vanished.is_empty() && policy.drift == DriftPolicy::Report {
            self.out.notes.push(format!(
                "{}: booking {} was deleted by hand in FlexyWeb; drift = \"report\", so it is not re-created",
                r.key,
                join_ids(&v.vanished)
            ));
            return;
        }
        let clamped = if r.start < now {
            " (already in progress: starts now)"
        } else {
            ""
        };
        let reason = if !v.stale.is_empty() {
            format!(
                "reservation changed: new booking first, then booking {} is deleted{clamped}",
                join_ids(&v.stale.iter().map(|b| b.booking_id).collect::<Vec<_>>())
            )
        } else if !v.vanished.is_empty() {
            format!(
                "repair: booking {} was deleted by hand in FlexyWeb{clamped}",
                join_ids(&v.vanished)
            )
        } else {
            format!("new reservation{clamped}")
        };
        if let (true, Some(why)) = (v.stale.is_empty(), &state.creates_held) {
            self.out.held_creates.push(HeldCreate {
                reservation: r.clone(),
                reason: format!("{reason}; held: {why}"),
            });
            return;
        }
        self.arrival(stored, &v.stale, block, reason);
    }

    /// Creates the reservation's booking: make before break when old versions may go.
    fn arrival(
        &mut self,
        stored: &StoredReservation,
        stale: &[&OwnedBooking],
        block: Option<String>,
        reason: String,
    ) {
        let r = &stored.reservation;
        let start = r.start.max(self.input.now);
        let action = match (&block, stale.is_empty()) {
            (None, false) => Action::Replace {
                reservation: r.clone(),
                fingerprint: stored.fingerprint.clone(),
                start,
                old: stale.iter().map(|b| (*b).clone()).collect(),
            },
            _ => {
                for old in stale {
                    self.out.held.push(HeldDeletion {
                        booking: (*old).clone(),
                        reason: format!(
                            "replaced by a new version of its reservation, but {}",
                            block.as_deref().unwrap_or("deletions are held")
                        ),
                    });
                }
                Action::Create {
                    reservation: r.clone(),
                    fingerprint: stored.fingerprint.clone(),
                    start,
                }
            }
        };
        self.out.operations.push(Operation {
            action,
            category: Category::Arrival,
            reason,
        });
    }

    /// An owned booking no reservation decided about: its reservation is gone.
    fn orphan(&mut self, booking: &OwnedBooking) {
        if booking.state != BookingState::Active
            || booking.end <= self.input.now
            || self.handled.contains(booking.reservation_key.as_str())
        {
            return;
        }
        let state = self.input.sources.get(&booking.source);
        if state.is_some_and(|s| s.read == ReadKind::NotRead) {
            return;
        }
        let reason = match self.misses.get(booking.reservation_key.as_str()) {
            Some(&misses) => format!(
                "cancelled: missing from {} of {}",
                count(misses, CONSECUTIVE_READ),
                booking.source
            ),
            None => format!("cancelled: no longer in {}", booking.source),
        };
        let block = deletion_block(state, &booking.source);
        push_delete(&mut self.out, booking, Category::Revocation, reason, &block);
    }
}

fn op_key(action: &Action) -> (&str, i64) {
    match action {
        Action::Create { reservation, .. } | Action::Replace { reservation, .. } => {
            (reservation.key.as_str(), 0)
        }
        Action::Delete { booking } => (booking.reservation_key.as_str(), booking.booking_id),
    }
}

/// Why the source's deletions may not happen in this pass, if they may not.
fn deletion_block(state: Option<&SourceState>, source: &str) -> Option<String> {
    match state {
        None => Some(format!(
            "source {source} is no longer in the config; its bookings are kept until \
             `flexysync sync --confirm {source}`"
        )),
        Some(state) if state.read == ReadKind::Failed => Some(format!(
            "source {source} could not be read ({}); an unknown read deletes nothing",
            state.failure.as_deref().unwrap_or("no reason given")
        )),
        Some(state) => state.hold.clone(),
    }
}

fn push_delete(
    out: &mut Plan,
    booking: &OwnedBooking,
    category: Category,
    reason: String,
    block: &Option<String>,
) {
    match block {
        Some(why) => out.held.push(HeldDeletion {
            booking: booking.clone(),
            reason: format!("{reason}; held: {why}"),
        }),
        None => out.operations.push(Operation {
            action: Action::Delete {
                booking: booking.clone(),
            },
            category,
            reason,
        }),
    }
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
