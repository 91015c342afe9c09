//! A pass's deadline and the watchdog's evidence of progress, against a slow sandbox: a pass
//! past `sync.pass_timeout` stops at a safe point with its writes journaled, and a long pass
//! keeps the watchdog fed only while its calls complete.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flexysync::progress::Progress;
use flexysync::reconcile::deadline::{Deadline, within_deadline};
use flexysync::reconcile::pass::PassOptions;
use flexysync::sandbox::Faults;
use tokio_util::sync::CancellationToken;

use super::support::*;
use crate::helpers::PassParts;

fn slow(world: &World, latency: Duration) {
    world.sandbox.set_faults(Faults {
        latency,
        ..Default::default()
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_past_its_deadline_stops_at_a_safe_point_and_the_next_one_finishes() {
    let world = World::start(Default::default(), "").await;
    let stays: Vec<Stay> = (0..30)
        .map(|i| Stay::new(i, first_arrival(), 24 * i, 20))
        .collect();
    world.feed.set_calendar(&stays);
    slow(&world, Duration::from_millis(60));
    let parts = PassParts::load(world.config_path()).await;
    let stop = CancellationToken::new();
    let options = PassOptions {
        stop: Some(stop.clone()),
        ..PassOptions::default()
    };
    let ran = within_deadline(
        parts.sync(&options),
        &stop,
        Duration::from_millis(700),
        Duration::from_secs(10),
    )
    .await;
    let Deadline::Stopped(report) = ran else {
        panic!("the pass was not stopped by its deadline");
    };
    let created = report.applied.created as usize;
    assert!(created > 0 && created < 30, "created {created}");
    assert!(
        report
            .applied
            .failures
            .iter()
            .any(|f| f.text.contains("left for the next pass")),
        "{:#?}",
        report.applied.failures
    );
    assert!(!report.converged);
    // The write in flight at the deadline was finished and journaled: nothing is in doubt,
    // and the ledger owns exactly what FlexyKey has.
    assert!(parts.ledger.open_journal().await.unwrap().is_empty());
    let owned = parts.ledger.owned_bookings().await.unwrap();
    assert_eq!(owned.len(), world.fs_bookings().len());
    assert_eq!(owned.len(), created);
    parts.ledger.close().await;
    drop(parts);

    slow(&world, Duration::ZERO);
    let next = world.sync(PassFlags::default()).await;
    assert!(next.converged, "{next:#?}");
    world.assert_exactly_one_booking_per_stay(&stays);
}

/// Runs a pass under `progress`, sampling the watchdog's verdict every 20 ms; returns how long
/// it took and whether any sample found it stalled beyond `limit`.
async fn watched_pass(world: &World, progress: &Progress, limit: Duration) -> (Duration, bool) {
    let parts = PassParts::load(world.config_path()).await;
    let done = CancellationToken::new();
    let stalled = Arc::new(Mutex::new(false));
    let sampler = {
        let (progress, done, stalled) = (progress.clone(), done.clone(), stalled.clone());
        tokio::spawn(async move {
            while !done.is_cancelled() {
                if !progress.healthy(limit) {
                    *stalled.lock().unwrap() = true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    // A drift check: every object is listed, one call after another.
    let options = PassOptions {
        check_all: true,
        ..PassOptions::default()
    };
    progress.track(parts.sync(&options)).await;
    let took = started.elapsed();
    done.cancel();
    sampler.await.unwrap();
    parts.ledger.close().await;
    let stalled = *stalled.lock().unwrap();
    (took, stalled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_fed_by_a_long_pass_that_progresses_and_starved_by_a_stalled_one() {
    let mut world = World::start(Default::default(), "").await;
    let mut stays: Vec<Stay> = (0..4)
        .map(|i| Stay::new(i, first_arrival(), 24 * i, 20))
        .collect();
    world.feed.set_calendar(&stays);
    // Six more doors with quiet calendars: a steady pass lists them one after another, FlexyKey
    // calls with no ledger write or feed read between them.
    world.add_quiet_doors(201..207);
    assert!(world.sync(PassFlags::default()).await.converged);
    let progress = Progress::new();
    let limit = Duration::from_millis(500);

    // Every call answers in 150 ms: a pass of over a second, never 500 ms without news.
    slow(&world, Duration::from_millis(150));
    let (took, stalled) = watched_pass(&world, &progress, limit).await;
    assert!(took > limit * 2, "the pass was not long: {took:?}");
    assert!(!stalled, "a pass that progresses starved the watchdog");

    // Every call now hangs for 1.5 s: the watchdog goes hungry.
    stays[0].shift(1);
    world.feed.set_calendar(&stays);
    slow(&world, Duration::from_millis(1_500));
    let (_, stalled) = watched_pass(&world, &progress, limit).await;
    assert!(stalled, "a stalled pass still fed the watchdog");
    assert!(progress.healthy(limit), "no pass runs any more");
    slow(&world, Duration::ZERO);
    assert!(world.sync(PassFlags::default()).await.converged);
    world.assert_exactly_one_booking_per_stay(&stays);
}
