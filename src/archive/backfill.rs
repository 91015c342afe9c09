//! Backfills: read a unit's history `[from, to]` a day at a time. The ledger remembers how far
//! each unit's backfill got, in the transaction that stores each day, so an interrupted
//! backfill started again with the same `--from` resumes where it stopped.

use chrono::{DateTime, Utc};

use super::pull::{WINDOW, fetch_window, units_to_archive, windows};
use super::{ArchiveError, LogSource};
use crate::config::UnitSelection;
use crate::ledger::Ledger;

/// Told about a backfill's progress (a progress bar on a terminal, plain lines otherwise).
pub trait BackfillProgress: Send + Sync {
    /// A unit's backfill starts: `total` windows in all, `done` of them already stored earlier.
    fn unit_started(&self, unit_id: i64, total: u64, done: u64);
    /// One more window is stored; the backfill's position is now `position`.
    fn window_stored(&self, unit_id: i64, position: DateTime<Utc>, stored: u64);
    /// The unit's backfill is complete.
    fn unit_finished(&self, report: &UnitBackfill);
}

/// Progress nobody watches.
impl BackfillProgress for () {
    fn unit_started(&self, _unit_id: i64, _total: u64, _done: u64) {}
    fn window_stored(&self, _unit_id: i64, _position: DateTime<Utc>, _stored: u64) {}
    fn unit_finished(&self, _report: &UnitBackfill) {}
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    pub units: Vec<UnitBackfill>,
    /// Units that have no logs (EVVA), left out.
    pub skipped: Vec<i64>,
}

/// What a backfill did for one unit (as `logs backfill --json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnitBackfill {
    pub unit_id: i64,
    /// Where this run started: the range's start, or the position an earlier run reached.
    pub resumed_at: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub windows: u64,
    pub fetched: u64,
    pub stored: u64,
}

/// Backfills `[from, to]` for `unit` (or every unit `selection` names). A unit named with
/// `--unit` that has no logs is an error; in a selection it is skipped.
pub async fn backfill<S: LogSource, P: BackfillProgress>(
    source: &S,
    ledger: &Ledger,
    selection: &UnitSelection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    progress: &P,
) -> Result<BackfillReport, ArchiveError> {
    let selected = units_to_archive(source, ledger, selection, now).await?;
    if let Some((unit_id, source)) = selected.failed.into_iter().next() {
        return Err(ArchiveError::Unit { unit_id, source });
    }
    let (units, skipped) = (selected.archive, selected.skipped);
    if let (UnitSelection::Listed(ids), Some(&unit_id)) = (selection, skipped.first())
        && ids.len() == 1
    {
        let unit_type = ledger
            .archive_unit(unit_id)
            .await?
            .and_then(|unit| unit.unit_type)
            .unwrap_or_default();
        return Err(ArchiveError::NoLogs { unit_id, unit_type });
    }
    let mut report = BackfillReport {
        skipped,
        ..BackfillReport::default()
    };
    for unit_id in units {
        report
            .units
            .push(backfill_unit(source, ledger, unit_id, from, to, progress).await?);
    }
    Ok(report)
}

async fn backfill_unit<S: LogSource, P: BackfillProgress>(
    source: &S,
    ledger: &Ledger,
    unit_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    progress: &P,
) -> Result<UnitBackfill, ArchiveError> {
    let job = ledger.archive_backfill_begin(unit_id, from, to).await?;
    let all = windows(job.from, job.to, WINDOW).len() as u64;
    let mut report = UnitBackfill {
        unit_id,
        resumed_at: job.position,
        to: job.to,
        windows: 0,
        fetched: 0,
        stored: 0,
    };
    if job.position >= job.to {
        progress.unit_started(unit_id, all, all);
        progress.unit_finished(&report);
        return Ok(report);
    }
    let remaining = windows(job.position, job.to, WINDOW);
    progress.unit_started(unit_id, all, all.saturating_sub(remaining.len() as u64));
    for (start, end) in remaining {
        let hashed = fetch_window(source, unit_id, start, end).await?;
        report.windows += 1;
        report.fetched += hashed.len() as u64;
        let stored = ledger
            .archive_store_backfilled(unit_id, &hashed, end)
            .await?;
        report.stored += stored;
        progress.window_stored(unit_id, end, stored);
    }
    progress.unit_finished(&report);
    Ok(report)
}
