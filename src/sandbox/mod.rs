//! The built-in FlexyKey sandbox: an HTTP simulator of `flexykey-api.md` (both its documented
//! and its assumed parts) on a loopback port, with a seed world, deterministic unit logs, fault
//! injection, a journal of every request and an optional state file that survives restarts.
//!
//! It spells the contract's paths and JSON names itself (`wire.rs`, `routes.rs`) and never uses
//! `crate::flexykey`, so that a misspelling on one side fails a test.
//!
//! Choices where the contract is silent: lists are bare JSON arrays, every one cut silently at
//! 500 (bookings by start time, logs in a deterministic shuffle of the window); `/unitlogs` of
//! an EVVA unit answers 400 (and so do control and status); `DELETE /bookings/{id}` answers
//! `{"status":"OK","bookingId":…}`; empty strings in a booking body count as absent; times in
//! bodies and queries must be exactly `2025-11-21T10:21:11Z`; `created` of a unit uses that
//! format too; inputs never change (on or off by the seed); lost responses apply to every
//! write (bookings POST/DELETE and control POST) that succeeded, and are lost before a byte of
//! the answer is sent. A create answers 409 only on an object made `exclusive`
//! ([`ObjectSpec::exclusive`]) when it overlaps a booking there. Faults are judged in this
//! order: latency, rate limit (429), injected 5xx, then auth and the route.

mod control;
mod faults;
mod journal;
mod logs;
mod resources;
mod rng;
mod routes;
mod state;
mod wire;
pub mod world;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use faults::Faults;
pub use journal::JournalEntry;
pub use logs::MAX_LIST;
pub use state::{SandboxBooking, SandboxLogEntry};
pub use world::*;

use faults::{FaultState, KillableListener};
use state::State;

/// How a sandbox starts. `Default` is the seed world, seed 1, no faults, no state file.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Drives the logs, the input states and the fault dice.
    pub seed: u64,
    pub fault_rate: f64,
    pub lost_response_rate: f64,
    pub latency: Duration,
    /// Requests per second; above it 429 with `Retry-After`.
    pub rate_limit: Option<f64>,
    /// Bookings, outputs and injected logs are kept here (JSON) across restarts.
    pub state_file: Option<PathBuf>,
    /// Booking objects on which every create is refused (403), as `Faults::refuse_creates_on`.
    pub refuse_creates_on: Vec<i64>,
    pub world: World,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            seed: 1,
            fault_rate: 0.0,
            lost_response_rate: 0.0,
            latency: Duration::ZERO,
            rate_limit: None,
            state_file: None,
            refuse_creates_on: Vec::new(),
            world: World::seed(),
        }
    }
}

impl SandboxOptions {
    fn faults(&self) -> Faults {
        Faults {
            fault_rate: self.fault_rate,
            lost_response_rate: self.lost_response_rate,
            latency: self.latency,
            rate_limit: self.rate_limit,
            refuse_creates_on: self.refuse_creates_on.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox listener: {0}")]
    Listener(#[from] std::io::Error),
    #[error("sandbox state file {}: {reason}", path.display())]
    StateFile { path: PathBuf, reason: String },
    #[error("sandbox: unknown unit {0}")]
    UnknownUnit(i64),
    #[error("sandbox: unknown booking object {0}")]
    UnknownObject(i64),
    #[error("sandbox: invalid booking: {0}")]
    InvalidBooking(String),
    #[error("sandbox: unit {unit_id} has no output {output}")]
    UnknownOutput { unit_id: i64, output: String },
}

/// What the request handlers share with the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) seed: u64,
    pub(crate) state: Mutex<State>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) journal: Mutex<Vec<JournalEntry>>,
    /// Bookings the lists leave out (a short list) while `GET /bookings/{id}` still finds them.
    pub(crate) hidden_from_lists: Mutex<HashSet<i64>>,
    clock_offset: Mutex<chrono::Duration>,
}

impl Shared {
    /// The sandbox's clock: the real one, moved forward by `Sandbox::advance_clock`.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        now.checked_add_signed(*lock(&self.clock_offset))
            .unwrap_or(now)
    }
}

/// A poisoned lock still holds consistent data here (no handler panics mid-update).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running sandbox; cheap to clone. `shutdown` stops it.
#[derive(Debug, Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    base_url: Url,
    cancel: CancellationToken,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Sandbox {
    /// Serves on `listener` in a spawned task. Loads the state file when it exists.
    pub async fn start(
        listener: TcpListener,
        options: SandboxOptions,
    ) -> Result<Sandbox, SandboxError> {
        let local_addr = listener.local_addr()?;
        let state = State::load(options.world.clone(), options.state_file.clone())?;
        // Fails now rather than at the first write when the file cannot be written.
        state.save()?;
        let shared = Arc::new(Shared {
            seed: options.seed,
            state: Mutex::new(state),
            faults: Mutex::new(FaultState::new(options.seed, options.faults())),
            journal: Mutex::new(Vec::new()),
            hidden_from_lists: Mutex::default(),
            clock_offset: Mutex::new(chrono::Duration::zero()),
        });
        let base_url = Url::parse(&format!("http://{local_addr}/v1/"))
            .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidInput, err))?;
        let cancel = CancellationToken::new();
        let app =
            routes::router(shared.clone()).into_make_service_with_connect_info::<faults::Kill>();
        let stop = cancel.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            let served = axum::serve(KillableListener(listener), app)
                .with_graceful_shutdown(stop)
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "sandbox server stopped");
            }
        });
        Ok(Sandbox {
            shared,
            local_addr,
            base_url,
            cancel,
            task: Arc::new(Mutex::new(Some(task))),
        })
    }

    /// `http://127.0.0.1:PORT/v1/`.
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving: open connections are closed gracefully, for at most 5 s.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let task = lock(&self.task).take();
        if let Some(mut task) = task
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared.faults).set(faults);
    }

    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).faults.clone()
    }

    /// Every request so far, oldest first (the oldest half is dropped past a million).
    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.shared.journal).clone()
    }

    /// The write requests (bookings POST/DELETE, control POST), whatever their answer.
    pub fn write_calls(&self) -> Vec<JournalEntry> {
        lock(&self.shared.journal)
            .iter()
            .filter(|entry| entry.write)
            .cloned()
            .collect()
    }

    pub fn clear_journal(&self) {
        lock(&self.shared.journal).clear();
    }

    /// The sandbox's clock (`advance_clock` moves it; pulses and logs follow it).
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }

    pub fn advance_clock(&self, by: chrono::Duration) {
        let mut offset = lock(&self.shared.clock_offset);
        *offset = offset.checked_add(&by).unwrap_or(*offset);
    }

    /// Every booking of the object, by start time.
    pub fn bookings_of(&self, booking_object_id: i64) -> Vec<SandboxBooking> {
        lock(&self.shared.state).bookings_of(booking_object_id, None, None)
    }

    pub fn booking(&self, booking_id: i64) -> Option<SandboxBooking> {
        lock(&self.shared.state)
            .data
            .bookings
            .get(&booking_id)
            .cloned()
    }

    /// All bookings of all companies.
    pub fn booking_count(&self) -> usize {
        lock(&self.shared.state).data.bookings.len()
    }

    /// Creates a booking as FlexyWeb would (by hand, outside the API); returns it as stored.
    pub fn create_booking_by_hand(
        &self,
        booking: SandboxBooking,
    ) -> Result<SandboxBooking, SandboxError> {
        let mut state = lock(&self.shared.state);
        if state.world.object(booking.booking_object_id).is_none() {
            return Err(SandboxError::UnknownObject(booking.booking_object_id));
        }
        if booking.end_date <= booking.start_date {
            return Err(SandboxError::InvalidBooking(
                "endDate must be after startDate".to_owned(),
            ));
        }
        let stored = state.insert_booking(booking);
        state.save()?;
        Ok(stored)
    }

    /// Deletes a booking by hand; `false` when there was none.
    pub fn delete_booking_by_hand(&self, booking_id: i64) -> Result<bool, SandboxError> {
        let mut state = lock(&self.shared.state);
        let removed = state.remove_booking(booking_id).is_some();
        if removed {
            state.save()?;
        }
        Ok(removed)
    }

    /// A short list: the booking's object lists leave it out (`hidden`) while it still exists
    /// and `GET /bookings/{id}` finds it; `false` lists it again.
    pub fn hide_from_lists(&self, booking_id: i64, hidden: bool) {
        let mut set = lock(&self.shared.hidden_from_lists);
        if hidden {
            set.insert(booking_id);
        } else {
            set.remove(&booking_id);
        }
    }

    /// Adds log entries to a unit's stream (kept in the state file).
    pub fn add_log_entries(
        &self,
        unit_id: i64,
        entries: Vec<SandboxLogEntry>,
    ) -> Result<(), SandboxError> {
        let mut state = lock(&self.shared.state);
        if state.world.unit(unit_id).is_none() {
            return Err(SandboxError::UnknownUnit(unit_id));
        }
        state
            .data
            .injected_logs
            .entry(unit_id)
            .or_default()
            .extend(entries);
        state.save()
    }

    /// Changes how many log entries a unit generates per UTC day (0: only injected ones).
    pub fn set_logs_per_day(&self, unit_id: i64, logs_per_day: u32) -> Result<(), SandboxError> {
        let mut state = lock(&self.shared.state);
        let unit = state
            .world
            .units
            .iter_mut()
            .find(|u| u.unit_id == unit_id)
            .ok_or(SandboxError::UnknownUnit(unit_id))?;
        unit.logs_per_day = logs_per_day;
        Ok(())
    }

    /// Adds or replaces a unit while running (not kept in the state file).
    pub fn add_unit(&self, unit: UnitSpec) {
        let mut state = lock(&self.shared.state);
        state.world = std::mem::take(&mut state.world).with_unit(unit);
    }

    /// Adds or replaces a booking object while running (not kept in the state file).
    pub fn add_object(&self, object: ObjectSpec) {
        let mut state = lock(&self.shared.state);
        state.world = std::mem::take(&mut state.world).with_object(object);
    }

    /// Switches an output as a person would, by calling the unit or sending it an SMS: outside
    /// the API, so not in the journal (kept in the state file).
    pub fn switch_output_by_hand(
        &self,
        unit_id: i64,
        output: &str,
        on: bool,
    ) -> Result<(), SandboxError> {
        let name = output.trim().to_ascii_uppercase();
        let mut state = lock(&self.shared.state);
        let unit = state
            .world
            .unit(unit_id)
            .ok_or(SandboxError::UnknownUnit(unit_id))?;
        if !unit.outputs.contains(&name) {
            return Err(SandboxError::UnknownOutput {
                unit_id,
                output: name,
            });
        }
        state.set_output(unit_id, &name, state::OutputState { on, until: None });
        state.save()?;
        Ok(())
    }

    /// Whether an output is on now (a pulse counts until it ends).
    pub fn output_is_on(&self, unit_id: i64, output: &str) -> bool {
        let now = self.now();
        lock(&self.shared.state)
            .output(unit_id, &output.to_ascii_uppercase())
            .is_on(now)
    }
}
