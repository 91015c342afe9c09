//! API economy: an object is listed only when what is wanted on it changed, a doubt or a
//! planned write pins it, or its drift check is due. Feeds that come back with new DTSTAMPs
//! but the same stays (Airbnb rewrites DTSTAMP on every fetch) cost no FlexyKey call at all.

use chrono::{DateTime, Duration as Span, Utc};
use flexysync::sandbox::{COMPANY_A, ObjectSpec, UNIT_MAIN};

use super::support::*;

const ROOMS: i64 = 60;
const FIRST_ROOM: i64 = 5000;

/// A room's feed: two stays in floating local time (the unit's zone is needed), stamped
/// `stamp`; the first stay is moved by `shift` hours.
fn room_feed(room: i64, stamp: u32, base: DateTime<Utc>, shift: i64) -> String {
    let local = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%S").to_string();
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n");
    for stay in 0..2i64 {
        let start = base + Span::days(2 * stay + room % 5) + Span::hours(15);
        let start = if stay == 0 {
            start + Span::hours(shift)
        } else {
            start
        };
        text.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:room-{room}-{stay}@test\r\nDTSTAMP:20261101T0000{stamp:02}Z\r\n\
             DTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n",
            local(start),
            local(start + Span::hours(20)),
        ));
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

fn write_feeds(world: &World, stamp: u32, base: DateTime<Utc>, shifted: Option<i64>) {
    for room in FIRST_ROOM..FIRST_ROOM + ROOMS {
        let shift = i64::from(shifted == Some(room));
        world.write_file(
            &format!("room-{room}.ics"),
            &room_feed(room, stamp, base, shift),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_stays_under_new_dtstamps_cost_no_flexykey_call() {
    // Drift checks a week apart: each object's own moment in the period must not fall inside
    // this test's few seconds, or that object is listed too (rightly) and the counts move.
    let mut world = World::start(
        Default::default(),
        "debounce_reads = 1\ndrift_check_minutes = 10080\n",
    )
    .await;
    let base = first_arrival();
    write_feeds(&world, 1, base, None);
    let mut sources = String::new();
    for room in FIRST_ROOM..FIRST_ROOM + ROOMS {
        let name = format!("Room {room}");
        let spec = ObjectSpec::new(room, COMPANY_A, &name, &[UNIT_MAIN]);
        world.sandbox.add_object(spec);
        let path = world.write_file(&format!("room-{room}.ics"), &room_feed(room, 1, base, 0));
        // No `timezone`: the unit's zone is looked up once and kept.
        sources.push_str(&format!(
            "[[sources]]\nname = \"room-{room}\"\nkind = \"ical\"\npath = {:?}\n\
             booking_object_id = {room}\n\n",
            path.display().to_string()
        ));
    }
    world.add_sources(&sources);
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");
    assert_eq!(first.applied.created, 2 * ROOMS as u32);

    // Every feed comes back with new bytes (DTSTAMP) and the same stays.
    write_feeds(&world, 2, base, None);
    world.sandbox.clear_journal();
    let steady = world.sync(PassFlags::default()).await;
    assert!(steady.converged, "{steady:#?}");
    assert!(steady.sources.iter().all(|s| s.failure.is_none()));
    let calls = world.sandbox.journal();
    assert!(world.sandbox.write_calls().is_empty());
    let objects = (ROOMS + 1) as f64;
    assert!(
        calls.len() as f64 <= 0.1 * objects,
        "{} FlexyKey calls for {objects} objects: {calls:#?}",
        calls.len()
    );

    // One stay moves: its booking is replaced (2 writes) and only its object is read, once
    // to plan and once to verify.
    let moved = FIRST_ROOM + 7;
    write_feeds(&world, 3, base, Some(moved));
    world.sandbox.clear_journal();
    let changed = world.sync(PassFlags::default()).await;
    assert!(changed.converged, "{changed:#?}");
    let writes = world.sandbox.write_calls();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    let lists: Vec<_> = world
        .sandbox
        .journal()
        .into_iter()
        .filter(|c| c.method == "GET" && c.path.contains("bookings"))
        .collect();
    assert!(lists.len() <= 2, "{lists:#?}");
    assert_eq!(changed.listed_objects, 1);
}

/// The object a bookings list asked for, from the sandbox journal's query.
pub(super) fn listed_object(call: &flexysync::sandbox::JournalEntry) -> Option<i64> {
    (call.method == "GET" && call.path == "/v1/bookings")
        .then(|| call.query.split('&'))?
        .find_map(|pair| pair.strip_prefix("bookingObjectId="))
        .and_then(|id| id.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_stay_is_written_before_the_drift_checks_of_its_pass() {
    let mut world = World::start(Default::default(), "").await;
    let mut stays = vec![Stay::new(0, first_arrival(), 0, 20)];
    world.feed.set_calendar(&stays);
    world.add_quiet_doors(301..311);
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");

    // The stay moves while every object's drift check is due (as in the daemon's first pass):
    // its object is listed and written first, the ten quiet doors are listed afterwards.
    stays[0].shift(2);
    world.feed.set_calendar(&stays);
    world.sandbox.clear_journal();
    let all_due = PassFlags {
        check_all: true,
        ..PassFlags::default()
    };
    let changed = world.sync(all_due).await;
    assert!(changed.converged, "{changed:#?}");
    assert_eq!(changed.applied.created, 1, "{changed:#?}");
    assert_eq!(changed.listed_objects, 11, "{changed:#?}");
    let journal = world.sandbox.journal();
    let last_write = journal.iter().rposition(|c| c.write).unwrap();
    let quiet: Vec<usize> = (journal.iter().enumerate())
        .filter(|(_, c)| listed_object(c).is_some_and(|o| o != OBJECT))
        .map(|(at, _)| at)
        .collect();
    assert_eq!(quiet.len(), 10, "{journal:#?}");
    assert!(
        quiet.iter().all(|&at| at > last_write),
        "a quiet door was listed before the changed stay's writes: {journal:#?}"
    );
    world.assert_exactly_one_booking_per_stay(&stays);
}
