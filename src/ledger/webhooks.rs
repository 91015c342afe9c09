//! Webhook storage: every delivery (applied, stale or duplicate) and the latest applied state
//! of each booking. One short `BEGIN IMMEDIATE` transaction per delivery or snapshot.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Ledger, LedgerError};
use crate::model::MAX_OCCURRED_AHEAD;
pub use crate::model::{
    BookingStatus, DeliveryResult, SnapshotChanges, WebhookBooking, WebhookDelivery,
};

/// A stored booking state with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhookBooking {
    pub booking: WebhookBooking,
    pub occurred_at: DateTime<Utc>,
    /// The event id that set this state, or `snapshot`.
    pub applied_from: String,
}

/// One row of the delivery log (no raw body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEventSummary {
    pub event_id: String,
    pub event_type: String,
    pub booking_id: String,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub result: DeliveryResult,
}

/// What replacing a source's state with a snapshot changed.
const SNAPSHOT_ORIGIN: &str = "snapshot";

const UPSERT_BOOKING: &str = "INSERT INTO webhook_bookings \
     (source, booking_id, status, resource, start_ms, end_ms, name, phones_json, code, rfid, \
      occurred_at_ms, applied_from, updated_at_ms) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (source, booking_id) DO UPDATE SET \
     status = excluded.status, resource = excluded.resource, start_ms = excluded.start_ms, \
     end_ms = excluded.end_ms, name = excluded.name, phones_json = excluded.phones_json, \
     code = excluded.code, rfid = excluded.rfid, occurred_at_ms = excluded.occurred_at_ms, \
     applied_from = excluded.applied_from, updated_at_ms = excluded.updated_at_ms";

const SELECT_BOOKING: &str = "SELECT booking_id, status, resource, start_ms, end_ms, name, \
     phones_json, code, rfid, occurred_at_ms, applied_from FROM webhook_bookings";

impl Ledger {
    /// Stores one delivery and applies it unless it is a duplicate or stale.
    pub async fn record_webhook_delivery(
        &self,
        delivery: &WebhookDelivery<'_>,
    ) -> Result<DeliveryResult, LedgerError> {
        let results = self
            .record_webhook_deliveries(std::slice::from_ref(delivery))
            .await?;
        results
            .into_iter()
            .next()
            .ok_or_else(|| LedgerError::Sql(sqlx::Error::RowNotFound))
    }

    /// Stores deliveries in one transaction, in order (a group commit: one sync to disk for
    /// the lot); each is applied unless it is a duplicate (of a stored event or of one earlier
    /// in the batch) or older than the booking's last applied event.
    pub async fn record_webhook_deliveries(
        &self,
        deliveries: &[WebhookDelivery<'_>],
    ) -> Result<Vec<DeliveryResult>, LedgerError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut results = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            results.push(record_one(&mut tx, delivery).await?);
        }
        tx.commit().await?;
        Ok(results)
    }

    /// Forgets deliveries received before `before`; the bookings' current state stays.
    pub async fn prune_webhook_events(&self, before: DateTime<Utc>) -> Result<u64, LedgerError> {
        let done = sqlx::query("DELETE FROM webhook_events WHERE received_at_ms < ?")
            .bind(before.timestamp_millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Confirmed bookings of `source` that end after `ends_after`.
    pub async fn webhook_confirmed_bookings(
        &self,
        source: &str,
        ends_after: DateTime<Utc>,
    ) -> Result<Vec<WebhookBooking>, LedgerError> {
        let sql = format!(
            "{SELECT_BOOKING} WHERE source = ? AND status = 'confirmed' AND end_ms > ? \
             ORDER BY start_ms, booking_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(source)
            .bind(ends_after.timestamp_millis())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| stored_from_row(row).map(|stored| stored.booking))
            .collect()
    }

    /// Every stored booking state of `source`, by booking id.
    pub async fn webhook_bookings(
        &self,
        source: &str,
    ) -> Result<Vec<StoredWebhookBooking>, LedgerError> {
        let sql = format!("{SELECT_BOOKING} WHERE source = ? ORDER BY booking_id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(source)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(stored_from_row).collect()
    }

    /// The delivery log of `source`, oldest first.
    pub async fn webhook_events(
        &self,
        source: &str,
    ) -> Result<Vec<WebhookEventSummary>, LedgerError> {
        let rows = sqlx::query(
            "SELECT event_id, event_type, booking_id, occurred_at_ms, received_at_ms, result \
             FROM webhook_events WHERE source = ? ORDER BY seq",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let result: String = row.try_get("result")?;
                Ok(WebhookEventSummary {
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    booking_id: row.try_get("booking_id")?,
                    occurred_at: millis(row.try_get("occurred_at_ms")?, "occurred_at_ms")?,
                    received_at: millis(row.try_get("received_at_ms")?, "received_at_ms")?,
                    result: DeliveryResult::parse(&result)
                        .ok_or_else(|| corrupt("result", &result))?,
                })
            })
            .collect()
    }

    /// Makes `bookings` (a full snapshot taken at `taken_at`) the state of `source`: bookings
    /// it does not list become cancelled. States set by an event newer than the snapshot are
    /// kept. When something changed, one `snapshot` row is added to the delivery log.
    pub async fn replace_webhook_bookings(
        &self,
        source: &str,
        bookings: &[WebhookBooking],
        taken_at: DateTime<Utc>,
    ) -> Result<SnapshotChanges, LedgerError> {
        let taken_ms = taken_at.timestamp_millis();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let sql = format!("{SELECT_BOOKING} WHERE source = ?");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(source)
            .fetch_all(&mut *tx)
            .await?;
        let mut stored = BTreeMap::new();
        for row in &rows {
            let state = stored_from_row(row)?;
            stored.insert(state.booking.booking_id.clone(), state);
        }
        let mut changes = SnapshotChanges::default();
        let mut listed = BTreeSet::new();
        let mut writes = Vec::new();
        for booking in bookings {
            listed.insert(booking.booking_id.as_str());
            match stored.get(&booking.booking_id) {
                Some(old) if old.occurred_at.timestamp_millis() > taken_ms => {
                    changes.kept_newer.push(booking.booking_id.clone());
                }
                Some(old) if &old.booking == booking => {}
                _ => {
                    changes.updated.push(booking.booking_id.clone());
                    writes.push(booking.clone());
                }
            }
        }
        for (id, old) in &stored {
            if listed.contains(id.as_str()) || old.booking.status == BookingStatus::Cancelled {
                continue;
            }
            if old.occurred_at.timestamp_millis() > taken_ms {
                changes.kept_newer.push(id.clone());
                continue;
            }
            let mut cancelled = old.booking.clone();
            cancelled.status = BookingStatus::Cancelled;
            changes.cancelled.push(id.clone());
            writes.push(cancelled);
        }
        for booking in &writes {
            bind_booking(sqlx::query(UPSERT_BOOKING), source, booking)
                .bind(taken_ms)
                .bind(SNAPSHOT_ORIGIN)
                .bind(Utc::now().timestamp_millis())
                .execute(&mut *tx)
                .await?;
        }
        if !changes.is_empty() {
            let summary = serde_json::json!({
                "updated": changes.updated,
                "cancelled": changes.cancelled,
            });
            sqlx::query(
                "INSERT OR IGNORE INTO webhook_events (source, event_id, event_type, booking_id, \
                 occurred_at_ms, received_at_ms, raw_json, result) \
                 VALUES (?, ?, 'snapshot', '', ?, ?, ?, 'applied')",
            )
            .bind(source)
            .bind(format!("snapshot@{}", taken_at.to_rfc3339()))
            .bind(taken_ms)
            .bind(Utc::now().timestamp_millis())
            .bind(summary.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(changes)
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

/// Binds the first ten columns of `UPSERT_BOOKING`.
fn bind_booking<'q>(query: Query<'q>, source: &'q str, booking: &'q WebhookBooking) -> Query<'q> {
    let phones = serde_json::Value::from(booking.phones.clone()).to_string();
    query
        .bind(source)
        .bind(booking.booking_id.as_str())
        .bind(booking.status.as_str())
        .bind(booking.resource.as_deref())
        .bind(booking.start.map(|t| t.timestamp_millis()))
        .bind(booking.end.map(|t| t.timestamp_millis()))
        .bind(booking.name.as_deref())
        .bind(phones)
        .bind(booking.code.as_deref())
        .bind(booking.rfid.as_deref())
}

fn stored_from_row(row: &SqliteRow) -> Result<StoredWebhookBooking, LedgerError> {
    let status: String = row.try_get("status")?;
    let phones_json: String = row.try_get("phones_json")?;
    let phones: Vec<String> =
        serde_json::from_str(&phones_json).map_err(|_| corrupt("phones_json", "not a list"))?;
    let optional_time = |column: &str| -> Result<Option<DateTime<Utc>>, LedgerError> {
        row.try_get::<Option<i64>, _>(column)?
            .map(|ms| millis(ms, column))
            .transpose()
    };
    Ok(StoredWebhookBooking {
        booking: WebhookBooking {
            booking_id: row.try_get("booking_id")?,
            status: BookingStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            resource: row.try_get("resource")?,
            start: optional_time("start_ms")?,
            end: optional_time("end_ms")?,
            name: row.try_get("name")?,
            phones,
            code: row.try_get("code")?,
            rfid: row.try_get("rfid")?,
        },
        occurred_at: millis(row.try_get("occurred_at_ms")?, "occurred_at_ms")?,
        applied_from: row.try_get("applied_from")?,
    })
}

fn millis(ms: i64, column: &str) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(column, &ms.to_string()))
}

fn corrupt(column: &str, value: &str) -> LedgerError {
    LedgerError::Sql(sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("unexpected stored value {value:?}").into(),
    })
}

async fn record_one(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    delivery: &WebhookDelivery<'_>,
) -> Result<DeliveryResult, LedgerError> {
    let latest_ms = delivery
        .received_at
        .checked_add_signed(MAX_OCCURRED_AHEAD)
        .map_or(i64::MAX, |t| t.timestamp_millis());
    let occurred_ms = delivery.occurred_at.timestamp_millis().min(latest_ms);
    let seen: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM webhook_events \
             WHERE source = ? AND event_id = ? AND result <> 'duplicate'",
    )
    .bind(delivery.source)
    .bind(delivery.event_id)
    .fetch_optional(&mut **tx)
    .await?;
    let result = if seen.is_some() {
        DeliveryResult::Duplicate
    } else {
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT occurred_at_ms FROM webhook_bookings WHERE source = ? AND booking_id = ?",
        )
        .bind(delivery.source)
        .bind(&delivery.booking.booking_id)
        .fetch_optional(&mut **tx)
        .await?;
        if last.is_some_and(|last| last > occurred_ms) {
            DeliveryResult::Stale
        } else {
            bind_booking(
                sqlx::query(UPSERT_BOOKING),
                delivery.source,
                delivery.booking,
            )
            .bind(occurred_ms)
            .bind(delivery.event_id)
            .bind(delivery.received_at.timestamp_millis())
            .execute(&mut **tx)
            .await?;
            DeliveryResult::Applied
        }
    };
    sqlx::query(
        "INSERT INTO webhook_events (source, event_id, event_type, booking_id, \
             occurred_at_ms, received_at_ms, raw_json, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(delivery.source)
    .bind(delivery.event_id)
    .bind(delivery.event_type)
    .bind(&delivery.booking.booking_id)
    .bind(delivery.occurred_at.timestamp_millis())
    .bind(delivery.received_at.timestamp_millis())
    .bind(delivery.raw_json)
    .bind(result.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, hour, 0, 0).unwrap()
    }

    fn booking(id: &str, status: BookingStatus, name: &str) -> WebhookBooking {
        WebhookBooking {
            booking_id: id.into(),
            status,
            resource: Some("room-a".into()),
            start: Some(at(12)),
            end: Some(at(14)),
            name: Some(name.into()),
            phones: vec!["+46701234567".into()],
            code: Some("4821".into()),
            rfid: None,
        }
    }

    async fn deliver(
        ledger: &Ledger,
        event_id: &str,
        occurred: u32,
        booking: &WebhookBooking,
    ) -> DeliveryResult {
        ledger
            .record_webhook_delivery(&WebhookDelivery {
                source: "hooks",
                event_id,
                event_type: "booking.upserted",
                occurred_at: at(occurred),
                received_at: at(occurred),
                raw_json: "{}",
                booking,
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn pruning_forgets_old_deliveries_but_keeps_the_bookings() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
        let stay = booking("b-1", BookingStatus::Confirmed, "first");
        deliver(&ledger, "e1", 8, &stay).await;
        deliver(&ledger, "e2", 10, &stay).await;
        assert_eq!(ledger.prune_webhook_events(at(9)).await.unwrap(), 1);
        assert_eq!(ledger.webhook_events("hooks").await.unwrap().len(), 1);
        assert_eq!(ledger.webhook_bookings("hooks").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn deliveries_apply_in_occurrence_order_and_redeliveries_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
        let first = booking("b-1", BookingStatus::Confirmed, "first");
        let second = booking("b-1", BookingStatus::Confirmed, "second");
        assert_eq!(
            deliver(&ledger, "e2", 9, &second).await,
            DeliveryResult::Applied
        );
        assert_eq!(
            deliver(&ledger, "e1", 8, &first).await,
            DeliveryResult::Stale
        );
        assert_eq!(
            deliver(&ledger, "e2", 9, &first).await,
            DeliveryResult::Duplicate
        );
        let stored = ledger.webhook_bookings("hooks").await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].booking, second);
        assert_eq!(stored[0].applied_from, "e2");
        let results: Vec<_> = ledger
            .webhook_events("hooks")
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.event_id, e.result))
            .collect();
        assert_eq!(
            results,
            vec![
                ("e2".into(), DeliveryResult::Applied),
                ("e1".into(), DeliveryResult::Stale),
                ("e2".into(), DeliveryResult::Duplicate),
            ]
        );
        assert!(ledger.webhook_bookings("other").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_snapshot_replaces_state_but_keeps_newer_events() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
        let kept = booking("kept", BookingStatus::Confirmed, "k");
        let gone = booking("gone", BookingStatus::Confirmed, "g");
        let newer = booking("newer", BookingStatus::Confirmed, "n");
        deliver(&ledger, "e1", 8, &kept).await;
        deliver(&ledger, "e2", 8, &gone).await;
        deliver(&ledger, "e3", 11, &newer).await;
        let renamed = booking("kept", BookingStatus::Confirmed, "renamed");
        let changes = ledger
            .replace_webhook_bookings("hooks", std::slice::from_ref(&renamed), at(10))
            .await
            .unwrap();
        assert_eq!(changes.updated, vec!["kept".to_owned()]);
        assert_eq!(changes.cancelled, vec!["gone".to_owned()]);
        assert_eq!(changes.kept_newer, vec!["newer".to_owned()]);
        let confirmed = ledger
            .webhook_confirmed_bookings("hooks", at(0))
            .await
            .unwrap();
        let ids: Vec<_> = confirmed.iter().map(|b| b.booking_id.as_str()).collect();
        assert_eq!(ids, vec!["kept", "newer"]);
        assert_eq!(confirmed[0].name.as_deref(), Some("renamed"));
        // The same snapshot again changes nothing and logs nothing.
        let again = ledger
            .replace_webhook_bookings("hooks", &[renamed], at(10))
            .await
            .unwrap();
        assert!(again.is_empty());
        let snapshots = ledger
            .webhook_events("hooks")
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event_type == "snapshot")
            .count();
        assert_eq!(snapshots, 1);
        // Only bookings that end after the cut-off are returned.
        assert!(
            ledger
                .webhook_confirmed_bookings("hooks", at(14))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
