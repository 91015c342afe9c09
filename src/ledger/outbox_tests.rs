use chrono::{Duration, TimeZone};

use super::*;
use crate::notify::EventKind;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

async fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    (dir, ledger)
}

fn event(kind: EventKind, key: &str) -> NewEvent {
    NewEvent::new(kind, key, now())
}

#[tokio::test]
async fn an_event_is_stored_once_and_each_target_takes_only_its_kinds() {
    let (_dir, ledger) = ledger().await;
    let denied = event(EventKind::GuestDenied, "a|1");
    let created = event(EventKind::BookingCreated, "77");
    assert_eq!(
        ledger
            .record_events(&[denied.clone(), created.clone()], now())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        ledger
            .record_events(std::slice::from_ref(&denied), now())
            .await
            .unwrap(),
        0
    );

    let all = EventKind::ALL;
    let phone = [EventKind::GuestDenied];
    let hour = Duration::hours(1);
    let enqueue = |target: &'static str, kinds: &[EventKind]| {
        let (ledger, kinds) = (&ledger, kinds.to_vec());
        async move { (ledger.enqueue_deliveries(target, &kinds, hour, now()).await).unwrap() }
    };
    assert_eq!(enqueue("pms", &all).await, 2);
    assert_eq!(enqueue("phone", &phone).await, 1);
    // Taken in once: a second look adds nothing, a new event is added to both.
    assert_eq!(enqueue("pms", &all).await, 0);
    ledger
        .record_events(&[event(EventKind::GuestDenied, "a|2")], now())
        .await
        .unwrap();
    assert_eq!(enqueue("pms", &all).await, 1);
    assert_eq!(enqueue("phone", &phone).await, 1);

    let due = ledger.due_deliveries("phone", now(), 10).await.unwrap();
    let ids: Vec<&str> = due.iter().map(|d| d.event.id.as_str()).collect();
    assert_eq!(
        ids,
        [denied.id(), event(EventKind::GuestDenied, "a|2").id()]
    );
    assert_eq!(due[0].event.kind, EventKind::GuestDenied);
}

#[tokio::test]
async fn a_new_target_starts_with_recent_events_only() {
    let (_dir, ledger) = ledger().await;
    let old = now() - Duration::days(3);
    ledger
        .record_events(&[event(EventKind::GuestDenied, "old")], old)
        .await
        .unwrap();
    ledger
        .record_events(&[event(EventKind::GuestDenied, "new")], now())
        .await
        .unwrap();
    let added = ledger
        .enqueue_deliveries("late", &EventKind::ALL, Duration::hours(24), now())
        .await
        .unwrap();
    assert_eq!(added, 1);
}

#[tokio::test]
async fn attempts_move_a_delivery_to_delivered_or_failed_and_retry_requeues() {
    let (_dir, ledger) = ledger().await;
    let e = event(EventKind::StayDoubleBooked, "a|b");
    ledger
        .record_events(std::slice::from_ref(&e), now())
        .await
        .unwrap();
    ledger
        .enqueue_deliveries("t", &EventKind::ALL, Duration::hours(1), now())
        .await
        .unwrap();
    let later = now() + Duration::minutes(1);
    ledger
        .record_attempt(&e.id(), "t", Err(("HTTP 503", Some(later))), now())
        .await
        .unwrap();
    assert!(
        ledger
            .due_deliveries("t", now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(ledger.next_delivery_due("t").await.unwrap(), Some(later));
    let due = ledger.due_deliveries("t", later, 10).await.unwrap();
    assert_eq!(
        (due[0].attempts, due[0].last_error.as_deref()),
        (1, Some("HTTP 503"))
    );

    ledger
        .record_attempt(&e.id(), "t", Err(("HTTP 410", None)), later)
        .await
        .unwrap();
    let failed = ledger
        .list_deliveries(Some(DeliveryState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(ledger.next_delivery_due("t").await.unwrap(), None);

    assert_eq!(
        ledger.retry_deliveries(Some(&e.id()), later).await.unwrap(),
        1
    );
    ledger
        .record_attempt(&e.id(), "t", Ok(()), later)
        .await
        .unwrap();
    let done = ledger.list_deliveries(None, 10).await.unwrap();
    assert_eq!(done[0].state, DeliveryState::Delivered);
    assert_eq!(done[0].delivered_at, Some(later));
    assert_eq!(ledger.retry_deliveries(None, later).await.unwrap(), 0);
}

#[tokio::test]
async fn a_journal_resolution_writes_its_events_in_the_same_transaction() {
    let (_dir, ledger) = ledger().await;
    let entry = crate::ledger::JournalEntry {
        id: 0,
        kind: crate::ledger::WriteKind::Create,
        reservation_key: "cabin/a".into(),
        source: "cabin".into(),
        booking_object_id: 7,
        booking_id: None,
        start: now(),
        end: now() + Duration::days(2),
        credentials: Default::default(),
        name: "Guest".into(),
        fingerprint: "f".into(),
        reason: "new".into(),
        state: crate::ledger::JournalState::Intent,
        error: None,
        intended_at: now(),
    };
    let id = ledger.journal_intent(None, &entry).await.unwrap();
    let created = event(EventKind::BookingCreated, "77");
    ledger
        .journal_booking_created_telling(
            id,
            crate::ledger::JournalState::Created,
            &entry.owned_as(77),
            std::slice::from_ref(&created),
            now(),
        )
        .await
        .unwrap();
    let events = ledger
        .recent_events(&EventKind::ALL, now() - Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, created.id());
    assert_eq!(ledger.owned_bookings().await.unwrap().len(), 1);
}

#[tokio::test]
async fn events_are_stored_with_the_objects_kept_name_and_zone() {
    use crate::notify::{EventDetails, EventObject};
    let (_dir, ledger) = ledger().await;
    let about = |object: i64, key: &str| {
        event(EventKind::BookingCreated, key).with(EventDetails {
            object: Some(EventObject {
                id: object,
                name: String::new(),
                timezone: Some("Europe/London".into()),
            }),
            ..EventDetails::default()
        })
    };
    // 7: named, its unit's zone and a configured one kept; 8: a configured zone only;
    // 9: listed by FlexyKey without a name, nothing else kept.
    ledger
        .keep_object_names(
            &[
                (7, Some("Cabin 7".into())),
                (8, Some("Sauna".into())),
                (9, None),
            ],
            now(),
        )
        .await
        .unwrap();
    ledger
        .keep_object_zone(7, "Europe/Stockholm", now())
        .await
        .unwrap();
    ledger
        .keep_configured_zones(&[
            (7, Some("Europe/Oslo".into())),
            (8, Some("Europe/Helsinki".into())),
        ])
        .await
        .unwrap();
    let events = [about(7, "a"), about(8, "b"), about(9, "c"), about(10, "d")];
    ledger.record_events(&events, now()).await.unwrap();
    let stored = ledger
        .recent_events(&[EventKind::BookingCreated], now() - Duration::days(1), 10)
        .await
        .unwrap();
    let object = |id: i64| {
        stored
            .iter()
            .find_map(|e| e.details.object.clone().filter(|o| o.id == id))
            .unwrap()
    };
    let named = |name: &str, zone: &str| (name.to_owned(), Some(zone.to_owned()));
    let seen = |id| {
        let o = object(id);
        (o.name, o.timezone)
    };
    // The unit's zone wins over the configured one, which wins over the producer's guess.
    assert_eq!(seen(7), named("Cabin 7", "Europe/Stockholm"));
    assert_eq!(seen(8), named("Sauna", "Europe/Helsinki"));
    assert_eq!(seen(9), named("", "Europe/London"));
    assert_eq!(seen(10), named("", "Europe/London"));
    let names = ledger.object_names().await.unwrap();
    assert_eq!(names.len(), 3);
    assert_eq!(names[2].name, None);
    assert_eq!(names[2].checked_at, Some(now()));
}
