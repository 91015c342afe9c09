//! A stand-in for FlexyKey in the archive's unit tests: units, log entries per unit, a journal
//! of calls, and failures on demand.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::archive::LogSource;
use crate::flexykey::{ApiError, BookingObject, LogEntry, Unit};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Units,
    Unit(i64),
    Objects,
    Logs(i64, DateTime<Utc>, DateTime<Utc>),
}

#[derive(Default)]
pub struct FakeSource {
    pub units: Mutex<Vec<Unit>>,
    pub objects: Mutex<Vec<BookingObject>>,
    pub logs: Mutex<HashMap<i64, Vec<LogEntry>>>,
    pub calls: Mutex<Vec<Call>>,
    /// `unit_logs` calls that still succeed; `None` = all.
    pub logs_budget: Mutex<Option<usize>>,
    /// `GET /units` fails (FlexyKey unreachable).
    pub units_unreachable: Mutex<bool>,
    /// Units that answer 403.
    pub forbidden: Mutex<Vec<i64>>,
    /// Yields to the scheduler this often inside each call, so that a test can abort mid-way.
    pub yields: usize,
}

pub fn unit(unit_id: i64, unit_type: &str, zone: Option<&str>) -> Unit {
    Unit {
        unit_id,
        unit_type: unit_type.to_owned(),
        serial_number: Some(format!("0405{unit_id}")),
        own_phone_or_id: None,
        name: Some(format!("unit {unit_id}")),
        soft_version: None,
        unit_info: None,
        unit_note: None,
        timezone_id: zone.map(str::to_owned),
        timezone_info: None,
        created: None,
        io: Vec::new(),
    }
}

pub fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).single().unwrap()
}

/// `count` entries spread over `[from, from + span)`, shuffled; about one in ten repeats an
/// earlier entry exactly but for `serverDate`.
pub fn entries(seed: u64, from: DateTime<Utc>, span: TimeDelta, count: usize) -> Vec<LogEntry> {
    let mut rng = StdRng::seed_from_u64(seed);
    let span_secs = span.num_seconds().max(1);
    let mut out: Vec<LogEntry> = Vec::with_capacity(count);
    for index in 0..count {
        let server_date = from + TimeDelta::seconds(rng.random_range(0..span_secs));
        if index > 0 && rng.random_range(0..10) == 0 {
            let mut twin = out[rng.random_range(0..index)].clone();
            twin.server_date = server_date;
            out.push(twin);
            continue;
        }
        let phone = format!("+4670{:07}", rng.random_range(0..10_000_000));
        out.push(LogEntry {
            server_date,
            unit_date: Some(server_date.format("%Y-%m-%d %H:%M").to_string()),
            source_id: Some(phone.clone()),
            source_label: Some(format!("Användare {}", rng.random_range(0..50))),
            action_label: Some(["Öppnad", "Nekad", "SMS"][rng.random_range(0..3)].to_owned()),
            log_msg: Some(format!("Samtal från {phone}, utgång F1 puls 5 s")),
        });
    }
    out.shuffle(&mut rng);
    out
}

impl FakeSource {
    pub fn with_units(units: Vec<Unit>) -> Self {
        FakeSource {
            units: Mutex::new(units),
            ..FakeSource::default()
        }
    }

    pub fn add_logs(&self, unit_id: i64, entries: Vec<LogEntry>) {
        self.logs
            .lock()
            .unwrap()
            .entry(unit_id)
            .or_default()
            .extend(entries);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn clear_calls(&self) {
        self.calls.lock().unwrap().clear();
    }

    pub fn log_calls(&self) -> Vec<(i64, DateTime<Utc>, DateTime<Utc>)> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                Call::Logs(unit, from, to) => Some((unit, from, to)),
                _ => None,
            })
            .collect()
    }

    async fn pause(&self) {
        for _ in 0..self.yields {
            tokio::task::yield_now().await;
        }
    }

    fn check(&self, unit_id: i64) -> Result<(), ApiError> {
        if self.forbidden.lock().unwrap().contains(&unit_id) {
            return Err(ApiError::Access {
                message: "another company's unit".to_owned(),
            });
        }
        Ok(())
    }
}

impl LogSource for FakeSource {
    async fn units(&self) -> Result<Vec<Unit>, ApiError> {
        self.calls.lock().unwrap().push(Call::Units);
        self.pause().await;
        if *self.units_unreachable.lock().unwrap() {
            return Err(ApiError::Transient {
                reason: "connection refused".to_owned(),
            });
        }
        Ok(self.units.lock().unwrap().clone())
    }

    async fn unit(&self, unit_id: i64) -> Result<Unit, ApiError> {
        self.calls.lock().unwrap().push(Call::Unit(unit_id));
        self.pause().await;
        self.check(unit_id)?;
        let units = self.units.lock().unwrap();
        units
            .iter()
            .find(|unit| unit.unit_id == unit_id)
            .cloned()
            .ok_or_else(|| ApiError::NotFound {
                what: format!("unit {unit_id}"),
            })
    }

    async fn booking_objects(&self) -> Result<Vec<BookingObject>, ApiError> {
        self.calls.lock().unwrap().push(Call::Objects);
        Ok(self.objects.lock().unwrap().clone())
    }

    async fn unit_logs(
        &self,
        unit_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LogEntry>, ApiError> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Logs(unit_id, from, to));
        self.pause().await;
        self.check(unit_id)?;
        {
            let mut budget = self.logs_budget.lock().unwrap();
            match budget.as_mut() {
                Some(0) => {
                    return Err(ApiError::Transient {
                        reason: "connection reset".to_owned(),
                    });
                }
                Some(left) => *left -= 1,
                None => {}
            }
        }
        let logs = self.logs.lock().unwrap();
        let mut found: Vec<LogEntry> = logs
            .get(&unit_id)
            .map(|all| {
                all.iter()
                    .filter(|entry| entry.server_date >= from && entry.server_date <= to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        found.reverse();
        Ok(found)
    }
}
