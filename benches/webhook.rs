//! Load test of `POST /hooks/{source}` over loopback with a real SQLite ledger: posts signed
//! events from concurrent senders and reports durable events per second and latency
//! percentiles. Target: at least 2,000 events/s with p99 under 50 ms.
//!
//! `cargo bench --bench webhook` runs the full load (`EVENTS`, `CONCURRENCY` override it);
//! under `cargo test` it runs a short smoke load.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use flexysync::config::Config;
use flexysync::ledger::Ledger;
use flexysync::ledger::webhooks::DeliveryResult;
use flexysync::sources::webhook::signature::{SIGNATURE_HEADER, sign};
use flexysync::sources::webhook::{WebhookSources, WebhookState, routes};
use futures::StreamExt;

const SECRET: &str = "bench-secret";

fn config() -> Config {
    let toml = format!(
        r#"
[flexykey]
username = "api"
password = "pw"

[[sources]]
name = "site"
kind = "webhook"
secret = "{SECRET}"
objects = {{ "room-a" = 1, "room-b" = 2, "room-c" = 3 }}
timezone = "Europe/Stockholm"
"#
    );
    Config::from_toml_with_env(&toml, Path::new("bench.toml"), Vec::new()).expect("bench config")
}

fn event_body(index: usize) -> Vec<u8> {
    // Every third event updates an earlier booking, the rest create new ones.
    let booking = if index % 3 == 2 { index / 3 } else { index };
    let day = 1 + (index % 28);
    let resource = ["room-a", "room-b", "room-c"][index % 3];
    serde_json::json!({
        "id": format!("evt_{index}"),
        "type": "booking.upserted",
        "occurred_at": Utc::now().to_rfc3339(),
        "booking": {
            "id": format!("b-{booking}"),
            "resource": resource,
            "start": format!("2026-12-{day:02}T08:00:00"),
            "end": format!("2026-12-{day:02}T11:00:00"),
            "status": "confirmed",
            "name": format!("Flat {}", index % 97),
            "phones": ["070-123 45 67"],
            "code": "4821",
            "rfid": null
        }
    })
    .to_string()
    .into_bytes()
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * share).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(events: usize, concurrency: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(&dir.path().join("ledger.db"))
        .await
        .expect("ledger");
    let (trigger, mut triggers) = tokio::sync::mpsc::unbounded_channel();
    // The daemon's debouncer drains these; here they are only counted.
    let drain = tokio::spawn(async move {
        let mut count = 0usize;
        while triggers.recv().await.is_some() {
            count += 1;
        }
        count
    });
    let state = WebhookState::new(
        ledger.clone(),
        WebhookSources::new(&config().sources),
        trigger,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hooks/site", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, routes(state)).await });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");

    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..events)
        .map(|index| {
            let http = http.clone();
            let url = url.clone();
            async move {
                let body = event_body(index);
                let signature = sign(SECRET.as_bytes(), Utc::now().timestamp(), &body);
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .header(SIGNATURE_HEADER, signature)
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                let status = response.status();
                let _ = response.bytes().await;
                let latency = sent.elapsed();
                assert_eq!(status, reqwest::StatusCode::ACCEPTED, "event {index}");
                latency
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();

    // Durable: every acknowledged event is in the ledger, read back through a new pool.
    ledger.close().await;
    server.abort();
    let reopened = Ledger::open(&dir.path().join("ledger.db"))
        .await
        .expect("reopen");
    let stored = reopened.webhook_events("site").await.expect("events");
    // An update may overtake its creation, which is then stored as stale: both count.
    let recorded = stored
        .iter()
        .filter(|e| e.result != DeliveryResult::Duplicate)
        .count();
    assert_eq!(
        recorded, events,
        "acknowledged events missing from the ledger"
    );
    let triggered = drain.await.unwrap_or(0);

    latencies.sort();
    let per_second = events as f64 / elapsed.as_secs_f64();
    println!(
        "webhook load: {events} events, {concurrency} concurrent senders, {:.2} s: \
         {per_second:.0} durable events/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         {triggered} triggers",
        elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test) gets a short smoke run.
    let full = std::env::args().any(|arg| arg == "--bench");
    let events = env_number("EVENTS", if full { 20_000 } else { 200 });
    let concurrency = env_number("CONCURRENCY", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(events, concurrency));
}
