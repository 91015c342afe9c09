//! What the sandbox remembers: bookings, output states and injected log entries, saved to the
//! state file (when one is set) after every change so that a restart finds them again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SandboxError;
use super::world::World;

/// The first booking id handed out; ids are never reused, across restarts too.
const FIRST_BOOKING_ID: i64 = 100_001;

/// A booking as the sandbox stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxBooking {
    /// Assigned by the sandbox; ignored when creating one by hand.
    pub booking_id: i64,
    pub booking_object_id: i64,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
    pub phone1: Option<String>,
    pub phone2: Option<String>,
    pub phone3: Option<String>,
    pub code: Option<String>,
    pub rfid: Option<String>,
    pub name: Option<String>,
}

impl SandboxBooking {
    /// A booking without credentials or name, to be completed with the `with_` methods.
    pub fn new(booking_object_id: i64, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        SandboxBooking {
            booking_id: 0,
            booking_object_id,
            start_date: start,
            end_date: end,
            phone1: None,
            phone2: None,
            phone3: None,
            code: None,
            rfid: None,
            name: None,
        }
    }

    pub fn with_name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub fn with_phone(mut self, phone: &str) -> Self {
        self.phone1 = Some(phone.to_owned());
        self
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// Overlap with `[from, to)`, as the bookings list filters.
    pub fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.start_date < to && self.end_date > from
    }
}

/// One unit log entry (generated, or injected by a test).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxLogEntry {
    pub server_date: DateTime<Utc>,
    /// The unit's local clock, minute precision: `2025-11-21 09:14`.
    pub unit_date: String,
    pub source_id: String,
    pub source_label: Option<String>,
    pub action_label: Option<String>,
    pub log_msg: String,
}

/// An output switched on, possibly only until a pulse ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutputState {
    pub(crate) on: bool,
    pub(crate) until: Option<DateTime<Utc>>,
}

impl OutputState {
    pub(crate) fn is_on(&self, now: DateTime<Utc>) -> bool {
        self.on && self.until.is_none_or(|until| now < until)
    }
}

/// Everything the state file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Persisted {
    pub(crate) next_booking_id: i64,
    pub(crate) bookings: BTreeMap<i64, SandboxBooking>,
    /// unit id → output name → state.
    pub(crate) outputs: BTreeMap<i64, BTreeMap<String, OutputState>>,
    /// unit id → entries injected by tests.
    pub(crate) injected_logs: BTreeMap<i64, Vec<SandboxLogEntry>>,
}

impl Default for Persisted {
    fn default() -> Self {
        Persisted {
            next_booking_id: FIRST_BOOKING_ID,
            bookings: BTreeMap::new(),
            outputs: BTreeMap::new(),
            injected_logs: BTreeMap::new(),
        }
    }
}

/// The world plus the mutable data.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) world: World,
    pub(crate) data: Persisted,
    state_file: Option<PathBuf>,
}

impl State {
    /// Loads the state file when it exists; a missing file is an empty state.
    pub(crate) fn load(world: World, state_file: Option<PathBuf>) -> Result<State, SandboxError> {
        let data = match &state_file {
            Some(path) if path.exists() => read_state(path)?,
            _ => Persisted::default(),
        };
        Ok(State {
            world,
            data,
            state_file,
        })
    }

    /// Writes the state file (temporary file, then rename) when one is set.
    pub(crate) fn save(&self) -> Result<(), SandboxError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let fail = |err: std::io::Error| SandboxError::StateFile {
            path: path.clone(),
            reason: err.to_string(),
        };
        let json = serde_json::to_vec(&self.data).map_err(|err| SandboxError::StateFile {
            path: path.clone(),
            reason: err.to_string(),
        })?;
        let mut temp = path.clone().into_os_string();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        std::fs::write(&temp, json).map_err(fail)?;
        std::fs::rename(&temp, path).map_err(fail)
    }

    /// Stores a booking under a fresh id and returns it as stored.
    pub(crate) fn insert_booking(&mut self, mut booking: SandboxBooking) -> SandboxBooking {
        booking.booking_id = self.data.next_booking_id;
        self.data.next_booking_id = self.data.next_booking_id.saturating_add(1);
        self.data
            .bookings
            .insert(booking.booking_id, booking.clone());
        booking
    }

    pub(crate) fn remove_booking(&mut self, booking_id: i64) -> Option<SandboxBooking> {
        self.data.bookings.remove(&booking_id)
    }

    /// The object's bookings overlapping `[from, to)` (all of them without bounds), by start.
    pub(crate) fn bookings_of(
        &self,
        object_id: i64,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Vec<SandboxBooking> {
        let mut found: Vec<SandboxBooking> = self
            .data
            .bookings
            .values()
            .filter(|b| b.booking_object_id == object_id)
            .filter(|b| from.is_none_or(|from| b.end_date > from))
            .filter(|b| to.is_none_or(|to| b.start_date < to))
            .cloned()
            .collect();
        found.sort_by_key(|b| (b.start_date, b.booking_id));
        found
    }

    pub(crate) fn output(&self, unit_id: i64, output: &str) -> OutputState {
        self.data
            .outputs
            .get(&unit_id)
            .and_then(|outputs| outputs.get(output))
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn set_output(&mut self, unit_id: i64, output: &str, state: OutputState) {
        self.data
            .outputs
            .entry(unit_id)
            .or_default()
            .insert(output.to_owned(), state);
    }
}

fn read_state(path: &Path) -> Result<Persisted, SandboxError> {
    let fail = |reason: String| SandboxError::StateFile {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|err| fail(err.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|err| fail(format!("not a sandbox state file: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 21, hour, 0, 0).unwrap()
    }

    #[test]
    fn state_file_round_trips_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox.json");
        let mut state = State::load(World::seed(), Some(path.clone())).unwrap();
        let first = state.insert_booking(SandboxBooking::new(123, at(9), at(10)).with_code("1234"));
        state.set_output(
            3023,
            "F1",
            OutputState {
                on: true,
                until: None,
            },
        );
        state.save().unwrap();
        let mut again = State::load(World::seed(), Some(path.clone())).unwrap();
        assert_eq!(again.bookings_of(123, None, None), vec![first.clone()]);
        assert!(again.output(3023, "F1").is_on(at(12)));
        let second = again.insert_booking(SandboxBooking::new(123, at(11), at(12)));
        assert!(second.booking_id > first.booking_id);

        std::fs::write(&path, b"{not json").unwrap();
        let err = State::load(World::seed(), Some(path)).unwrap_err();
        assert!(err.to_string().contains("sandbox.json"), "{err}");
    }

    #[test]
    fn overlap_is_half_open() {
        let mut state = State::load(World::seed(), None).unwrap();
        state.insert_booking(SandboxBooking::new(123, at(9), at(10)));
        assert_eq!(state.bookings_of(123, Some(at(10)), Some(at(11))).len(), 0);
        assert_eq!(state.bookings_of(123, Some(at(8)), Some(at(9))).len(), 0);
        assert_eq!(state.bookings_of(123, Some(at(8)), Some(at(10))).len(), 1);
        assert_eq!(state.bookings_of(124, None, None).len(), 0);
    }

    #[test]
    fn a_pulse_ends_by_itself() {
        let pulse = OutputState {
            on: true,
            until: Some(at(10)),
        };
        assert!(pulse.is_on(at(9)));
        assert!(!pulse.is_on(at(10)));
    }
}
