//! Single calls over real HTTP against the fake: retries, error kinds, secrets.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::http::{Method, header};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::fake::{self, Fake, PASSWORD, USER, answer};
use crate::config::FlexyKeyConfig;
use crate::flexykey::{ApiError, Client, NewBooking, OutputAction, UnitRef};

const BOOKING_JSON: &str = r#"{"bookingId": 42, "bookingObjectId": 7,
    "startDate": "2025-11-21T09:00:00Z", "endDate": "2025-11-21T10:00:00Z", "phone1": "+46701234567"}"#;

fn new_booking() -> NewBooking {
    NewBooking {
        booking_object_id: 7,
        start: Utc.with_ymd_and_hms(2025, 11, 21, 9, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2025, 11, 21, 10, 0, 0).unwrap(),
        phones: vec!["+46701234567".into()],
        code: Some("4711".into()),
        rfid: None,
        name: Some("Anna".into()),
    }
}

#[tokio::test]
async fn a_read_is_retried_after_server_faults_and_then_succeeds() {
    let fake = Fake::start().await;
    fake.script([
        answer(500, ""),
        answer(503, "busy"),
        answer(200, BOOKING_JSON),
    ]);
    let client = fake.client();
    assert_eq!(client.last_call_ok(), None);
    let booking = client.booking(42).await.unwrap();
    assert_eq!(booking.booking_id, 42);
    assert_eq!(booking.phones, vec!["+46701234567".to_owned()]);
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|s| s.path == "/v1/Bookings/42" && s.method == Method::GET)
    );
    assert_eq!(client.last_call_ok(), Some(true));
}

#[tokio::test]
async fn a_read_that_keeps_failing_gives_transient_after_the_last_attempt() {
    let fake = Fake::start().await;
    fake.script((0..10).map(|_| answer(502, r#"{"status":"ERROR","message":"upstream"}"#)));
    let client = fake.client();
    let error = client.units().await.unwrap_err();
    assert!(matches!(&error, ApiError::Transient { reason } if reason.contains("upstream")));
    assert_eq!(fake.seen().len(), 4, "max_attempts is 4");
    assert_eq!(client.last_call_ok(), Some(false));
}

#[tokio::test]
async fn a_create_answered_500_is_outcome_unknown_and_sent_once() {
    let fake = Fake::start().await;
    fake.script([answer(500, ""), answer(200, BOOKING_JSON)]);
    let error = fake
        .client()
        .create_booking(&new_booking())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::OutcomeUnknown { .. }),
        "{error:?}"
    );
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn a_create_whose_connection_drops_is_outcome_unknown_and_sent_once() {
    let (base_url, count) = fake::start_dropping_server().await;
    let client = fake::client_for(base_url, 1000.0, 1000);
    let error = client.create_booking(&new_booking()).await.unwrap_err();
    assert!(
        matches!(error, ApiError::OutcomeUnknown { .. }),
        "{error:?}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let output = "F1".parse().unwrap();
    let error = client
        .control(&UnitRef::Id(3023), &output, OutputAction::Pulse(5))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::OutcomeUnknown { .. }),
        "{error:?}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
    // A read on the same server is retried until the attempts run out.
    let error = client.unit(3023).await.unwrap_err();
    assert!(matches!(error, ApiError::Transient { .. }), "{error:?}");
    assert_eq!(count.load(Ordering::SeqCst), 6);
    assert_eq!(client.last_call_ok(), Some(false));
}

#[tokio::test]
async fn a_create_that_times_out_is_outcome_unknown_and_sent_once() {
    let fake = Fake::start().await;
    let mut slow = answer(200, BOOKING_JSON);
    slow.delay = Duration::from_millis(1_500);
    fake.script([slow, answer(200, BOOKING_JSON)]);
    let mut config = FlexyKeyConfig::new(fake.base_url.clone(), USER, PASSWORD);
    config.timeout_seconds = 1;
    let client = Client::new(&config)
        .unwrap()
        .with_retry_policy(fake::fast_retries());
    let error = client.create_booking(&new_booking()).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::OutcomeUnknown { reason } if reason.contains("timed out")),
        "{error:?}"
    );
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn a_create_that_cannot_connect_is_retried_then_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/v1/")).unwrap();
    let error = fake::client_for(url, 1000.0, 1000)
        .create_booking(&new_booking())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ApiError::Transient { reason } if reason.contains("connect")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after_even_on_a_create_by_every_clone() {
    let fake = Fake::start().await;
    let mut limited = answer(429, "");
    limited.headers.push(("retry-after", "1".to_owned()));
    fake.script([
        limited,
        answer(200, BOOKING_JSON),
        answer(200, BOOKING_JSON),
    ]);
    let client = fake.client();
    let started = Instant::now();
    let other = client.clone();
    let later_read = async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        other.booking(42).await
    };
    let booking = new_booking();
    let (created, read) = tokio::join!(client.create_booking(&booking), later_read);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(created.unwrap().booking_id, 42);
    assert_eq!(read.unwrap().booking_id, 42);
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    // The clone's read, started during the pause, was held back with the retry.
    for request in &seen[1..] {
        let gap = request.at.duration_since(seen[0].at);
        assert!(gap >= Duration::from_secs(1), "sent {gap:?} after the 429");
    }
}

#[tokio::test]
async fn a_429_that_outlasts_the_attempts_is_rate_limited() {
    let fake = Fake::start().await;
    fake.script((0..4).map(|_| answer(429, "")));
    let error = fake.client().booking_objects().await.unwrap_err();
    assert!(
        matches!(error, ApiError::RateLimited { retry_after: None }),
        "{error:?}"
    );
    assert_eq!(fake.seen().len(), 4);
}

fn error_body(message: &str) -> String {
    json!({"status": "ERROR", "message": message}).to_string()
}

#[tokio::test]
async fn refusals_map_to_their_kinds_with_the_servers_message_and_are_not_retried() {
    let fake = Fake::start().await;
    let client = fake.client();
    fake.script([answer(403, &error_body("Unit belongs to another company"))]);
    let error = client.unit(9).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Access { message } if message == "Unit belongs to another company")
    );
    fake.script([answer(404, "")]);
    let error = client.delete_booking(77).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::NotFound { what } if what == "booking 77"),
        "{error:?}"
    );
    fake.script([answer(400, &error_body("endDate before startDate"))]);
    let error = client.create_booking(&new_booking()).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Invalid { message } if message == "endDate before startDate")
    );
    fake.script([answer(400, "plain text, not JSON")]);
    let error = client.booking(1).await.unwrap_err();
    assert!(matches!(&error, ApiError::Invalid { message } if message == "plain text, not JSON"));
    fake.script([answer(409, &error_body("overlapping booking"))]);
    let error = client.create_booking(&new_booking()).await.unwrap_err();
    assert!(matches!(&error, ApiError::Conflict { message } if message == "overlapping booking"));
    assert!(error.is_refusal());
    fake.script([answer(200, "not json at all")]);
    let error = client.booking(1).await.unwrap_err();
    assert!(matches!(error, ApiError::Protocol { .. }), "{error:?}");
    assert_eq!(fake.seen().len(), 6, "no refusal was retried");
    assert_eq!(client.last_call_ok(), Some(true));
}

#[tokio::test]
async fn wrong_credentials_are_auth_and_the_password_shows_nowhere() {
    let fake = Fake::start().await;
    let mut config = FlexyKeyConfig::new(fake.base_url.clone(), USER, "wrong-password-xyz");
    config.timeout_seconds = 5;
    let client = Client::new(&config).unwrap();
    let error = client.units().await.unwrap_err();
    assert!(matches!(error, ApiError::Auth), "{error:?}");
    let shown = format!("{client:?} {error} {error:?}");
    assert!(!shown.contains("wrong-password-xyz"), "{shown}");
    assert!(shown.contains("[redacted]") && shown.contains(USER));
    assert_eq!(fake.seen().len(), 1);
    let good = fake.client();
    fake.script([answer(500, &error_body("internal"))]);
    fake.script((0..4).map(|_| answer(503, "")));
    let errors = [
        good.create_booking(&new_booking()).await.unwrap_err(),
        good.units().await.unwrap_err(),
    ];
    for error in errors {
        let shown = format!("{good:?} {error} {error:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
    }
}

#[tokio::test]
async fn every_request_carries_basic_auth_user_agent_and_the_documented_spelling() {
    let fake = Fake::start().await;
    let client = fake.client();
    let control_answer =
        r#"{"status":"OK","outputNumber":"X33","outputAction":"60","messageId":"m1"}"#;
    fake.script([answer(200, control_answer)]);
    let serial = UnitRef::Serial("040530585131396".into());
    let output = "x33".parse().unwrap();
    let result = client
        .control(&serial, &output, OutputAction::Pulse(60))
        .await;
    assert_eq!(result.unwrap().message_id.as_deref(), Some("m1"));
    let status = r#"{"unitId": 3023, "statusTimestampIso": "2025-11-21T08:14:50Z"}"#;
    fake.script([answer(200, status)]);
    assert_eq!(client.io_status(&serial).await.unwrap().unit_id, 3023);
    fake.script([answer(200, "[]")]);
    let from = Utc.with_ymd_and_hms(2025, 11, 21, 10, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2025, 11, 22, 10, 0, 0).unwrap();
    assert!(client.bookings(7, from, to).await.unwrap().is_empty());
    fake.script([answer(200, BOOKING_JSON)]);
    client.create_booking(&new_booking()).await.unwrap();
    fake.script([answer(200, "")]);
    client.delete_booking(42).await.unwrap();

    let seen = fake.seen();
    assert_eq!(seen.len(), 5);
    for request in &seen {
        let agent = request.headers.get(header::USER_AGENT).unwrap();
        assert_eq!(
            agent.to_str().unwrap(),
            concat!("flexysync/", env!("CARGO_PKG_VERSION"))
        );
    }
    assert_eq!(
        (seen[0].method.clone(), seen[0].path.as_str()),
        (Method::POST, "/v1/Control")
    );
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    let expected =
        json!({"serialNumber": "040530585131396", "outputNumber": "X33", "outputAction": "60"});
    assert_eq!(body, expected);
    assert_eq!(
        seen[1].query.as_deref(),
        Some("serialNumber=040530585131396")
    );
    assert_eq!(seen[2].path, "/v1/Bookings");
    let query = seen[2].query.as_deref().unwrap();
    assert_eq!(
        query,
        "bookingObjectId=7&dateFrom=2025-11-21T10%3A00%3A00Z&dateTo=2025-11-22T10%3A00%3A00Z"
    );
    let created: Value = serde_json::from_slice(&seen[3].body).unwrap();
    assert_eq!(created["phone1"], "+46701234567");
    assert_eq!(created["code"], "4711");
    let content_type = seen[3].headers.get(header::CONTENT_TYPE).unwrap();
    assert_eq!(content_type, "application/json");
    assert_eq!(
        (seen[4].method.clone(), seen[4].path.as_str()),
        (Method::DELETE, "/v1/Bookings/42")
    );
}

#[tokio::test]
async fn setup_refuses_plain_http_off_loopback_and_credentials_in_the_url() {
    let remote = url::Url::parse("http://api.flexykey.se/v1/").unwrap();
    let error = Client::new(&FlexyKeyConfig::new(remote, USER, PASSWORD)).unwrap_err();
    assert!(matches!(&error, ApiError::Setup { reason } if reason.contains("https")));
    let with_user = url::Url::parse("https://someone:pw@api.flexykey.se/v1/").unwrap();
    let error = Client::new(&FlexyKeyConfig::new(with_user, USER, PASSWORD)).unwrap_err();
    assert!(matches!(error, ApiError::Setup { .. }));
    let mut zero_rate =
        FlexyKeyConfig::new(url::Url::parse("https://x.se/v1").unwrap(), USER, PASSWORD);
    zero_rate.requests_per_second = 0.0;
    assert!(matches!(
        Client::new(&zero_rate),
        Err(ApiError::Setup { .. })
    ));
}

#[tokio::test]
async fn too_many_phones_are_refused_before_anything_is_sent() {
    let fake = Fake::start().await;
    let mut booking = new_booking();
    booking.phones = vec!["+461".into(), "+462".into(), "+463".into(), "+464".into()];
    let error = fake.client().create_booking(&booking).await.unwrap_err();
    assert!(matches!(error, ApiError::Invalid { .. }));
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn a_base_url_without_its_trailing_slash_still_reaches_v1() {
    let fake = Fake::start().await;
    let without_slash = url::Url::parse(fake.base_url.as_str().trim_end_matches('/')).unwrap();
    fake.script([answer(200, "[]")]);
    let units = fake::client_for(without_slash, 1000.0, 1000).units().await;
    assert!(units.unwrap().is_empty());
    assert_eq!(fake.seen()[0].path, "/v1/units");
}

#[test]
fn every_attempt_is_counted_by_endpoint_template_and_status() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let fake = Fake::start().await;
            fake.script([answer(503, ""), answer(200, BOOKING_JSON)]);
            fake.client().booking(42).await.unwrap();
        });
    });
    let text = handle.render();
    for status in ["503", "200"] {
        let line = format!(
            "flexysync_flexykey_calls_total{{endpoint=\"bookings.get\",status=\"{status}\"}} 1"
        );
        assert!(text.contains(&line), "{line} missing from:\n{text}");
    }
    // Two attempts, two samples of the limiter wait; no `_total` on what is not a counter.
    assert!(
        text.contains("flexysync_limiter_wait_seconds_count 2"),
        "{text}"
    );
    assert!(
        !text.contains("flexysync_limiter_wait_seconds_total"),
        "{text}"
    );
    let ids_in_labels = text.contains("=\"42") || text.contains("Bookings/");
    assert!(!ids_in_labels, "an id or path became a label:\n{text}");
}
