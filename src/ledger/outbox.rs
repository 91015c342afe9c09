//! The outbox: events written in the transaction of what caused them, and their delivery,
//! target by target, at least once.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::objects::object_name_and_zone;
use super::{Ledger, LedgerError, from_ts, ts};
use crate::notify::{Event, EventDetails, EventKind, NewEvent};

/// Where one event stands with one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Retried for the whole retry period (or refused for good); `events retry` re-queues it.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<Self, LedgerError> {
        match text {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(LedgerError::Corrupt(format!("delivery state {other:?}"))),
        }
    }
}

/// One event's delivery to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event: Event,
    pub target: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Writes `events` (those not yet stored) on `conn`; the caller's transaction makes them one
/// with what caused them. Returns how many were new.
pub(crate) async fn insert_events(
    conn: &mut sqlx::SqliteConnection,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Result<u64, LedgerError> {
    let mut added = 0;
    for event in events {
        let details = serde_json::to_string(&with_object_kept(conn, &event.details).await?)
            .map_err(|err| LedgerError::Corrupt(format!("cannot encode an event: {err}")))?;
        added += sqlx::query(
            "INSERT INTO outbox_events (id, kind, occurred_at, created_at, details_json) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(event.id())
        .bind(event.kind.as_str())
        .bind(ts(event.occurred_at))
        .bind(ts(now))
        .bind(details)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(added)
}

/// The event's details with the booking object named and zoned as the ledger keeps it: the
/// producers know an object by its id, the people told know it by its name and local time.
/// The object's own zone wins over the one the producer guessed (a source's).
async fn with_object_kept(
    conn: &mut sqlx::SqliteConnection,
    details: &EventDetails,
) -> Result<EventDetails, LedgerError> {
    let mut details = details.clone();
    if let Some(object) = details.object.as_mut() {
        let (name, zone) = object_name_and_zone(conn, object.id).await?;
        if let Some(name) = name.filter(|n| !n.trim().is_empty())
            && object.name.is_empty()
        {
            object.name = name;
        }
        if zone.is_some() {
            object.timezone = zone;
        }
    }
    Ok(details)
}

const SELECT_DELIVERY: &str = "SELECT e.id, e.kind, e.occurred_at, e.details_json, d.target, \
     d.state, d.attempts, d.next_attempt_at, d.last_error, d.delivered_at \
     FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq";

fn delivery_record(row: &SqliteRow) -> Result<Delivery, LedgerError> {
    let kind: String = row.try_get("kind")?;
    let details: String = row.try_get("details_json")?;
    let details: EventDetails = serde_json::from_str(&details)
        .map_err(|err| LedgerError::Corrupt(format!("stored event unreadable: {err}")))?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Delivery {
        event: Event {
            id: row.try_get("id")?,
            kind: kind.parse::<EventKind>().map_err(LedgerError::Corrupt)?,
            occurred_at: from_ts(row.try_get("occurred_at")?)?,
            details,
        },
        target: row.try_get("target")?,
        state: DeliveryState::parse(&row.try_get::<String, _>("state")?)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: from_ts(row.try_get("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        delivered_at: row
            .try_get::<Option<i64>, _>("delivered_at")?
            .map(from_ts)
            .transpose()?,
    })
}

impl Ledger {
    /// Writes events found outside any other write (detection, archive pulls, pass reports).
    pub async fn record_events(
        &self,
        events: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Result<u64, LedgerError> {
        if events.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let added = insert_events(&mut tx, events, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Lets `target` take in the events written since it last looked, those of `kinds` as
    /// pending deliveries. A target seen for the first time starts with the events of the last
    /// `first_look` (so a new or renamed target is not flooded with history).
    pub async fn enqueue_deliveries(
        &self,
        target: &str,
        kinds: &[EventKind],
        first_look: Duration,
        now: DateTime<Utc>,
    ) -> Result<u64, LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let cursor: Option<i64> =
            sqlx::query_scalar("SELECT last_seq FROM outbox_cursors WHERE target = ?")
                .bind(target)
                .fetch_optional(&mut *tx)
                .await?;
        let rows = match cursor {
            Some(seq) => {
                sqlx::query("SELECT seq, kind FROM outbox_events WHERE seq > ? ORDER BY seq")
                    .bind(seq)
                    .fetch_all(&mut *tx)
                    .await?
            }
            None => {
                sqlx::query(
                    "SELECT seq, kind FROM outbox_events WHERE created_at >= ? ORDER BY seq",
                )
                .bind(ts(now - first_look))
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let mut last = cursor.unwrap_or(0);
        let mut added = 0;
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let kind: String = row.try_get("kind")?;
            last = last.max(seq);
            if !kinds.iter().any(|k| k.as_str() == kind) {
                continue;
            }
            added += sqlx::query(
                "INSERT INTO outbox_deliveries (event_seq, target, state, next_attempt_at) \
                 VALUES (?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
            )
            .bind(seq)
            .bind(target)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if cursor.is_none() && rows.is_empty() {
            last = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM outbox_events")
                .fetch_one(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO outbox_cursors (target, last_seq) VALUES (?, ?) \
             ON CONFLICT (target) DO UPDATE SET last_seq = excluded.last_seq",
        )
        .bind(target)
        .bind(last)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Pending deliveries of `target` due at `now`, oldest event first.
    pub async fn due_deliveries(
        &self,
        target: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, LedgerError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_DELIVERY} WHERE d.target = ? AND d.state = 'pending' \
             AND d.next_attempt_at <= ? ORDER BY d.event_seq LIMIT ?"
        )))
        .bind(target)
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_record).collect()
    }

    /// When `target`'s next pending delivery is due, if it has one.
    pub async fn next_delivery_due(
        &self,
        target: &str,
    ) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM outbox_deliveries \
             WHERE target = ? AND state = 'pending'",
        )
        .bind(target)
        .fetch_one(&self.pool)
        .await?;
        next.map(from_ts).transpose()
    }

    /// Records one attempt: delivered, or failed with the next attempt's time (`None`: given
    /// up, the delivery is `failed`).
    pub async fn record_attempt(
        &self,
        event_id: &str,
        target: &str,
        outcome: Result<(), (&str, Option<DateTime<Utc>>)>,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let (state, error, next, delivered) = match outcome {
            Ok(()) => (DeliveryState::Delivered, None, now, Some(ts(now))),
            Err((error, Some(next))) => (DeliveryState::Pending, Some(error), next, None),
            Err((error, None)) => (DeliveryState::Failed, Some(error), now, None),
        };
        sqlx::query(
            "UPDATE outbox_deliveries SET state = ?, attempts = attempts + 1, \
             next_attempt_at = ?, last_error = ?, delivered_at = ? \
             WHERE target = ? AND event_seq = (SELECT seq FROM outbox_events WHERE id = ?)",
        )
        .bind(state.as_str())
        .bind(ts(next))
        .bind(error)
        .bind(delivered)
        .bind(target)
        .bind(event_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deliveries, newest event first, optionally of one state only.
    pub async fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<Delivery>, LedgerError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_DELIVERY} WHERE (? IS NULL OR d.state = ?) \
             ORDER BY d.event_seq DESC, d.target LIMIT ?"
        )))
        .bind(state.map(DeliveryState::as_str))
        .bind(state.map(DeliveryState::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_record).collect()
    }

    /// The most recent events of the given kinds (for the status page), newest first.
    pub async fn recent_events(
        &self,
        kinds: &[EventKind],
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Event>, LedgerError> {
        let rows = sqlx::query(
            "SELECT id, kind, occurred_at, details_json FROM outbox_events \
             WHERE occurred_at >= ? ORDER BY occurred_at DESC, seq DESC",
        )
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await?;
        let mut events = Vec::new();
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let kind: EventKind = kind.parse().map_err(LedgerError::Corrupt)?;
            if !kinds.contains(&kind) {
                continue;
            }
            let details: String = row.try_get("details_json")?;
            events.push(Event {
                id: row.try_get("id")?,
                kind,
                occurred_at: from_ts(row.try_get("occurred_at")?)?,
                details: serde_json::from_str(&details).map_err(|err| {
                    LedgerError::Corrupt(format!("stored event unreadable: {err}"))
                })?,
            });
            if events.len() >= limit as usize {
                break;
            }
        }
        Ok(events)
    }

    /// Puts failed deliveries (of one event, or of all) back in the queue, due now.
    pub async fn retry_deliveries(
        &self,
        event_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, LedgerError> {
        Ok(sqlx::query(
            "UPDATE outbox_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ? \
             WHERE state = 'failed' AND (? IS NULL OR event_seq = \
             (SELECT seq FROM outbox_events WHERE id = ?))",
        )
        .bind(ts(now))
        .bind(event_id)
        .bind(event_id)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

impl Ledger {
    /// Which units open each booking object, as the archive last listed them.
    pub async fn object_units(&self) -> Result<Vec<(i64, i64)>, LedgerError> {
        let rows = sqlx::query("SELECT booking_object_id, unit_id FROM archive_object_units")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
