//! One row per sync pass: when, what it did, whether it converged.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::records::{PassCounts, PassRecord};
use super::{Ledger, LedgerError, from_ts, ts};

impl Ledger {
    pub async fn pass_started(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<i64, LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO passes (started_at, dry_run) VALUES (?, ?) RETURNING id",
        )
        .bind(ts(now))
        .bind(dry_run)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(id)
    }

    pub async fn pass_finished(
        &self,
        pass_id: i64,
        now: DateTime<Utc>,
        counts: &PassCounts,
        converged: bool,
        errors: &[String],
    ) -> Result<(), LedgerError> {
        let errors = serde_json::to_string(errors)
            .map_err(|err| LedgerError::Corrupt(format!("cannot encode pass errors: {err}")))?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE passes SET finished_at = ?, created = ?, deleted = ?, adopted = ?, \
             failed = ?, held = ?, foreign_bookings = ?, converged = ?, errors = ? WHERE id = ?",
        )
        .bind(ts(now))
        .bind(i64::from(counts.created))
        .bind(i64::from(counts.deleted))
        .bind(i64::from(counts.adopted))
        .bind(i64::from(counts.failed))
        .bind(i64::from(counts.held))
        .bind(i64::from(counts.foreign_bookings))
        .bind(converged)
        .bind(errors)
        .bind(pass_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(())
    }

    /// The most recent passes, newest first.
    pub async fn recent_passes(&self, limit: u32) -> Result<Vec<PassRecord>, LedgerError> {
        let rows = sqlx::query(
            "SELECT id, started_at, finished_at, dry_run, created, deleted, adopted, failed, \
             held, foreign_bookings, converged, errors FROM passes ORDER BY id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let count = |row: &sqlx::sqlite::SqliteRow, name: &str| -> Result<u32, LedgerError> {
            let value: i64 = row.try_get(name)?;
            Ok(u32::try_from(value).unwrap_or(u32::MAX))
        };
        rows.iter()
            .map(|row| {
                let errors: Option<String> = row.try_get("errors")?;
                Ok(PassRecord {
                    id: row.try_get("id")?,
                    started_at: from_ts(row.try_get("started_at")?)?,
                    finished_at: row
                        .try_get::<Option<i64>, _>("finished_at")?
                        .map(from_ts)
                        .transpose()?,
                    dry_run: row.try_get("dry_run")?,
                    counts: PassCounts {
                        created: count(row, "created")?,
                        deleted: count(row, "deleted")?,
                        adopted: count(row, "adopted")?,
                        failed: count(row, "failed")?,
                        held: count(row, "held")?,
                        foreign_bookings: count(row, "foreign_bookings")?,
                    },
                    converged: row.try_get("converged")?,
                    errors: errors
                        .and_then(|text| serde_json::from_str(&text).ok())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}
