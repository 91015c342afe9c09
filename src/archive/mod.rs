//! The unit log archive: incremental pulls of every FlexyKey unit's log into the ledger, each
//! entry stored as many times as FlexyKey lists it and never more (entries have no id: a hash
//! of all fields plus the ordinal among identical entries is the identity), resumable
//! backfills, and reading the archive back (a table, CSV, JSON lines).
//!
//! The ledger keeps each unit's position; a window's entries and the position that says they
//! are stored are written in one transaction, so an interruption at any point is repaired by
//! running again, with neither a gap nor a duplicate.

mod backfill;
mod export;
mod identity;
mod pull;
mod show;

#[cfg(test)]
mod tests;

use std::future::Future;

use chrono::{DateTime, Utc};

pub use backfill::{BackfillProgress, BackfillReport, UnitBackfill, backfill};
pub use export::{ExportFormat, ExportRecord, export};
pub use identity::{entry_hash, hash_entries, normalize};
pub use pull::{
    PullReport, SelectedUnits, UnitPull, WINDOW, pull, pull_unit, refresh_object_units,
    units_to_archive, windows,
};
pub use show::{CredentialIndex, ShowOptions, mask_phone_numbers, show};

use crate::flexykey::{ApiError, BookingObject, Client, LogEntry, Priority, Unit, with_priority};
use crate::ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("unit {unit_id}: {source}")]
    Unit { unit_id: i64, source: ApiError },
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("unit {unit_id} is a {unit_type} unit: only FlexyKey units have logs")]
    NoLogs { unit_id: i64, unit_type: String },
    #[error("writing {what}: {reason}")]
    Output { what: String, reason: String },
}

impl ArchiveError {
    /// The FlexyKey error behind this one, if any (decides the CLI's exit code).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ArchiveError::Unit { source, .. } | ArchiveError::Api(source) => Some(source),
            _ => None,
        }
    }
}

/// Where unit logs come from: the FlexyKey [`Client`] (or a stand-in in unit tests).
pub trait LogSource: Send + Sync {
    /// Every unit the account sees.
    fn units(&self) -> impl Future<Output = Result<Vec<Unit>, ApiError>> + Send;
    /// One unit.
    fn unit(&self, unit_id: i64) -> impl Future<Output = Result<Unit, ApiError>> + Send;
    /// Every booking object the account sees, with the units it opens.
    fn booking_objects(&self) -> impl Future<Output = Result<Vec<BookingObject>, ApiError>> + Send;
    /// Every entry in `[from, to]`, both bounds inclusive, in any order.
    fn unit_logs(
        &self,
        unit_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LogEntry>, ApiError>> + Send;
}

/// Every call the archive makes waits behind the sync's (one budget, by priority).
impl LogSource for Client {
    fn units(&self) -> impl Future<Output = Result<Vec<Unit>, ApiError>> + Send {
        with_priority(Priority::Archive, Client::units(self))
    }

    fn unit(&self, unit_id: i64) -> impl Future<Output = Result<Unit, ApiError>> + Send {
        with_priority(Priority::Archive, Client::unit(self, unit_id))
    }

    fn booking_objects(&self) -> impl Future<Output = Result<Vec<BookingObject>, ApiError>> + Send {
        with_priority(Priority::Archive, Client::booking_objects(self))
    }

    fn unit_logs(
        &self,
        unit_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LogEntry>, ApiError>> + Send {
        with_priority(
            Priority::Archive,
            Client::unit_logs(self, unit_id, from, to),
        )
    }
}
