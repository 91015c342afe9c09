//! Every kind of event, each caused by a real scenario in the real binary, written to the
//! outbox while all three receivers (a signed webhook, an ntfy-like push, a mailbox) refuse
//! it; the daemon is SIGKILLed before any is delivered, started again, and each event reaches
//! each target exactly once.
//!
//! The one kind that needs time to pass, `source.failing` (over an hour), comes from a ledger
//! left by an earlier run: the feed was last read whole two hours ago. No clock is faked.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{Duration as Span, Utc};
use flexysync::ledger::Ledger;
use flexysync::model::{ReadStatus, SourceReadRecord};
use flexysync::sandbox;

use crate::control::Daemon;
use crate::daemon::{calendar, eventually, free_port, serve_feed, stay};
use crate::helpers::{code, run, sandbox_config, stderr};
use crate::notify::{
    HOOK_SECRET, Inbox, NOTIFY_SECRET, direct_booking, post_hook, receiver, refused_then_let_in,
};
use crate::notify_mail::{mails_per_message, smtp_server};
use crate::notify_scenarios::Scenario;

/// The kinds the phone asked for.
const PHONE_KINDS: [&str; 6] = [
    "booking.failed",
    "arrival.unconfirmed",
    "guest.no_show",
    "guest.denied",
    "source.failing",
    "deletions.held",
];

/// The ledger of an earlier run: `source` was last read whole at `at`.
async fn read_whole_at(ledger_path: &std::path::Path, source: &str, at: chrono::DateTime<Utc>) {
    let ledger = Ledger::open(ledger_path).await.unwrap();
    let record = SourceReadRecord {
        source: source.to_owned(),
        last_attempt_at: at,
        last_outcome: ReadStatus::Fresh,
        last_reason: None,
        last_success_at: Some(at),
        last_fresh_at: Some(at),
        content_fingerprint: None,
        consecutive_failures: 0,
        fetch_memo: None,
        hold: None,
        growth_hold: None,
    };
    ledger.store_read(&record, Some(&[])).await.unwrap();
    ledger.close().await;
}

fn refused_kinds(inbox: &Inbox) -> BTreeSet<String> {
    inbox.refused_events.values().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_written_before_a_sigkill_reaches_each_target_once_after_the_restart() {
    let now = Utc::now();
    // Laundry: refused (failed, and an arrival unconfirmed); cabin: a no-show, and a direct
    // booking on the same cabin overlaps it (a double booking); sauna: four stays, three of
    // them cancelled at once later (held, then confirmed).
    let Scenario {
        sandbox,
        laundry,
        cabin,
        sauna,
        ..
    } = Scenario::start(now).await;
    // Mirror: unreadable since its last whole read two hours ago, readable again later.
    let mirror = serve_feed("not a calendar".to_owned()).await;
    let (hook, hook_url) = receiver(false).await;
    let (phone, ntfy_url) = receiver(true).await;
    hook.lock().unwrap().down = true;
    phone.lock().unwrap().down = true;
    let (mailbox, smtp_port) = smtp_server(vec![451; 10_000]).await;
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let source = |name: &str, url: &str, object: i64| {
        format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"ical\"\nurl = \"{url}\"\n\
             booking_object_id = {object}\ntimezone = \"Europe/Stockholm\"\n\
             schedule = \"*/2 * * * * *\"\n\n"
        )
    };
    let phone_kinds = PHONE_KINDS.map(|k| format!("\"{k}\"")).join(", ");
    let extra = format!(
        "[sync]\ndebounce_reads = 1\n\n{}{}{}{}\
         [[sources]]\nname = \"direct\"\nkind = \"webhook\"\nsecret = \"{HOOK_SECRET}\"\n\
         objects = {{ \"cabin\" = {cabin_id} }}\ntimezone = \"Europe/Stockholm\"\n\n\
         [archive]\nunits = [{unit}]\nschedule = \"*/2 * * * * *\"\n\n\
         [server]\nlisten = \"127.0.0.1:{public}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\n\
         [[notify]]\nname = \"pms\"\nkind = \"webhook\"\nurl = \"{hook_url}\"\n\
         secret = \"{NOTIFY_SECRET}\"\n\n\
         [[notify]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"{ntfy_url}\"\n\
         events = [{phone_kinds}]\n\n\
         [[notify]]\nname = \"host-mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\n\
         smtp_port = {smtp_port}\ntls = \"none\"\nfrom = \"flexysync@example.com\"\n\
         to = [\"host@example.com\"]\n",
        source("laundry", &laundry.url, sandbox::OBJECT_LAUNDRY),
        source("cabin", &cabin.url, sandbox::OBJECT_CABIN),
        source("sauna", &sauna.url, sandbox::OBJECT_SAUNA),
        source("mirror", &mirror.url, sandbox::OBJECT_SAUNA),
        cabin_id = sandbox::OBJECT_CABIN,
        unit = sandbox::UNIT_MAIN,
    );
    let config = sandbox_config(dir.path(), &sandbox, &extra);
    let ledger_path = flexysync::config::Config::load(&config)
        .unwrap()
        .ledger
        .path;
    read_whole_at(&ledger_path, "mirror", now - Span::hours(2)).await;

    let started = std::time::Instant::now();
    let daemon = Daemon::start(&config, public, admin).await;
    let wait = Duration::from_secs(30);
    // The guest of the direct booking is refused at the door, then let in.
    let (status, answer) = post_hook(
        &daemon.public,
        &direct_booking("d1", now - Span::hours(1), now + Span::days(1)),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    refused_then_let_in(&sandbox);
    let refused = |kind: &str| {
        hook.lock()
            .unwrap()
            .refused_events
            .values()
            .any(|k| k == kind)
    };
    assert!(
        eventually(wait, || sandbox.bookings_of(sandbox::OBJECT_SAUNA).len()
            == 4
            && sandbox.bookings_of(sandbox::OBJECT_CABIN).len() == 2)
        .await,
        "{}",
        daemon.log()
    );
    // The mirror's outage is told, then it reads again.
    assert!(
        eventually(wait, || refused("source.failing")).await,
        "{}",
        daemon.log()
    );
    *mirror.text.lock().unwrap() = calendar(&[]);
    // The sauna's calendar loses three stays at once: held; the operator confirms: released.
    *sauna.text.lock().unwrap() = calendar(&[stay("a@s", 2, 1)]);
    assert!(
        eventually(wait, || refused("deletions.held")).await,
        "{}",
        daemon.log()
    );
    let confirmed = run(&config, &["sync", "--confirm", "sauna"]).await;
    // Exit 1: the laundry's refused create leaves the pass unconverged.
    assert_eq!(code(&confirmed), 1, "{}", stderr(&confirmed));
    assert!(
        stderr(&confirmed).contains("not converged: 1 failed"),
        "{}",
        stderr(&confirmed)
    );
    assert_eq!(sandbox.bookings_of(sandbox::OBJECT_SAUNA).len(), 1);

    let every_kind: BTreeSet<String> = flexysync::notify::EventKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    let phone_wants: BTreeSet<String> = PHONE_KINDS.iter().map(|k| (*k).to_owned()).collect();
    assert!(
        eventually(wait, || refused_kinds(&hook.lock().unwrap()) == every_kind
            && refused_kinds(&phone.lock().unwrap()) == phone_wants
            && hook.lock().unwrap().refused_events.len() >= 15)
        .await,
        "not every kind written and tried: {:?} {}",
        refused_kinds(&hook.lock().unwrap()),
        daemon.log()
    );
    // Between write and delivery: nothing delivered anywhere yet.
    let first_log = daemon.kill().await;
    for inbox in [&hook, &phone] {
        let mut inbox = inbox.lock().unwrap();
        assert!(inbox.delivered.is_empty(), "delivered before the kill");
        inbox.down = false;
    }
    {
        let mut mailbox = mailbox.lock().unwrap();
        assert!(mailbox.mails.is_empty(), "mailed before the kill");
        mailbox.answers.clear();
    }
    let written: HashMap<String, HashMap<String, String>> = [("pms", &hook), ("phone", &phone)]
        .into_iter()
        .map(|(name, inbox)| {
            (
                name.to_owned(),
                inbox.lock().unwrap().refused_events.clone(),
            )
        })
        .collect();

    let daemon = Daemon::start(&config, public, admin).await;
    // Retries back off (5 s, 10 s, 20 s…): on a busy machine the first events may be at their
    // third attempt by the kill.
    let wait = Duration::from_secs(60);
    let all_delivered = |name: &str, inbox: &crate::notify::Shared| {
        let delivered = inbox.lock().unwrap().per_id();
        written[name].keys().all(|id| delivered.contains_key(id))
    };
    assert!(
        eventually(wait, || all_delivered("pms", &hook)
            && all_delivered("phone", &phone)
            && mailbox.lock().unwrap().mails.len()
                >= hook.lock().unwrap().delivered.len())
        .await,
        "not delivered after the restart: {first_log}\n{}",
        daemon.log()
    );
    // Give any duplicate a chance to arrive, then count.
    tokio::time::sleep(Duration::from_secs(3)).await;
    daemon.stop().await;
    eprintln!(
        "written, killed, restarted, delivered in {:?}",
        started.elapsed()
    );

    for (name, inbox) in [("pms", &hook), ("phone", &phone)] {
        let inbox = inbox.lock().unwrap();
        assert_eq!(inbox.bad_signatures, 0, "{name}");
        for (id, count) in inbox.per_id() {
            assert_eq!(count, 1, "{name}: event {id} delivered {count} times");
        }
        // Facts told once, whatever the restart's passes found again.
        for kind in [
            "booking.failed",
            "guest.no_show",
            "deletions.held",
            "source.failing",
        ] {
            if name == "pms" || PHONE_KINDS.contains(&kind) {
                assert_eq!(inbox.count(kind), 1, "{name}: {kind}");
            }
        }
    }
    assert_eq!(hook.lock().unwrap().count("booking.deleted"), 3);
    let per_message = mails_per_message(&mailbox.lock().unwrap().mails);
    assert!(
        per_message.values().all(|count| *count == 1),
        "{per_message:?}"
    );
    assert_eq!(per_message.len(), hook.lock().unwrap().delivered.len());
}
