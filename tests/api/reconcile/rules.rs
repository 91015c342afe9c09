//! The rules that keep a partial answer from changing anything, against the sandbox: a copied
//! name is not adoption, a 409 deletes the old version first only when it is the clash, a
//! delete in doubt holds its object, webhook times are compared in whole seconds, and a booking
//! missing from a list is read on its own before it counts as deleted.

use chrono::{DateTime, Duration as Span, Utc};
use flexysync::flexykey::{Client, RetryPolicy};
use flexysync::ledger::{BookingState, Ledger, OwnedBooking};
use flexysync::reconcile::apply::Applier;
use flexysync::reconcile::marker::{booking_name, marker, marker_in};
use flexysync::reconcile::vanished::check_vanished;
use flexysync::reconcile::{Action, Category, Operation, Plan};
use flexysync::sandbox::{COMPANY_A, ObjectSpec, SandboxBooking, UNIT_MAIN};
use flexysync::sources::Credentials;

use super::support::*;

fn methods(world: &World) -> Vec<String> {
    world
        .sandbox
        .write_calls()
        .iter()
        .map(|w| w.method.clone())
        .collect()
}

/// The sandbox booking flexysync made for `stay`.
fn booking_of(world: &World, stay: &Stay) -> SandboxBooking {
    let mark = marker(&stay.key());
    world
        .fs_bookings()
        .into_iter()
        .find(|b| b.name.as_deref().and_then(marker_in) == Some(mark.as_str()))
        .expect("the stay's booking")
}

/// A sandbox world whose feed has three stays, all booked.
async fn three_stays_booked() -> (World, Vec<Stay>) {
    let world = World::start(Default::default(), "").await;
    let stays: Vec<Stay> = (0..3)
        .map(|i| Stay::new(i, first_arrival(), 24 * i, 20))
        .collect();
    world.feed.set_calendar(&stays);
    assert!(world.sync(drift_check()).await.converged);
    (world, stays)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_name_on_another_window_or_phone_is_foreign_and_kept() {
    let (world, stays) = three_stays_booked().await;
    // The host copies stay 1's booking in FlexyWeb, name and all, for a cleaner and a later day.
    let original = booking_of(&world, &stays[1]);
    let name = original.name.clone().unwrap();
    let copies = [
        SandboxBooking::new(OBJECT, original.start_date, original.end_date)
            .with_name(&name)
            .with_phone("+46709999999"),
        SandboxBooking::new(
            OBJECT,
            original.start_date + Span::days(5),
            original.end_date + Span::days(5),
        )
        .with_name(&name)
        .with_phone(original.phone1.as_deref().unwrap()),
    ]
    .map(|b| world.sandbox.create_booking_by_hand(b).unwrap());
    world.sandbox.clear_journal();
    let report = world.sync(drift_check()).await;
    assert!(report.converged, "{report:#?}");
    assert_eq!(report.foreign, 2);
    assert_eq!(report.adopted, 0);
    assert!(
        methods(&world).is_empty(),
        "{:#?}",
        world.sandbox.write_calls()
    );
    world.assert_untouched(&copies);

    // A lost ledger adopts flexysync's own three and still leaves the copies alone.
    world.lose_ledger();
    let again = world.sync(drift_check()).await;
    assert!(again.converged, "{again:#?}");
    assert_eq!((again.adopted, again.foreign), (3, 2));
    assert!(
        methods(&world).is_empty(),
        "{:#?}",
        world.sandbox.write_calls()
    );
    world.assert_untouched(&copies);
}

/// The cabin refuses overlapping bookings; stay 0 grows by three hours at its end.
async fn grow_on_an_exclusive_object(hand_made_after: Option<Span>) -> (World, PassReportParts) {
    let world = World::start(Default::default(), "").await;
    world
        .sandbox
        .add_object(ObjectSpec::new(OBJECT, COMPANY_A, "Cabin 7", &[UNIT_MAIN]).exclusive());
    let mut stays = vec![Stay::new(0, first_arrival(), 24, 10)];
    world.feed.set_calendar(&stays);
    assert!(world.sync(drift_check()).await.converged);
    let old = booking_of(&world, &stays[0]);
    let hand_made = hand_made_after.map(|gap| {
        let start = stays[0].end + gap;
        let booking = SandboxBooking::new(OBJECT, start, start + Span::hours(2))
            .with_name("Cleaning")
            .with_code("9090");
        world.sandbox.create_booking_by_hand(booking).unwrap()
    });
    stays[0].end += Span::hours(3);
    world.feed.set_calendar(&stays);
    world.sandbox.clear_journal();
    let report = world.sync(drift_check()).await;
    (
        world,
        PassReportParts {
            failures: report
                .applied
                .failures
                .iter()
                .map(|f| f.text.clone())
                .collect(),
            converged: report.converged,
            old,
            hand_made,
            stays,
        },
    )
}

struct PassReportParts {
    failures: Vec<String>,
    converged: bool,
    old: SandboxBooking,
    hand_made: Option<SandboxBooking>,
    stays: Vec<Stay>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_409_deletes_the_old_version_first_only_when_it_is_the_only_clash() {
    // Only the old version is in the way: break before make.
    let (world, got) = grow_on_an_exclusive_object(None).await;
    assert!(got.converged, "{:?}", got.failures);
    assert_eq!(methods(&world), vec!["POST", "DELETE", "POST"]);
    world.assert_exactly_one_booking_per_stay(&got.stays);

    // A cleaner's booking is in the new window too: the guest keeps the old booking.
    let (world, got) = grow_on_an_exclusive_object(Some(Span::hours(1))).await;
    assert!(!got.converged);
    assert_eq!(methods(&world), vec!["POST"], "no delete, no second create");
    assert_eq!(
        world.sandbox.booking(got.old.booking_id).as_ref(),
        Some(&got.old),
        "the old booking stays"
    );
    let hand_made = got.hand_made.unwrap();
    world.assert_untouched(std::slice::from_ref(&hand_made));
    let failure = got.failures.join("\n");
    assert!(failure.contains("409"), "{failure}");
    assert!(
        failure.contains(&format!("overlaps booking {}", hand_made.booking_id)),
        "{failure}"
    );
    assert!(failure.contains("old booking is kept"), "{failure}");
}

fn owned(booking: &SandboxBooking, key: &str) -> OwnedBooking {
    OwnedBooking {
        booking_id: booking.booking_id,
        reservation_key: key.to_owned(),
        source: "cabin".into(),
        booking_object_id: booking.booking_object_id,
        start: booking.start_date,
        end: booking.end_date,
        credentials: Credentials {
            phones: booking.phone1.iter().cloned().map(Into::into).collect(),
            code: booking.code.clone().map(Into::into),
            rfid: None,
        },
        name: booking_name("Guest", key),
        fingerprint: format!("fp-{key}"),
        state: BookingState::Active,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_in_doubt_holds_its_object_for_the_rest_of_the_pass() {
    let world = World::start(Default::default(), "").await;
    let start = first_arrival();
    let make = |object: i64, hours: i64| {
        let booking = SandboxBooking::new(
            object,
            start + Span::hours(hours),
            start + Span::hours(hours + 5),
        )
        .with_phone("+46701234567");
        world.sandbox.create_booking_by_hand(booking).unwrap()
    };
    let bookings = [make(OBJECT, 0), make(OBJECT, 24), make(124, 0)];
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    let mut operations = vec![];
    for (i, booking) in bookings.iter().enumerate() {
        let owned = owned(booking, &format!("cabin/uid-{i}/"));
        ledger.adopt_booking(&owned, Utc::now()).await.unwrap();
        operations.push(Operation {
            action: Action::Delete { booking: owned },
            category: Category::Revocation,
            reason: "cancelled".into(),
        });
    }
    let plan = Plan {
        operations,
        ..Plan::default()
    };
    // Every call fails with a 5xx: whether a delete happened is unknown.
    world.sandbox.set_faults(flexysync::sandbox::Faults {
        fault_rate: 1.0,
        ..Default::default()
    });
    let client = fast_client(&world);
    let report = Applier::new(&client, &ledger, None)
        .apply(&plan)
        .await
        .unwrap();
    let deleted: Vec<String> = world
        .sandbox
        .write_calls()
        .iter()
        .map(|w| w.path.clone())
        .collect();
    let path = |b: &SandboxBooking| format!("/v1/bookings/{}", b.booking_id);
    assert!(deleted.contains(&path(&bookings[0])), "{deleted:?}");
    assert!(
        !deleted.contains(&path(&bookings[1])),
        "a second delete on an object with a delete in doubt: {deleted:?}"
    );
    assert!(
        deleted.contains(&path(&bookings[2])),
        "another object goes on: {deleted:?}"
    );
    assert_eq!(report.failures.len(), 3, "{:#?}", report.failures);
    assert!(
        report.failures[0].text.contains("in doubt"),
        "{}",
        report.failures[0]
    );
    assert!(
        report.failures[1]
            .text
            .contains("not done on booking object")
    );
    assert_eq!(ledger.open_journal().await.unwrap().len(), 2);
}

fn fast_client(world: &World) -> Client {
    let mut config = flexysync::config::FlexyKeyConfig::new(
        world.sandbox.base_url(),
        flexysync::sandbox::DEMO_USER,
        flexysync::sandbox::DEMO_PASSWORD,
    );
    config.requests_per_second = 200.0;
    config.burst = 50;
    Client::new(&config)
        .unwrap()
        .with_retry_policy(RetryPolicy {
            max_attempts: 2,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(2),
            ..RetryPolicy::default()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_times_with_fractions_match_their_listed_bookings() {
    use flexysync::ledger::webhooks::{BookingStatus, WebhookBooking};
    let world = World::with_laundry_hook().await;
    let start = first_arrival() + Span::hours(8) + Span::milliseconds(250);
    let booking = WebhookBooking {
        booking_id: "b-7".into(),
        status: BookingStatus::Confirmed,
        resource: Some("room-a".into()),
        start: Some(start),
        end: Some(start + Span::hours(3) + Span::milliseconds(500)),
        name: Some("Flat 3".into()),
        phones: vec!["+46701112233".into()],
        code: None,
        rfid: None,
    };
    let at = Utc::now();
    world.deliver("evt-1", &booking, at).await;
    let created = world.sync(drift_check()).await;
    assert!(created.converged, "{created:#?}");
    let listed = world.sandbox.bookings_of(124);
    assert_eq!(listed.len(), 1);
    let whole = |t: DateTime<Utc>| DateTime::from_timestamp(t.timestamp(), 0).unwrap();
    assert_eq!(listed[0].start_date, whole(start));

    // The ledger is lost: the listed booking is the webhook's, to the second.
    world.lose_ledger();
    world.deliver("evt-1", &booking, at).await;
    world.sandbox.clear_journal();
    let again = world.sync(drift_check()).await;
    assert!(again.converged, "{again:#?}");
    assert_eq!(again.adopted, 1);
    assert!(
        methods(&world).is_empty(),
        "{:#?}",
        world.sandbox.write_calls()
    );
    assert_eq!(world.sandbox.bookings_of(124).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_missing_from_a_list_is_read_on_its_own_before_it_counts_as_deleted() {
    let (world, stays) = three_stays_booked().await;

    // A short list: booking 1 is left out but still exists.
    let hidden = booking_of(&world, &stays[1]);
    world.sandbox.hide_from_lists(hidden.booking_id, true);
    world.sandbox.clear_journal();
    let short = world.sync(drift_check()).await;
    assert!(short.vanished.is_empty(), "{short:#?}");
    assert!(
        methods(&world).is_empty(),
        "{:#?}",
        world.sandbox.write_calls()
    );
    let read_alone = format!("/v1/bookings/{}", hidden.booking_id);
    assert!(
        world
            .sandbox
            .journal()
            .iter()
            .any(|c| c.method == "GET" && c.path == read_alone)
    );
    assert!(
        short
            .warnings
            .iter()
            .any(|w| w.contains(&hidden.booking_id.to_string()) && w.contains("still exists")),
        "{:#?}",
        short.warnings
    );

    // Deleted by hand for real: confirmed by a 404, then repaired.
    world.sandbox.hide_from_lists(hidden.booking_id, false);
    let victim = booking_of(&world, &stays[2]);
    assert!(
        world
            .sandbox
            .delete_booking_by_hand(victim.booking_id)
            .unwrap()
    );
    world.sandbox.clear_journal();
    let repaired = world.sync(drift_check()).await;
    assert!(repaired.converged, "{repaired:#?}");
    assert_eq!(repaired.vanished, vec![victim.booking_id]);
    assert_eq!(methods(&world), vec!["POST"]);
    world.assert_exactly_one_booking_per_stay(&stays);

    // A read that fails says nothing: unknown, not vanished.
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let config = flexysync::config::FlexyKeyConfig::new(
        format!("http://{nowhere}/v1/").parse().unwrap(),
        "api-user",
        "pw",
    );
    let dead = Client::new(&config)
        .unwrap()
        .with_retry_policy(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        });
    let owned = [owned(&victim, "cabin/x/")];
    let check = check_vanished(&dead, &[victim.booking_id], &owned).await;
    assert!(check.confirmed.is_empty());
    assert!(
        check.warnings[0].contains("could not be read"),
        "{:?}",
        check.warnings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_backfill_delays_a_revocation_by_at_most_one_call() {
    use flexysync::archive::backfill;
    use flexysync::config::UnitSelection;
    use flexysync::flexykey::{Priority, with_priority};
    use flexysync::sandbox::UNIT_OLD;

    let world = World::start(Default::default(), "").await;
    let start = first_arrival();
    let cancelled = world
        .sandbox
        .create_booking_by_hand(
            SandboxBooking::new(OBJECT, start, start + Span::hours(5)).with_phone("+46701234567"),
        )
        .unwrap();
    let mut config = flexysync::config::FlexyKeyConfig::new(
        world.sandbox.base_url(),
        flexysync::sandbox::DEMO_USER,
        flexysync::sandbox::DEMO_PASSWORD,
    );
    config.requests_per_second = 10.0;
    config.burst = 1;
    let client = Client::new(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    let now = Utc::now();
    // A year's backfill of one unit, and two more archive pulls looping beside it.
    let mut archive = vec![{
        let (client, ledger) = (client.clone(), ledger.clone());
        let selection = UnitSelection::Listed(vec![UNIT_MAIN]);
        tokio::spawn(async move {
            let from = now - Span::days(365);
            let _ = backfill(&client, &ledger, &selection, from, now, now, &()).await;
        })
    }];
    for unit in [UNIT_MAIN, UNIT_OLD] {
        let client = client.clone();
        archive.push(tokio::spawn(async move {
            loop {
                let _ = client.unit_logs(unit, now - Span::days(2), now).await;
            }
        }));
    }
    let is_log_pull = |c: &flexysync::sandbox::JournalEntry| c.path.starts_with("/v1/unitlogs/");
    while world
        .sandbox
        .journal()
        .iter()
        .filter(|c| is_log_pull(c))
        .count()
        < 8
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before = world.sandbox.journal().len();
    with_priority(
        Priority::Revocation,
        client.delete_booking(cancelled.booking_id),
    )
    .await
    .unwrap();
    for task in archive {
        task.abort();
    }
    let journal = world.sandbox.journal();
    let delete = journal
        .iter()
        .position(|c| c.method == "DELETE")
        .expect("the delete was sent");
    let pulls_between = journal[before..delete]
        .iter()
        .filter(|c| is_log_pull(c))
        .count();
    assert!(
        pulls_between <= 1,
        "{pulls_between} archive calls went out before the revocation"
    );
    assert!(world.sandbox.booking(cancelled.booking_id).is_none());
}

/// A pass that lists every object, as the hourly drift check does: these rules are about what
/// FlexyKey's lists show, so every pass here reads them.
fn drift_check() -> PassFlags {
    PassFlags {
        check_all: true,
        ..PassFlags::default()
    }
}
