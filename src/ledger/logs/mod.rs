//! The unit log archive's tables: archived entries (keyed by hash and occurrence, so that each
//! is stored as many times as FlexyKey lists it and never more), what is known of each unit
//! (kind, zone, pull position) and resumable backfills. Every write that stores
//! entries also moves its position, in the same `BEGIN IMMEDIATE` transaction, so a crash
//! between the two cannot happen.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteExecutor};
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

use super::{Ledger, LedgerError, from_ts, ts};
use crate::model::phone::same_phone;
use crate::model::{Credentials, LogEntry};

/// An entry ready to be archived: its identity (see `archive::entry_hash` and
/// `archive::hash_entries`) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedLogEntry {
    pub hash: [u8; 32],
    /// Ordinal among the entries of one answer identical to this one (0 for the first).
    pub occurrence: u32,
    pub entry: LogEntry,
}

/// An entry read back from the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedEntry {
    pub unit_id: i64,
    pub entry: LogEntry,
}

/// What FlexyKey says about a unit, as the archive caches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveUnitInfo {
    pub unit_id: i64,
    pub unit_type: String,
    pub name: Option<String>,
    /// IANA zone name, when the unit's Windows zone resolved.
    pub timezone: Option<String>,
}

/// One unit as the archive knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveUnit {
    pub unit_id: i64,
    pub unit_type: Option<String>,
    pub name: Option<String>,
    pub timezone: Option<String>,
    /// False when the account's last unit list no longer had it.
    pub present: bool,
    pub info_at: Option<DateTime<Utc>>,
    /// Newest `serverDate` a pull stored.
    pub cursor: Option<DateTime<Utc>>,
    /// End of the last window a pull stored completely.
    pub pulled_to: Option<DateTime<Utc>>,
}

/// A unit's backfill: everything in `[from, position]` is stored; done when `position >= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillJob {
    pub unit_id: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub position: DateTime<Utc>,
}

/// Which archived entries to read: `server_date` in `[from, to)` (the command line's one window
/// rule), `None` = no bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveFilter {
    pub unit_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Exact; a phone number also matches its other spellings (the same number in E.164).
    pub source_id: Option<String>,
}

/// A credential (phone, card, code) of a booking flexysync made, the reservation's label and
/// when the booking was valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialLabel {
    pub credential: String,
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Rows per multi-row `INSERT`: 9 parameters each, far below SQLite's parameter limit.
const INSERT_BATCH: usize = 256;
const INSERT_HEAD: &str = "INSERT INTO archive_entries \
    (unit_id, server_date, entry_hash, occurrence, unit_date, source_id, source_label, \
    action_label, log_msg) VALUES ";
const INSERT_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
const INSERT_TAIL: &str = " ON CONFLICT (unit_id, server_date, entry_hash, occurrence) DO NOTHING";
const UNITS_LISTED_AT: &str = "units_listed_at";
const OBJECTS_LISTED_AT: &str = "objects_listed_at";

fn insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(INSERT_HEAD.len() + rows * 25 + INSERT_TAIL.len());
    sql.push_str(INSERT_HEAD);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(INSERT_ROW);
    }
    sql.push_str(INSERT_TAIL);
    sql
}

/// The full-batch statement, built once so that its prepared form is cached.
fn full_batch_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| insert_sql(INSERT_BATCH)).as_str()
}

/// For a phone number in any spelling (`+46 70-123 45 67`, `0701234567`), its last 7 digits:
/// a `source_id` ending in them may be the same phone, which [`same_source`] then decides.
/// `None` for anything else (cards, labels).
fn phone_tail(source_id: Option<&str>) -> Option<String> {
    let digits: String = source_id?
        .trim()
        .trim_start_matches('+')
        .chars()
        .filter(|ch| !ch.is_whitespace() && !"-()./".contains(*ch))
        .collect();
    (digits.len() >= 7 && digits.chars().all(|ch| ch.is_ascii_digit()))
        .then(|| digits[digits.len() - 7..].to_owned())
}

/// The filter's `source_id` matches an entry's exactly, or both are the same phone number in
/// E.164 (the national spelling read in the other's country).
fn same_source(filter: Option<&str>, source_id: Option<&str>) -> bool {
    match (filter, source_id) {
        (None, _) => true,
        (Some(wanted), Some(found)) => wanted == found || same_phone(wanted, found),
        (Some(_), None) => false,
    }
}

/// An [`ArchiveFilter`]'s conditions after the one on `unit_id` (`?1`), with the parameters
/// [`bind_filter`] binds.
const FILTER_REST: &str = "server_date >= ?2 AND server_date < ?3 AND (?4 IS NULL OR source_id = ?4 \
    OR (?5 IS NOT NULL AND source_id LIKE '%' || ?5))";

/// Binds `?1` to `?5` of a query over an [`ArchiveFilter`]: unit, time range, source id and
/// the source id's phone tail.
fn bind_filter<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    filter: &ArchiveFilter,
) -> Query<'q, Sqlite, SqliteArguments> {
    query
        .bind(filter.unit_id)
        .bind(filter.from.map_or(i64::MIN, ts))
        // Stored to the second: an end with a fraction still takes in the second it falls in.
        .bind(filter.to.map_or(i64::MAX, |to| {
            ts(to) + i64::from(to.timestamp_subsec_nanos() > 0)
        }))
        .bind(filter.source_id.clone())
        .bind(phone_tail(filter.source_id.as_deref()))
}

fn opt_time(seconds: Option<i64>) -> Result<Option<DateTime<Utc>>, LedgerError> {
    seconds.map(from_ts).transpose()
}

/// Inserts `entries` inside `tx`; returns how many were new.
async fn insert_entries(
    tx: &mut Transaction<'static, Sqlite>,
    unit_id: i64,
    entries: &[HashedLogEntry],
) -> Result<u64, LedgerError> {
    // In key order, so that SQLite appends to the index instead of jumping around in it.
    let mut sorted: Vec<&HashedLogEntry> = entries.iter().collect();
    sorted.sort_unstable_by_key(|item| (item.entry.server_date, item.hash, item.occurrence));
    let mut inserted = 0;
    for batch in sorted.chunks(INSERT_BATCH) {
        let mut query = if batch.len() == INSERT_BATCH {
            sqlx::query(full_batch_sql())
        } else {
            sqlx::query(AssertSqlSafe(insert_sql(batch.len())))
        };
        for &item in batch {
            let entry = &item.entry;
            query = query
                .bind(unit_id)
                .bind(ts(entry.server_date))
                .bind(&item.hash[..])
                .bind(i64::from(item.occurrence))
                .bind(entry.unit_date.as_deref())
                .bind(entry.source_id.as_deref())
                .bind(entry.source_label.as_deref())
                .bind(entry.action_label.as_deref())
                .bind(entry.log_msg.as_deref());
        }
        inserted += query.execute(&mut **tx).await?.rows_affected();
    }
    Ok(inserted)
}

fn unit_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ArchiveUnit, LedgerError> {
    Ok(ArchiveUnit {
        unit_id: row.try_get("unit_id")?,
        unit_type: row.try_get("unit_type")?,
        name: row.try_get("name")?,
        timezone: row.try_get("timezone")?,
        present: row.try_get::<i64, _>("present")? != 0,
        info_at: opt_time(row.try_get("info_at")?)?,
        cursor: opt_time(row.try_get("cursor")?)?,
        pulled_to: opt_time(row.try_get("pulled_to")?)?,
    })
}

fn entry_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ArchivedEntry, LedgerError> {
    Ok(ArchivedEntry {
        unit_id: row.try_get("unit_id")?,
        entry: LogEntry {
            server_date: from_ts(row.try_get("server_date")?)?,
            unit_date: row.try_get("unit_date")?,
            source_id: row.try_get("source_id")?,
            source_label: row.try_get("source_label")?,
            action_label: row.try_get("action_label")?,
            log_msg: row.try_get("log_msg")?,
        },
    })
}

const UNIT_COLUMNS: &str = "SELECT unit_id, unit_type, name, timezone, present, info_at, cursor, pulled_to \
     FROM archive_units";

const UPSERT_UNIT_INFO: &str = "INSERT INTO archive_units \
    (unit_id, unit_type, name, timezone, present, info_at) VALUES (?, ?, ?, ?, 1, ?) \
    ON CONFLICT (unit_id) DO UPDATE SET unit_type = excluded.unit_type, name = excluded.name, \
    timezone = excluded.timezone, present = 1, info_at = excluded.info_at";

impl Ledger {
    /// Every unit the archive knows, by id.
    pub async fn archive_units(&self) -> Result<Vec<ArchiveUnit>, LedgerError> {
        let rows = sqlx::query(AssertSqlSafe(format!("{UNIT_COLUMNS} ORDER BY unit_id")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(unit_from_row).collect()
    }

    pub async fn archive_unit(&self, unit_id: i64) -> Result<Option<ArchiveUnit>, LedgerError> {
        let row = sqlx::query(AssertSqlSafe(format!("{UNIT_COLUMNS} WHERE unit_id = ?")))
            .bind(unit_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(unit_from_row).transpose()
    }

    /// Records the account's whole unit list: listed units are present, the others not.
    pub async fn archive_record_unit_list(
        &self,
        units: &[ArchiveUnitInfo],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE archive_units SET present = 0")
            .execute(&mut *tx)
            .await?;
        for unit in units {
            upsert_unit_info(&mut *tx, unit, now).await?;
        }
        set_state(&mut tx, UNITS_LISTED_AT, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// When [`Ledger::archive_record_unit_list`] last ran.
    pub async fn archive_units_listed_at(&self) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.archive_state(UNITS_LISTED_AT).await
    }

    /// Records what FlexyKey says about one unit.
    pub async fn archive_record_unit_info(
        &self,
        unit: &ArchiveUnitInfo,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        upsert_unit_info(&self.pool, unit, now).await
    }

    /// Stores one pulled window: the new entries, the cursor (newest `serverDate`) and the
    /// window's end, in one transaction. Returns how many entries were new.
    pub async fn archive_store_pulled(
        &self,
        unit_id: i64,
        entries: &[HashedLogEntry],
        window_end: DateTime<Utc>,
    ) -> Result<u64, LedgerError> {
        let newest = entries.iter().map(|item| ts(item.entry.server_date)).max();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = insert_entries(&mut tx, unit_id, entries).await?;
        sqlx::query(
            "INSERT INTO archive_units (unit_id, cursor, pulled_to) VALUES (?1, ?2, ?3) \
             ON CONFLICT (unit_id) DO UPDATE SET \
             cursor = CASE WHEN cursor IS NULL OR ?2 > cursor THEN ?2 ELSE cursor END, \
             pulled_to = CASE WHEN pulled_to IS NULL OR ?3 > pulled_to THEN ?3 ELSE pulled_to END",
        )
        .bind(unit_id)
        .bind(newest)
        .bind(ts(window_end))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// The unit's backfill, if one was ever started.
    pub async fn archive_backfill(&self, unit_id: i64) -> Result<Option<BackfillJob>, LedgerError> {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT range_from, range_to, position FROM archive_backfills WHERE unit_id = ?",
        )
        .bind(unit_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(from, to, position)| {
            Ok(BackfillJob {
                unit_id,
                from: from_ts(from)?,
                to: from_ts(to)?,
                position: from_ts(position)?,
            })
        })
        .transpose()
    }

    /// Starts or resumes a backfill of `[from, to]`: a stored one that began at the same
    /// `from` keeps its position (and takes the new `to`); any other is replaced.
    pub async fn archive_backfill_begin(
        &self,
        unit_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<BackfillJob, LedgerError> {
        sqlx::query(
            "INSERT INTO archive_backfills (unit_id, range_from, range_to, position) \
             VALUES (?1, ?2, ?3, ?2) ON CONFLICT (unit_id) DO UPDATE SET \
             position = CASE WHEN range_from = ?2 THEN position ELSE ?2 END, \
             range_from = ?2, range_to = ?3",
        )
        .bind(unit_id)
        .bind(ts(from))
        .bind(ts(to))
        .execute(&self.pool)
        .await?;
        self.archive_backfill(unit_id)
            .await?
            .ok_or_else(|| LedgerError::Sql(sqlx::Error::RowNotFound))
    }

    /// Stores one backfilled chunk and moves the backfill's position to `position`, in one
    /// transaction. Returns how many entries were new.
    pub async fn archive_store_backfilled(
        &self,
        unit_id: i64,
        entries: &[HashedLogEntry],
        position: DateTime<Utc>,
    ) -> Result<u64, LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = insert_entries(&mut tx, unit_id, entries).await?;
        sqlx::query(
            "UPDATE archive_backfills SET position = ?2 WHERE unit_id = ?1 AND position < ?2",
        )
        .bind(unit_id)
        .bind(ts(position))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Deletes the unit's (or, with `None`, every unit's) entries older than `cutoff`
    /// (retention); returns how many.
    pub async fn archive_delete_before(
        &self,
        unit_id: Option<i64>,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, LedgerError> {
        Ok(sqlx::query(
            "DELETE FROM archive_entries WHERE (?1 IS NULL OR unit_id = ?1) AND server_date < ?2",
        )
        .bind(unit_id)
        .bind(ts(cutoff))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// The archived entries `filter` selects, by unit, then time (then identity); streamed, so
    /// reading a year of a busy unit takes constant memory.
    pub fn archive_entries(
        &self,
        filter: &ArchiveFilter,
    ) -> BoxStream<'_, Result<ArchivedEntry, LedgerError>> {
        const COLUMNS: &str = "SELECT unit_id, server_date, unit_date, source_id, source_label, \
            action_label, log_msg FROM archive_entries";
        const ORDER: &str = "ORDER BY unit_id, server_date, entry_hash, occurrence";
        static FOR_UNIT: OnceLock<String> = OnceLock::new();
        static ALL_UNITS: OnceLock<String> = OnceLock::new();
        let sql = if filter.unit_id.is_some() {
            FOR_UNIT
                .get_or_init(|| format!("{COLUMNS} WHERE unit_id = ?1 AND {FILTER_REST} {ORDER}"))
        } else {
            ALL_UNITS
                .get_or_init(|| format!("{COLUMNS} WHERE ?1 IS NULL AND {FILTER_REST} {ORDER}"))
        };
        let wanted = filter.source_id.clone();
        bind_filter(sqlx::query(sql.as_str()), filter)
            .fetch(&self.pool)
            .map_err(LedgerError::from)
            .and_then(|row| futures::future::ready(entry_from_row(&row)))
            .try_filter(move |item| {
                let keep = same_source(wanted.as_deref(), item.entry.source_id.as_deref());
                futures::future::ready(keep)
            })
            .boxed()
    }

    /// How many archived entries `filter` selects.
    pub async fn archive_count(&self, filter: &ArchiveFilter) -> Result<u64, LedgerError> {
        if filter.source_id.is_some() {
            // Phone spellings are compared outside SQL.
            return self
                .archive_entries(filter)
                .try_fold(0, |count, _| futures::future::ready(Ok(count + 1)))
                .await;
        }
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| {
            format!(
                "SELECT count(*) FROM archive_entries WHERE (?1 IS NULL OR unit_id = ?1) \
                 AND {FILTER_REST}"
            )
        });
        let count: i64 = bind_filter(sqlx::query(sql.as_str()), filter)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Records which units each booking object opens (the account's whole list).
    pub async fn archive_record_object_units(
        &self,
        object_units: &[(i64, i64)],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM archive_object_units")
            .execute(&mut *tx)
            .await?;
        for &(booking_object_id, unit_id) in object_units {
            sqlx::query(
                "INSERT INTO archive_object_units (booking_object_id, unit_id) VALUES (?, ?) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(booking_object_id)
            .bind(unit_id)
            .execute(&mut *tx)
            .await?;
        }
        set_state(&mut tx, OBJECTS_LISTED_AT, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The units `booking_object_id` opens, as last listed (empty when never listed).
    pub async fn archive_object_unit_ids(
        &self,
        booking_object_id: i64,
    ) -> Result<Vec<i64>, LedgerError> {
        Ok(sqlx::query_scalar(
            "SELECT unit_id FROM archive_object_units WHERE booking_object_id = ? ORDER BY unit_id",
        )
        .bind(booking_object_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// When [`Ledger::archive_record_object_units`] last ran.
    pub async fn archive_objects_listed_at(&self) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.archive_state(OBJECTS_LISTED_AT).await
    }

    async fn archive_state(&self, key: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let value: Option<i64> =
            sqlx::query_scalar("SELECT value FROM archive_state WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        opt_time(value)
    }

    /// The credentials of the bookings flexysync made (active or since deleted) on the booking
    /// objects that open `unit_id`, with their reservations' labels and validity, so that the
    /// archive can say who an access event was. Empty while the ledger has no owned bookings
    /// table (the reconciler's migration).
    pub async fn archive_credential_labels(
        &self,
        unit_id: i64,
    ) -> Result<Vec<CredentialLabel>, LedgerError> {
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('owned_bookings', 'reservations')",
        )
        .fetch_one(&self.pool)
        .await?;
        if tables < 2 {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT ob.credentials, COALESCE(r.label, ob.name), ob.start_at, ob.end_at \
             FROM owned_bookings ob \
             JOIN archive_object_units ou ON ou.booking_object_id = ob.booking_object_id \
             LEFT JOIN reservations r ON r.key = ob.reservation_key \
             WHERE ou.unit_id = ? ORDER BY ob.start_at",
        )
        .bind(unit_id)
        .fetch_all(&self.pool)
        .await?;
        let mut labels = Vec::new();
        for (credentials, label, start, end) in rows {
            // Unreadable credentials only cost the label, never the archive's output.
            let Ok(credentials) = serde_json::from_str::<Credentials>(&credentials) else {
                continue;
            };
            let (start, end) = (from_ts(start)?, from_ts(end)?);
            let all = credentials
                .phones
                .into_iter()
                .map(String::from)
                .chain(credentials.code.map(String::from))
                .chain(credentials.rfid);
            labels.extend(all.map(|credential| CredentialLabel {
                credential,
                label: label.clone(),
                start,
                end,
            }));
        }
        Ok(labels)
    }
}

async fn upsert_unit_info<'c>(
    executor: impl SqliteExecutor<'c>,
    unit: &ArchiveUnitInfo,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    sqlx::query(UPSERT_UNIT_INFO)
        .bind(unit.unit_id)
        .bind(&unit.unit_type)
        .bind(unit.name.as_deref())
        .bind(unit.timezone.as_deref())
        .bind(ts(now))
        .execute(executor)
        .await?;
    Ok(())
}

async fn set_state(
    tx: &mut Transaction<'static, Sqlite>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO archive_state (key, value) VALUES (?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
