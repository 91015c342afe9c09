//! A FlexyKey that refuses overlapping bookings (409): a changed stay that has not started is
//! replaced break-before-make; one already in progress keeps its booking (access is never cut).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use flexysync::config::FlexyKeyConfig;
use flexysync::flexykey::Client;
use flexysync::ledger::{BookingState, Ledger, OwnedBooking, StoredReservation};
use flexysync::reconcile::apply::Applier;
use flexysync::reconcile::marker::booking_name;
use flexysync::reconcile::{Action, PlanInput, Policy, ReadKind, SourceState, plan};
use flexysync::sources::{Credentials, Reservation};
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[derive(Default)]
struct Strict {
    bookings: Vec<Value>,
    calls: Vec<String>,
    next_id: i64,
    /// Answer every create with 500 without creating anything.
    fail_posts: bool,
}

type Shared = Arc<Mutex<Strict>>;

fn time(value: &Value, field: &str) -> DateTime<Utc> {
    value[field].as_str().unwrap().parse().unwrap()
}

async fn create(State(state): State<Shared>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let mut strict = state.lock().unwrap();
    strict.calls.push("POST".into());
    if strict.fail_posts {
        let fault = json!({"status": "ERROR", "message": "internal error"});
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(fault));
    }
    let overlaps = strict.bookings.iter().any(|b| {
        b["bookingObjectId"] == body["bookingObjectId"]
            && time(b, "startDate") < time(&body, "endDate")
            && time(b, "endDate") > time(&body, "startDate")
    });
    if overlaps {
        let refusal = json!({"status": "ERROR", "message": "overlapping booking"});
        return (StatusCode::CONFLICT, Json(refusal));
    }
    strict.next_id += 1;
    let mut stored = body.clone();
    stored["bookingId"] = json!(strict.next_id);
    strict.bookings.push(stored.clone());
    (StatusCode::OK, Json(stored))
}

async fn remove(State(state): State<Shared>, Path(id): Path<i64>) -> StatusCode {
    let mut strict = state.lock().unwrap();
    strict.calls.push("DELETE".into());
    let before = strict.bookings.len();
    strict.bookings.retain(|b| b["bookingId"] != json!(id));
    if strict.bookings.len() < before {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn list(
    State(state): State<Shared>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Json<Value> {
    let strict = state.lock().unwrap();
    let object: i64 = query["bookingObjectId"].parse().unwrap();
    let listed: Vec<Value> = strict
        .bookings
        .iter()
        .filter(|b| b["bookingObjectId"] == json!(object))
        .cloned()
        .collect();
    Json(Value::Array(listed))
}

async fn strict_flexykey(existing: Value) -> (Client, Shared) {
    let state: Shared = Arc::default();
    {
        let mut strict = state.lock().unwrap();
        strict.next_id = existing["bookingId"].as_i64().unwrap();
        strict.bookings.push(existing);
    }
    let app = Router::new()
        .route("/v1/Bookings", get(list).post(create))
        .route("/v1/Bookings/{id}", delete(remove))
        .with_state(state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/v1/").parse().unwrap();
    let mut config = FlexyKeyConfig::new(url, "api-user", "pw");
    config.requests_per_second = 100.0;
    (Client::new(&config).unwrap(), state)
}

fn seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap()
}

/// The stay both tests change: a guest with a phone and a code on object 123.
fn guest_stay(start: DateTime<Utc>) -> Reservation {
    Reservation {
        source: "cabin".into(),
        key: "cabin/uid-1/".into(),
        booking_object_id: 123,
        start,
        end: start + Duration::hours(48),
        credentials: Credentials {
            phones: vec!["+46701234567".into()],
            code: Some("1234".into()),
            rfid: None,
        },
        label: "Guest".into(),
    }
}

/// The booking flexysync owns for `stay` (booking 500), and the same as FlexyKey lists it.
fn owned_booking_of(stay: &Reservation, now: DateTime<Utc>) -> (OwnedBooking, Value) {
    let owned = OwnedBooking {
        booking_id: 500,
        reservation_key: stay.key.clone(),
        source: "cabin".into(),
        booking_object_id: 123,
        start: stay.start.max(now),
        end: stay.end,
        credentials: stay.credentials.clone(),
        name: booking_name(&stay.label, &stay.key),
        fingerprint: stay.fingerprint(),
        state: BookingState::Active,
    };
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let listed = json!({
        "bookingId": 500, "bookingObjectId": 123, "startDate": fmt(owned.start),
        "endDate": fmt(owned.end), "phone1": "+46701234567", "code": "1234", "name": owned.name,
    });
    (owned, listed)
}

/// A ledger owning `old`, and the plan that replaces it with `after`.
async fn ledger_and_plan(
    dir: &std::path::Path,
    old: &OwnedBooking,
    after: Reservation,
    now: DateTime<Utc>,
) -> (Ledger, flexysync::reconcile::Plan) {
    let ledger = Ledger::open(&dir.join("ledger.db")).await.unwrap();
    ledger.adopt_booking(old, now).await.unwrap();
    let sources = HashMap::from([("cabin".to_owned(), SourceState::new(ReadKind::Fresh))]);
    let planned = plan(PlanInput {
        reservations: &[StoredReservation::new(after, now)],
        owned: std::slice::from_ref(old),
        sources: &sources,
        policy: &Policy::default(),
        now,
    });
    assert!(matches!(
        planned.operations[0].action,
        Action::Replace { .. }
    ));
    (ledger, planned)
}

/// Replaces a booking of `[old_start, +48h)` with one two hours longer, against a strict API.
async fn replace(old_start: DateTime<Utc>) -> (Vec<String>, Vec<OwnedBooking>, Vec<String>) {
    let now = seconds(Utc::now());
    let before = guest_stay(seconds(old_start));
    let mut after = before.clone();
    after.end += Duration::hours(2);
    let (old, listed) = owned_booking_of(&before, now);
    let (client, state) = strict_flexykey(listed).await;
    let dir = tempfile::tempdir().unwrap();
    let (ledger, planned) = ledger_and_plan(dir.path(), &old, after, now).await;
    let report = Applier::new(&client, &ledger, None)
        .apply(&planned)
        .await
        .unwrap();
    let calls = state.lock().unwrap().calls.clone();
    (
        calls,
        ledger.owned_bookings().await.unwrap(),
        report.failures.into_iter().map(|f| f.text).collect(),
    )
}

#[tokio::test]
async fn a_refused_overlap_deletes_first_only_when_the_old_booking_has_not_started() {
    let (calls, owned, failures) = replace(Utc::now() + Duration::days(2)).await;
    assert_eq!(calls, vec!["POST", "DELETE", "POST"]);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(owned.len(), 1);
    assert_ne!(owned[0].booking_id, 500);

    let (calls, owned, failures) = replace(Utc::now() - Duration::hours(3)).await;
    assert_eq!(
        calls,
        vec!["POST"],
        "a running stay's booking is never deleted first"
    );
    assert_eq!(
        owned.iter().map(|b| b.booking_id).collect::<Vec<_>>(),
        vec![500]
    );
    assert!(failures[0].contains("already started"), "{failures:?}");
}

/// Only the label changed and the create's answer is lost without a booking made: the old
/// booking matches the new one's window, credentials and marker, yet it must not be taken for
/// the new one (and then deleted, leaving the guest without access).
#[tokio::test]
async fn a_lost_create_of_a_relabelled_stay_never_adopts_the_old_booking() {
    let now = seconds(Utc::now());
    let before = guest_stay(now + Duration::days(2));
    let mut after = before.clone();
    after.label = "Guest (renamed)".into();
    let (old, listed) = owned_booking_of(&before, now);
    let (client, state) = strict_flexykey(listed).await;
    state.lock().unwrap().fail_posts = true;
    let dir = tempfile::tempdir().unwrap();
    let (ledger, planned) = ledger_and_plan(dir.path(), &old, after, now).await;
    let report = Applier::new(&client, &ledger, None)
        .apply(&planned)
        .await
        .unwrap();
    assert_eq!(
        state.lock().unwrap().calls,
        vec!["POST"],
        "one create, no retry, no delete"
    );
    assert!(!report.failures.is_empty());
    let owned = ledger.owned_bookings().await.unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].booking_id, 500);
    assert_eq!(
        owned[0].state,
        BookingState::Active,
        "the guest keeps the old booking"
    );
    assert!(ledger.open_journal().await.unwrap().is_empty());
}
