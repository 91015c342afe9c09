//! The ledger's records as typed values. Times are UTC; they are stored as unix seconds.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The counts of one sync pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassCounts {
    pub created: u32,
    pub deleted: u32,
    pub adopted: u32,
    pub failed: u32,
    pub held: u32,
    pub foreign_bookings: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassRecord {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub dry_run: bool,
    pub counts: PassCounts,
    pub converged: bool,
    pub errors: Vec<String>,
}
