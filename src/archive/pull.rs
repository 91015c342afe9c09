//! Incremental pulls: for each unit, ask FlexyKey for `[position − overlap, now]` in windows of
//! at most a day and store each window with its position in one transaction.

use chrono::{DateTime, Duration, TimeDelta, Utc};

use super::identity::hash_entries;
use super::{ArchiveError, LogSource};
use crate::config::{ArchiveConfig, UnitSelection};
use crate::flexykey::{ApiError, Unit};
use crate::ledger::{ArchiveUnitInfo, HashedLogEntry, Ledger};

/// The longest window one request (before the client's own bisection) covers. It bounds what
/// a first pull or a backfill holds in memory and loses on an interruption.
pub const WINDOW: TimeDelta = TimeDelta::days(1);

/// How old the cached unit list (kind, zone) may get before a pull reads it again.
const UNIT_INFO_MAX_AGE: TimeDelta = TimeDelta::days(1);

/// What one pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    pub units: Vec<UnitPull>,
    /// Units that have no logs (EVVA), left out.
    pub skipped: Vec<i64>,
    /// Units whose pull failed, with the reason; the others were still pulled.
    pub failed: Vec<(i64, String)>,
    /// Entries past `retention_days` of units no longer pulled (dropped from the config, gone
    /// from the account, or failing), deleted all the same.
    pub expired_elsewhere: u64,
}

impl PullReport {
    pub fn stored(&self) -> u64 {
        self.units.iter().map(|unit| unit.stored).sum()
    }
}

/// What one pull did for one unit (as `logs pull --json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnitPull {
    pub unit_id: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Windows asked for (one per request unless the client had to bisect).
    pub windows: u64,
    pub fetched: u64,
    /// New entries stored.
    pub stored: u64,
    /// Entries deleted by retention.
    pub expired: u64,
}

/// `[from, to]` cut into consecutive windows of at most `step`; always at least one window.
/// Neighbouring windows share their boundary second (bounds are inclusive; both answers list
/// that second's entries alike, so their occurrences match in the ledger instead of adding
/// up), so nothing falls between two windows.
pub fn windows(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: TimeDelta,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let step = step.max(TimeDelta::seconds(1));
    if from >= to {
        return vec![(to, to)];
    }
    let mut cuts = Vec::new();
    let mut start = from;
    while start < to {
        let end = start.checked_add_signed(step).map_or(to, |end| end.min(to));
        cuts.push((start, end));
        start = end;
    }
    cuts
}

/// One window of a unit's logs from FlexyKey, ready to be archived. A failure is the unit's
/// ([`ArchiveError::Unit`]): a pull goes on with the other units.
pub(super) async fn fetch_window<S: LogSource>(
    source: &S,
    unit_id: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<HashedLogEntry>, ArchiveError> {
    let entries = source
        .unit_logs(unit_id, start, end)
        .await
        .map_err(|source| ArchiveError::Unit { unit_id, source })?;
    Ok(hash_entries(unit_id, entries))
}

fn unit_info(unit: &Unit) -> ArchiveUnitInfo {
    ArchiveUnitInfo {
        unit_id: unit.unit_id,
        unit_type: unit.unit_type.clone(),
        name: unit.name.clone(),
        timezone: unit.timezone().map(|tz| tz.name().to_owned()),
    }
}

fn is_flexykey_type(unit_type: Option<&str>) -> bool {
    unit_type.is_some_and(|kind| kind.eq_ignore_ascii_case("FlexyKey"))
}

fn stale(info_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    info_at.is_none_or(|at| now.signed_duration_since(at) >= UNIT_INFO_MAX_AGE || at > now)
}

/// The units `selection` names that have logs, reading FlexyKey's unit information only when
/// the cached copy is older than a day. Units without logs are said once, when first seen,
/// and returned in `skipped`.
pub async fn units_to_archive<S: LogSource>(
    source: &S,
    ledger: &Ledger,
    selection: &UnitSelection,
    now: DateTime<Utc>,
) -> Result<SelectedUnits, ArchiveError> {
    let known = ledger.archive_units().await?;
    let previous_type = |unit_id: i64| {
        known
            .iter()
            .find(|unit| unit.unit_id == unit_id)
            .and_then(|unit| unit.unit_type.clone())
    };
    let mut failed = Vec::new();
    let say_once = |info: &ArchiveUnitInfo| {
        let before = previous_type(info.unit_id);
        if !is_flexykey_type(Some(&info.unit_type)) && before.as_deref() != Some(&info.unit_type) {
            tracing::info!(
                unit_id = info.unit_id,
                unit_type = %info.unit_type,
                "unit has no logs (not a FlexyKey unit): the archive skips it"
            );
        }
    };
    let candidates: Vec<i64> = match selection {
        UnitSelection::All => {
            let listed_at = ledger.archive_units_listed_at().await?;
            if stale(listed_at, now) {
                match source.units().await {
                    Ok(units) => {
                        let infos: Vec<ArchiveUnitInfo> = units.iter().map(unit_info).collect();
                        infos.iter().for_each(say_once);
                        ledger.archive_record_unit_list(&infos, now).await?;
                    }
                    // An older list still says which units to pull.
                    Err(err) if listed_at.is_some() => {
                        tracing::warn!(error = %err, "cannot refresh the unit list; using the last one");
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            ledger
                .archive_units()
                .await?
                .into_iter()
                .filter(|unit| unit.present)
                .map(|unit| unit.unit_id)
                .collect()
        }
        UnitSelection::Listed(ids) => {
            for &unit_id in ids {
                let cached = known.iter().find(|unit| unit.unit_id == unit_id);
                if cached.is_some_and(|unit| unit.unit_type.is_some() && !stale(unit.info_at, now))
                {
                    continue;
                }
                match source.unit(unit_id).await {
                    Ok(unit) => {
                        let info = unit_info(&unit);
                        say_once(&info);
                        ledger.archive_record_unit_info(&info, now).await?;
                    }
                    // Keep archiving with what is cached; a unit never seen cannot be pulled.
                    Err(err) if cached.is_some_and(|unit| unit.unit_type.is_some()) => {
                        tracing::warn!(unit_id, error = %err, "cannot refresh unit information");
                    }
                    Err(err) => failed.push((unit_id, err)),
                }
            }
            ids.clone()
        }
    };
    let units = ledger.archive_units().await?;
    let mut selected = SelectedUnits {
        failed,
        ..SelectedUnits::default()
    };
    for unit_id in candidates {
        match units.iter().find(|unit| unit.unit_id == unit_id) {
            Some(unit) if is_flexykey_type(unit.unit_type.as_deref()) => {
                selected.archive.push(unit_id)
            }
            Some(unit) if unit.unit_type.is_some() => selected.skipped.push(unit_id),
            _ => {}
        }
    }
    Ok(selected)
}

/// The units a pull or backfill works on.
#[derive(Debug, Default)]
pub struct SelectedUnits {
    /// FlexyKey units, to archive.
    pub archive: Vec<i64>,
    /// Units without logs (EVVA).
    pub skipped: Vec<i64>,
    /// Listed units whose information could not be read (never seen before).
    pub failed: Vec<(i64, ApiError)>,
}

/// The earliest time the archive keeps: `start`, or the retention limit if that is later.
pub(super) fn floor(config: &ArchiveConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    let start = config.start.and_time(chrono::NaiveTime::MIN).and_utc();
    match retention_cutoff(config, now) {
        Some(cutoff) => start.max(cutoff),
        None => start,
    }
}

fn retention_cutoff(config: &ArchiveConfig, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if config.retention_days == 0 {
        return None;
    }
    Some(
        now.checked_sub_signed(Duration::days(i64::from(config.retention_days)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
    )
}

/// Reads which units each booking object opens, when the cached copy is older than a day (or
/// missing), so that access events can be matched with flexysync's bookings. A failure only
/// costs the labels: it is logged, not returned.
pub async fn refresh_object_units<S: LogSource>(
    source: &S,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<(), ArchiveError> {
    if !stale(ledger.archive_objects_listed_at().await?, now) {
        return Ok(());
    }
    match source.booking_objects().await {
        Ok(objects) => {
            let pairs: Vec<(i64, i64)> = objects
                .iter()
                .flat_map(|object| {
                    object
                        .unit_ids
                        .iter()
                        .map(|&unit_id| (object.booking_object_id, unit_id))
                })
                .collect();
            ledger.archive_record_object_units(&pairs, now).await?;
        }
        Err(err) => tracing::warn!(error = %err, "cannot read the booking objects"),
    }
    Ok(())
}

/// One incremental pull of every unit the config selects. A unit that fails is reported and
/// the others are still pulled; a ledger failure stops the pull.
pub async fn pull<S: LogSource>(
    source: &S,
    ledger: &Ledger,
    config: &ArchiveConfig,
    now: DateTime<Utc>,
) -> Result<PullReport, ArchiveError> {
    let selected = units_to_archive(source, ledger, &config.units, now).await?;
    refresh_object_units(source, ledger, now).await?;
    let mut failed: Vec<(i64, String)> = selected
        .failed
        .into_iter()
        .map(|(unit_id, err)| (unit_id, err.to_string()))
        .collect();
    let mut report = PullReport {
        skipped: selected.skipped,
        ..PullReport::default()
    };
    for unit_id in selected.archive {
        match pull_unit(source, ledger, config, unit_id, now).await {
            Ok(unit) => report.units.push(unit),
            Err(ArchiveError::Unit { unit_id, source }) => {
                tracing::warn!(unit_id, error = %source, "archive pull failed for this unit");
                failed.push((unit_id, source.to_string()));
            }
            Err(err) => return Err(err),
        }
    }
    report.failed = failed;
    if let Some(cutoff) = retention_cutoff(config, now) {
        report.expired_elsewhere = ledger.archive_delete_before(None, cutoff).await?;
    }
    Ok(report)
}

/// Pulls one unit from its stored position (or from `start` for a new unit) up to `now`.
pub async fn pull_unit<S: LogSource>(
    source: &S,
    ledger: &Ledger,
    config: &ArchiveConfig,
    unit_id: i64,
    now: DateTime<Utc>,
) -> Result<UnitPull, ArchiveError> {
    let floor = floor(config, now);
    let state = ledger.archive_unit(unit_id).await?;
    let position = state.and_then(|unit| match (unit.cursor, unit.pulled_to) {
        (Some(cursor), Some(pulled_to)) => Some(cursor.max(pulled_to)),
        (cursor, pulled_to) => cursor.or(pulled_to),
    });
    let from = position
        .and_then(|position| position.checked_sub_signed(config.overlap.as_chrono()))
        .unwrap_or(floor)
        .max(floor)
        .min(now);
    let mut report = UnitPull {
        unit_id,
        from,
        to: now,
        windows: 0,
        fetched: 0,
        stored: 0,
        expired: 0,
    };
    for (start, end) in windows(from, now, WINDOW) {
        let hashed = fetch_window(source, unit_id, start, end).await?;
        report.windows += 1;
        report.fetched += hashed.len() as u64;
        report.stored += ledger.archive_store_pulled(unit_id, &hashed, end).await?;
    }
    if let Some(cutoff) = retention_cutoff(config, now) {
        report.expired = ledger.archive_delete_before(Some(unit_id), cutoff).await?;
    }
    tracing::debug!(
        unit_id,
        windows = report.windows,
        fetched = report.fetched,
        stored = report.stored,
        "archive pull"
    );
    Ok(report)
}
