//! The archive's tables on real SQLite files.

use chrono::TimeZone;

use super::*;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 14, h, 0, 0).single().unwrap()
}

/// The reconciler's tables as its migration makes them (created here only when this
/// ledger does not have them yet), with one booking on object 123 and one on 124.
async fn owned_bookings(ledger: &Ledger) {
    for ddl in [
        "CREATE TABLE IF NOT EXISTS reservations (key TEXT PRIMARY KEY NOT NULL, \
         source TEXT NOT NULL, booking_object_id INTEGER NOT NULL, start_at INTEGER NOT \
         NULL, end_at INTEGER NOT NULL, credentials TEXT NOT NULL, label TEXT NOT NULL, \
         fingerprint TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, \
         misses INTEGER NOT NULL DEFAULT 0) STRICT",
        "CREATE TABLE IF NOT EXISTS owned_bookings (booking_id INTEGER PRIMARY KEY NOT NULL, \
         reservation_key TEXT NOT NULL, source TEXT NOT NULL, booking_object_id INTEGER NOT \
         NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL, credentials TEXT NOT \
         NULL, name TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL, \
         created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT",
    ] {
        sqlx::query(ddl).execute(&ledger.pool).await.unwrap();
    }
    let credentials = r#"{"phones":["+46701234567"],"code":"4711","rfid":null}"#;
    sqlx::query(
        "INSERT INTO reservations (key, source, booking_object_id, start_at, end_at, \
         credentials, label, fingerprint, first_seen, last_seen) \
         VALUES ('airbnb/HM1', 'airbnb', 123, ?1, ?2, ?3, 'Reserved · HM1', 'f', ?1, ?1)",
    )
    .bind(ts(at(6)))
    .bind(ts(at(12)))
    .bind(credentials)
    .execute(&ledger.pool)
    .await
    .unwrap();
    for (booking_id, key, object) in [(1, "airbnb/HM1", 123), (2, "laundry/7", 124)] {
        sqlx::query(
            "INSERT INTO owned_bookings (booking_id, reservation_key, source, \
             booking_object_id, start_at, end_at, credentials, name, fingerprint, state, \
             created_at, updated_at) VALUES (?1, ?2, 's', ?3, ?4, ?5, ?6, 'booking name', \
             'f', 'deleted', ?4, ?4)",
        )
        .bind(booking_id)
        .bind(key)
        .bind(object)
        .bind(ts(at(6)))
        .bind(ts(at(12)))
        .bind(credentials)
        .execute(&ledger.pool)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn credential_labels_come_from_the_bookings_on_the_units_objects() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
    assert!(
        ledger
            .archive_credential_labels(3023)
            .await
            .unwrap()
            .is_empty()
    );
    owned_bookings(&ledger).await;
    ledger
        .archive_record_object_units(&[(123, 3023), (124, 5459)], at(1))
        .await
        .unwrap();
    let labels = ledger.archive_credential_labels(3023).await.unwrap();
    let mut credentials: Vec<&str> = labels.iter().map(|l| l.credential.as_str()).collect();
    credentials.sort_unstable();
    assert_eq!(credentials, ["+46701234567", "4711"]);
    assert!(labels.iter().all(|l| l.label == "Reserved · HM1"));
    assert!(labels.iter().all(|l| l.start == at(6) && l.end == at(12)));
    // The laundry booking has no reservation left: its booking name stands in.
    let laundry = ledger.archive_credential_labels(5459).await.unwrap();
    assert_eq!(laundry.len(), 2);
    assert!(laundry.iter().all(|l| l.label == "booking name"));
    assert!(
        ledger
            .archive_credential_labels(7001)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_backfill_started_again_with_the_same_start_keeps_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
    let job = ledger
        .archive_backfill_begin(1, at(0), at(10))
        .await
        .unwrap();
    assert_eq!(job.position, at(0));
    ledger
        .archive_store_backfilled(1, &[], at(4))
        .await
        .unwrap();
    let resumed = ledger
        .archive_backfill_begin(1, at(0), at(20))
        .await
        .unwrap();
    assert_eq!((resumed.position, resumed.to), (at(4), at(20)));
    let other = ledger
        .archive_backfill_begin(1, at(2), at(20))
        .await
        .unwrap();
    assert_eq!(other.position, at(2), "another start is another backfill");
}

/// An archive written before migration 0007 (one row per distinct entry, no occurrence)
/// keeps its rows, and a later pull that lists the entry three times adds the two repeats.
#[tokio::test]
async fn an_archive_from_before_occurrences_keeps_its_rows_and_takes_the_repeats() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let entry = LogEntry {
        server_date: at(6),
        unit_date: Some("2026-01-14 07:00".to_owned()),
        source_id: Some("+46701234567".to_owned()),
        source_label: Some("Gäst".to_owned()),
        action_label: Some("Öppna F1".to_owned()),
        log_msg: Some("Öppnad med telefonsamtal".to_owned()),
    };
    let hash = [7u8; 32];
    {
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        let mut before = sqlx::migrate!("./migrations");
        let older: Vec<_> = before
            .migrations
            .iter()
            .filter(|migration| migration.version < 7)
            .cloned()
            .collect();
        before.migrations = older.into();
        before.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO archive_entries (unit_id, server_date, entry_hash, unit_date, \
             source_id, source_label, action_label, log_msg) VALUES (3023, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ts(entry.server_date))
        .bind(&hash[..])
        .bind(entry.unit_date.as_deref())
        .bind(entry.source_id.as_deref())
        .bind(entry.source_label.as_deref())
        .bind(entry.action_label.as_deref())
        .bind(entry.log_msg.as_deref())
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }

    let ledger = Ledger::open(&path).await.unwrap();
    let all = ArchiveFilter::default();
    assert_eq!(ledger.archive_count(&all).await.unwrap(), 1);
    let listed: Vec<HashedLogEntry> = (0..3)
        .map(|occurrence| HashedLogEntry {
            hash,
            occurrence,
            entry: entry.clone(),
        })
        .collect();
    let added = ledger
        .archive_store_pulled(3023, &listed, at(7))
        .await
        .unwrap();
    assert_eq!(added, 2);
    let read: Vec<ArchivedEntry> = ledger.archive_entries(&all).try_collect().await.unwrap();
    assert_eq!(read.len(), 3);
    assert!(read.iter().all(|item| item.entry == entry));
}

/// A phone filter matches the same number in E.164 whatever the log's spelling, and not
/// another country's number that shares its last digits (the old last-nine-digits rule).
#[tokio::test]
async fn a_phone_filter_compares_numbers_in_e164() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db")).await.unwrap();
    let logged = [
        "+46701234567",
        "0701234567",
        "46701234567",
        "+44701234567",
        "+4670123456",
        "Informationslogg",
    ];
    let entries: Vec<HashedLogEntry> = logged
        .iter()
        .enumerate()
        .map(|(n, source)| HashedLogEntry {
            hash: [n as u8; 32],
            occurrence: 0,
            entry: LogEntry {
                server_date: at(6),
                unit_date: None,
                source_id: Some((*source).to_owned()),
                source_label: None,
                action_label: None,
                log_msg: None,
            },
        })
        .collect();
    ledger
        .archive_store_pulled(3023, &entries, at(7))
        .await
        .unwrap();
    for wanted in ["+46701234567", "0046 70-123 45 67"] {
        let filter = ArchiveFilter {
            source_id: Some(wanted.to_owned()),
            ..ArchiveFilter::default()
        };
        let found: Vec<ArchivedEntry> =
            ledger.archive_entries(&filter).try_collect().await.unwrap();
        let mut sources: Vec<&str> = found
            .iter()
            .filter_map(|item| item.entry.source_id.as_deref())
            .collect();
        sources.sort_unstable();
        assert_eq!(
            sources,
            ["+46701234567", "0701234567", "46701234567"],
            "{wanted}"
        );
        assert_eq!(ledger.archive_count(&filter).await.unwrap(), 3, "{wanted}");
    }
}
