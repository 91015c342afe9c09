//! The real binary as a service: `flexysync run` against the sandbox and a loopback feed,
//! with a webhook, metrics, the status page, a refused reload and a clean stop.

mod descriptors;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Duration as Days, Utc};
use flexysync::sandbox::{self, SandboxOptions};

use crate::helpers::{PassParts, binary, sandbox_config, start_sandbox};

const HOOK_SECRET: &str = "daemon-test-hook-secret";

/// A calendar feed on loopback whose text the test changes.
pub struct Feed {
    pub text: Arc<Mutex<String>>,
    pub url: String,
}

pub async fn serve_feed(initial: String) -> Feed {
    let text = Arc::new(Mutex::new(initial));
    let shared = text.clone();
    let router = axum::Router::new().route(
        "/feed.ics",
        axum::routing::get(move || {
            let shared = shared.clone();
            async move { shared.lock().unwrap().clone() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed.ics", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Feed { text, url }
}

/// An all-day stay `from` days ahead for `nights` nights.
pub fn stay(uid: &str, from: i64, nights: i64) -> String {
    let day = |d: i64| (Utc::now() + Days::days(d)).format("%Y%m%d").to_string();
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Guest {uid}\r\nEND:VEVENT\r\n",
        day(from),
        day(from + nights)
    )
}

pub fn calendar(events: &[String]) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{}END:VCALENDAR\r\n",
        events.concat()
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.unwrap_or_default()))
}

/// Polls `/readyz` (ready once the ledger is writable and FlexyKey has answered), up to 30 s.
pub(crate) async fn became_ready(base: &str) -> bool {
    for _ in 0..150 {
        if let Some((200, _)) = get(&format!("{base}/readyz")).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Waits until `check` holds, up to `limit`.
pub async fn eventually<F: FnMut() -> bool>(limit: Duration, mut check: F) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    check()
}

pub fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn webhook_body(event: &str, kind: &str, booking: &str, start_days: i64) -> String {
    let start = (Utc::now() + Days::days(start_days)).format("%Y-%m-%dT08:00:00Z");
    let end = (Utc::now() + Days::days(start_days)).format("%Y-%m-%dT11:00:00Z");
    let status = if kind == "booking.cancelled" {
        "cancelled"
    } else {
        "confirmed"
    };
    format!(
        r#"{{"id":"{event}","type":"{kind}","occurred_at":"{}","booking":{{"id":"{booking}","resource":"room-a","start":"{start}","end":"{end}","status":"{status}","name":"Flat 12","phones":["+46701234567"],"code":"4821","rfid":null}}}}"#,
        Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
    )
}

async fn post_hook(base: &str, body: &str) -> u16 {
    let signature = flexysync::sources::webhook::signature::sign(
        HOOK_SECRET.as_bytes(),
        Utc::now().timestamp(),
        body.as_bytes(),
    );
    reqwest::Client::new()
        .post(format!("{base}/hooks/laundry"))
        .header("X-Flexysync-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_reloads_safely_and_stops_cleanly() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let feed = serve_feed(calendar(&[stay("a@test", 2, 3), stay("b@test", 8, 2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let admin_port = free_port();
    let extra = format!(
        r#"[[sources]]
name = "cabin"
kind = "ical"
url = "{}"
booking_object_id = {}
timezone = "Europe/Stockholm"
schedule = "*/2 * * * * *"

[[sources]]
name = "laundry"
kind = "webhook"
secret = "{HOOK_SECRET}"
objects = {{ "room-a" = {} }}
timezone = "Europe/Stockholm"

[archive]
units = [{}]
schedule = "*/5 * * * * *"

[server]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin_port}"
"#,
        feed.url,
        sandbox::OBJECT_CABIN,
        sandbox::OBJECT_LAUNDRY,
        sandbox::UNIT_MAIN
    );
    let config = sandbox_config(dir.path(), &sandbox, &extra);
    let log_path = dir.path().join("daemon.log");
    let mut child = tokio::process::Command::new(binary())
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log_path).unwrap())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let admin = format!("http://127.0.0.1:{admin_port}");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    assert!(became_ready(&admin).await, "never ready: {}", log());
    assert!(
        eventually(Duration::from_secs(20), || sandbox
            .bookings_of(sandbox::OBJECT_CABIN)
            .len()
            == 2)
        .await,
        "the feed's two stays were not booked: {}",
        log()
    );

    // A new stay in the feed appears at the next scheduled pass.
    *feed.text.lock().unwrap() = calendar(&[
        stay("a@test", 2, 3),
        stay("b@test", 8, 2),
        stay("c@test", 4, 2),
    ]);
    assert!(
        eventually(Duration::from_secs(20), || sandbox
            .bookings_of(sandbox::OBJECT_CABIN)
            .len()
            == 3)
        .await,
        "the new stay was not booked: {}",
        log()
    );

    // A signed webhook books the laundry room; its cancellation removes the booking.
    assert_eq!(
        post_hook(&base, &webhook_body("evt-1", "booking.upserted", "b-42", 3)).await,
        202
    );
    assert!(
        eventually(Duration::from_secs(20), || sandbox
            .bookings_of(sandbox::OBJECT_LAUNDRY)
            .len()
            == 1)
        .await,
        "the webhook booking did not reach FlexyKey: {}",
        log()
    );
    assert_eq!(
        post_hook(
            &base,
            &webhook_body("evt-2", "booking.cancelled", "b-42", 3)
        )
        .await,
        202
    );
    assert!(
        eventually(Duration::from_secs(20), || sandbox
            .bookings_of(sandbox::OBJECT_LAUNDRY)
            .is_empty())
        .await,
        "the cancellation did not delete the booking: {}",
        log()
    );

    let (status, metrics) = get(&format!("{admin}/metrics")).await.unwrap();
    assert_eq!(status, 200);
    let counter = |name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(counter("flexysync_passes_total") >= 2.0, "{metrics}");
    assert!(counter("flexysync_operations_total") >= 4.0, "{metrics}");
    assert!(
        counter("flexysync_flexykey_calls_total") >= 4.0,
        "{metrics}"
    );
    assert!(
        counter("flexysync_webhook_deliveries_total") >= 2.0,
        "{metrics}"
    );
    assert!(
        metrics.contains("flexysync_last_fresh_read_timestamp_seconds{source=\"cabin\"}"),
        "{metrics}"
    );
    assert!(!metrics.contains("+4670"), "no phone numbers in labels");

    let (status, page) = get(&format!("{admin}/")).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("Upcoming arrivals") && page.contains("Guest c@test"),
        "{page}"
    );
    assert!(page.contains("cabin"), "{page}");

    // SIGHUP with a valid config that points at another FlexyKey (think: a rotated password):
    // the new client is used, and the owned bookings missing there are made again.
    let second = start_sandbox(SandboxOptions::default()).await;
    sandbox_config(dir.path(), &second, &extra);
    signal(pid, "HUP");
    assert!(
        eventually(Duration::from_secs(20), || second
            .bookings_of(sandbox::OBJECT_CABIN)
            .len()
            == 3)
        .await,
        "the reloaded client was not used: {}",
        log()
    );
    assert!(log().contains("config reloaded"), "{}", log());

    // A broken config on SIGHUP is refused; the service keeps running on the old one. The
    // log says where the file is broken but never shows the line: it holds a password.
    std::fs::write(
        &config,
        "[flexykey]\nusername = \"u\"\npassword = \"Reload-Pw-Secret\n",
    )
    .unwrap();
    signal(pid, "HUP");
    assert!(
        eventually(Duration::from_secs(10), || log()
            .contains("config reload refused"))
        .await,
        "{}",
        log()
    );
    let refusal = log()
        .lines()
        .find(|l| l.contains("config reload refused"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        refusal.contains("line 3") && refusal.contains("flexykey.password"),
        "{refusal}"
    );
    assert!(!log().contains("Reload-Pw"), "{}", log());
    assert_eq!(
        get(&format!("{base}/healthz")).await.map(|r| r.0),
        Some(200)
    );

    // SIGTERM: exits 0 within 10 s, nothing left in doubt.
    let stopping = std::time::Instant::now();
    signal(pid, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(12), child.wait())
        .await
        .expect("exited within the grace period")
        .unwrap();
    assert_eq!(status.code(), Some(0), "{}", log());
    assert!(stopping.elapsed() < Duration::from_secs(11));
    let ledger = flexysync::ledger::Ledger::open(&dir.path().join("ledger.db"))
        .await
        .unwrap();
    assert!(
        ledger.open_journal().await.unwrap().is_empty(),
        "nothing in doubt"
    );
    assert!(!log().contains(sandbox::DEMO_PASSWORD) && !log().contains(HOOK_SECRET));
    // stderr went to a file: no colour codes in it.
    assert!(
        !log().contains('\u{1b}'),
        "ANSI escapes in a log file: {}",
        log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_told_to_stop_starts_no_write() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("cabin.ics");
    std::fs::write(
        &feed,
        calendar(&[stay("a@test", 2, 2), stay("b@test", 5, 2)]),
    )
    .unwrap();
    // The source names its zone: with the client stopped, the object's could not be looked up.
    let extra = format!(
        "[[sources]]\nname = \"cabin\"\nkind = \"ical\"\npath = \"{}\"\nbooking_object_id = {}\n\
         timezone = \"Europe/Stockholm\"\n",
        feed.display(),
        sandbox::OBJECT_CABIN
    );
    let path = sandbox_config(dir.path(), &sandbox, &extra);
    let pass = PassParts::load(&path).await;
    let stop = tokio_util::sync::CancellationToken::new();
    stop.cancel();
    let options = flexysync::reconcile::pass::PassOptions {
        stop: Some(stop),
        ..Default::default()
    };
    let report = pass.sync(&options).await;
    assert_eq!(
        report.plan.operations.len(),
        2,
        "the plan still says what is due"
    );
    assert!(sandbox.write_calls().is_empty(), "no write after the stop");
    assert!(!report.converged);
    assert!(
        report
            .applied
            .failures
            .iter()
            .any(|f| f.text.contains("shutting down")),
        "{:?}",
        report.applied.failures
    );
    assert!(
        pass.ledger.open_journal().await.unwrap().is_empty(),
        "nothing left in doubt"
    );

    // The next pass, not stopped, does the work.
    let report = pass.sync(&Default::default()).await;
    assert!(report.converged);
    assert_eq!(sandbox.bookings_of(sandbox::OBJECT_CABIN).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_client_sends_nothing_more_even_from_the_limiter_queue() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let mut config = flexysync::config::FlexyKeyConfig::new(
        sandbox.base_url(),
        sandbox::DEMO_USER,
        sandbox::DEMO_PASSWORD,
    );
    config.requests_per_second = 0.5;
    config.burst = 1;
    let stop = tokio_util::sync::CancellationToken::new();
    let client = flexysync::flexykey::Client::new(&config)
        .unwrap()
        .with_stop(Some(stop.clone()));
    client.booking_objects().await.unwrap();
    // These wait for the limiter (one call per two seconds) when the stop comes.
    let waiting: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.booking_objects().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped_at = std::time::Instant::now();
    stop.cancel();
    for call in waiting {
        let result = call.await.unwrap();
        assert!(
            matches!(result, Err(flexysync::flexykey::ApiError::Stopped)),
            "{result:?}"
        );
    }
    assert!(
        stopped_at.elapsed() < Duration::from_secs(1),
        "the queue was dropped at once"
    );
    assert_eq!(sandbox.journal().len(), 1, "nothing sent after the stop");
}
