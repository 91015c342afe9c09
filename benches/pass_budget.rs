//! The API budget of a large account, measured (a measurement run, not a criterion benchmark:
//! it prints figures, it times nothing in a loop). A sandbox account of 1,000 booking objects,
//! 1,000 iCal feeds on `*/10` and the archive on `*/15`, driven by the daemon's own jobs
//! (`App::pass` per source, `App::archive`, the hourly full pass) at 2 requests per second:
//!
//! 1. load: every feed's stay is booked at a high rate (not measured);
//! 2. steady state: FlexyKey calls per minute over the window (target: at most 36/min, 30 % of
//!    the 120/min budget), by endpoint;
//! 3. while a 5,000-window archive backfill runs on the same client: one feed changes (or
//!    several, one per tick), and the time from the change to its create call is measured
//!    (target: one schedule tick + 5 s);
//! 4. a webhook cancellation arriving while a feed tick's pass makes its drift lists: the time
//!    from its trigger to the DELETE, and the drift lists sent meanwhile (the drift round gives
//!    way to a waiting pass: at most one or two).
//!
//! Run: `cargo bench --bench pass_budget` (10-minute windows). Environment:
//! `FLEXYSYNC_BENCH_MINUTES` (window length, default 10; e.g. 2 for a quick look),
//! `FLEXYSYNC_BENCH_OBJECTS` (default 1000), `FLEXYSYNC_BENCH_BACKFILL` (windows, default 5000),
//! `FLEXYSYNC_BENCH_FEED_CRON` / `FLEXYSYNC_BENCH_ARCHIVE_CRON` (default `*/10 * * * *` and
//! `*/15 * * * *`; a quick look can use `* * * * *` to see schedule ticks in a short window),
//! `FLEXYSYNC_BENCH_SAMPLES` (feed changes measured one after another, default 1; each waits
//! for its tick).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use chrono::{DateTime, Duration as Span, Timelike, Utc};
use flexysync::config::{Config, UnitSelection, parse_schedule};
use flexysync::daemon::app::App;
use flexysync::daemon::run::spawn_schedules;
use flexysync::flexykey::Client;
use flexysync::ledger::Ledger;
use flexysync::ledger::webhooks::{BookingStatus, WebhookBooking, WebhookDelivery};
use flexysync::reconcile::feeds::{code_secret, feed_http_client, sync_once};
use flexysync::reconcile::pass::PassOptions;
use flexysync::sandbox::{
    COMPANY_A, JournalEntry, ObjectSpec, Sandbox, SandboxOptions, UNIT_MAIN, World,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const FIRST_OBJECT: i64 = 20_000;
/// The webhook source `hook`'s one object (resource `room-h`), beside the feeds'.
const HOOK_OBJECT: i64 = 19_999;
const HOOK: &str = "hook";

struct Settings {
    minutes: u64,
    objects: usize,
    backfill_windows: i64,
    feed_cron: String,
    archive_cron: String,
    samples: usize,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            minutes: env_or("FLEXYSYNC_BENCH_MINUTES", 10u64).max(1),
            objects: env_or("FLEXYSYNC_BENCH_OBJECTS", 1000usize).max(1),
            backfill_windows: env_or("FLEXYSYNC_BENCH_BACKFILL", 5000i64).max(1),
            feed_cron: env_or("FLEXYSYNC_BENCH_FEED_CRON", "*/10 * * * *".to_owned()),
            archive_cron: env_or("FLEXYSYNC_BENCH_ARCHIVE_CRON", "*/15 * * * *".to_owned()),
            samples: env_or("FLEXYSYNC_BENCH_SAMPLES", 1usize).max(1),
        }
    }
}

type Feeds = Arc<RwLock<Vec<String>>>;

/// One stay per feed, starting `index` hours after tomorrow 00:00 UTC (`shift` hours later).
fn calendar(index: usize, shift: i64) -> String {
    let tomorrow = (Utc::now() + Span::days(1))
        .with_hour(0)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    let start = tomorrow + Span::hours(index as i64 % 2000 + shift);
    let t = |time: DateTime<Utc>| time.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n\
         UID:stay-{index}@bench\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n\
         SUMMARY:Guest {index}\r\nDESCRIPTION:Phone: +467012{index:05}\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n",
        t(start),
        t(start + Span::hours(20))
    )
}

async fn feed(State(feeds): State<Feeds>, UrlPath(name): UrlPath<String>) -> String {
    let index: usize = name.trim_end_matches(".ics").parse().unwrap_or(0);
    feeds
        .read()
        .unwrap()
        .get(index)
        .cloned()
        .unwrap_or_default()
}

async fn serve_feeds(feeds: Feeds) -> String {
    let app = Router::new()
        .route("/feed/{name}", get(feed))
        .with_state(feeds);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/feed")
}

fn write_config(dir: &Path, sandbox: &Sandbox, feeds: &str, s: &Settings, rps: f64) -> Config {
    let mut text = format!(
        "[flexykey]\nbase_url = \"{}\"\nusername = \"api-user\"\npassword = \"sandbox-password\"\n\
         requests_per_second = {rps:.1}\nburst = 5\ntimeout_seconds = 30\n\n\
         [ledger]\npath = {:?}\n\n[sync]\n\n\
         [archive]\nenabled = true\nschedule = \"{}\"\nstart = \"{}\"\n\n",
        sandbox.base_url(),
        dir.join("ledger.db").display().to_string(),
        s.archive_cron,
        Utc::now().date_naive(),
    );
    text.push_str(&format!(
        "[[sources]]\nname = \"{HOOK}\"\nkind = \"webhook\"\n\
         secret = \"bench-secret-for-the-hook\"\nobjects = {{ \"room-h\" = {HOOK_OBJECT} }}\n\n"
    ));
    for i in 0..s.objects {
        text.push_str(&format!(
            "[[sources]]\nname = \"feed-{i}\"\nkind = \"ical\"\nurl = \"{feeds}/{i}.ics\"\n\
             booking_object_id = {}\ntimezone = \"Europe/Stockholm\"\nschedule = \"{}\"\n\
             code = \"none\"\n\n",
            FIRST_OBJECT + i as i64,
            s.feed_cron
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

/// `endpoint → calls` for the journal entries in `[from, to)`.
fn calls_between(
    journal: &[JournalEntry],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in journal.iter().filter(|e| e.at >= from && e.at < to) {
        let kind = entry.path.trim_start_matches("/v1/");
        let kind = kind.split('/').next().unwrap_or(kind);
        let key = format!("{} {kind}", entry.method);
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

fn report_calls(title: &str, counts: &BTreeMap<String, usize>, minutes: f64) {
    let total: usize = counts.values().sum();
    println!(
        "{title}: {total} FlexyKey calls in {minutes:.1} min = {:.1} calls/min (target ≤ 36/min)",
        total as f64 / minutes
    );
    for (endpoint, count) in counts {
        println!(
            "    {endpoint:<22} {count:>6}  {:.1}/min",
            *count as f64 / minutes
        );
    }
}

async fn run(s: Settings) {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::seed();
    for i in 0..s.objects {
        let id = FIRST_OBJECT + i as i64;
        world = world.with_object(ObjectSpec::new(
            id,
            COMPANY_A,
            &format!("Cabin {i}"),
            &[UNIT_MAIN],
        ));
    }
    world = world.with_object(ObjectSpec::new(
        HOOK_OBJECT,
        COMPANY_A,
        "Laundry",
        &[UNIT_MAIN],
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = SandboxOptions {
        world,
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start(listener, options).await.unwrap();
    let feeds: Feeds = Arc::new(RwLock::new(
        (0..s.objects).map(|i| calendar(i, 0)).collect(),
    ));
    let feed_url = serve_feeds(feeds.clone()).await;

    // 1. Load the account at a high rate.
    let loading = Instant::now();
    let config = write_config(dir.path(), &sandbox, &feed_url, &s, 400.0);
    let ledger = Ledger::open_exclusive(&config.ledger.path).await.unwrap();
    let client = Client::new(&config.flexykey).unwrap();
    let http = feed_http_client().unwrap();
    deliver_hook(&ledger, "booking.upserted", BookingStatus::Confirmed).await;
    let loaded = sync_once(&config, &ledger, &client, &http, &PassOptions::default())
        .await
        .unwrap();
    println!(
        "load: {} objects, {} bookings created in {:.1} s (400 rps)",
        s.objects,
        loaded.applied.created,
        loading.elapsed().as_secs_f64()
    );

    // 2. The daemon's jobs at 2 rps: steady state.
    let config = write_config(dir.path(), &sandbox, &feed_url, &s, 2.0);
    let client = Client::new(&config.flexykey).unwrap();
    let secret = code_secret(&config, &ledger).await.unwrap();
    let stop = CancellationToken::new();
    let app = Arc::new(App::new(
        config,
        ledger.clone(),
        client,
        http,
        secret,
        stop.clone(),
    ));
    sandbox.clear_journal();
    let window = Duration::from_secs(s.minutes * 60);
    let started = Utc::now();
    // The daemon's schedule loops, as `flexysync run` starts them (without its first full
    // pass: the load phase just made one).
    spawn_schedules(&app, &stop, &TaskTracker::new());
    tokio::time::sleep(window).await;
    let ended = Utc::now();
    let minutes = window.as_secs_f64() / 60.0;
    report_calls(
        "steady state",
        &calls_between(&sandbox.journal(), started, ended),
        minutes,
    );

    // 3. A backfill on the same client, and one feed change.
    let backfill = {
        let (client, ledger) = (app.client(), ledger.clone());
        let now = Utc::now();
        let from = now - Span::days(s.backfill_windows);
        tokio::spawn(async move {
            let selection = UnitSelection::Listed(vec![UNIT_MAIN]);
            flexysync::archive::backfill(&client, &ledger, &selection, from, now, now, &()).await
        })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut latencies = vec![];
    for sample in 0..s.samples {
        // A different feed each time, after the previous sample's create.
        let changed = (s.objects / 2 + sample * 37) % s.objects;
        if let Some(after_tick) = feed_change(&s, &sandbox, &feeds, changed).await {
            latencies.push(after_tick);
        }
    }
    if !latencies.is_empty() {
        let most = latencies.iter().copied().fold(f64::MIN, f64::max);
        let text: Vec<String> = latencies.iter().map(|l| format!("{l:.1}")).collect();
        println!(
            "feed change → create after the tick, {} samples: [{}] s; worst {most:.1} s (target ≤ 5 s)",
            latencies.len(),
            text.join(", ")
        );
    }
    // 4. A webhook cancellation during a drift round.
    cancellation_during_drift(&s, &app, &sandbox).await;
    stop.cancel();
    backfill.abort();
    sandbox.shutdown().await;
}

/// Changes feed `changed` and waits for its create call; prints the latency and returns it
/// counted from the schedule tick that read the change.
async fn feed_change(
    s: &Settings,
    sandbox: &Sandbox,
    feeds: &Feeds,
    changed: usize,
) -> Option<f64> {
    feeds.write().unwrap()[changed] = calendar(changed, 3);
    let change_at = Utc::now();
    let tick = parse_schedule(&s.feed_cron)
        .ok()
        .and_then(|cron| flexysync::daemon::scheduler::next_fire(&cron, change_at));
    let deadline = Instant::now() + Duration::from_secs(s.minutes * 60);
    let created_at = loop {
        // Nothing else changes: the first create after the change is the changed stay's.
        let journal = sandbox.journal();
        let post = journal
            .iter()
            .find(|e| e.method == "POST" && e.at >= change_at && e.path == "/v1/bookings");
        if let Some(post) = post {
            break Some(post.at);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let during = calls_between(&sandbox.journal(), change_at, Utc::now());
    let archive_calls = during.get("GET unitlogs").copied().unwrap_or(0);
    let seconds = |span: Span| span.num_milliseconds() as f64 / 1000.0;
    match (created_at, tick) {
        (Some(at), Some(tick)) if at >= tick => {
            println!(
                "feed change → create call: {:.1} s after the change, {:.1} s after the next \
                 schedule tick (target: one tick + 5 s); {archive_calls} backfill calls meanwhile",
                seconds(at - change_at),
                seconds(at - tick)
            );
            Some(seconds(at - tick))
        }
        (Some(at), _) => {
            println!(
                "feed change → create call: {:.1} s after the change, before the feed's next \
                 tick (read by another pass: the hourly full pass at minute 17, or one still \
                 queued from the previous tick); {archive_calls} backfill calls meanwhile",
                seconds(at - change_at)
            );
            None
        }
        (None, _) => {
            println!(
                "feed change → create call: none within {} min ({archive_calls} backfill calls \
                 meanwhile)",
                s.minutes
            );
            None
        }
    }
}

/// Records a delivery for the webhook source's one booking, as the endpoint would.
async fn deliver_hook(ledger: &Ledger, event_type: &str, status: BookingStatus) {
    let now = Utc::now();
    let start = (now + Span::days(1)).with_nanosecond(0).unwrap();
    let booking = WebhookBooking {
        booking_id: "laundry-1".into(),
        status,
        resource: Some("room-h".into()),
        start: Some(start),
        end: Some(start + Span::hours(2)),
        name: Some("Laundry slot".into()),
        phones: vec![],
        code: Some("4821".into()),
        rfid: None,
    };
    let event_id = format!("{event_type}-{}", now.timestamp_millis());
    let delivery = WebhookDelivery {
        source: HOOK,
        event_id: &event_id,
        event_type,
        occurred_at: now,
        received_at: now,
        raw_json: "{}",
        booking: &booking,
    };
    ledger.record_webhook_delivery(&delivery).await.unwrap();
}

/// Waits for a feed tick's drift lists to start, then cancels the webhook booking and starts
/// its pass as the daemon's trigger does; prints how long the DELETE took and how many drift
/// lists went out meanwhile.
async fn cancellation_during_drift(s: &Settings, app: &Arc<App>, sandbox: &Sandbox) {
    let tick = parse_schedule(&s.feed_cron)
        .ok()
        .and_then(|cron| flexysync::daemon::scheduler::next_fire(&cron, Utc::now()));
    let Some(tick) = tick else { return };
    let lists_since = |from: DateTime<Utc>| {
        let journal = sandbox.journal();
        let lists = journal.iter().filter(|e| e.at >= from && is_list(e));
        lists.count()
    };
    let deadline = Instant::now() + Duration::from_secs(s.minutes * 60 + 120);
    while lists_since(tick) < 2 {
        if Instant::now() > deadline {
            println!("webhook cancellation: no drift round seen after the tick");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    deliver_hook(&app.ledger, "booking.cancelled", BookingStatus::Cancelled).await;
    let triggered = Utc::now();
    app.pass(Some(HOOK)).await;
    let journal = sandbox.journal();
    let delete = journal
        .iter()
        .find(|e| e.at >= triggered && e.method == "DELETE");
    let Some(delete) = delete else {
        println!("webhook cancellation: no DELETE sent");
        return;
    };
    let own_list = format!("bookingObjectId={HOOK_OBJECT}");
    let between = journal.iter().filter(|e| {
        e.at >= triggered && e.at <= delete.at && is_list(e) && !e.query.contains(&own_list)
    });
    println!(
        "webhook cancellation → DELETE during a drift round: {:.1} s after its trigger, {} drift \
         lists meanwhile (target: at most one or two)",
        (delete.at - triggered).num_milliseconds() as f64 / 1000.0,
        between.count()
    );
}

/// A bookings list of one object.
fn is_list(entry: &JournalEntry) -> bool {
    entry.method == "GET" && entry.path == "/v1/bookings"
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing to run here.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    // `RUST_LOG=flexysync=debug` shows each pass round's listings, writes and duration.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(Settings::from_env()));
}
