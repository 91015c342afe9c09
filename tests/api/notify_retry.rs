//! `flexysync events retry`: with no daemon running it queues failed deliveries again in the
//! ledger itself; while the daemon runs it asks the daemon (the ledger's writer) through the
//! control channel, and the daemon delivers what it queued.

use std::time::Duration;

use chrono::Utc;
use flexysync::ledger::{DeliveryState, Ledger};
use flexysync::notify::{EventKind, NewEvent};
use flexysync::sandbox::SandboxOptions;

use crate::control::Daemon;
use crate::daemon::{eventually, free_port};
use crate::helpers::{code, run, sandbox_config, start_sandbox, stderr, stdout};
use crate::notify::{NOTIFY_SECRET, receiver};

/// Two events whose delivery to `pms` has failed for good; their ids in order.
async fn failed_deliveries(ledger_path: &std::path::Path) -> Vec<String> {
    let ledger = Ledger::open(ledger_path).await.unwrap();
    let now = Utc::now();
    let events = [
        NewEvent::new(EventKind::GuestDenied, "retry-test|1", now),
        NewEvent::new(EventKind::GuestNoShow, "retry-test|2", now),
    ];
    ledger.record_events(&events, now).await.unwrap();
    ledger
        .enqueue_deliveries("pms", &EventKind::ALL, chrono::Duration::hours(1), now)
        .await
        .unwrap();
    for event in &events {
        let refused = Err(("HTTP 410 from the receiver", None));
        ledger
            .record_attempt(&event.id(), "pms", refused, now)
            .await
            .unwrap();
    }
    ledger.close().await;
    let mut ids: Vec<String> = events.iter().map(NewEvent::id).collect();
    ids.sort();
    ids
}

async fn states(ledger_path: &std::path::Path) -> Vec<(String, DeliveryState)> {
    let ledger = Ledger::open(ledger_path).await.unwrap();
    let rows = ledger.list_deliveries(None, 10).await.unwrap();
    ledger.close().await;
    let mut states: Vec<_> = rows.into_iter().map(|d| (d.event.id, d.state)).collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_retry_writes_alone_and_asks_the_running_daemon_otherwise() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let (hook, hook_url) = receiver(false).await;
    hook.lock().unwrap().fail_next = 0;
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let extra = format!(
        "[archive]\nenabled = false\n\n[server]\nlisten = \"127.0.0.1:{public}\"\n\
         admin_listen = \"127.0.0.1:{admin}\"\n\n[[notify]]\nname = \"pms\"\nkind = \"webhook\"\n\
         url = \"{hook_url}\"\nsecret = \"{NOTIFY_SECRET}\"\n"
    );
    let config = sandbox_config(dir.path(), &sandbox, &extra);
    let ledger_path = flexysync::config::Config::load(&config)
        .unwrap()
        .ledger
        .path;
    let ids = failed_deliveries(&ledger_path).await;

    // No daemon: the command queues one event's failed delivery itself.
    let alone = run(&config, &["events", "retry", &ids[0]]).await;
    assert_eq!(code(&alone), 0, "{}", stderr(&alone));
    assert_eq!(stdout(&alone), "1 failed delivery queued again\n");
    assert!(!stderr(&alone).contains("asking the running daemon"));
    let after = states(&ledger_path).await;
    assert_eq!(
        after[0],
        (ids[0].clone(), DeliveryState::Pending),
        "{after:?}"
    );
    assert_eq!(after[1].1, DeliveryState::Failed, "{after:?}");
    // An event with nothing failed is a usage error, and changes nothing.
    let nothing = run(
        &config,
        &["events", "retry", "evt_000000000000000000000000"],
    )
    .await;
    assert_eq!(code(&nothing), 2, "{}", stderr(&nothing));
    assert!(stderr(&nothing).contains("no failed delivery to retry"));

    // The daemon runs: it is asked, queues the other one, and delivers both, each once.
    let daemon = Daemon::start(&config, public, admin).await;
    let asked = run(&config, &["--json", "events", "retry"]).await;
    assert_eq!(code(&asked), 0, "{}", stderr(&asked));
    assert!(
        stderr(&asked).contains("asking the running daemon"),
        "{}",
        stderr(&asked)
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout(&asked)).unwrap();
    assert_eq!(answer["requeued"], 1);
    assert!(
        eventually(Duration::from_secs(20), || hook
            .lock()
            .unwrap()
            .delivered
            .len()
            == 2)
        .await,
        "{}",
        daemon.log()
    );
    assert!(daemon.log().contains("retried on the control channel"));
    let again = run(&config, &["events", "retry", &ids[1]]).await;
    assert_eq!(
        code(&again),
        2,
        "nothing failed any more: {}",
        stderr(&again)
    );
    assert!(stderr(&again).contains("asking the running daemon"));
    daemon.stop().await;
    let delivered: Vec<String> = (hook.lock().unwrap().delivered.iter())
        .map(|(id, _, _)| id.clone())
        .collect();
    let mut sorted = delivered.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "each event once: {delivered:?}");
    assert!(
        states(&ledger_path)
            .await
            .iter()
            .all(|(_, state)| *state == DeliveryState::Delivered)
    );
}
