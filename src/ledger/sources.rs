//! Each source's last read, its shrink guard, and its reservations (stored together, in one
//! transaction, so that a read and what it said never disagree).

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Ledger, LedgerError, credentials_from_json, credentials_to_json, from_ts, ts};
use crate::model::{
    FailureKind, ReadStatus, Reservation, ShrinkHold, SourceReadRecord, StoredReservation,
};

const SELECT_READS: &str = "SELECT source, last_attempt_at, last_outcome, last_reason, \
     last_success_at, last_fresh_at, content_fingerprint, consecutive_failures, fetch_memo, \
     hold_reason, hold_since, hold_fingerprint, hold_baseline, failure_kind, growth_reason, \
     growth_since, growth_fingerprint, growth_baseline FROM source_reads";

impl Ledger {
    /// Every source's last read, by source name.
    pub async fn source_reads(&self) -> Result<Vec<SourceReadRecord>, LedgerError> {
        let rows = sqlx::query(SELECT_READS).fetch_all(&self.pool).await?;
        rows.iter().map(read_record).collect()
    }

    pub async fn source_read(&self, source: &str) -> Result<Option<SourceReadRecord>, LedgerError> {
        Ok(self
            .source_reads()
            .await?
            .into_iter()
            .find(|record| record.source == source))
    }

    /// Records a read and, when it was successful, the source's reservations as they now stand
    /// (rows of the source not in `reservations` are removed), in one transaction.
    pub async fn store_read(
        &self,
        record: &SourceReadRecord,
        reservations: Option<&[StoredReservation]>,
    ) -> Result<(), LedgerError> {
        self.store_reads(&[(record, reservations)]).await
    }

    /// [`Ledger::store_read`] for many sources in one transaction: a pass over a thousand feeds
    /// syncs to disk once, not a thousand times.
    pub async fn store_reads(
        &self,
        reads: &[(&SourceReadRecord, Option<&[StoredReservation]>)],
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (record, reservations) in reads {
            store_one_read(&mut tx, record, *reservations).await?;
        }
        tx.commit().await?;
        crate::progress::mark();
        Ok(())
    }

    /// True when the ledger remembers anything of `source` (a read, a reservation, a booking).
    pub async fn knows_source(&self, source: &str) -> Result<bool, LedgerError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM source_reads WHERE source = ?1) \
             OR EXISTS (SELECT 1 FROM reservations WHERE source = ?1) \
             OR EXISTS (SELECT 1 FROM owned_bookings WHERE source = ?1 AND state = 'active')",
        )
        .bind(source)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every stored reservation of every source.
    pub async fn reservations(&self) -> Result<Vec<StoredReservation>, LedgerError> {
        let rows = sqlx::query(
            "SELECT key, source, booking_object_id, start_at, end_at, credentials, label, \
             fingerprint, first_seen, last_seen, misses FROM reservations ORDER BY start_at, key",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(reservation_record).collect()
    }

    /// Removes reservations that ended before `before`: nothing is ever done for them again.
    pub async fn prune_reservations(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query("DELETE FROM reservations WHERE end_at < ?")
            .bind(ts(before))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(done.rows_affected())
    }
}

/// One source's read and, when successful, its reservations, inside `tx`.
async fn store_one_read(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    record: &SourceReadRecord,
    reservations: Option<&[StoredReservation]>,
) -> Result<(), LedgerError> {
    let hold = record.hold.as_ref();
    let growth = record.growth_hold.as_ref();
    sqlx::query(
        "INSERT INTO source_reads (source, last_attempt_at, last_outcome, last_reason, \
         last_success_at, last_fresh_at, content_fingerprint, consecutive_failures, \
         fetch_memo, hold_reason, hold_since, hold_fingerprint, hold_baseline, \
         failure_kind, growth_reason, growth_since, growth_fingerprint, growth_baseline) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (source) DO UPDATE SET last_attempt_at = excluded.last_attempt_at, \
         last_outcome = excluded.last_outcome, last_reason = excluded.last_reason, \
         last_success_at = excluded.last_success_at, last_fresh_at = excluded.last_fresh_at, \
         content_fingerprint = excluded.content_fingerprint, \
         consecutive_failures = excluded.consecutive_failures, \
         fetch_memo = excluded.fetch_memo, hold_reason = excluded.hold_reason, \
         hold_since = excluded.hold_since, hold_fingerprint = excluded.hold_fingerprint, \
         hold_baseline = excluded.hold_baseline, failure_kind = excluded.failure_kind, \
         growth_reason = excluded.growth_reason, growth_since = excluded.growth_since, \
         growth_fingerprint = excluded.growth_fingerprint, \
         growth_baseline = excluded.growth_baseline",
    )
    .bind(&record.source)
    .bind(ts(record.last_attempt_at))
    .bind(record.last_outcome.as_str())
    .bind(&record.last_reason)
    .bind(record.last_success_at.map(ts))
    .bind(record.last_fresh_at.map(ts))
    .bind(&record.content_fingerprint)
    .bind(i64::from(record.consecutive_failures))
    .bind(&record.fetch_memo)
    .bind(hold.map(|h| h.reason.clone()))
    .bind(hold.map(|h| ts(h.since)))
    .bind(hold.map(|h| h.fingerprint.clone()))
    .bind(hold.map(|h| i64::from(h.baseline)))
    .bind(record.last_outcome.failure().map(FailureKind::as_str))
    .bind(growth.map(|h| h.reason.clone()))
    .bind(growth.map(|h| ts(h.since)))
    .bind(growth.map(|h| h.fingerprint.clone()))
    .bind(growth.map(|h| i64::from(h.baseline)))
    .execute(&mut **tx)
    .await?;
    if let Some(reservations) = reservations {
        sqlx::query("DELETE FROM reservations WHERE source = ?")
            .bind(&record.source)
            .execute(&mut **tx)
            .await?;
        for stored in reservations {
            insert_reservation(tx, stored).await?;
        }
    }
    Ok(())
}

async fn insert_reservation(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    stored: &StoredReservation,
) -> Result<(), LedgerError> {
    let r = &stored.reservation;
    sqlx::query(
        "INSERT INTO reservations (key, source, booking_object_id, start_at, end_at, \
         credentials, label, fingerprint, first_seen, last_seen, misses) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (key) DO UPDATE SET source = excluded.source, \
         booking_object_id = excluded.booking_object_id, start_at = excluded.start_at, \
         end_at = excluded.end_at, credentials = excluded.credentials, label = excluded.label, \
         fingerprint = excluded.fingerprint, first_seen = excluded.first_seen, \
         last_seen = excluded.last_seen, misses = excluded.misses",
    )
    .bind(&r.key)
    .bind(&r.source)
    .bind(r.booking_object_id)
    .bind(ts(r.start))
    .bind(ts(r.end))
    .bind(credentials_to_json(&r.credentials)?)
    .bind(&r.label)
    .bind(&stored.fingerprint)
    .bind(ts(stored.first_seen))
    .bind(ts(stored.last_seen))
    .bind(i64::from(stored.misses))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn reservation_record(row: &SqliteRow) -> Result<StoredReservation, LedgerError> {
    let misses: i64 = row.try_get("misses")?;
    Ok(StoredReservation {
        reservation: Reservation {
            source: row.try_get("source")?,
            key: row.try_get("key")?,
            booking_object_id: row.try_get("booking_object_id")?,
            start: from_ts(row.try_get("start_at")?)?,
            end: from_ts(row.try_get("end_at")?)?,
            credentials: credentials_from_json(&row.try_get::<String, _>("credentials")?)?,
            label: row.try_get("label")?,
        },
        fingerprint: row.try_get("fingerprint")?,
        first_seen: from_ts(row.try_get("first_seen")?)?,
        last_seen: from_ts(row.try_get("last_seen")?)?,
        misses: u32::try_from(misses).unwrap_or(u32::MAX),
    })
}

fn read_record(row: &SqliteRow) -> Result<SourceReadRecord, LedgerError> {
    let optional_ts = |name: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, LedgerError> {
        row.try_get::<Option<i64>, _>(name)?
            .map(from_ts)
            .transpose()
    };
    let hold_of = |prefix: &str| -> Result<Option<ShrinkHold>, LedgerError> {
        Ok(
            match (
                row.try_get::<Option<String>, _>(format!("{prefix}_reason").as_str())?,
                optional_ts(&format!("{prefix}_since"))?,
                row.try_get::<Option<String>, _>(format!("{prefix}_fingerprint").as_str())?,
                row.try_get::<Option<i64>, _>(format!("{prefix}_baseline").as_str())?,
            ) {
                (Some(reason), Some(since), Some(fingerprint), Some(baseline)) => {
                    Some(ShrinkHold {
                        reason,
                        since,
                        fingerprint,
                        baseline: u32::try_from(baseline).unwrap_or(u32::MAX),
                    })
                }
                _ => None,
            },
        )
    };
    let outcome: String = row.try_get("last_outcome")?;
    let kind: Option<String> = row.try_get("failure_kind")?;
    let last_outcome = match outcome.as_str() {
        "fresh" => ReadStatus::Fresh,
        "unchanged" => ReadStatus::Unchanged,
        "failed" => ReadStatus::Failed(
            kind.as_deref()
                .map_or(FailureKind::Other, FailureKind::parse),
        ),
        other => {
            return Err(LedgerError::Corrupt(format!(
                "source_reads.last_outcome {other:?} is none of fresh, unchanged, failed"
            )));
        }
    };
    let failures: i64 = row.try_get("consecutive_failures")?;
    Ok(SourceReadRecord {
        source: row.try_get("source")?,
        last_attempt_at: from_ts(row.try_get("last_attempt_at")?)?,
        last_outcome,
        last_reason: row.try_get("last_reason")?,
        last_success_at: optional_ts("last_success_at")?,
        last_fresh_at: optional_ts("last_fresh_at")?,
        content_fingerprint: row.try_get("content_fingerprint")?,
        consecutive_failures: u32::try_from(failures).unwrap_or(u32::MAX),
        fetch_memo: row.try_get("fetch_memo")?,
        hold: hold_of("hold")?,
        growth_hold: hold_of("growth")?,
    })
}
