use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::model::Reservation;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn reservation(key: &str) -> Reservation {
    Reservation {
        source: "cabin".into(),
        key: key.into(),
        booking_object_id: 123,
        start: now() + Duration::days(1),
        end: now() + Duration::days(3),
        credentials: Credentials {
            phones: vec!["+46701234567".into()],
            code: Some("482193".into()),
            rfid: None,
        },
        label: "Reserved · HM1".into(),
    }
}

async fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    (dir, ledger)
}

fn record(outcome: ReadStatus, hold: Option<ShrinkHold>) -> SourceReadRecord {
    SourceReadRecord {
        source: "cabin".into(),
        last_attempt_at: now(),
        last_outcome: outcome,
        last_reason: None,
        last_success_at: Some(now()),
        last_fresh_at: Some(now()),
        content_fingerprint: Some("c1".into()),
        consecutive_failures: 0,
        fetch_memo: Some(r#"{"etag":"x"}"#.into()),
        hold: hold.clone(),
        growth_hold: hold,
    }
}

#[tokio::test]
async fn reads_and_reservations_are_stored_together_and_read_back_whole() {
    let (_dir, ledger) = ledger().await;
    let mut a = StoredReservation::new(reservation("cabin/a"), now());
    a.misses = 1;
    let b = StoredReservation::new(reservation("cabin/b"), now());
    let hold = ShrinkHold {
        reason: "cabin shrank".into(),
        since: now(),
        fingerprint: "c1".into(),
        baseline: 30,
    };
    ledger
        .store_read(
            &record(ReadStatus::Fresh, Some(hold.clone())),
            Some(&[a.clone(), b.clone()]),
        )
        .await
        .unwrap();
    assert_eq!(ledger.reservations().await.unwrap(), vec![a.clone(), b]);
    let stored = ledger.source_read("cabin").await.unwrap().unwrap();
    assert_eq!(stored, record(ReadStatus::Fresh, Some(hold)));
    // A later successful read replaces the source's rows; a failed one (None) keeps them.
    ledger
        .store_read(
            &record(ReadStatus::Fresh, None),
            Some(std::slice::from_ref(&a)),
        )
        .await
        .unwrap();
    ledger
        .store_read(&record(ReadStatus::Failed(FailureKind::Fetch), None), None)
        .await
        .unwrap();
    assert_eq!(ledger.reservations().await.unwrap(), vec![a]);
    assert_eq!(
        ledger
            .source_read("cabin")
            .await
            .unwrap()
            .unwrap()
            .last_outcome,
        ReadStatus::Failed(FailureKind::Fetch)
    );
}

fn entry(kind: WriteKind, booking_id: Option<i64>) -> JournalEntry {
    let r = reservation("cabin/a");
    JournalEntry {
        id: 0,
        kind,
        reservation_key: r.key.clone(),
        source: r.source.clone(),
        booking_object_id: 123,
        booking_id,
        start: r.start,
        end: r.end,
        credentials: r.credentials.clone(),
        name: "Reserved · fs-0011aabb".into(),
        fingerprint: r.fingerprint(),
        reason: "new reservation".into(),
        state: JournalState::Intent,
        error: None,
        intended_at: now(),
    }
}

#[tokio::test]
async fn the_journal_keeps_intents_open_until_resolved_and_owns_what_was_created() {
    let (_dir, ledger) = ledger().await;
    let pass = ledger.pass_started(now(), false).await.unwrap();
    let create = entry(WriteKind::Create, None);
    let id = ledger.journal_intent(Some(pass), &create).await.unwrap();
    // A crash here leaves the intent open, with everything needed to recognise the booking.
    let open = ledger.open_journal().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, JournalState::Intent);
    assert_eq!(open[0].credentials, create.credentials);
    ledger
        .journal_resolve(id, JournalState::InDoubt, Some("lost answer"), now())
        .await
        .unwrap();
    assert_eq!(
        ledger.open_journal().await.unwrap()[0].state,
        JournalState::InDoubt
    );
    ledger
        .journal_booking_created(id, JournalState::Adopted, &create.owned_as(77), now())
        .await
        .unwrap();
    assert!(ledger.open_journal().await.unwrap().is_empty());
    assert_eq!(
        ledger.owned_bookings().await.unwrap(),
        vec![create.owned_as(77)]
    );

    let delete = entry(WriteKind::Delete, Some(77));
    let id = ledger.journal_intent(Some(pass), &delete).await.unwrap();
    ledger.journal_booking_deleted(id, 77, now()).await.unwrap();
    assert!(ledger.owned_bookings().await.unwrap().is_empty());
    assert_eq!(
        ledger.owned_booking(77).await.unwrap().unwrap().state,
        BookingState::Deleted
    );
    let recent = ledger.recent_journal(10).await.unwrap();
    let states: Vec<JournalState> = recent.iter().map(|e| e.state).collect();
    assert_eq!(states, vec![JournalState::Deleted, JournalState::Adopted]);

    let counts = PassCounts {
        created: 1,
        deleted: 1,
        ..PassCounts::default()
    };
    ledger
        .pass_finished(pass, now(), &counts, true, &["x".into()])
        .await
        .unwrap();
    let passes = ledger.recent_passes(5).await.unwrap();
    assert_eq!(passes[0].counts, counts);
    assert!(passes[0].converged);
    assert_eq!(passes[0].errors, vec!["x".to_owned()]);
}

#[tokio::test]
async fn a_new_booking_retires_the_vanished_ones_of_its_reservation() {
    let (_dir, ledger) = ledger().await;
    let create = entry(WriteKind::Create, None);
    ledger
        .adopt_booking(&create.owned_as(5), now())
        .await
        .unwrap();
    ledger
        .set_booking_states(&[5], BookingState::Vanished, now())
        .await
        .unwrap();
    assert_eq!(
        ledger.owned_bookings().await.unwrap()[0].state,
        BookingState::Vanished
    );
    let id = ledger.journal_intent(None, &create).await.unwrap();
    ledger
        .journal_booking_created(id, JournalState::Created, &create.owned_as(6), now())
        .await
        .unwrap();
    let ids: Vec<i64> = ledger
        .owned_bookings()
        .await
        .unwrap()
        .iter()
        .map(|b| b.booking_id)
        .collect();
    assert_eq!(ids, vec![6]);
}

#[tokio::test]
async fn a_second_exclusive_open_names_the_first_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let first = Ledger::open_exclusive(&path).await.unwrap();
    assert!(first.is_exclusive());
    let err = Ledger::open_exclusive(&path).await.unwrap_err();
    assert!(matches!(err, LedgerError::Locked { .. }), "{err}");
    assert!(err.to_string().contains(&std::process::id().to_string()));
    // Readers (status) do not need the lock.
    assert!(!Ledger::open(&path).await.unwrap().is_exclusive());
}
