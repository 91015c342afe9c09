//! The reconciler against the real sandbox over loopback: minimal writes, feed outages, a lost
//! ledger, drift, the single-instance lock, and the real binary killed with SIGKILL.

mod coalesce;
mod codes;
mod conflict;
mod deadline;
mod drift_gives_way;
mod economy;
mod partial;
mod rules;
mod support;

use std::time::Duration;

use chrono::Duration as Span;
use flexysync::reconcile::marker::marker;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_stays_then_sixty_changes_cost_exactly_their_writes() {
    let world = World::start(Default::default(), "debounce_reads = 1\n").await;
    let base = first_arrival();
    let mut stays: Vec<Stay> = (0..300).map(|i| Stay::new(i, base, 12 * i, 10)).collect();
    world.feed.set_calendar(&stays);
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");
    assert_eq!(world.fs_bookings().len(), 300);

    // 20 new, 20 changed, 20 cancelled; 5 bookings made by hand in FlexyWeb.
    stays.extend((300..320).map(|i| Stay::new(i, base, 12 * i, 10)));
    for stay in stays.iter_mut().take(20) {
        stay.shift(1);
    }
    stays.retain(|s| !(20..40).contains(&s.index));
    world.feed.set_calendar(&stays);
    let hand_made = world.hand_made(5);
    world.sandbox.clear_journal();
    let second = world.sync(PassFlags::default()).await;
    assert!(second.converged, "{second:#?}");
    let writes = world.sandbox.write_calls();
    let posts = writes.iter().filter(|w| w.method == "POST").count();
    let deletes = writes.iter().filter(|w| w.method == "DELETE").count();
    assert_eq!(
        (posts, deletes),
        (40, 40),
        "20 new + 20 changed, 20 changed + 20 cancelled"
    );
    assert_eq!(writes.len(), 20 + 2 * 20 + 20);
    // Revocations went first.
    assert!(
        writes[..20].iter().all(|w| w.method == "DELETE"),
        "{writes:#?}"
    );

    world.sandbox.clear_journal();
    let third = world.sync(PassFlags::default()).await;
    assert!(third.converged && third.plan.is_empty(), "{third:#?}");
    assert_eq!(world.sandbox.write_calls().len(), 0);
    // The hand-made bookings were counted when the object was last listed; nothing changed
    // since, so the steady pass lists nothing.
    assert_eq!(second.foreign, 5);
    assert_eq!(third.listed_objects, 0, "{third:#?}");
    world.assert_exactly_one_booking_per_stay(&stays);
    world.assert_untouched(&hand_made);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_outages_delete_nothing_until_confirmed() {
    let world = World::start(Default::default(), "").await;
    let base = first_arrival();
    let stays: Vec<Stay> = (0..30).map(|i| Stay::new(i, base, 24 * i, 20)).collect();
    world.feed.set_calendar(&stays);
    assert!(world.sync(PassFlags::default()).await.converged);
    world.sandbox.clear_journal();

    let outages: [(FeedMode, &str); 3] = [
        (FeedMode::Status(500), "500"),
        (FeedMode::Hang, "time"),
        (FeedMode::Html, ""),
    ];
    for (mode, said) in outages {
        world.feed.set_mode(mode.clone());
        for _ in 0..2 {
            let report = world.sync(PassFlags::default()).await;
            assert!(!report.converged, "{mode:?}: {report:#?}");
            let failure = report.sources[0]
                .failure
                .clone()
                .map(|f| f.text)
                .unwrap_or_default();
            assert!(failure.to_lowercase().contains(said), "{mode:?}: {failure}");
        }
        let status = world.status().await;
        let source = &status.sources[0];
        assert_eq!(source.last_outcome, Some("failed"), "{mode:?}");
        assert!(source.consecutive_failures >= 2);
        assert!(source.last_reason.is_some());
        assert_eq!(world.fs_bookings().len(), 30, "{mode:?}");
    }

    // Empty twice in a row, then a third of the events twice: held, and said so.
    for kept in [0usize, 10] {
        world.feed.set_calendar(&stays[..kept]);
        for _ in 0..2 {
            let report = world.sync(PassFlags::default()).await;
            assert!(!report.converged, "{kept}: {report:#?}");
            assert!(report.sources[0].hold.is_some(), "{report:#?}");
        }
        let status = world.status().await;
        let source = &status.sources[0];
        assert!(
            source
                .shrink_hold
                .as_deref()
                .unwrap_or("")
                .contains("shrank")
        );
        assert_eq!(source.held_deletions.len(), 30 - kept);
        assert!(source.held_deletions[0].reason.contains("--confirm cabin"));
        assert_eq!(world.fs_bookings().len(), 30);
    }
    let deletes = world.sandbox.write_calls();
    assert!(deletes.is_empty(), "{deletes:#?}");

    let confirmed = world
        .sync(PassFlags {
            confirm: vec!["cabin".into()],
            ..PassFlags::default()
        })
        .await;
    assert!(confirmed.converged, "{confirmed:#?}");
    assert_eq!(confirmed.applied.deleted, 20);
    world.assert_exactly_one_booking_per_stay(&stays[..10]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_ledger_adopts_its_bookings_instead_of_duplicating() {
    let world = World::start(Default::default(), "").await;
    let stays: Vec<Stay> = (0..12)
        .map(|i| Stay::new(i, first_arrival(), 24 * i, 20))
        .collect();
    world.feed.set_calendar(&stays);
    assert!(world.sync(PassFlags::default()).await.converged);
    world.lose_ledger();
    world.sandbox.clear_journal();
    let again = world.sync(PassFlags::default()).await;
    assert!(again.converged, "{again:#?}");
    assert_eq!(again.adopted, 12);
    assert_eq!(world.sandbox.write_calls().len(), 0);
    world.assert_exactly_one_booking_per_stay(&stays);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_repaired_and_a_changed_stay_in_progress_is_made_before_broken() {
    let world = World::start(Default::default(), "").await;
    let now = chrono::Utc::now();
    // One stay in progress, two ahead.
    let mut stays = vec![
        Stay::at(0, now - Span::hours(3), now + Span::hours(20)),
        Stay::new(1, first_arrival(), 24, 20),
        Stay::new(2, first_arrival(), 48, 20),
    ];
    world.feed.set_calendar(&stays);
    assert!(world.sync(PassFlags::default()).await.converged);
    let owned = world.fs_bookings();
    let victim = owned
        .iter()
        .find(|b| {
            b.name
                .as_deref()
                .unwrap_or("")
                .contains(&marker(&stays[1].key()))
        })
        .unwrap()
        .booking_id;
    assert!(world.sandbox.delete_booking_by_hand(victim).unwrap());
    stays[0].end += Span::hours(5);
    world.feed.set_calendar(&stays);
    world.sandbox.clear_journal();
    let report = world.sync(PassFlags::default()).await;
    assert!(report.converged, "{report:#?}");
    assert_eq!(report.vanished, vec![victim]);
    let methods: Vec<String> = world
        .sandbox
        .write_calls()
        .iter()
        .map(|w| w.method.clone())
        .collect();
    // The running stay: its new booking is created before the old one goes; then the repair.
    assert_eq!(methods, vec!["POST", "DELETE", "POST"]);
    world.assert_exactly_one_booking_per_stay(&stays);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_dry_runs_without_writes_and_refuses_a_second_instance() {
    let world = World::start(Default::default(), "").await;
    let stays: Vec<Stay> = (0..3)
        .map(|i| Stay::new(i, first_arrival(), 24 * i, 20))
        .collect();
    world.feed.set_calendar(&stays);
    let dry = world.binary(&["sync", "--dry-run"]).await;
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.contains("Would do 3 operations, 3 write calls:"),
        "{text}"
    );
    assert!(text.contains("why: new reservation"), "{text}");
    assert_eq!(world.sandbox.write_calls().len(), 0);

    // FlexyKey failing: the stays are known but unbooked; status flags tomorrow's arrival.
    world.sandbox.set_faults(flexysync::sandbox::Faults {
        fault_rate: 1.0,
        ..Default::default()
    });
    let failing = world.binary(&["sync"]).await;
    assert_eq!(failing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failing.stderr).contains("not converged"));
    world.sandbox.set_faults(Default::default());
    let status = world.binary(&["status"]).await;
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("NO CONFIRMED BOOKING"), "{text}");
    assert!(
        text.contains("ATTENTION: 1 arrival within 24 hours has no confirmed booking."),
        "{text}"
    );

    let holder = flexysync::ledger::Ledger::open_exclusive(&world.ledger_path)
        .await
        .unwrap();
    let refused = world.binary(&["sync"]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("process {}", std::process::id())),
        "{stderr}"
    );
    holder.close().await;
    drop(holder);

    let done = world.binary(&["sync", "--json"]).await;
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(json["counts"]["created"], 3);
    let shown = String::from_utf8_lossy(&done.stdout);
    assert!(
        !shown.contains(&stays[0].code_hint()),
        "no codes in the output"
    );
    let status = world.binary(&["status"]).await;
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("object 123: 3 owned bookings"), "{text}");
    assert!(text.contains("converged"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_the_binary_still_converges_without_duplicates() {
    let options = SandboxFaults {
        fault_rate: 0.10,
        lost_response_rate: 0.05,
        state_file: true,
    };
    let mut world = World::start(options, "").await;
    world.use_file_feed();
    let stays: Vec<Stay> = (0..40)
        .map(|i| Stay::new(i, first_arrival(), 12 * i, 10))
        .collect();
    world.feed.set_calendar(&stays);
    let hand_made = world.hand_made(3);
    let mut rng_state = 0x5eed_u64;
    let (mut kills, mut kills_amid_writes, mut rounds) = (0, 0, 0);
    while kills < 24 && rounds < 80 {
        rounds += 1;
        // Every round moves a third of the stays back or forth, so that each run has creates
        // and deletes to do and the kills land amid them.
        let mut current = stays.clone();
        if rounds % 2 == 0 {
            for stay in current.iter_mut().step_by(3) {
                stay.shift(1);
            }
        }
        world.feed.set_calendar(&current);
        let before = world.sandbox.write_calls().len();
        let dice = next(&mut rng_state);
        // A run spends its first few hundred milliseconds (debug build) loading the phone
        // metadata while it reads the feed: the timed kills spread past that.
        let moment = if rounds % 2 == 0 {
            KillMoment::After(Duration::from_millis(20 + dice % 700))
        } else {
            KillMoment::AfterWrites(1 + (dice % 12) as usize)
        };
        let killed = world.run_and_kill(moment).await;
        let wrote = world.sandbox.write_calls().len() > before;
        kills += usize::from(killed);
        kills_amid_writes += usize::from(killed && wrote);
        // Now and then the sandbox restarts from its state file, as after a crash there.
        if rounds % 10 == 0 {
            world.restart_sandbox().await;
        }
    }
    assert!(kills >= 20, "only {kills} kills landed");
    assert!(
        kills_amid_writes >= 10,
        "only {kills_amid_writes} kills landed amid writes"
    );
    world.feed.set_calendar(&stays);
    world.sandbox.set_faults(Default::default());
    let mut converged = false;
    for _ in 0..3 {
        let run = world.binary(&["sync"]).await;
        if run.status.success() {
            converged = true;
            break;
        }
    }
    assert!(converged, "no clean convergence after the faults stopped");
    world.assert_exactly_one_booking_per_stay(&stays);
    world.assert_untouched(&hand_made);
    let open = world.status().await.open_journal;
    assert!(open.is_empty(), "{open:#?}");
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_bookings_are_created_and_a_cancellation_deletes_at_once() {
    use flexysync::ledger::webhooks::{BookingStatus, WebhookBooking};
    let world = World::with_laundry_hook().await;
    let start = first_arrival() + Span::hours(8);
    let mut booking = WebhookBooking {
        booking_id: "b-42".into(),
        status: BookingStatus::Confirmed,
        resource: Some("room-a".into()),
        start: Some(start),
        end: Some(start + Span::hours(3)),
        // A sender's bidi override and control characters never reach FlexyKey.
        name: Some("\u{202E}Flat\u{0}\u{1b} 12\u{2069}\r\n".into()),
        phones: vec!["+46701112233".into()],
        code: Some("4821".into()),
        rfid: None,
    };
    let deliver = |event: &'static str, booking: WebhookBooking, minutes: i64| {
        let at = chrono::Utc::now() + Span::minutes(minutes);
        let world = &world;
        async move { world.deliver(event, &booking, at).await }
    };
    deliver("evt-1", booking.clone(), 0).await;
    let created = world.sync(PassFlags::default()).await;
    assert!(created.converged, "{created:#?}");
    let listed = world.sandbox.bookings_of(124);
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0].code.as_deref(), Some("4821"));
    assert!(
        listed[0]
            .name
            .as_deref()
            .unwrap_or("")
            .starts_with("Flat 12 · fs-")
    );

    booking.status = BookingStatus::Cancelled;
    deliver("evt-2", booking, 1).await;
    world.sandbox.clear_journal();
    let cancelled = world.sync(PassFlags::default()).await;
    assert!(cancelled.converged, "{cancelled:#?}");
    assert_eq!(world.sandbox.write_calls().len(), 1);
    assert!(world.sandbox.bookings_of(124).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_without_a_zone_reads_all_day_stays_in_its_units_zone_and_source_filters() {
    use chrono::{NaiveTime, TimeZone};
    let mut world = World::start(Default::default(), "").await;
    let day = (chrono::Utc::now() + Span::days(20)).date_naive();
    let calendar = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:sauna-1\r\n\
         DTSTAMP:20261101T000000Z\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\n\
         SUMMARY:Family\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        day.format("%Y%m%d"),
        (day + Span::days(2)).format("%Y%m%d")
    );
    let path = world.write_file("sauna.ics", &calendar);
    world.add_sources(&format!(
        "[[sources]]\nname = \"sauna\"\nkind = \"ical\"\npath = {:?}\nbooking_object_id = 125\n",
        path.display().to_string()
    ));
    world
        .feed
        .set_calendar(&[Stay::new(0, first_arrival(), 24, 20)]);

    // --source: only the sauna is read and written.
    let only = world.binary(&["sync", "--source", "sauna"]).await;
    assert_eq!(
        only.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&only.stderr)
    );
    assert!(world.sandbox.bookings_of(OBJECT).is_empty());
    for flag in ["--source", "--confirm"] {
        let unknown = world.binary(&["sync", flag, "nosuch"]).await;
        assert_eq!(unknown.status.code(), Some(2), "{flag}");
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("nosuch"));
    }

    // The unit's zone is W. Europe Standard Time: check-in 15:00 and check-out 11:00 there.
    let zone: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let local = |date: chrono::NaiveDate, hour: u32| {
        zone.from_local_datetime(&date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap()))
            .single()
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let booked = world.sandbox.bookings_of(125);
    assert_eq!(booked.len(), 1, "{booked:#?}");
    assert_eq!(booked[0].start_date, local(day, 15));
    assert_eq!(booked[0].end_date, local(day + Span::days(2), 11));
}
