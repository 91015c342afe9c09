//! Events told to people, end to end: the real daemon against the sandbox, loopback feeds, a
//! webhook receiver that verifies signatures and an ntfy-like receiver, both failing their
//! first attempts; a SIGKILL between an event's write and its delivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use chrono::{Duration as Span, Utc};
use flexysync::sandbox::{self, SandboxLogEntry, SandboxOptions};

use crate::daemon::{calendar, eventually, free_port, serve_feed, stay};
use crate::helpers::{binary, sandbox_config, start_sandbox};

pub(crate) const NOTIFY_SECRET: &str = "notify-test-signing-secret";
pub(crate) const HOOK_SECRET: &str = "notify-test-hook-secret";

/// What a receiver saw: successful deliveries by event id (with the body), refused attempts.
#[derive(Default)]
pub(crate) struct Inbox {
    /// Answer 503 to this many more requests.
    pub(crate) fail_next: u32,
    /// Answer 503 to everything while set.
    pub(crate) down: bool,
    pub(crate) refused: u32,
    /// The refused attempts' events: id → kind.
    pub(crate) refused_events: HashMap<String, String>,
    pub(crate) bad_signatures: u32,
    pub(crate) delivered: Vec<(String, String, String)>,
}

impl Inbox {
    pub(crate) fn count(&self, kind: &str) -> usize {
        self.delivered.iter().filter(|(_, k, _)| k == kind).count()
    }
    pub(crate) fn per_id(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (id, _, _) in &self.delivered {
            *counts.entry(id.clone()).or_insert(0) += 1;
        }
        counts
    }
}

pub(crate) type Shared = Arc<Mutex<Inbox>>;

/// A receiver on loopback; `ntfy` reads the kind from its header instead of a signed body.
pub(crate) async fn receiver(ntfy: bool) -> (Shared, String) {
    let inbox: Shared = Arc::new(Mutex::new(Inbox {
        fail_next: 2,
        ..Inbox::default()
    }));
    let shared = inbox.clone();
    let handler = move |headers: HeaderMap, body: String| {
        let shared = shared.clone();
        async move {
            let mut inbox = shared.lock().unwrap();
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let id = header("x-flexysync-event-id");
            if inbox.down || inbox.fail_next > 0 {
                inbox.fail_next = inbox.fail_next.saturating_sub(1);
                inbox.refused += 1;
                let kind = if ntfy {
                    header("x-flexysync-event-type")
                } else {
                    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    json["type"].as_str().unwrap_or_default().to_owned()
                };
                inbox.refused_events.insert(id, kind);
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            let kind = if ntfy {
                header("x-flexysync-event-type")
            } else {
                let signature = headers.get("x-flexysync-signature").map(|v| v.as_bytes());
                let verified = flexysync::sources::webhook::signature::verify(
                    NOTIFY_SECRET.as_bytes(),
                    signature,
                    body.as_bytes(),
                    Utc::now().timestamp(),
                );
                if verified.is_err() {
                    inbox.bad_signatures += 1;
                    return StatusCode::UNAUTHORIZED;
                }
                let json: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(json["id"], id.as_str());
                json["type"].as_str().unwrap().to_owned()
            };
            let priority = header("priority");
            inbox
                .delivered
                .push((id, kind, format!("{priority}\n{body}")));
            StatusCode::OK
        }
    };
    let router = axum::Router::new().route("/in", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/in", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (inbox, url)
}

pub(crate) fn direct_booking(
    id: &str,
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
) -> String {
    let time = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!(
        r#"{{"id":"evt-{id}","type":"booking.upserted","occurred_at":"{}","booking":{{"id":"{id}","resource":"cabin","start":"{}","end":"{}","status":"confirmed","name":"Anna","phones":["070-123 45 67"],"code":"4821","rfid":null}}}}"#,
        time(Utc::now()),
        time(start),
        time(end)
    )
}

pub(crate) async fn post_hook(base: &str, body: &str) -> (u16, String) {
    let signature = flexysync::sources::webhook::signature::sign(
        HOOK_SECRET.as_bytes(),
        Utc::now().timestamp(),
        body.as_bytes(),
    );
    let response = reqwest::Client::new()
        .post(format!("{base}/hooks/direct"))
        .header("X-Flexysync-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The direct booking's guest (`direct_booking`'s phone, written two ways) is refused at the
/// main unit's door, then let in, seconds ago.
pub(crate) fn refused_then_let_in(sandbox: &flexysync::sandbox::Sandbox) {
    let at = sandbox.now() - Span::seconds(5);
    sandbox
        .add_log_entries(
            sandbox::UNIT_MAIN,
            vec![
                log_entry(at, "0701234567", "numret finns inte registrerat"),
                log_entry(
                    at + Span::seconds(2),
                    "46701234567",
                    "puls på X-utgång via telefon/rfid/tangentbord",
                ),
            ],
        )
        .unwrap();
}

fn log_entry(at: chrono::DateTime<Utc>, source_id: &str, message: &str) -> SandboxLogEntry {
    SandboxLogEntry {
        server_date: at,
        unit_date: at.format("%Y-%m-%d %H:%M").to_string(),
        source_id: source_id.to_owned(),
        source_label: Some("- Saknas -".to_owned()),
        action_label: Some("-".to_owned()),
        log_msg: message.to_owned(),
    }
}

fn start_daemon(config: &std::path::Path, log: &std::path::Path) -> tokio::process::Child {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    tokio::process::Command::new(binary())
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stderr(file)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_each_target_once_through_failures_and_a_sigkill() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    sandbox.set_logs_per_day(sandbox::UNIT_MAIN, 0).unwrap();
    let airbnb = serve_feed(calendar(&[stay("a@airbnb", 3, 3)])).await;
    let booking_com = serve_feed(calendar(&[
        stay("b@booking", 4, 3),
        stay("c@booking", 9, 2),
    ]))
    .await;
    let (hook, hook_url) = receiver(false).await;
    let (phone, ntfy_url) = receiver(true).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let admin_port = free_port();
    let extra = format!(
        r#"[[sources]]
name = "airbnb"
kind = "ical"
url = "{airbnb}"
booking_object_id = {cabin}
timezone = "Europe/Stockholm"
schedule = "*/2 * * * * *"

[[sources]]
name = "bookingcom"
kind = "ical"
url = "{booking_com}"
booking_object_id = {cabin}
timezone = "Europe/Stockholm"
schedule = "*/2 * * * * *"

[[sources]]
name = "direct"
kind = "webhook"
secret = "{HOOK_SECRET}"
objects = {{ "cabin" = {sauna} }}
timezone = "Europe/Stockholm"

[archive]
units = [{unit}]
schedule = "*/2 * * * * *"

[server]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin_port}"

[[notify]]
name = "pms"
kind = "webhook"
url = "{hook_url}"
secret = "{NOTIFY_SECRET}"
include_codes = true

[[notify]]
name = "phone"
kind = "ntfy"
url = "{ntfy_url}"
events = ["guest.denied", "guest.checked_in", "stay.double_booked"]
"#,
        airbnb = airbnb.url,
        booking_com = booking_com.url,
        cabin = sandbox::OBJECT_CABIN,
        sauna = sandbox::OBJECT_SAUNA,
        unit = sandbox::UNIT_MAIN,
    );
    let config = sandbox_config(dir.path(), &sandbox, &extra);
    let log_path = dir.path().join("daemon.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut child = start_daemon(&config, &log_path);
    let base = format!("http://127.0.0.1:{port}");
    let wait = Duration::from_secs(40);

    // A sync: three bookings made, the overlap of the two channels told.
    assert!(
        eventually(wait, || {
            let inbox = hook.lock().unwrap();
            inbox.count("booking.created") == 3 && inbox.count("stay.double_booked") == 1
        })
        .await,
        "creates and the double booking not delivered: {}",
        log()
    );
    assert!(
        eventually(wait, || phone.lock().unwrap().count("stay.double_booked")
            == 1)
        .await
    );

    // A guest of the webhook source, in the stay now, refused at the door, then let in.
    let now = Utc::now();
    let (status, answer) = post_hook(
        &base,
        &direct_booking("d1", now - Span::hours(1), now + Span::days(1)),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert!(
        eventually(wait, || sandbox.bookings_of(sandbox::OBJECT_SAUNA).len()
            == 1)
        .await,
        "{}",
        log()
    );
    refused_then_let_in(&sandbox);
    assert!(
        eventually(wait, || {
            let inbox = phone.lock().unwrap();
            inbox.count("guest.denied") == 1 && inbox.count("guest.checked_in") == 1
        })
        .await,
        "denial and check-in not pushed: {}",
        log()
    );
    let denied = phone
        .lock()
        .unwrap()
        .delivered
        .iter()
        .find(|(_, kind, _)| kind == "guest.denied")
        .cloned()
        .unwrap();
    assert!(denied.2.starts_with("high\n"), "{}", denied.2);
    // Times in the source's zone (CET or CEST) beside UTC.
    assert!(denied.2.contains("ET ("), "{}", denied.2);
    assert!(
        !denied.2.contains("701234567"),
        "a full phone in a push: {}",
        denied.2
    );

    // A cancelled stay while the receiver is down; the daemon is killed before delivery.
    hook.lock().unwrap().down = true;
    *booking_com.text.lock().unwrap() = calendar(&[stay("b@booking", 4, 3)]);
    assert!(
        eventually(wait, || sandbox.bookings_of(sandbox::OBJECT_CABIN).len()
            == 2)
        .await,
        "{}",
        log()
    );
    let refused_before = hook.lock().unwrap().refused;
    assert!(eventually(wait, || hook.lock().unwrap().refused > refused_before).await);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert_eq!(hook.lock().unwrap().count("booking.deleted"), 0);
    hook.lock().unwrap().down = false;
    let mut child = start_daemon(&config, &log_path);
    assert!(
        eventually(wait, || hook.lock().unwrap().count("booking.deleted") == 1).await,
        "the delete was not delivered after the restart: {}",
        log()
    );
    // Give any duplicate a chance to arrive, then count.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The status page shows the check-in, the denial and the double booking; metrics count
    // deliveries by target and outcome.
    let admin = format!("http://127.0.0.1:{admin_port}");
    let (_, page) = crate::daemon::get(&format!("{admin}/")).await.unwrap();
    for shown in ["Guest checked in", "Guest locked out", "Double booking"] {
        assert!(page.contains(shown), "{shown} missing from the status page");
    }
    // The doors by the names FlexyKey gives them, the check-in and the refusal on the stay.
    for shown in [
        "<figcaption>Sauna</figcaption>",
        "<figcaption>Cabin 7</figcaption>",
        "<rect class=\"checkin\"",
        "<circle class=\"denied\"",
    ] {
        assert!(page.contains(shown), "{shown} missing from the timelines");
    }
    let (_, metrics) = crate::daemon::get(&format!("{admin}/metrics"))
        .await
        .unwrap();
    assert!(
        metrics.contains("flexysync_notify_deliveries_total{target=\"pms\",outcome=\"delivered\"}"),
        "{metrics}"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    for (name, inbox) in [("pms", &hook), ("phone", &phone)] {
        let inbox = inbox.lock().unwrap();
        assert!(
            inbox.refused >= 2,
            "{name}: the first attempts were not refused"
        );
        assert_eq!(inbox.bad_signatures, 0, "{name}");
        for (id, count) in inbox.per_id() {
            assert_eq!(count, 1, "{name}: event {id} delivered {count} times");
        }
    }
    let hook = hook.lock().unwrap().delivered.clone();
    let kinds: std::collections::BTreeSet<&str> = hook.iter().map(|(_, k, _)| k.as_str()).collect();
    for kind in [
        "booking.created",
        "booking.deleted",
        "stay.double_booked",
        "guest.denied",
        "guest.checked_in",
    ] {
        assert!(
            kinds.contains(kind),
            "{kind} never reached the webhook: {kinds:?}"
        );
    }
    // include_codes = true: the PMS gets the code to send the guest.
    let created = hook
        .iter()
        .find(|(_, k, body)| k == "booking.created" && body.contains("\"4821\""));
    assert!(created.is_some(), "no booking.created with the keypad code");
    // Neither a code nor a full phone number in the daemon's log.
    // (As whole numbers: a log timestamp's microseconds may hold the same digits.)
    let whole = |number: &str| {
        regex::Regex::new(&format!(r"(^|\D){number}(\D|$)"))
            .unwrap()
            .is_match(&log())
    };
    assert!(!whole("4821") && !log().contains("701234567"), "{}", log());
    // The command line shows each (event, target) with its state and attempts.
    let listed =
        crate::helpers::run(&config, &["--json", "events", "list", "--limit", "200"]).await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let deleted: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["kind"] == "booking.deleted")
        .collect();
    assert_eq!(deleted.len(), 1, "{rows:?}");
    assert_eq!(deleted[0]["state"], "delivered");
    assert_eq!(deleted[0]["target"], "pms");
    assert!(
        deleted[0]["attempts"].as_u64().unwrap() >= 2,
        "{:?}",
        deleted[0]
    );
    eprintln!("sample webhook body:\n{}", created.unwrap().2);
    eprintln!("sample push:\n{}", denied.2);
}

/// A calendar that suddenly loses most of its stays: its cancellations are held and told at
/// once; an operator's confirmation releases them, and that is told too. A feed that cannot
/// be read is not told before an hour has passed.
#[tokio::test]
async fn held_deletions_are_told_and_their_release_too() {
    use flexysync::notify::EventKind;
    use flexysync::reconcile::pass::PassOptions;

    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let feed = serve_feed(calendar(&[
        stay("a@f", 2, 2),
        stay("b@f", 5, 2),
        stay("c@f", 8, 2),
        stay("d@f", 11, 2),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[sync]\ndebounce_reads = 1\n\n[[sources]]\nname = \"cabin\"\nkind = \"ical\"\nurl = \"{}\"\n\
         booking_object_id = {}\ntimezone = \"Europe/Stockholm\"\n",
        feed.url,
        sandbox::OBJECT_CABIN
    );
    let parts =
        crate::helpers::PassParts::load(&sandbox_config(dir.path(), &sandbox, &extra)).await;
    let told = |kind: EventKind| {
        let ledger = parts.ledger.clone();
        async move {
            ledger
                .recent_events(&[kind], Utc::now() - Span::days(1), 10)
                .await
                .unwrap()
                .len()
        }
    };
    let detect =
        || flexysync::notify::produce::detect_and_record(&parts.ledger, &parts.config, Utc::now());
    parts.sync(&PassOptions::default()).await;
    assert_eq!(told(EventKind::BookingCreated).await, 4);

    *feed.text.lock().unwrap() = calendar(&[stay("a@f", 2, 2)]);
    let report = parts.sync(&PassOptions::default()).await;
    assert!(!report.plan.held.is_empty(), "the shrink was not held");
    detect().await.unwrap();
    assert_eq!(told(EventKind::DeletionsHeld).await, 1);
    detect().await.unwrap();
    assert_eq!(told(EventKind::DeletionsHeld).await, 1, "told twice");
    assert_eq!(told(EventKind::DeletionsReleased).await, 0);

    let confirm = PassOptions {
        confirm: vec!["cabin".to_owned()],
        ..PassOptions::default()
    };
    parts.sync(&confirm).await;
    detect().await.unwrap();
    assert_eq!(told(EventKind::DeletionsReleased).await, 1);
    assert_eq!(told(EventKind::BookingDeleted).await, 3);

    // Unreadable now: not told yet (an hour is the threshold), and nothing deleted.
    *feed.text.lock().unwrap() = "not a calendar".to_owned();
    parts.sync(&PassOptions::default()).await;
    detect().await.unwrap();
    assert_eq!(told(EventKind::SourceFailing).await, 0);
}
