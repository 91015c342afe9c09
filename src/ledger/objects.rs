//! What the pass keeps per booking object: its name, its unit's time zone, its last successful
//! listing and the fingerprint of the bookings wanted on it then.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Ledger, LedgerError, from_ts, ts};

/// One booking object as the ledger remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    pub booking_object_id: i64,
    /// The IANA name of its unit's zone, as last looked up.
    pub timezone: Option<String>,
    pub timezone_checked_at: Option<DateTime<Utc>>,
    /// When FlexyKey last listed its bookings successfully.
    pub listed_at: Option<DateTime<Utc>>,
    /// The fingerprint of the bookings wanted on it at that listing.
    pub desired_fingerprint: Option<String>,
}

impl Ledger {
    /// Every booking object the ledger remembers.
    pub async fn object_records(&self) -> Result<Vec<ObjectRecord>, LedgerError> {
        let rows = sqlx::query(
            "SELECT booking_object_id, timezone, timezone_checked_at, listed_at, \
             desired_fingerprint FROM booking_objects",
        )
        .fetch_all(&self.pool)
        .await?;
        let optional_ts = |row: &sqlx::sqlite::SqliteRow, name: &str| {
            row.try_get::<Option<i64>, _>(name)
                .map_err(LedgerError::from)
                .and_then(|t| t.map(from_ts).transpose())
        };
        rows.iter()
            .map(|row| {
                Ok(ObjectRecord {
                    booking_object_id: row.try_get("booking_object_id")?,
                    timezone: row.try_get("timezone")?,
                    timezone_checked_at: optional_ts(row, "timezone_checked_at")?,
                    listed_at: optional_ts(row, "listed_at")?,
                    desired_fingerprint: row.try_get("desired_fingerprint")?,
                })
            })
            .collect()
    }

    /// Keeps the zone of an object's unit, as looked up at `at`.
    pub async fn keep_object_zone(
        &self,
        object: i64,
        timezone: &str,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        sqlx::query(
            "INSERT INTO booking_objects (booking_object_id, timezone, timezone_checked_at) \
             VALUES (?, ?, ?) ON CONFLICT (booking_object_id) DO UPDATE SET \
             timezone = excluded.timezone, timezone_checked_at = excluded.timezone_checked_at",
        )
        .bind(object)
        .bind(timezone)
        .bind(ts(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records successful listings at `at`, each with the fingerprint of the bookings wanted
    /// on its object then; one transaction.
    pub async fn objects_listed(
        &self,
        listed: &[(i64, String)],
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        if listed.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (object, fingerprint) in listed {
            sqlx::query(
                "INSERT INTO booking_objects (booking_object_id, listed_at, desired_fingerprint) \
                 VALUES (?, ?, ?) ON CONFLICT (booking_object_id) DO UPDATE SET \
                 listed_at = excluded.listed_at, desired_fingerprint = excluded.desired_fingerprint",
            )
            .bind(object)
            .bind(ts(at))
            .bind(fingerprint)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A booking object's name as last listed by FlexyKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    pub booking_object_id: i64,
    /// `None` when FlexyKey's list had no name for it (or did not list it).
    pub name: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    /// The zone a source in the config gives the object.
    pub configured_timezone: Option<String>,
}

/// The kept name and zone of one object (its unit's zone, else the one its source names), read
/// on the caller's connection (an event about it is being written in the same transaction).
pub(crate) async fn object_name_and_zone(
    conn: &mut sqlx::SqliteConnection,
    object: i64,
) -> Result<(Option<String>, Option<String>), LedgerError> {
    let row = sqlx::query(
        "SELECT name, COALESCE(timezone, configured_timezone) AS zone FROM booking_objects \
         WHERE booking_object_id = ?",
    )
    .bind(object)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok((row.try_get("name")?, row.try_get("zone")?)),
        None => Ok((None, None)),
    }
}

impl Ledger {
    /// The names (and configured zones) kept for the booking objects.
    pub async fn object_names(&self) -> Result<Vec<ObjectName>, LedgerError> {
        let rows = sqlx::query(
            "SELECT booking_object_id, name, name_checked_at, configured_timezone \
             FROM booking_objects ORDER BY booking_object_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ObjectName {
                    booking_object_id: row.try_get("booking_object_id")?,
                    name: row.try_get("name")?,
                    checked_at: (row.try_get::<Option<i64>, _>("name_checked_at")?)
                        .map(from_ts)
                        .transpose()?,
                    configured_timezone: row.try_get("configured_timezone")?,
                })
            })
            .collect()
    }

    /// Keeps the names FlexyKey listed at `at` (`None`: listed without a name, or not at all);
    /// one transaction.
    pub async fn keep_object_names(
        &self,
        names: &[(i64, Option<String>)],
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let sql = "INSERT INTO booking_objects (booking_object_id, name, name_checked_at) \
                   VALUES (?, ?, ?) ON CONFLICT (booking_object_id) DO UPDATE SET \
                   name = excluded.name, name_checked_at = excluded.name_checked_at";
        self.upsert_object_texts(sql, names, Some(at)).await
    }

    /// Keeps the zones the config gives objects (`None`: no source gives one); one transaction.
    pub async fn keep_configured_zones(
        &self,
        zones: &[(i64, Option<String>)],
    ) -> Result<(), LedgerError> {
        let sql = "INSERT INTO booking_objects (booking_object_id, configured_timezone) \
                   VALUES (?, ?) ON CONFLICT (booking_object_id) DO UPDATE SET \
                   configured_timezone = excluded.configured_timezone";
        self.upsert_object_texts(sql, zones, None).await
    }

    /// Runs `sql` once per row, binding the object, its text and then `at` when given; one
    /// transaction.
    async fn upsert_object_texts(
        &self,
        sql: &'static str,
        rows: &[(i64, Option<String>)],
        at: Option<DateTime<Utc>>,
    ) -> Result<(), LedgerError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (object, text) in rows {
            let mut query = sqlx::query(sql).bind(object).bind(text);
            if let Some(at) = at {
                query = query.bind(ts(at));
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
