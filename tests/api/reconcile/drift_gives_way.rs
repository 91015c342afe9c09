//! The drift round gives way to a waiting pass: a signed webhook cancellation that arrives
//! while a pass lists objects where nothing changed has its DELETE sent after at most one or
//! two more lists, and the drift checks skipped are made by a later pass.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration as Span, Utc};
use flexysync::daemon::app::App;
use flexysync::daemon::listener::{ConnectionLimits, serve_with_limits};
use flexysync::ledger::webhooks::{BookingStatus, WebhookBooking};
use flexysync::reconcile::feeds::code_secret;
use flexysync::reconcile::pass::PassOptions;
use flexysync::sources::webhook::signature::{SIGNATURE_HEADER, sign};
use flexysync::sources::webhook::{WebhookSources, WebhookState, routes};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::economy::listed_object;
use super::support::*;
use crate::helpers::PassParts;

const LAUNDRY: i64 = 124;
const LAUNDRY_SECRET: &str = "test-secret-for-the-hook";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_cancellation_is_sent_before_the_rest_of_a_drift_round() {
    let mut world = World::with_laundry_hook().await;
    world.feed.set_calendar(&[]);
    world.add_quiet_doors(301..341);
    let (start, end) = (first_arrival(), first_arrival() + Span::hours(3));
    let stay = WebhookBooking {
        booking_id: "b-1".into(),
        status: BookingStatus::Confirmed,
        resource: Some("room-a".into()),
        start: Some(start),
        end: Some(end),
        name: Some("Flat 1".into()),
        phones: vec![],
        code: Some("4821".into()),
        rfid: None,
    };
    world
        .deliver("evt-1", &stay, Utc::now() - Span::minutes(1))
        .await;
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");
    assert_eq!(world.sandbox.bookings_of(LAUNDRY).len(), 1);

    // The account slows to 10 calls a second; the daemon's first pass lists every object.
    let app = slow_app(&world).await;
    let hooks = WebhookSources::new(&app.config().sources);
    // The webhook endpoint, served as the daemon serves it; each trigger starts a pass (the
    // journal's length noted when it arrives).
    let (trigger, mut triggers) = tokio::sync::mpsc::unbounded_channel();
    let state = WebhookState::new(app.ledger.clone(), hooks, trigger);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hooks/laundry", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let limits = ConnectionLimits::default();
    tokio::spawn(serve_with_limits(
        listener,
        routes(state),
        limits,
        stop.clone(),
    ));
    let sandbox = world.sandbox.clone();
    let hook_app = app.clone();
    let hook_pass = tokio::spawn(async move {
        let source = triggers.recv().await.unwrap();
        let waiting_from = sandbox.journal().len();
        (waiting_from, hook_app.pass(Some(&source)).await)
    });

    world.sandbox.clear_journal();
    let full_app = app.clone();
    let full = tokio::spawn(async move { full_app.pass(None).await });
    // Five drift lists in, the guest cancels.
    until_lists(&world, 5).await;
    let booking = json!({
        "id": "b-1", "resource": "room-a", "start": start.to_rfc3339(),
        "end": end.to_rfc3339(), "status": "cancelled", "name": "Flat 1",
        "phones": [], "code": "4821", "rfid": null
    });
    let event = json!({"id": "evt-2", "type": "booking.cancelled",
        "occurred_at": Utc::now().to_rfc3339(), "booking": booking});
    let body = event.to_string().into_bytes();
    let signature = sign(LAUNDRY_SECRET.as_bytes(), Utc::now().timestamp(), &body);
    let response = reqwest::Client::new()
        .post(&hook_url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{:?}", response.status());

    let full = full.await.unwrap().expect("the full pass ran");
    let (waiting_from, cancelled) = hook_pass.await.unwrap();
    let cancelled = cancelled.expect("the webhook's pass ran");
    assert_eq!(cancelled.applied.deleted, 1, "{cancelled:#?}");
    // Between the trigger and the DELETE: the list in flight, perhaps one more, and the
    // webhook pass's own list of the laundry's object.
    let journal = world.sandbox.journal();
    let delete = (journal.iter())
        .position(|c| c.write && c.method == "DELETE")
        .expect("the cancellation's DELETE");
    let drift_lists = journal[waiting_from..delete]
        .iter()
        .filter(|c| listed_object(c).is_some_and(|o| o != LAUNDRY))
        .count();
    assert!(
        drift_lists <= 2,
        "{drift_lists} drift lists between the cancellation and its DELETE: {:#?}",
        &journal[waiting_from..=delete]
    );
    assert!(world.sandbox.bookings_of(LAUNDRY).is_empty());
    assert!(full.drift.gave_way(), "{:#?}", full.drift);
    assert!(!full.drift.owed.is_empty());

    // The next full pass makes the drift checks the first one gave way on.
    let later = app.pass(None).await.expect("the next pass ran");
    assert!(!later.drift.gave_way(), "{:#?}", later.drift);
    let owed: BTreeSet<i64> = full.drift.owed.clone();
    assert!(
        owed.is_subset(&later.listed),
        "{owed:?} vs {:?}",
        later.listed
    );
    let every: BTreeSet<i64> = (301..341).chain([OBJECT]).collect();
    let listed: BTreeSet<i64> = full.listed.union(&later.listed).copied().collect();
    assert!(
        every.is_subset(&listed),
        "never listed: {:?}",
        every.difference(&listed)
    );
    stop.cancel();
    app.ledger.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sync_waiting_on_the_daemon_makes_the_drift_round_give_way() {
    let mut world = World::start(Default::default(), "").await;
    world.feed.set_calendar(&[]);
    world.add_quiet_doors(301..331);
    let first = world.sync(PassFlags::default()).await;
    assert!(first.converged, "{first:#?}");
    let app = slow_app(&world).await;
    world.sandbox.clear_journal();
    let full_app = app.clone();
    let full = tokio::spawn(async move { full_app.pass(None).await });
    until_lists(&world, 3).await;
    // `sync --dry-run` through the control channel waits for the pass lock.
    let asked_at = world
        .sandbox
        .journal()
        .iter()
        .filter_map(listed_object)
        .count();
    let options = PassOptions {
        dry_run: true,
        ..PassOptions::default()
    };
    let sync = app
        .pass_with(options)
        .await
        .expect("the operator's pass ran");
    assert!(sync.dry_run);
    let full = full.await.unwrap().expect("the full pass ran");
    assert!(full.drift.gave_way(), "{:#?}", full.drift);
    let made = usize::try_from(full.drift.made).unwrap();
    assert!(
        made <= asked_at + 2,
        "{made} drift lists, asked after {asked_at}"
    );
    assert_eq!(full.drift.planned, 31, "{:#?}", full.drift);
    let said = format!("drift round gave way after {made} of 31 lists");
    assert_eq!(full.drift.summary(), Some(said));
    app.ledger.close().await;
}

/// The world's account at 10 calls a second, behind a daemon's `App` (whose first full pass
/// lists every object).
async fn slow_app(world: &World) -> Arc<App> {
    let config = std::fs::read_to_string(world.config_path()).unwrap();
    let slow = config.replace(
        "requests_per_second = 400.0\nburst = 100",
        "requests_per_second = 10.0\nburst = 1",
    );
    assert_ne!(slow, config);
    std::fs::write(world.config_path(), slow).unwrap();
    let parts = PassParts::load(world.config_path()).await;
    let secret = code_secret(&parts.config, &parts.ledger).await.unwrap();
    Arc::new(App::new(
        parts.config,
        parts.ledger,
        parts.client,
        parts.http,
        secret,
        CancellationToken::new(),
    ))
}

/// Waits until the sandbox has answered `count` bookings lists.
async fn until_lists(world: &World, count: usize) {
    let lists = || {
        world
            .sandbox
            .journal()
            .iter()
            .filter_map(listed_object)
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while lists() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "the drift round never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
