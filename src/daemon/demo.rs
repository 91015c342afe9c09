//! `flexysync demo`: the main job end to end on the built-in sandbox and bundled calendars,
//! told in plain words. Nothing leaves this machine: the sandbox and the feeds listen on
//! loopback. The demo never touches a real ledger: it writes only into its own directory, with
//! a config of its own that no `--config`, `FLEXYSYNC_CONFIG` or `FLEXYSYNC__*` variable changes
//! (a container image sets `FLEXYSYNC__LEDGER__PATH` for the service, not for the demo).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;

use super::app::App;
use super::demo_feeds::DemoFeeds;
use crate::config::{Config, ENV_PREFIX};
use crate::flexykey::Client;
use crate::ledger::Ledger;
use crate::reconcile::pass::PassReport;
use crate::reconcile::plan::Action;
use crate::sandbox::{self, Sandbox, SandboxOptions};
use crate::text::{BOOKING, FLEXYKEY_WRITE_CALL, OPERATION, UPCOMING_STAY, count};

const ZONE: Tz = chrono_tz::Europe::Stockholm;

fn local(time: DateTime<Utc>) -> String {
    time.with_timezone(&ZONE)
        .format("%a %d %b %H:%M")
        .to_string()
}

/// The demo's config: three feeds for cabin 7 (booking object 123) on the sandbox.
fn demo_config(dir: &Path, sandbox_url: &url::Url, feeds_port: u16, receiver: &str) -> String {
    let feed = |name: &str| format!("http://127.0.0.1:{feeds_port}/{name}.ics");
    let archive_start = (Utc::now() - chrono::Duration::days(2)).format("%Y-%m-%d");
    format!(
        r#"# Written by `flexysync demo`.
[flexykey]
base_url = "{sandbox_url}"
username = "{user}"
password = "{password}"
requests_per_second = 20.0
burst = 10

[ledger]
path = "{ledger}"

[sync]
# One read without a stay is enough for the demo to show a cancellation.
debounce_reads = 1

[[sources]]
name = "cabin-7-airbnb"
kind = "ical"
url = "{airbnb}"
booking_object_id = {cabin}
timezone = "Europe/Stockholm"
preset = "airbnb"
code = "phone-last4"
buffer_before = "30m"

[[sources]]
name = "cabin-7-booking"
kind = "ical"
url = "{booking}"
booking_object_id = {cabin}
timezone = "Europe/Stockholm"
preset = "booking-com"
code = "derived"

[[sources]]
name = "cabin-7-cleaning"
kind = "ical"
url = "{cleaning}"
booking_object_id = {cabin}
timezone = "Europe/Stockholm"
code = "derived"
# The cleaners' visits may overlap a stay: no double-booking alert for them.
overlap_ok = true

# The host's phone: a loopback receiver that prints what it is told.
[[notify]]
name = "host-phone"
kind = "webhook"
url = "{receiver}"
secret = "{notify_secret}"
events = ["stay.double_booked", "guest.denied", "arrival.unconfirmed", "booking.failed"]

[archive]
units = [{unit}]
start = "{archive_start}"

[server]
listen = "127.0.0.1:0"

[log]
level = "warn"
"#,
        user = sandbox::DEMO_USER,
        password = sandbox::DEMO_PASSWORD,
        ledger = dir.join("ledger.db").display(),
        airbnb = feed("airbnb"),
        booking = feed("booking"),
        cleaning = feed("cleaning"),
        cabin = sandbox::OBJECT_CABIN,
        unit = sandbox::UNIT_MAIN,
        notify_secret = super::demo_notify::DEMO_NOTIFY_SECRET,
    )
}

fn demo_dir(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "flexysync-demo-{}-{}",
            Utc::now().format("%Y%m%d-%H%M%S"),
            std::process::id()
        ))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if dir.join("ledger.db").exists() {
        anyhow::bail!(
            "{} already holds a ledger; give the demo an empty directory with --dir",
            dir.display()
        );
    }
    Ok(dir)
}

pub async fn run(
    dir: Option<PathBuf>,
    keep_running: bool,
    presenter: Arc<dyn super::control::Presenter>,
) -> anyhow::Result<()> {
    super::logging::init(&crate::config::LogConfig {
        format: crate::config::LogFormat::Pretty,
        level: "warn".to_owned(),
    });
    let dir = demo_dir(dir)?;
    let sandbox = Sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        SandboxOptions::default(),
    )
    .await
    .context("starting the FlexyKey sandbox")?;
    let feeds = DemoFeeds::new(Utc::now().with_timezone(&ZONE).date_naive());
    let feeds_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let feeds_port = feeds_listener.local_addr()?.port();
    let feeds_router = feeds.router();
    tokio::spawn(async move { axum::serve(feeds_listener, feeds_router).await });

    let mut receiver = super::demo_notify::start().await?;
    let config_path = dir.join("config.toml");
    let config_text = demo_config(&dir, &sandbox.base_url(), feeds_port, &receiver.url);
    std::fs::write(&config_path, &config_text)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    // No environment overrides: they are meant for the service and would point the demo at
    // the service's ledger or account.
    let config = Config::from_toml_with_env(&config_text, &config_path, std::iter::empty())?;
    let overrides = environment_overrides();

    println!("flexysync demo");
    println!("==============");
    println!(
        "Writes only to {} (its own config.toml and ledger.db).",
        dir.display()
    );
    println!("{}", ignored_settings(&overrides));
    println!(
        "A FlexyKey simulator runs at {} (nothing leaves this machine).",
        sandbox.base_url()
    );
    println!(
        "Cabin 7 (booking object {}) is let on Airbnb and Booking.com, and a cleaning",
        sandbox::OBJECT_CABIN
    );
    println!(
        "crew comes every week. Their three calendars are served at http://127.0.0.1:{feeds_port}/."
    );
    println!();

    let app = Arc::new(demo_app(&config).await?);
    println!("Pass 1: read the calendars, book every stay on the door");
    let writes_before = sandbox.write_calls().len();
    let report = app.pass(None).await.context("the first pass failed")?;
    describe_pass(&report);
    describe_skipped(&config, &feeds);
    let writes = sandbox.write_calls().len() - writes_before;
    println!("  FlexyKey write calls: {writes}");
    // The Airbnb and Booking.com calendars overlap once on purpose: the channel sync failed.
    let alerts = CancellationToken::new();
    let queues = tokio_util::task::TaskTracker::new();
    crate::notify::deliver::start_queues(&config.notify, &app.ledger, &app.http, &alerts, &queues);
    receiver
        .print_received(std::time::Duration::from_secs(5))
        .await;
    app.archive().await;
    let archived = app
        .ledger
        .archive_count(&crate::ledger::ArchiveFilter::default())
        .await
        .unwrap_or(0);
    println!(
        "  Archived {archived} access-log entries of unit {} (who opened the door, and when).",
        sandbox::UNIT_MAIN
    );
    println!();

    println!("The Airbnb guest of the second stay cancels, and the third stay moves a day later.");
    feeds.change();
    println!("Pass 2: only what changed is written");
    let writes_before = sandbox.write_calls().len();
    let report = app.pass(None).await.context("the second pass failed")?;
    describe_pass(&report);
    println!(
        "  FlexyKey write calls: {}",
        sandbox.write_calls().len() - writes_before
    );
    println!();

    println!("Pass 3: nothing changed, so nothing is written");
    let writes_before = sandbox.write_calls().len();
    let report = app.pass(None).await.context("the third pass failed")?;
    println!(
        "  {} planned, {}.",
        count(report.plan.operations.len(), OPERATION),
        count(
            sandbox.write_calls().len() - writes_before,
            FLEXYKEY_WRITE_CALL
        )
    );
    println!();
    alerts.cancel();
    queues.close();
    queues.wait().await;
    println!("The ledger is {}.", app.ledger.path().display());
    println!("Look around: {}", status_command(&config_path, &overrides));
    app.ledger.close().await;
    drop(app);

    if keep_running {
        let listeners = super::Listeners {
            hooks: tokio::net::TcpListener::bind("127.0.0.1:0").await?,
            admin: tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        };
        println!();
        println!(
            "Running as the daemon: status page at http://{}/, webhooks at http://{}/hooks/ (Ctrl-C to stop).",
            listeners.admin.local_addr()?,
            listeners.hooks.local_addr()?
        );
        // No config path: a reload would re-read it with the environment's overrides.
        let options = super::RunOptions {
            config_path: None,
            listen_for_signals: true,
            presenter,
        };
        super::serve(config, listeners, CancellationToken::new(), options).await?;
    }
    sandbox.shutdown().await;
    Ok(())
}

/// The names (never the values) of the `FLEXYSYNC__*` variables set here, sorted.
fn environment_overrides() -> Vec<String> {
    let prefix = format!("{ENV_PREFIX}__");
    let mut names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with(&prefix))
        .collect();
    names.sort();
    names
}

/// One line that says which settings the demo leaves alone.
fn ignored_settings(overrides: &[String]) -> String {
    let mut line =
        "It ignores --config, $FLEXYSYNC_CONFIG and every FLEXYSYNC__* variable".to_owned();
    if !overrides.is_empty() {
        line.push_str(&format!(" (set here: {})", overrides.join(", ")));
    }
    line.push('.');
    line
}

/// The `status` command for the demo's config; the variables set here would override it, so
/// it unsets them.
fn status_command(config_path: &Path, overrides: &[String]) -> String {
    let unset: String = overrides.iter().map(|name| format!("-u {name} ")).collect();
    let prefix = if unset.is_empty() {
        String::new()
    } else {
        format!("env {unset}")
    };
    format!(
        "{prefix}flexysync --config {} status",
        config_path.display()
    )
}

async fn demo_app(config: &Config) -> anyhow::Result<App> {
    let ledger = Ledger::open_exclusive(&config.ledger.path).await?;
    let client = Client::new(&config.flexykey)?;
    let http = crate::reconcile::feeds::feed_http_client()?;
    let secret = crate::reconcile::feeds::code_secret(config, &ledger).await?;
    Ok(App::new(
        config.clone(),
        ledger,
        client,
        http,
        secret,
        CancellationToken::new(),
    ))
}

/// What the feeds hold that is not a stay, and why it was left out (the same rules as the
/// pass, through the preview).
fn describe_skipped(config: &Config, feeds: &DemoFeeds) {
    let texts = feeds.feeds();
    for source in &config.sources {
        let feed = source.name.trim_start_matches("cabin-7-");
        let Some(text) = texts.get(feed) else {
            continue;
        };
        let ctx = crate::sources::RuleContext {
            now: Utc::now(),
            horizon_days: config.sync.horizon_days,
            default_timezone: None,
            code_secret: b"demo preview",
            window: None,
        };
        let preview = crate::sources::ical::preview_from_bytes(text.as_bytes(), source, &ctx);
        for skipped in &preview.skipped {
            println!(
                "  skipped in {}: {:?} from {}: {}",
                source.name,
                skipped.summary.as_deref().unwrap_or("(no summary)"),
                skipped.start,
                skipped.reason
            );
        }
    }
}

fn describe_pass(report: &PassReport) {
    for source in &report.sources {
        let state = match &source.failure {
            Some(reason) => format!("could not be read ({reason}); its bookings stay as they are"),
            None => count(source.upcoming, UPCOMING_STAY),
        };
        println!("  {}: {state}", source.name);
        for warning in &source.warnings {
            println!("    skipped: {warning}");
        }
    }
    for operation in &report.plan.operations {
        let (verb, reservation_window) = match &operation.action {
            Action::Create {
                reservation, start, ..
            } => ("book", (reservation.label.clone(), *start, reservation.end)),
            Action::Replace {
                reservation, start, ..
            } => (
                "rebook",
                (reservation.label.clone(), *start, reservation.end),
            ),
            Action::Delete { booking } => {
                ("revoke", (booking.name.clone(), booking.start, booking.end))
            }
        };
        let (label, start, end) = reservation_window;
        println!(
            "  {verb:<6} {label}: {} to {} ({})",
            local(start),
            local(end),
            operation.reason
        );
    }
    for held in &report.plan.held {
        println!("  held   {}", held.reason);
    }
    let counts = report.counts();
    println!(
        "  Done: {} created, {} deleted, {} failed{}.",
        count(counts.created, BOOKING),
        counts.deleted,
        counts.failed,
        if report.converged {
            ", in step with the calendars"
        } else {
            ""
        }
    );
}
