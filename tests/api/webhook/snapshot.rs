//! `snapshot_url`: a signed GET whose answer replaces the stored state; a failed one changes
//! nothing.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::get;
use chrono::Utc;
use flexysync::ledger::webhooks::BookingStatus;
use flexysync::sources::webhook::signature::{SIGNATURE_HEADER, verify};
use flexysync::sources::webhook::{fetch_snapshot, sync_snapshot};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Hook, SECRET, booking, config_toml, event, load_sources};

/// What the fake booking platform answers, and how many signed requests it saw.
#[derive(Clone)]
struct Platform {
    answer: Arc<Mutex<(u16, String)>>,
    signed_requests: Arc<Mutex<usize>>,
}

async fn serve_snapshot(
    State(platform): State<Platform>,
    headers: HeaderMap,
) -> (AxumStatus, String) {
    let signature = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes());
    if verify(SECRET.as_bytes(), signature, b"", Utc::now().timestamp()).is_err() {
        return (AxumStatus::UNAUTHORIZED, "bad signature".into());
    }
    *platform.signed_requests.lock().unwrap() += 1;
    let (status, body) = platform.answer.lock().unwrap().clone();
    (AxumStatus::from_u16(status).unwrap(), body)
}

async fn platform() -> (Platform, String) {
    let platform = Platform {
        answer: Arc::new(Mutex::new((200, "[]".into()))),
        signed_requests: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/api/bookings", get(serve_snapshot))
        .with_state(platform.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/api/bookings?token=abc",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (platform, url)
}

async fn stored_statuses(hook: &Hook) -> Vec<(String, BookingStatus)> {
    hook.ledger
        .webhook_bookings("laundry")
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.booking.booking_id, s.booking.status))
        .collect()
}

async fn seed(hook: &Hook) {
    for (id, b) in [("evt_1", "b-1"), ("evt_2", "b-2")] {
        let e = event(
            id,
            "booking.upserted",
            "2026-11-27T10:00:00Z",
            booking(b, "confirmed", b),
        );
        assert_eq!(hook.post(&e).await.0, StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn a_snapshot_replaces_the_stored_state() {
    let (platform, url) = platform().await;
    let hook = Hook::start().await;
    seed(&hook).await;
    let source = load_sources(&config_toml(Some(&url))).remove(0);
    let snapshot: Value = json!([
        booking("b-1", "confirmed", "Renamed"),
        booking("b-3", "confirmed", "New"),
        // A resource this source does not map is not ours: left out.
        {"id": "b-9", "resource": "sauna", "status": "confirmed",
         "start": "2026-12-01T08:00:00", "end": "2026-12-01T09:00:00"},
    ]);
    *platform.answer.lock().unwrap() = (200, snapshot.to_string());
    let changes = sync_snapshot(&hook.http, &hook.ledger, &source, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(*platform.signed_requests.lock().unwrap(), 1);
    assert_eq!(changes.updated, vec!["b-1", "b-3"]);
    assert_eq!(changes.cancelled, vec!["b-2"]);
    let reservations = hook.reservations().await;
    let seen: Vec<_> = reservations
        .iter()
        .map(|r| (r.key.as_str(), r.label.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![("laundry/b-1", "Renamed"), ("laundry/b-3", "New")]
    );
    assert_eq!(
        stored_statuses(&hook).await,
        vec![
            ("b-1".into(), BookingStatus::Confirmed),
            ("b-2".into(), BookingStatus::Cancelled),
            ("b-3".into(), BookingStatus::Confirmed),
        ]
    );
    // An event that occurred after the snapshot was taken still applies.
    let later = (Utc::now() + chrono::Duration::seconds(5)).to_rfc3339();
    let e = event(
        "evt_3",
        "booking.upserted",
        &later,
        booking("b-2", "confirmed", "Back"),
    );
    assert_eq!(hook.post(&e).await.1["result"], "applied");
    assert_eq!(hook.reservations().await.len(), 3);
}

#[tokio::test]
async fn an_emptied_snapshot_is_held_until_confirmed() {
    let (platform, url) = platform().await;
    let hook = Hook::start().await;
    seed(&hook).await;
    let before = hook.ledger.webhook_bookings("laundry").await.unwrap();
    let source = load_sources(&config_toml(Some(&url))).remove(0);
    // The sender's outage answers an empty list: both upcoming bookings would go at once.
    *platform.answer.lock().unwrap() = (200, "[]".to_owned());
    let err = sync_snapshot(&hook.http, &hook.ledger, &source, Utc::now(), Some(0.5))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("would cancel 2 of 2") && err.contains("--confirm laundry"),
        "{err}"
    );
    assert_eq!(
        hook.ledger.webhook_bookings("laundry").await.unwrap(),
        before
    );
    assert_eq!(hook.reservations().await.len(), 2);
    // One of two going is within the share and goes through.
    *platform.answer.lock().unwrap() =
        (200, json!([booking("b-1", "confirmed", "b-1")]).to_string());
    let changes = sync_snapshot(&hook.http, &hook.ledger, &source, Utc::now(), Some(0.5))
        .await
        .unwrap();
    assert_eq!(changes.cancelled, vec!["b-2"]);
    // Confirmed by the operator (no guard), the empty snapshot is the truth.
    *platform.answer.lock().unwrap() = (200, "[]".to_owned());
    sync_snapshot(&hook.http, &hook.ledger, &source, Utc::now(), None)
        .await
        .unwrap();
    assert!(hook.reservations().await.is_empty());
}

#[tokio::test]
async fn a_failed_snapshot_changes_nothing() {
    let (platform, url) = platform().await;
    let hook = Hook::start().await;
    seed(&hook).await;
    let before = hook.ledger.webhook_bookings("laundry").await.unwrap();
    let source = load_sources(&config_toml(Some(&url))).remove(0);
    let failures = [
        (500, "[]".to_owned(), "HTTP 500"),
        (200, "{\"not\": \"a list\"}".to_owned(), "body"),
        (200, "[{\"id\": \"b-1\"".to_owned(), "not valid JSON"),
        (
            200,
            json!([booking("b-1", "confirmed", "x"), {"id": "b-2", "status": "confirmed"}])
                .to_string(),
            "[1].resource",
        ),
        (
            200,
            json!([
                booking("b-1", "confirmed", "x"),
                booking("b-1", "confirmed", "y")
            ])
            .to_string(),
            "[1].id",
        ),
    ];
    for (status, body, expected) in failures {
        *platform.answer.lock().unwrap() = (status, body);
        let err = sync_snapshot(&hook.http, &hook.ledger, &source, Utc::now(), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains("token=abc"), "{err}");
        assert_eq!(
            hook.ledger.webhook_bookings("laundry").await.unwrap(),
            before
        );
    }
    // Too large for the source's `max_bytes`.
    let mut small = source.clone();
    small.max_bytes = 64;
    *platform.answer.lock().unwrap() = (200, json!([booking("b-1", "confirmed", "x")]).to_string());
    let err = fetch_snapshot(&hook.http, &small, Utc::now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than 64 bytes"), "{err}");
    // Unreachable.
    let mut gone = source.clone();
    gone.snapshot_url = Some(flexysync::config::SecretUrl(
        "http://127.0.0.1:9/api/bookings".parse().unwrap(),
    ));
    assert!(
        sync_snapshot(&hook.http, &hook.ledger, &gone, Utc::now(), None)
            .await
            .is_err()
    );
    assert_eq!(
        hook.ledger.webhook_bookings("laundry").await.unwrap(),
        before
    );
    assert_eq!(hook.reservations().await.len(), 2);
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let hook = Hook::start().await;
    let mut source = hook.source();
    source.snapshot_url = Some(flexysync::config::SecretUrl(
        "http://laundry.example/api/bookings".parse().unwrap(),
    ));
    let err = fetch_snapshot(&hook.http, &source, Utc::now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("https is required"), "{err}");
}

/// No zone is ever needed by a webhook source.
struct NoZones;

impl flexysync::sources::ZoneLookup for NoZones {
    async fn object_zone(&self, object: i64) -> Result<chrono_tz::Tz, String> {
        Err(format!("no zone asked for object {object}"))
    }
}

#[tokio::test]
async fn signed_events_apply_whatever_the_snapshot_and_a_held_snapshot_releases_in_time() {
    use flexysync::sources::guard::GuardPolicy;
    use flexysync::sources::{ReadOutcome, ReadRequest, Reader, SnapshotRead, SourceReader};

    let (platform, url) = platform().await;
    let hook = Hook::start().await;
    seed(&hook).await;
    // The guest of b-2 cancelled: a signed event says so.
    let cancelled = event(
        "evt_3",
        "booking.cancelled",
        "2026-11-27T11:00:00Z",
        booking("b-2", "cancelled", "b-2"),
    );
    assert_eq!(hook.post(&cancelled).await.1["result"], "applied");
    let source = load_sources(&config_toml(Some(&url))).remove(0);
    let reader = Reader::new(
        hook.http.clone(),
        hook.ledger.clone(),
        Utc::now(),
        180,
        b"secret".to_vec(),
    );
    let request = ReadRequest {
        source: &source,
        memo: None,
        hold: None,
        guard: GuardPolicy::default(),
        confirmed: false,
        dry_run: false,
    };
    let keys = |outcome: &ReadOutcome| match outcome {
        ReadOutcome::Pushed { reservations, .. } => reservations
            .iter()
            .map(|r| r.key.clone())
            .collect::<Vec<_>>(),
        other => panic!("a pushed read, not {other:?}"),
    };

    // The snapshot cannot be read: an unknown snapshot, not a failed source.
    *platform.answer.lock().unwrap() = (503, "down".to_owned());
    let (outcome, _) = reader.read(request, &NoZones).await;
    assert_eq!(
        keys(&outcome),
        vec!["laundry/b-1"],
        "the cancellation applies"
    );
    let ReadOutcome::Pushed {
        snapshot: SnapshotRead::Unknown(failure),
        ..
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(failure.kind, flexysync::model::FailureKind::Snapshot);

    // A snapshot that would cancel everything at once is held, not applied.
    *platform.answer.lock().unwrap() = (200, "[]".to_owned());
    let (outcome, _) = reader.read(request, &NoZones).await;
    assert_eq!(keys(&outcome), vec!["laundry/b-1"]);
    let ReadOutcome::Pushed {
        snapshot: SnapshotRead::Held(hold),
        ..
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    // The same snapshot an hour into the hold: still held.
    let mut hold = hold.clone();
    hold.since = Utc::now() - chrono::Duration::hours(1);
    let held = ReadRequest {
        hold: Some(&hold),
        ..request
    };
    let (outcome, _) = reader.read(held, &NoZones).await;
    assert!(matches!(
        outcome,
        ReadOutcome::Pushed {
            snapshot: SnapshotRead::Held(_),
            ..
        }
    ));
    // The same snapshot for shrink_confirm_hours: released and applied.
    hold.since = Utc::now() - chrono::Duration::hours(25);
    let due = ReadRequest {
        hold: Some(&hold),
        ..request
    };
    let (outcome, _) = reader.read(due, &NoZones).await;
    assert!(keys(&outcome).is_empty(), "{outcome:?}");
    assert!(
        matches!(
            &outcome,
            ReadOutcome::Pushed {
                snapshot: SnapshotRead::Applied { released: Some(_) },
                ..
            }
        ),
        "{outcome:?}"
    );
}
