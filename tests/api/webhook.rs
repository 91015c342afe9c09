//! The webhook endpoint served over loopback with a real SQLite ledger: every answer the
//! endpoint gives, what it stores, and when it triggers a pass.

mod hostile;
mod snapshot;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use flexysync::config::{Config, SourceConfig};
use flexysync::daemon::listener::{ConnectionLimits, serve_with_limits};
use flexysync::ledger::Ledger;
use flexysync::ledger::webhooks::DeliveryResult;
use flexysync::sources::Reservation;
use flexysync::sources::webhook::signature::{SIGNATURE_HEADER, sign};
use flexysync::sources::webhook::{WebhookSources, WebhookState, routes, webhook_reservations};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::mpsc::error::TryRecvError;

pub const SECRET: &str = "laundry-s3cret-value";

pub fn config_toml(snapshot_url: Option<&str>) -> String {
    let snapshot = snapshot_url
        .map(|url| format!("snapshot_url = \"{url}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
[flexykey]
username = "api"
password = "pw"

[[sources]]
name = "laundry"
kind = "webhook"
secret = "{SECRET}"
objects = {{ "room-a" = 123, "room-b" = 124 }}
timezone = "Europe/Stockholm"
{snapshot}
[[sources]]
name = "cabin"
kind = "ical"
path = "/nonexistent/cabin.ics"
booking_object_id = 7
"#
    )
}

pub fn load_sources(toml: &str) -> Vec<SourceConfig> {
    Config::from_toml_with_env(toml, Path::new("test.toml"), Vec::new())
        .unwrap()
        .sources
}

/// A served endpoint with its ledger and the receiving end of its trigger.
pub struct Hook {
    pub base: String,
    pub http: reqwest::Client,
    pub ledger: Ledger,
    pub triggers: UnboundedReceiver<String>,
    pub sources: WebhookSources,
    pub dir: tempfile::TempDir,
}

impl Hook {
    pub async fn start() -> Hook {
        Hook::start_with(&config_toml(None)).await
    }

    pub async fn start_with(toml: &str) -> Hook {
        Hook::start_limited(toml, ConnectionLimits::default()).await
    }

    /// Served the way the daemon serves it, with the given connection limits.
    pub async fn start_limited(toml: &str, limits: ConnectionLimits) -> Hook {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
        let sources = WebhookSources::new(&load_sources(toml));
        let (trigger, triggers) = tokio::sync::mpsc::unbounded_channel();
        let state = WebhookState::new(ledger.clone(), sources.clone(), trigger);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(serve_with_limits(listener, routes(state), limits, stop));
        Hook {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            ledger,
            triggers,
            sources,
            dir,
        }
    }

    pub fn source(&self) -> SourceConfig {
        load_sources(&config_toml(None)).remove(0)
    }

    /// Posts `body` with the given signature header (none when `None`).
    pub async fn post_raw(
        &self,
        source: &str,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/hooks/{source}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Posts `event` signed now with the right secret.
    pub async fn post(&self, event: &Value) -> (StatusCode, Value) {
        let body = event.to_string().into_bytes();
        let signature = sign(SECRET.as_bytes(), Utc::now().timestamp(), &body);
        self.post_raw("laundry", body, Some(signature)).await
    }

    pub async fn reservations(&self) -> Vec<Reservation> {
        webhook_reservations(&self.ledger, &self.source(), Utc::now())
            .await
            .unwrap()
    }

    pub async fn results(&self) -> Vec<(String, DeliveryResult)> {
        self.ledger
            .webhook_events("laundry")
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.event_id, e.result))
            .collect()
    }

    /// How many triggers arrived since the last call.
    pub fn drain_triggers(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        loop {
            match self.triggers.try_recv() {
                Ok(name) => names.push(name),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return names,
            }
        }
    }
}

pub fn tomorrow(hour: i64) -> DateTime<Utc> {
    let midnight = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    midnight + Duration::days(1) + Duration::hours(hour)
}

pub fn booking(id: &str, status: &str, name: &str) -> Value {
    json!({
        "id": id, "resource": "room-a",
        "start": tomorrow(8).to_rfc3339(), "end": tomorrow(11).to_rfc3339(),
        "status": status, "name": name,
        "phones": ["070-123 45 67"], "code": "4821", "rfid": null
    })
}

pub fn event(id: &str, kind: &str, occurred_at: &str, booking: Value) -> Value {
    json!({"id": id, "type": kind, "occurred_at": occurred_at, "booking": booking})
}

fn upsert(id: &str, occurred_at: &str, name: &str) -> Value {
    event(
        id,
        "booking.upserted",
        occurred_at,
        booking("b-42", "confirmed", name),
    )
}

#[tokio::test]
async fn a_valid_event_is_stored_acknowledged_and_becomes_a_reservation() {
    let mut hook = Hook::start().await;
    let (status, body) = hook
        .post(&upsert("evt_1", "2026-11-27T10:00:00Z", "Flat 12"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["result"], "applied");
    let reservations = hook.reservations().await;
    assert_eq!(reservations.len(), 1);
    let r = &reservations[0];
    assert_eq!(r.key, "laundry/b-42");
    assert_eq!(r.source, "laundry");
    assert_eq!(r.booking_object_id, 123);
    assert_eq!((r.start, r.end), (tomorrow(8), tomorrow(11)));
    assert_eq!(r.label, "Flat 12");
    assert_eq!(r.credentials.phones, vec!["+46701234567"]);
    assert_eq!(r.credentials.code.as_deref(), Some("4821"));
    assert_eq!(hook.drain_triggers(), vec!["laundry"]);
    assert_eq!(
        hook.results().await,
        vec![("evt_1".into(), DeliveryResult::Applied)]
    );
}

#[tokio::test]
async fn forged_unsigned_and_replayed_deliveries_are_refused_and_not_stored() {
    let mut hook = Hook::start().await;
    let body = upsert("evt_1", "2026-11-27T10:00:00Z", "x")
        .to_string()
        .into_bytes();
    let now = Utc::now().timestamp();
    let forged = sign(b"not-the-secret", now, &body);
    let replayed = sign(SECRET.as_bytes(), now - 6 * 60, &body);
    let future = sign(SECRET.as_bytes(), now + 6 * 60, &body);
    let mut tampered_body = body.clone();
    tampered_body.extend_from_slice(b" ");
    let for_other_body = sign(SECRET.as_bytes(), now, &tampered_body);
    for (what, signature) in [
        ("forged", Some(forged)),
        ("unsigned", None),
        ("replayed", Some(replayed)),
        ("from the future", Some(future)),
        ("signed over another body", Some(for_other_body)),
        ("garbage header", Some("v1=abc".to_owned())),
    ] {
        let (status, answer) = hook.post_raw("laundry", body.clone(), signature).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(!message.contains(SECRET), "{what}: {message}");
    }
    assert!(hook.results().await.is_empty());
    assert!(hook.reservations().await.is_empty());
    assert!(hook.drain_triggers().is_empty());
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let mut hook = Hook::start().await;
    let mut big = upsert("evt_big", "2026-11-27T10:00:00Z", "x");
    big["padding"] = json!("x".repeat(300 * 1024));
    let (status, _) = hook.post(&big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(hook.results().await.is_empty());
    assert!(hook.drain_triggers().is_empty());
}

#[tokio::test]
async fn malformed_payloads_get_400_naming_the_field() {
    let mut hook = Hook::start().await;
    let body = b"{\"id\": \"evt_1\", ".to_vec();
    let signature = sign(SECRET.as_bytes(), Utc::now().timestamp(), &body);
    let (status, answer) = hook.post_raw("laundry", body, Some(signature)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].as_str().unwrap().contains("not valid JSON"),
        "{answer}"
    );
    let mut missing_start = upsert("evt_2", "2026-11-27T10:00:00Z", "x");
    missing_start["booking"]
        .as_object_mut()
        .unwrap()
        .remove("start");
    let mut bad_time = upsert("evt_3", "not a time", "x");
    bad_time["booking"]["status"] = json!("confirmed");
    let mut bad_phone = upsert("evt_4", "2026-11-27T10:00:00Z", "x");
    bad_phone["booking"]["phones"] = json!(["+46701234567", "12"]);
    for (event, field) in [
        (missing_start, "booking.start"),
        (bad_time, "occurred_at"),
        (bad_phone, "booking.phones[1]"),
    ] {
        let (status, answer) = hook.post(&event).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}:")), "{message}");
    }
    assert!(hook.results().await.is_empty());
    assert!(hook.drain_triggers().is_empty());
}

#[tokio::test]
async fn unknown_sources_401_like_a_bad_signature_and_unknown_resources_422() {
    let mut hook = Hook::start().await;
    let body = upsert("evt_1", "2026-11-27T10:00:00Z", "x")
        .to_string()
        .into_bytes();
    let signature = sign(SECRET.as_bytes(), Utc::now().timestamp(), &body);
    for source in ["nowhere", "cabin"] {
        let (status, _) = hook
            .post_raw(source, body.clone(), Some(signature.clone()))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{source}");
    }
    let mut elsewhere = upsert("evt_2", "2026-11-27T10:00:00Z", "x");
    elsewhere["booking"]["resource"] = json!("room-z");
    let (status, answer) = hook.post(&elsewhere).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["error"].as_str().unwrap().contains("room-z"),
        "{answer}"
    );
    assert!(hook.results().await.is_empty());
    assert!(hook.drain_triggers().is_empty());
}

#[tokio::test]
async fn a_redelivered_event_is_answered_200_and_changes_nothing() {
    let mut hook = Hook::start().await;
    let first = upsert("evt_1", "2026-11-27T10:00:00Z", "Flat 12");
    assert_eq!(hook.post(&first).await.0, StatusCode::ACCEPTED);
    // Same id, even with another body: a redelivery.
    let again = upsert("evt_1", "2026-11-27T10:30:00Z", "Changed");
    let (status, body) = hook.post(&again).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"], "duplicate");
    assert_eq!(hook.reservations().await[0].label, "Flat 12");
    assert_eq!(hook.drain_triggers(), vec!["laundry"]);
    assert_eq!(
        hook.results().await,
        vec![
            ("evt_1".into(), DeliveryResult::Applied),
            ("evt_1".into(), DeliveryResult::Duplicate)
        ]
    );
}

#[tokio::test]
async fn an_event_older_than_the_applied_one_is_recorded_and_ignored() {
    let mut hook = Hook::start().await;
    let newer = upsert("evt_2", "2026-11-27T10:05:00Z", "Newer");
    let older = upsert("evt_1", "2026-11-27T11:00:00+01:00", "Older");
    assert_eq!(hook.post(&newer).await.0, StatusCode::ACCEPTED);
    let (status, body) = hook.post(&older).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["result"], "stale");
    assert_eq!(hook.reservations().await[0].label, "Newer");
    assert_eq!(hook.drain_triggers(), vec!["laundry"]);
    assert_eq!(
        hook.results().await,
        vec![
            ("evt_2".into(), DeliveryResult::Applied),
            ("evt_1".into(), DeliveryResult::Stale)
        ]
    );
}

#[tokio::test]
async fn a_cancellation_that_arrives_before_the_creation_wins() {
    let mut hook = Hook::start().await;
    let cancel = event(
        "evt_2",
        "booking.cancelled",
        "2026-11-27T10:05:00Z",
        json!({"id": "b-42"}),
    );
    assert_eq!(hook.post(&cancel).await.0, StatusCode::ACCEPTED);
    let create = upsert("evt_1", "2026-11-27T10:00:00Z", "Flat 12");
    let (status, body) = hook.post(&create).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["result"], "stale");
    assert!(hook.reservations().await.is_empty());
    assert_eq!(hook.drain_triggers(), vec!["laundry"]);
}

#[tokio::test]
async fn only_confirmed_bookings_are_reservations() {
    let mut hook = Hook::start().await;
    let tentative = event(
        "evt_1",
        "booking.upserted",
        "2026-11-27T10:00:00Z",
        booking("b-1", "tentative", "T"),
    );
    assert_eq!(hook.post(&tentative).await.0, StatusCode::ACCEPTED);
    assert!(hook.reservations().await.is_empty());
    let confirmed = event(
        "evt_2",
        "booking.upserted",
        "2026-11-27T10:01:00Z",
        booking("b-1", "confirmed", "T"),
    );
    assert_eq!(hook.post(&confirmed).await.0, StatusCode::ACCEPTED);
    assert_eq!(hook.reservations().await.len(), 1);
    let back_to_tentative = event(
        "evt_3",
        "booking.upserted",
        "2026-11-27T10:02:00Z",
        booking("b-1", "tentative", "T"),
    );
    assert_eq!(hook.post(&back_to_tentative).await.0, StatusCode::ACCEPTED);
    assert!(hook.reservations().await.is_empty());
    let cancelled = event(
        "evt_4",
        "booking.upserted",
        "2026-11-27T10:03:00Z",
        booking("b-1", "cancelled", "T"),
    );
    assert_eq!(hook.post(&cancelled).await.0, StatusCode::ACCEPTED);
    assert!(hook.reservations().await.is_empty());
    assert_eq!(hook.drain_triggers().len(), 4);
}

#[tokio::test]
async fn bookings_that_ended_more_than_a_day_ago_are_not_reservations() {
    let hook = Hook::start().await;
    let mut old = booking("b-old", "confirmed", "Old");
    old["start"] = json!((Utc::now() - Duration::hours(30)).to_rfc3339());
    old["end"] = json!((Utc::now() - Duration::hours(26)).to_rfc3339());
    let mut recent = booking("b-recent", "confirmed", "Recent");
    recent["start"] = json!((Utc::now() - Duration::hours(5)).to_rfc3339());
    recent["end"] = json!((Utc::now() - Duration::hours(2)).to_rfc3339());
    for (id, b) in [("evt_1", old), ("evt_2", recent)] {
        let e = event(id, "booking.upserted", "2026-11-27T10:00:00Z", b);
        assert_eq!(hook.post(&e).await.0, StatusCode::ACCEPTED);
    }
    let keys: Vec<_> = hook
        .reservations()
        .await
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, vec!["laundry/b-recent"]);
}

#[tokio::test]
async fn a_ledger_that_cannot_be_written_gets_503_and_nothing_is_acknowledged() {
    let mut hook = Hook::start().await;
    hook.ledger.close().await;
    let (status, body) = hook
        .post(&upsert("evt_1", "2026-11-27T10:00:00Z", "x"))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(hook.drain_triggers().is_empty());
    let reopened = Ledger::open(&hook.dir.path().join("ledger.db"))
        .await
        .unwrap();
    assert!(reopened.webhook_events("laundry").await.unwrap().is_empty());
    assert!(
        reopened
            .webhook_bookings("laundry")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_config_reload_swaps_the_served_sources() {
    let hook = Hook::start().await;
    let e = upsert("evt_1", "2026-11-27T10:00:00Z", "x");
    hook.sources.replace(&[]);
    assert_eq!(hook.post(&e).await.0, StatusCode::UNAUTHORIZED);
    hook.sources.replace(&load_sources(&config_toml(None)));
    assert_eq!(hook.sources.names(), vec!["laundry"]);
    assert_eq!(hook.post(&e).await.0, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn reservations_follow_the_current_objects_map() {
    let hook = Hook::start().await;
    let mut moved = booking("b-2", "confirmed", "Moved");
    moved["resource"] = json!("room-b");
    for (id, b) in [
        ("evt_1", booking("b-1", "confirmed", "A")),
        ("evt_2", moved),
    ] {
        let e = event(id, "booking.upserted", "2026-11-27T10:00:00Z", b);
        assert_eq!(hook.post(&e).await.0, StatusCode::ACCEPTED);
    }
    let objects: Vec<_> = hook
        .reservations()
        .await
        .into_iter()
        .map(|r| (r.key, r.booking_object_id))
        .collect();
    assert_eq!(
        objects,
        vec![("laundry/b-1".into(), 123), ("laundry/b-2".into(), 124)]
    );
    // A resource dropped from the config no longer yields reservations.
    let mut source = hook.source();
    source.objects.remove("room-b");
    let kept = webhook_reservations(&hook.ledger, &source, Utc::now())
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].key, "laundry/b-1");
    // Asking for a source of another kind is an error, not an empty list.
    let cabin = load_sources(&config_toml(None)).remove(1);
    assert!(
        webhook_reservations(&hook.ledger, &cabin, Utc::now())
            .await
            .is_err()
    );
}
