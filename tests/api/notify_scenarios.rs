//! The event kinds the daemon's end-to-end test (`notify.rs`) does not cause, each caused by a
//! real scenario in the daemon's own code (`App`): a create FlexyKey refuses (`booking.failed`,
//! `arrival.unconfirmed`), a guest who never opens the door (`guest.no_show`), a calendar that
//! shrinks and is confirmed (`deletions.held` / `deletions.released`), a calendar unreadable for
//! two hours on the app's clock (`source.failing`) and readable again (`source.recovered`). Each
//! is delivered exactly once to a signed webhook, an ntfy-like receiver and a mailbox, all three
//! failing their first attempts.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use flexysync::clock::Clock;
use flexysync::daemon::app::App;
use flexysync::reconcile::feeds::code_secret;
use flexysync::reconcile::pass::PassOptions;
use flexysync::sandbox::{self, SandboxOptions};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::daemon::{Feed, calendar, eventually, serve_feed, stay};
use crate::helpers::{PassParts, sandbox_config, start_sandbox};
use crate::notify::{NOTIFY_SECRET, receiver};
use crate::notify_mail::{mails_per_message, smtp_server};

/// A stay at exact UTC times, as a channel that sends times rather than dates writes it.
pub(crate) fn timed_stay(uid: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let time = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n\
         SUMMARY:Guest {uid}\r\nEND:VEVENT\r\n",
        time(start),
        time(end)
    )
}

const SCENARIO_KINDS: [&str; 9] = [
    "booking.created",
    "booking.deleted",
    "booking.failed",
    "arrival.unconfirmed",
    "guest.no_show",
    "deletions.held",
    "deletions.released",
    "source.failing",
    "source.recovered",
];

/// The world of the scenarios: a sandbox that refuses creates on the laundry and whose main
/// unit logs nothing by itself, and three calendars.
pub(crate) struct Scenario {
    pub(crate) sandbox: flexysync::sandbox::Sandbox,
    /// A stay in six hours that FlexyKey refuses.
    pub(crate) laundry: Feed,
    /// A guest who arrived eight hours ago and has not opened the door.
    pub(crate) cabin: Feed,
    pub(crate) cabin_stay: String,
    /// Four stays, to lose three of them at once later.
    pub(crate) sauna: Feed,
}

impl Scenario {
    pub(crate) async fn start(now: DateTime<Utc>) -> Scenario {
        let sandbox = start_sandbox(SandboxOptions {
            refuse_creates_on: vec![sandbox::OBJECT_LAUNDRY],
            ..SandboxOptions::default()
        })
        .await;
        sandbox.set_logs_per_day(sandbox::UNIT_MAIN, 0).unwrap();
        let laundry = serve_feed(calendar(&[timed_stay(
            "l@f",
            now + Span::hours(6),
            now + Span::hours(30),
        )]))
        .await;
        let cabin_stay = timed_stay("c@f", now - Span::hours(8), now + Span::hours(40));
        let cabin = serve_feed(calendar(std::slice::from_ref(&cabin_stay))).await;
        let sauna = serve_feed(calendar(&[
            stay("a@s", 2, 1),
            stay("b@s", 5, 1),
            stay("c@s", 8, 1),
            stay("d@s", 11, 1),
        ]))
        .await;
        Scenario {
            sandbox,
            laundry,
            cabin,
            cabin_stay,
            sauna,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_remaining_kind_comes_from_a_real_scenario_and_reaches_each_target_once() {
    let now = Utc::now();
    let Scenario {
        sandbox,
        laundry,
        cabin,
        cabin_stay,
        sauna,
    } = Scenario::start(now).await;
    let (hook, hook_url) = receiver(false).await;
    let (phone, ntfy_url) = receiver(true).await;
    let (mailbox, smtp_port) = smtp_server(vec![451, 451]).await;
    let dir = tempfile::tempdir().unwrap();
    let source = |name: &str, url: &str, object: i64, zone: &str| {
        format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"ical\"\nurl = \"{url}\"\n\
             booking_object_id = {object}\n{zone}\n"
        )
    };
    let extra = format!(
        "[sync]\ndebounce_reads = 1\n\n{}{}{}\
         [archive]\nunits = [{unit}]\n\n\
         [[notify]]\nname = \"pms\"\nkind = \"webhook\"\nurl = \"{hook_url}\"\n\
         secret = \"{NOTIFY_SECRET}\"\n\n\
         [[notify]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = \"{ntfy_url}\"\n\
         events = [\"booking.failed\", \"arrival.unconfirmed\", \"guest.no_show\", \"source.failing\"]\n\n\
         [[notify]]\nname = \"host-mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\n\
         smtp_port = {smtp_port}\ntls = \"none\"\nfrom = \"flexysync@example.com\"\n\
         to = [\"host@example.com\"]\n",
        // The laundry's zone comes from its unit; the others' from the config.
        source("laundry", &laundry.url, sandbox::OBJECT_LAUNDRY, ""),
        source(
            "cabin",
            &cabin.url,
            sandbox::OBJECT_CABIN,
            "timezone = \"Europe/Stockholm\""
        ),
        source(
            "sauna",
            &sauna.url,
            sandbox::OBJECT_SAUNA,
            "timezone = \"Europe/Stockholm\""
        ),
        unit = sandbox::UNIT_MAIN,
    );
    let parts = PassParts::load(&sandbox_config(dir.path(), &sandbox, &extra)).await;
    let secret = code_secret(&parts.config, &parts.ledger).await.unwrap();
    let targets = parts.config.notify.clone();
    let clock = Clock::system();
    let app = Arc::new(
        App::new(
            parts.config,
            parts.ledger.clone(),
            parts.client,
            parts.http.clone(),
            secret,
            CancellationToken::new(),
        )
        .with_clock(clock.clone()),
    );
    let (stop, tracker) = (CancellationToken::new(), TaskTracker::new());
    flexysync::notify::deliver::start_queues(&targets, &parts.ledger, &parts.http, &stop, &tracker);

    // A sync: the cabin and the sauna booked, the laundry refused (told once, however often
    // it is tried) and its arrival in six hours without door access.
    app.pass(None).await.unwrap();
    app.pass(None).await.unwrap();
    assert_eq!(sandbox.bookings_of(sandbox::OBJECT_SAUNA).len(), 4);
    assert!(sandbox.bookings_of(sandbox::OBJECT_LAUNDRY).is_empty());
    // The archive knows the log up to now: the cabin's guest is a no-show.
    app.archive().await;

    // The sauna's calendar loses three stays at once: held; the operator confirms: released.
    *sauna.text.lock().unwrap() = calendar(&[stay("a@s", 2, 1)]);
    let report = app.pass(None).await.unwrap();
    assert!(!report.plan.held.is_empty(), "the shrink was not held");
    let confirm = PassOptions {
        confirm: vec!["sauna".to_owned()],
        ..PassOptions::default()
    };
    app.pass_with(confirm).await.unwrap();
    assert_eq!(sandbox.bookings_of(sandbox::OBJECT_SAUNA).len(), 1);

    // The cabin's calendar breaks; two hours later (on the app's clock) it is told, then it
    // is readable again and that is told too. Its booking stays throughout.
    *cabin.text.lock().unwrap() = "not a calendar".to_owned();
    app.pass(None).await.unwrap();
    clock.advance(Span::hours(2));
    app.pass(None).await.unwrap();
    assert_eq!(sandbox.bookings_of(sandbox::OBJECT_CABIN).len(), 1);
    *cabin.text.lock().unwrap() = calendar(&[cabin_stay]);
    app.pass(None).await.unwrap();

    let wait = Duration::from_secs(60);
    let all_there = eventually(wait, || {
        let inbox = hook.lock().unwrap();
        SCENARIO_KINDS.iter().all(|kind| inbox.count(kind) > 0)
    })
    .await;
    let kinds: BTreeSet<String> = (hook.lock().unwrap().delivered.iter())
        .map(|(_, kind, _)| kind.clone())
        .collect();
    assert!(all_there, "not every kind reached the webhook: {kinds:?}");
    let told = parts.ledger.list_deliveries(None, 1000).await.unwrap();
    let events: BTreeSet<&str> = told.iter().map(|d| d.event.id.as_str()).collect();
    assert!(
        eventually(wait, || mailbox.lock().unwrap().mails.len() == events.len()).await,
        "mails: {} of {} events",
        mailbox.lock().unwrap().mails.len(),
        events.len()
    );
    let phone_kinds = ["booking.failed", "arrival.unconfirmed", "guest.no_show"];
    assert!(
        eventually(wait, || {
            let inbox = phone.lock().unwrap();
            phone_kinds.iter().all(|kind| inbox.count(kind) == 1)
                && inbox.count("source.failing") == 1
        })
        .await
    );
    // Let any duplicate arrive, then count.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    tracker.close();
    tracker.wait().await;

    // The checks hold the receiver's lock; the ledger is closed after them.
    {
        let hook = hook.lock().unwrap();
        for kind in ["booking.failed", "arrival.unconfirmed", "guest.no_show"] {
            assert_eq!(hook.count(kind), 1, "{kind}: {kinds:?}");
        }
        for (name, inbox) in [("pms", &*hook), ("phone", &*phone.lock().unwrap())] {
            assert!(inbox.refused >= 2, "{name}: the first attempts not refused");
            assert_eq!(inbox.bad_signatures, 0, "{name}");
            for (id, count) in inbox.per_id() {
                assert_eq!(count, 1, "{name}: event {id} delivered {count} times");
            }
            // The phone takes only what it asked for.
            if name == "phone" {
                let pushed: BTreeSet<&str> =
                    inbox.delivered.iter().map(|(_, k, _)| k.as_str()).collect();
                assert_eq!(
                    pushed,
                    BTreeSet::from([
                        "arrival.unconfirmed",
                        "booking.failed",
                        "guest.no_show",
                        "source.failing"
                    ])
                );
            }
        }
        let mails = mailbox.lock().unwrap().mails.clone();
        let per_message = mails_per_message(&mails);
        assert!(
            per_message.values().all(|count| *count == 1),
            "{per_message:?}"
        );
        assert_eq!(per_message.len(), events.len());

        // Booking events name the object and give local times with their offset beside UTC: the
        // cabin's from its source's zone, the laundry's from its unit's.
        let body = |kind: &str, object: &str| -> serde_json::Value {
            let (_, _, text) = hook
                .delivered
                .iter()
                .find(|(_, k, text)| k == kind && text.contains(object))
                .unwrap_or_else(|| panic!("no {kind} about {object}"));
            serde_json::from_str(text.split_once('\n').unwrap().1).unwrap()
        };
        let created = body("booking.created", "Cabin 7");
        assert_eq!(created["data"]["booking_object"]["name"], "Cabin 7");
        assert_eq!(
            created["data"]["booking_object"]["timezone"],
            "Europe/Stockholm"
        );
        let local = created["data"]["start_local"].as_str().unwrap();
        assert!(
            local.ends_with("+01:00") || local.ends_with("+02:00"),
            "{created}"
        );
        let failed = body("booking.failed", "Laundry room A");
        assert!(failed["data"]["start_local"].is_string(), "{failed}");
        assert!(
            failed["data"]["detail"]
                .as_str()
                .unwrap()
                .contains("does not accept"),
            "{failed}"
        );
        let mail = mails
            .iter()
            .find(|m| m.contains("booking.failed"))
            .expect("a mail about the refused create");
        assert!(mail.contains("Where:   Laundry room A"), "{mail}");
        eprintln!("sample webhook body:\n{created:#}\nsample mail:\n{mail}");
    }
    parts.ledger.close().await;
}

/// Names come from one read of FlexyKey's object list, shared with the zone lookup, and are
/// kept: later passes do not read it again, not even for an object it does not list.
#[tokio::test]
async fn object_names_are_read_once_and_kept() {
    use flexysync::sandbox::OBJECT_OTHER;
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let now = Utc::now();
    let feed = serve_feed(calendar(&[timed_stay(
        "n@f",
        now + Span::days(2),
        now + Span::days(3),
    )]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let source = |name: &str, object: i64, zone: &str| {
        format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"ical\"\nurl = \"{}\"\n\
             booking_object_id = {object}\n{zone}\n",
            feed.url
        )
    };
    let extra = [
        // Its zone is the unit's: looked up in the same list.
        source("laundry", sandbox::OBJECT_LAUNDRY, ""),
        source(
            "cabin",
            sandbox::OBJECT_CABIN,
            "timezone = \"Europe/Stockholm\"",
        ),
        // Another company's object: not in this account's list.
        source("foreign", OBJECT_OTHER, "timezone = \"Europe/Stockholm\""),
    ]
    .concat();
    let parts = PassParts::load(&sandbox_config(dir.path(), &sandbox, &extra)).await;
    let lists = || {
        (sandbox.journal().iter())
            .filter(|call| call.method == "GET" && call.path.ends_with("/bookingobjects"))
            .count()
    };
    parts.sync(&PassOptions::default()).await;
    assert_eq!(lists(), 1, "names and zones share one read of the list");
    for _ in 0..2 {
        parts.sync(&PassOptions::default()).await;
    }
    assert_eq!(lists(), 1, "the list is read again on a later pass");
    let names: HashMap<i64, Option<String>> = (parts.ledger.object_names().await.unwrap())
        .into_iter()
        .map(|kept| (kept.booking_object_id, kept.name))
        .collect();
    assert_eq!(names[&sandbox::OBJECT_CABIN].as_deref(), Some("Cabin 7"));
    assert_eq!(
        names[&sandbox::OBJECT_LAUNDRY].as_deref(),
        Some("Laundry room A")
    );
    assert_eq!(names[&OBJECT_OTHER], None);
    parts.ledger.close().await;
}
