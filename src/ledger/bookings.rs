//! The bookings flexysync owns, and the operations journal that records every write to
//! FlexyKey: the intent before the call, the outcome after, each in its own short transaction.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::outbox::insert_events;
use super::{Ledger, LedgerError, credentials_from_json, credentials_to_json, from_ts, ts};
use crate::model::{BookingState, JournalEntry, JournalState, OwnedBooking, WriteKind};
use crate::notify::NewEvent;

const SELECT_BOOKINGS: &str = "SELECT booking_id, reservation_key, source, booking_object_id, \
     start_at, end_at, credentials, name, fingerprint, state FROM owned_bookings";

const SELECT_JOURNAL: &str = "SELECT id, kind, reservation_key, source, booking_object_id, \
     booking_id, start_at, end_at, credentials, name, fingerprint, reason, state, error, \
     intended_at FROM journal";

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

impl Ledger {
    /// Owned bookings flexysync still tracks (active, or vanished from FlexyKey by hand).
    pub async fn owned_bookings(&self) -> Result<Vec<OwnedBooking>, LedgerError> {
        let rows = sqlx::query(
            "SELECT booking_id, reservation_key, source, booking_object_id, start_at, end_at, \
             credentials, name, fingerprint, state FROM owned_bookings \
             WHERE state IN ('active', 'vanished') ORDER BY start_at, booking_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(booking_record).collect()
    }

    /// One owned booking in any state.
    pub async fn owned_booking(
        &self,
        booking_id: i64,
    ) -> Result<Option<OwnedBooking>, LedgerError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_BOOKINGS} WHERE booking_id = ?"
        )))
        .bind(booking_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(booking_record).transpose()
    }

    /// Sets the state of owned bookings (drift: `Vanished`; housekeeping: `Deleted`).
    pub async fn set_booking_states(
        &self,
        booking_ids: &[i64],
        state: BookingState,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        if booking_ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for id in booking_ids {
            sqlx::query("UPDATE owned_bookings SET state = ?, updated_at = ? WHERE booking_id = ?")
                .bind(state.as_str())
                .bind(ts(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        crate::progress::mark();
        Ok(())
    }

    /// Forgets owned bookings that ended before `before` (the journal keeps their history).
    pub async fn prune_bookings(&self, before: DateTime<Utc>) -> Result<u64, LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query("DELETE FROM owned_bookings WHERE end_at < ?")
            .bind(ts(before))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(done.rows_affected())
    }

    /// Records a booking found in FlexyKey by its marker (a lost ledger, a lost answer) as owned.
    pub async fn adopt_booking(
        &self,
        booking: &OwnedBooking,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        upsert_booking(&mut tx, booking, now).await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(())
    }

    /// Journals a write before it is sent; returns the entry's id.
    pub async fn journal_intent(
        &self,
        pass_id: Option<i64>,
        entry: &JournalEntry,
    ) -> Result<i64, LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO journal (pass_id, kind, reservation_key, source, booking_object_id, \
             booking_id, start_at, end_at, credentials, name, fingerprint, reason, state, \
             intended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'intent', ?) RETURNING id",
        )
        .bind(pass_id)
        .bind(entry.kind.as_str())
        .bind(&entry.reservation_key)
        .bind(&entry.source)
        .bind(entry.booking_object_id)
        .bind(entry.booking_id)
        .bind(ts(entry.start))
        .bind(ts(entry.end))
        .bind(credentials_to_json(&entry.credentials)?)
        .bind(&entry.name)
        .bind(&entry.fingerprint)
        .bind(&entry.reason)
        .bind(ts(entry.intended_at))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(id)
    }

    /// A create succeeded (`Created`) or was found in FlexyKey's list (`Adopted`): the journal
    /// entry is closed and the booking owned, in one transaction. Vanished bookings of the same
    /// reservation are retired, since this one replaces them.
    pub async fn journal_booking_created(
        &self,
        journal_id: i64,
        state: JournalState,
        booking: &OwnedBooking,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.journal_booking_created_telling(journal_id, state, booking, &[], now)
            .await
    }

    /// [`Self::journal_booking_created`], writing `events` to the outbox in its transaction.
    pub async fn journal_booking_created_telling(
        &self,
        journal_id: i64,
        state: JournalState,
        booking: &OwnedBooking,
        events: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE journal SET state = ?, booking_id = ?, error = NULL, resolved_at = ? \
             WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(booking.booking_id)
        .bind(ts(now))
        .bind(journal_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE owned_bookings SET state = 'deleted', updated_at = ? \
             WHERE reservation_key = ? AND state = 'vanished'",
        )
        .bind(ts(now))
        .bind(&booking.reservation_key)
        .execute(&mut *tx)
        .await?;
        upsert_booking(&mut tx, booking, now).await?;
        insert_events(&mut tx, events, now).await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(())
    }

    /// A delete succeeded, or FlexyKey said the booking was already gone.
    pub async fn journal_booking_deleted(
        &self,
        journal_id: i64,
        booking_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.journal_booking_deleted_telling(journal_id, booking_id, &[], now)
            .await
    }

    /// [`Self::journal_booking_deleted`], writing `events` to the outbox in its transaction.
    pub async fn journal_booking_deleted_telling(
        &self,
        journal_id: i64,
        booking_id: i64,
        events: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE journal SET state = 'deleted', error = NULL, resolved_at = ? WHERE id = ?",
        )
        .bind(ts(now))
        .bind(journal_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE owned_bookings SET state = 'deleted', updated_at = ? WHERE booking_id = ?",
        )
        .bind(ts(now))
        .bind(booking_id)
        .execute(&mut *tx)
        .await?;
        insert_events(&mut tx, events, now).await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(())
    }

    /// Closes (or marks in doubt) a journal entry without a booking change.
    pub async fn journal_resolve(
        &self,
        journal_id: i64,
        state: JournalState,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.journal_resolve_telling(journal_id, state, error, &[], now)
            .await
    }

    /// [`Self::journal_resolve`], writing `events` to the outbox in its transaction.
    pub async fn journal_resolve_telling(
        &self,
        journal_id: i64,
        state: JournalState,
        error: Option<&str>,
        events: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let resolved =
            (!matches!(state, JournalState::Intent | JournalState::InDoubt)).then(|| ts(now));
        sqlx::query("UPDATE journal SET state = ?, error = ?, resolved_at = ? WHERE id = ?")
            .bind(state.as_str())
            .bind(error)
            .bind(resolved)
            .bind(journal_id)
            .execute(&mut *tx)
            .await?;
        insert_events(&mut tx, events, now).await?;
        tx.commit().await?;
        crate::progress::mark();
        Ok(())
    }

    /// Entries whose outcome is not known: intents left by a crash, and calls in doubt.
    pub async fn open_journal(&self) -> Result<Vec<JournalEntry>, LedgerError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_JOURNAL} WHERE state IN ('intent', 'in_doubt') ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(journal_record).collect()
    }

    /// The most recent journal entries, newest first.
    pub async fn recent_journal(&self, limit: u32) -> Result<Vec<JournalEntry>, LedgerError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_JOURNAL} ORDER BY id DESC LIMIT ?"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(journal_record).collect()
    }
}

async fn upsert_booking(
    tx: &mut Tx,
    booking: &OwnedBooking,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO owned_bookings (booking_id, reservation_key, source, booking_object_id, \
         start_at, end_at, credentials, name, fingerprint, state, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (booking_id) DO UPDATE SET reservation_key = excluded.reservation_key, \
         source = excluded.source, booking_object_id = excluded.booking_object_id, \
         start_at = excluded.start_at, end_at = excluded.end_at, \
         credentials = excluded.credentials, name = excluded.name, \
         fingerprint = excluded.fingerprint, state = excluded.state, \
         updated_at = excluded.updated_at",
    )
    .bind(booking.booking_id)
    .bind(&booking.reservation_key)
    .bind(&booking.source)
    .bind(booking.booking_object_id)
    .bind(ts(booking.start))
    .bind(ts(booking.end))
    .bind(credentials_to_json(&booking.credentials)?)
    .bind(&booking.name)
    .bind(&booking.fingerprint)
    .bind(booking.state.as_str())
    .bind(ts(now))
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn booking_record(row: &SqliteRow) -> Result<OwnedBooking, LedgerError> {
    let state: String = row.try_get("state")?;
    Ok(OwnedBooking {
        booking_id: row.try_get("booking_id")?,
        reservation_key: row.try_get("reservation_key")?,
        source: row.try_get("source")?,
        booking_object_id: row.try_get("booking_object_id")?,
        start: from_ts(row.try_get("start_at")?)?,
        end: from_ts(row.try_get("end_at")?)?,
        credentials: credentials_from_json(&row.try_get::<String, _>("credentials")?)?,
        name: row.try_get("name")?,
        fingerprint: row.try_get("fingerprint")?,
        state: BookingState::parse(&state)
            .ok_or_else(|| LedgerError::Corrupt(format!("unknown booking state {state:?}")))?,
    })
}

fn journal_record(row: &SqliteRow) -> Result<JournalEntry, LedgerError> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    Ok(JournalEntry {
        id: row.try_get("id")?,
        kind: match kind.as_str() {
            "create" => WriteKind::Create,
            "delete" => WriteKind::Delete,
            other => {
                return Err(LedgerError::Corrupt(format!(
                    "unknown journal kind {other:?}"
                )));
            }
        },
        reservation_key: row.try_get("reservation_key")?,
        source: row.try_get("source")?,
        booking_object_id: row.try_get("booking_object_id")?,
        booking_id: row.try_get("booking_id")?,
        start: from_ts(row.try_get("start_at")?)?,
        end: from_ts(row.try_get("end_at")?)?,
        credentials: credentials_from_json(&row.try_get::<String, _>("credentials")?)?,
        name: row.try_get("name")?,
        fingerprint: row.try_get("fingerprint")?,
        reason: row.try_get("reason")?,
        state: JournalState::parse(&state)
            .ok_or_else(|| LedgerError::Corrupt(format!("unknown journal state {state:?}")))?,
        error: row.try_get("error")?,
        intended_at: from_ts(row.try_get("intended_at")?)?,
    })
}
