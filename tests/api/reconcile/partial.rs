//! Partial failures change nothing: a zone that cannot be looked up, a VEVENT that cannot be
//! read.

use flexysync::model::FailureKind;
use flexysync::reconcile::ReadKind;
use flexysync::sandbox::{Faults, OBJECT_SAUNA};

use super::support::*;

/// One stay in floating local time (15:00 to 11:00 the next day, no X-WR-TIMEZONE).
fn floating_feed(extra: &str) -> String {
    let day = first_arrival() + chrono::Duration::days(3);
    let date = day.format("%Y%m%d");
    let next = (day + chrono::Duration::days(1)).format("%Y%m%d");
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:sauna-1@test\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:{date}T150000\r\n\
         DTEND:{next}T110000\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n{extra}END:VCALENDAR\r\n"
    )
}

fn sauna_source(world: &mut World, text: &str) {
    let path = world.write_file("sauna.ics", text);
    world.add_sources(&format!(
        "[[sources]]\nname = \"sauna\"\nkind = \"ical\"\npath = {:?}\nbooking_object_id = {}\n",
        path.display().to_string(),
        OBJECT_SAUNA
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_zone_lookup_uses_the_kept_zone_and_without_one_the_read_is_unknown() {
    let mut world = World::start(Default::default(), "").await;
    sauna_source(&mut world, &floating_feed(""));
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");
    let booked = world.sandbox.bookings_of(OBJECT_SAUNA);
    assert_eq!(booked.len(), 1);
    // The unit's zone (W. Europe): 15:00 local is not 15:00 UTC.
    assert_ne!(booked[0].start_date.format("%H").to_string(), "15");

    // FlexyKey fails every call, the zone is looked up again (as at a drift check) and the
    // lookup fails: the zone kept from the first lookup is used.
    let failing = Faults {
        fault_rate: 1.0,
        ..Faults::default()
    };
    world.sandbox.set_faults(failing.clone());
    let check_all = PassFlags {
        check_all: true,
        ..PassFlags::default()
    };
    let second = world.sync(check_all).await;
    assert!(
        world
            .sandbox
            .journal()
            .iter()
            .any(|c| c.path.contains("bookingobjects")),
        "the zone was looked up again"
    );
    let sauna = second.sources.iter().find(|s| s.name == "sauna").unwrap();
    assert_eq!(sauna.read, ReadKind::Fresh, "{sauna:#?}");
    assert!(second.plan.operations.is_empty(), "{:#?}", second.plan);

    // With no zone kept (a new ledger), the read is unknown: nothing is read in UTC.
    world.lose_ledger();
    let third = world.sync(PassFlags::default()).await;
    let sauna = third.sources.iter().find(|s| s.name == "sauna").unwrap();
    assert_eq!(sauna.read, ReadKind::Failed, "{sauna:#?}");
    assert_eq!(
        sauna.failure.as_ref().map(|f| f.kind),
        Some(FailureKind::Zone)
    );
    assert!(third.plan.operations.is_empty(), "{:#?}", third.plan);
    world.sandbox.set_faults(Faults::default());
    assert_eq!(world.sandbox.bookings_of(OBJECT_SAUNA), booked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_vevent_keeps_its_booking_with_a_warning() {
    let mut world = World::start(Default::default(), "debounce_reads = 1\n").await;
    let day = (first_arrival() + chrono::Duration::days(5)).format("%Y%m%d");
    let departure = (first_arrival() + chrono::Duration::days(8)).format("%Y%m%d");
    let second_stay = |start: &str| {
        format!(
            "BEGIN:VEVENT\r\nUID:sauna-2@test\r\nDTSTAMP:20261101T000000Z\r\n{start}\
             DTEND:{departure}T110000Z\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        )
    };
    let readable = second_stay(&format!("DTSTART:{day}T150000Z\r\n"));
    let mut text = floating_feed(&readable);
    text = text.replace(
        "BEGIN:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Europe/Stockholm\r\n",
    );
    sauna_source(&mut world, &text);
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");
    assert_eq!(world.sandbox.bookings_of(OBJECT_SAUNA).len(), 2);

    // The second VEVENT loses its DTSTART: it cannot be read. Its booking stays, read after
    // read (debounce_reads = 1 would delete a missing stay at once).
    let broken = second_stay("DTSTART;VALUE=DATE:garbage\r\n");
    let text = floating_feed(&broken).replace(
        "BEGIN:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Europe/Stockholm\r\n",
    );
    world.write_file("sauna.ics", &text);
    for _ in 0..2 {
        let report = world.sync(PassFlags::default()).await;
        let sauna = report.sources.iter().find(|s| s.name == "sauna").unwrap();
        assert!(
            sauna
                .warnings
                .iter()
                .any(|w| w.contains("sauna-2@test") && w.contains("kept")),
            "{sauna:#?}"
        );
        assert!(report.plan.operations.is_empty(), "{:#?}", report.plan);
        assert_eq!(world.sandbox.bookings_of(OBJECT_SAUNA).len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_of_utc_times_needs_no_zone() {
    let mut world = World::start(Default::default(), "").await;
    let day = (first_arrival() + chrono::Duration::days(3)).format("%Y%m%d");
    let text = floating_feed("").replace(
        &format!("DTSTART:{day}T150000\r\n"),
        &format!("DTSTART:{day}T140000Z\r\n"),
    );
    let text = text.replacen("T110000\r\n", "T100000Z\r\n", 1);
    sauna_source(&mut world, &text);
    world.sandbox.set_faults(Faults {
        fault_rate: 1.0,
        ..Faults::default()
    });
    // No zone kept and none to be had: the UTC times are read all the same.
    let report = world.sync(PassFlags::default()).await;
    let sauna = report.sources.iter().find(|s| s.name == "sauna").unwrap();
    assert_eq!(sauna.read, ReadKind::Fresh, "{sauna:#?}");
    assert_eq!(sauna.upcoming, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_feed_holds_its_creates_loudly_until_confirmed() {
    let world = World::start(Default::default(), "").await;
    let base = first_arrival();
    let stays: Vec<Stay> = (0..2).map(|i| Stay::new(i, base, 48 * i, 20)).collect();
    world.feed.set_calendar(&stays);
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");
    assert_eq!(world.fs_bookings().len(), 2);

    // A typo makes a daily series hourly: 120 new stays in one read.
    let start = (base + chrono::Duration::days(10)).format("%Y%m%dT%H%M%SZ");
    let runaway = format!(
        "BEGIN:VEVENT\r\nUID:cleaning@test\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:{start}\r\n\
         DURATION:PT30M\r\nRRULE:FREQ=HOURLY;COUNT=120\r\nSUMMARY:Cleaning\r\nEND:VEVENT\r\n"
    );
    let text = calendar(&stays).replace("END:VCALENDAR", &format!("{runaway}END:VCALENDAR"));
    world.feed.set_mode(FeedMode::Calendar(text));
    world.sandbox.clear_journal();
    let held = world.sync(PassFlags::default()).await;
    assert!(world.sandbox.write_calls().is_empty());
    assert_eq!(held.plan.held_creates.len(), 120);
    assert!(!held.converged, "a hold is never a quiet success");
    let cabin = held.sources.iter().find(|s| s.name == "cabin").unwrap();
    assert!(cabin.creates_held.is_some(), "{cabin:#?}");
    let status = world.status().await;
    let cabin = status.sources.iter().find(|s| s.name == "cabin").unwrap();
    assert!(
        cabin
            .creates_hold
            .as_deref()
            .is_some_and(|h| h.contains("--confirm cabin"))
    );

    // The operator looked and confirms: the stays are booked.
    let confirmed = world.sync(PassFlags::confirming("cabin")).await;
    assert_eq!(confirmed.applied.created, 120, "{:#?}", confirmed.errors);
    assert!(confirmed.plan.held_creates.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_webhook_source_holds_its_creates_and_still_cancels() {
    use flexysync::ledger::webhooks::{BookingStatus, WebhookBooking};
    let world = World::with_laundry_hook().await;
    let base = first_arrival();
    let slot = |n: i64, status| WebhookBooking {
        booking_id: format!("b-{n}"),
        status,
        resource: Some("room-a".into()),
        start: Some(base + chrono::Duration::hours(2 * n)),
        end: Some(base + chrono::Duration::hours(2 * n + 1)),
        name: Some(format!("Flat {n}")),
        phones: vec![],
        code: Some("4821".into()),
        rfid: None,
    };
    let at = chrono::Utc::now();
    world
        .deliver("evt-0", &slot(0, BookingStatus::Confirmed), at)
        .await;
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");
    assert_eq!(world.sandbox.bookings_of(124).len(), 1);

    // A sender's bug (or a snapshot) brings 60 new bookings at once; slot 0 is cancelled.
    for n in 1..=60 {
        let event = format!("evt-{n}");
        world
            .deliver(&event, &slot(n, BookingStatus::Confirmed), at)
            .await;
    }
    let later = at + chrono::Duration::seconds(1);
    world
        .deliver("evt-cancel", &slot(0, BookingStatus::Cancelled), later)
        .await;
    world.sandbox.clear_journal();
    let held = world.sync(PassFlags::default()).await;
    assert_eq!(held.plan.held_creates.len(), 60, "{:#?}", held.plan);
    assert!(!held.converged, "a hold is never a quiet success");
    let laundry = held.sources.iter().find(|s| s.name == "laundry").unwrap();
    assert!(
        (laundry.creates_held.as_deref()).is_some_and(|h| h.contains("--confirm laundry")),
        "{laundry:#?}"
    );
    let writes = world.sandbox.write_calls();
    assert_eq!(writes.len(), 1, "only the cancellation: {writes:#?}");
    assert_eq!(writes[0].method, "DELETE");
    assert!(world.sandbox.bookings_of(124).is_empty());

    // The operator confirms: the bookings are made.
    let confirmed = world.sync(PassFlags::confirming("laundry")).await;
    assert_eq!(confirmed.applied.created, 60, "{:#?}", confirmed.errors);
    assert!(confirmed.plan.held_creates.is_empty());
}
