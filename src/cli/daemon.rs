//! `flexysync run`, `demo` and `check`.

use std::path::PathBuf;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::{CliError, Context};
use crate::config::{Config, SourceKind, redact_url};
use crate::daemon::{self, RunOptions};
use crate::flexykey::Client;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep running as the daemon after the demo, serving the status page
    #[arg(long)]
    pub keep_running: bool,
    /// Directory for the demo's ledger [default: a new temporary directory]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub async fn run(context: &Context) -> Result<(), CliError> {
    let config = context.load_config()?;
    daemon::logging::init(&config.log);
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|err| {
            CliError::Usage(format!(
                "server.listen = \"{}\": cannot listen there: {err}",
                config.server.listen
            ))
        })?;
    let options = RunOptions {
        config_path: Some(context.config_path().to_owned()),
        listen_for_signals: true,
    };
    daemon::serve(config, listener, CancellationToken::new(), options)
        .await
        .map_err(|err| CliError::Other(err.into()))
}

pub async fn demo(args: DemoArgs, _context: &Context) -> Result<(), CliError> {
    daemon::demo::run(args.dir, args.keep_running)
        .await
        .map_err(CliError::Other)
}

/// One line per check; the exit code is 0 only when every check passed.
pub async fn check(context: &Context) -> Result<(), CliError> {
    let mut failures = 0;
    let mut report = |ok: bool, line: String| {
        println!("{} {line}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures += 1;
        }
    };
    let config = match context.load_config() {
        Ok(config) => {
            report(
                true,
                format!("config {} is valid", context.config_path().display()),
            );
            config
        }
        Err(err) => {
            report(false, err.to_string());
            // A config error exits 2, like every command's.
            return Err(err);
        }
    };
    check_flexykey(&config, &mut report).await;
    check_feeds(&config, &mut report).await;
    if failures > 0 {
        return Err(CliError::NotConverged(format!(
            "{failures} check(s) failed"
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
                "FlexyKey at {base} accepts user {:?} ({} units)",
                config.flexykey.username,
                units.len()
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
                        "source {}: booking object {id} is not among the account's {} objects",
                        source.name,
                        objects.len()
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
                    default_timezone: None,
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
                            "feed {}: {} reservations, {} warnings",
                            source.name,
                            reservations.len(),
                            warnings.len()
                        ),
                    ),
                    crate::sources::ReadOutcome::Unchanged => {
                        report(true, format!("feed {}: unchanged", source.name))
                    }
                    crate::sources::ReadOutcome::Failed { reason } => {
                        report(false, format!("feed {}: {reason}", source.name))
                    }
                }
            }
            SourceKind::Webhook if source.snapshot_url.is_some() => {
                match crate::sources::webhook::fetch_snapshot(&http, source, now).await {
                    Ok(bookings) => report(
                        true,
                        format!(
                            "webhook {}: snapshot holds {} bookings",
                            source.name,
                            bookings.len()
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
