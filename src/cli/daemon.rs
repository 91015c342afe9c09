//! `flexysync run`, `demo` and `check`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::table::print_json;
use super::{CliError, Context};
use crate::config::{Config, SourceKind, redact_url};
use crate::daemon::{self, Listeners, RunOptions};
use crate::flexykey::Client;
use crate::text::{BOOKING, CHECK, OBJECT, RESERVATION, UNIT, WARNING, count};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep running as the daemon after the demo, serving the status page
    #[arg(long)]
    pub keep_running: bool,
    /// Directory for the demo's config and ledger [default: a new directory under $TMPDIR]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub async fn run(context: &Context) -> Result<(), CliError> {
    let config = context.load_config()?;
    daemon::logging::init(&config.log);
    let listeners = Listeners {
        hooks: bind("server.listen", config.server.listen).await?,
        admin: bind("server.admin_listen", config.server.admin_listen).await?,
    };
    let options = RunOptions {
        config_path: Some(context.config_path().to_owned()),
        listen_for_signals: true,
        presenter: super::control::presenter(),
    };
    daemon::serve(config, listeners, CancellationToken::new(), options)
        .await
        .map_err(|err| CliError::Other(err.into()))
}

async fn bind(key: &str, address: SocketAddr) -> Result<TcpListener, CliError> {
    TcpListener::bind(address).await.map_err(|err| {
        CliError::Usage(format!("{key} = \"{address}\": cannot listen there: {err}"))
    })
}

pub async fn demo(args: DemoArgs, _context: &Context) -> Result<(), CliError> {
    daemon::demo::run(args.dir, args.keep_running, super::control::presenter())
        .await
        .map_err(CliError::Other)
}

/// One line per check (or, with `--json`, one object); the exit code is 0 only when every
/// check passed.
pub async fn check(context: &Context) -> Result<(), CliError> {
    let mut checks: Vec<(bool, String)> = vec![];
    let mut report = |ok: bool, line: String| {
        if !context.json {
            println!("{} {line}", if ok { "ok  " } else { "FAIL" });
        }
        checks.push((ok, line));
    };
    let loaded = context.load_config();
    match &loaded {
        Ok(_) => report(
            true,
            format!("config {} is valid", context.config_path().display()),
        ),
        Err(err) => report(false, err.to_string()),
    }
    if let Ok(config) = &loaded {
        check_flexykey(config, &mut report).await;
        check_feeds(config, &mut report).await;
    }
    let failures = checks.iter().filter(|(ok, _)| !ok).count();
    if context.json {
        let list: Vec<serde_json::Value> = checks
            .iter()
            .map(|(ok, message)| serde_json::json!({ "ok": ok, "message": message }))
            .collect();
        print_json(&serde_json::json!({
            "ok": failures == 0,
            "failed": failures,
            "checks": list,
        }))?;
    }
    // A config error exits 2, like every command's.
    loaded?;
    if failures > 0 {
        return Err(CliError::NotConverged(format!(
            "{} failed",
            count(failures, CHECK)
        )));
    }
    Ok(())
}

async fn check_flexykey(config: &Config, report: &mut impl FnMut(bool, String)) {
    let client = match Client::new(&config.flexykey) {
        Ok(client) => client,
        Err(err) => return report(false, format!("FlexyKey client: {err}")),
    };
    let base = redact_url(&config.flexykey.base_url);
    match client.units().await {
        Ok(units) => report(
            true,
            format!(
                "FlexyKey at {base} accepts user {:?} ({})",
                config.flexykey.username,
                count(units.len(), UNIT)
            ),
        ),
        Err(err) => return report(false, format!("FlexyKey at {base}: {err}")),
    }
    let targets = crate::outputs::targets(&config.outputs);
    if !targets.is_empty() {
        match crate::outputs::check_targets(&client, &targets).await {
            Ok(()) => report(
                true,
                format!("{} output(s) exist on their units", targets.len()),
            ),
            Err(err) => report(false, err.to_string()),
        }
    }
    let objects = match client.booking_objects().await {
        Ok(objects) => objects,
        Err(err) => return report(false, format!("booking objects: {err}")),
    };
    for source in &config.sources {
        let wanted: Vec<i64> = match source.kind {
            SourceKind::Ical => source.booking_object_id.into_iter().collect(),
            SourceKind::Webhook => source.objects.values().copied().collect(),
        };
        for id in wanted {
            match objects.iter().find(|o| o.booking_object_id == id) {
                Some(object) => report(
                    true,
                    format!(
                        "source {}: booking object {id} ({}) belongs to the account",
                        source.name,
                        object.name.as_deref().unwrap_or("unnamed")
                    ),
                ),
                None => report(
                    false,
                    format!(
                        "source {}: booking object {id} is not among the account's {}",
                        source.name,
                        count(objects.len(), OBJECT)
                    ),
                ),
            }
        }
    }
}

async fn check_feeds(config: &Config, report: &mut impl FnMut(bool, String)) {
    let http = match crate::reconcile::feeds::feed_http_client() {
        Ok(http) => http,
        Err(err) => return report(false, format!("feed HTTP client: {err}")),
    };
    let now = chrono::Utc::now();
    for source in &config.sources {
        match source.kind {
            SourceKind::Ical => {
                let ctx = crate::sources::ReadContext {
                    http: &http,
                    now,
                    horizon_days: config.sync.horizon_days,
                    // Readability only: the pass reads times in the object's own zone.
                    default_timezone: Some(chrono_tz::UTC),
                    code_secret: b"check",
                };
                match crate::sources::read_source(source, &ctx, None).await.0 {
                    crate::sources::ReadOutcome::Fresh {
                        reservations,
                        warnings,
                        ..
                    } => report(
                        true,
                        format!(
                            "feed {}: {}, {}",
                            source.name,
                            count(reservations.len(), RESERVATION),
                            count(warnings.len(), WARNING)
                        ),
                    ),
                    crate::sources::ReadOutcome::Unchanged => {
                        report(true, format!("feed {}: unchanged", source.name))
                    }
                    crate::sources::ReadOutcome::Failed(failure) => {
                        report(false, format!("feed {}: {failure}", source.name))
                    }
                    crate::sources::ReadOutcome::Pushed { .. } => {
                        report(true, format!("feed {}: read", source.name))
                    }
                }
            }
            SourceKind::Webhook if source.snapshot_url.is_some() => {
                match crate::sources::webhook::fetch_snapshot(&http, source, now).await {
                    Ok(bookings) => report(
                        true,
                        format!(
                            "webhook {}: snapshot holds {}",
                            source.name,
                            count(bookings.len(), BOOKING)
                        ),
                    ),
                    Err(err) => report(false, format!("webhook {}: snapshot: {err}", source.name)),
                }
            }
            SourceKind::Webhook => report(
                true,
                format!(
                    "webhook {}: receives events at /hooks/{}",
                    source.name, source.name
                ),
            ),
        }
    }
}
