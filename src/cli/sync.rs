//! `flexysync sync` and `flexysync status`. While the daemon runs they ask it (the control
//! channel); otherwise they do the work in this process. Either way the same functions here
//! turn the outcome into what is printed and the exit code.

mod view;

use clap::Args;
use serde::Serialize;

use super::control::{self, Output};
use super::zone::ObjectZones;
use super::{CliError, Context};
use crate::config::Config;
use crate::daemon::control::{ControlCommand, socket_path};
use crate::flexykey::Client;
use crate::ledger::{Ledger, LedgerError};
use crate::reconcile::feeds::{feed_http_client, sync_once};
use crate::reconcile::pass::{PassError, PassOptions, PassReport};
use crate::reconcile::status::{StatusReport, status_report};
use crate::text::{DELETION, SOURCE, count};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Print what would be done, and why, without any write call
    #[arg(long)]
    pub dry_run: bool,
    /// Read and reconcile only this source
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Let this source's held deletions through (after a big shrink, or a source removed
    /// from the config); may be given more than once
    #[arg(long, value_name = "SOURCE")]
    pub confirm: Vec<String>,
}

/// Ctrl-C or SIGTERM: the write in flight finishes and is journaled, no other starts. A
/// second signal exits at once (anything left in doubt is resolved by the next pass).
fn stop_on_signal() -> tokio_util::sync::CancellationToken {
    use tokio::signal::unix::{SignalKind, signal};
    let stop = tokio_util::sync::CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        for round in 0..2 {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if round == 0 {
                eprintln!("flexysync: stopping after the write in flight (again to stop at once)");
                token.cancel();
            } else {
                std::process::exit(130);
            }
        }
    });
    stop
}

pub async fn sync(args: SyncArgs, context: &Context) -> Result<(), CliError> {
    let config = context.load_config()?;
    if let Some(daemon) = control::find(&config).await {
        let command = ControlCommand::Sync {
            dry_run: args.dry_run,
            source: args.source,
            confirm: args.confirm,
        };
        return daemon.ask(command, context).await;
    }
    let ledger = Ledger::open_exclusive(&config.ledger.path)
        .await
        .map_err(|err| match err {
            // Held by a daemon that could not be asked: say where it was looked for.
            LedgerError::Locked { .. } => CliError::Other(anyhow::anyhow!(
                "{err}. The running service was not reached on {} nor on server.admin_listen \
                 {}: run this as the service's user or root",
                socket_path(&config.ledger.path).display(),
                config.server.admin_listen
            )),
            other => CliError::Other(other.into()),
        })?;
    let client = Client::new(&config.flexykey)?;
    let http = feed_http_client()
        .map_err(|err| CliError::Other(anyhow::anyhow!("cannot build the HTTP client: {err}")))?;
    let options = PassOptions {
        dry_run: args.dry_run,
        sources: args.source.iter().cloned().collect(),
        confirm: args.confirm.clone(),
        stop: Some(stop_on_signal()),
        // Run by a person: every object is listed, whatever the daemon's drift schedule.
        check_all: true,
        ..PassOptions::default()
    };
    let outcome = sync_once(&config, &ledger, &client, &http, &options).await;
    ledger.close().await;
    present_sync(outcome, &config, context).await.finish()
}

/// What `sync` prints and how it ends, whichever process ran the pass.
pub async fn present_sync(
    outcome: Result<PassReport, PassError>,
    config: &Config,
    context: &Context,
) -> Output {
    let report = match outcome {
        Ok(report) => report,
        Err(err) => {
            let err = match err {
                PassError::UnknownSource(name) => CliError::Usage(format!(
                    "--source {name:?}: no source of that name in {}",
                    context.config_path().display()
                )),
                PassError::UnknownConfirm(name) => CliError::Usage(format!(
                    "--confirm {name:?}: no source of that name in {} or in the ledger",
                    context.config_path().display()
                )),
                other => CliError::Other(other.into()),
            };
            return failed(err);
        }
    };
    // A dry run also shows the outputs' planned transitions (from the stored stays).
    let plans = if report.dry_run && !config.outputs.is_empty() {
        match super::outputs::views(config, chrono::Utc::now()).await {
            Ok(views) => Some(views.into_iter().map(|v| v.plan).collect::<Vec<_>>()),
            Err(err) => return failed(err),
        }
    } else {
        None
    };
    let stdout = if context.json {
        match sync_json(&report, plans.as_deref()) {
            Ok(text) => text,
            Err(err) => return failed(err),
        }
    } else {
        let objects: Vec<i64> = report
            .plan
            .operations
            .iter()
            .map(|op| op.action.booking_object_id())
            .collect();
        let client = Client::new(&config.flexykey).ok();
        let zones = ObjectZones::load(context, config, client.as_ref(), objects).await;
        let mut text = view::sync_text(&report, &zones);
        if let Some(plans) = &plans {
            text.push_str(&super::outputs::transitions_text(plans.iter(), context));
        }
        text
    };
    Output {
        stdout,
        result: verdict(&report),
    }
}

fn failed(err: CliError) -> Output {
    Output {
        stdout: String::new(),
        result: Err(err),
    }
}

/// `sync --json`: the pass, and with a dry run the outputs' plans as `output_plans`.
fn sync_json(
    report: &PassReport,
    plans: Option<&[crate::outputs::OutputPlan]>,
) -> Result<String, CliError> {
    let mut json =
        serde_json::to_value(view::SyncJson::from(report)).map_err(anyhow::Error::from)?;
    if let (Some(plans), Some(object)) = (plans, json.as_object_mut()) {
        let plans = serde_json::to_value(plans).map_err(anyhow::Error::from)?;
        object.insert("output_plans".to_owned(), plans);
    }
    json_text(&json)
}

/// What `print_json` prints.
fn json_text<T: Serialize>(value: &T) -> Result<String, CliError> {
    let text = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
    Ok(format!("{text}\n"))
}

/// Exit 0 only when everything converged; otherwise one line saying what is left.
fn verdict(report: &PassReport) -> Result<(), CliError> {
    if report.converged {
        return Ok(());
    }
    let failed_reads = report
        .sources
        .iter()
        .filter(|s| s.failure.is_some())
        .count();
    let mut parts = vec![];
    let failures = report.applied.failures.len() + report.errors.len();
    if failures > 0 {
        parts.push(format!("{failures} failed"));
    }
    if !report.plan.held.is_empty() {
        parts.push(format!("{} held", count(report.plan.held.len(), DELETION)));
    }
    if !report.plan.held_creates.is_empty() {
        let held = report.plan.held_creates.len();
        parts.push(format!(
            "{held} create(s) held: a source grew too much at once"
        ));
    }
    let held_sources = report.sources.iter().filter(|s| s.hold.is_some()).count();
    if held_sources > 0 && report.plan.held.is_empty() {
        parts.push(format!(
            "{} shrank too much: {} deletions are held",
            count(held_sources, SOURCE),
            if held_sources == 1 { "its" } else { "their" }
        ));
    }
    if failed_reads > 0 {
        parts.push(format!("{} could not be read", count(failed_reads, SOURCE)));
    }
    Err(CliError::NotConverged(format!(
        "not converged: {}",
        parts.join(", ")
    )))
}

pub async fn status(context: &Context) -> Result<(), CliError> {
    let config = context.load_config()?;
    if let Some(daemon) = control::find(&config).await {
        return daemon.ask(ControlCommand::Status, context).await;
    }
    if !config.ledger.path.exists() {
        return Err(CliError::Usage(format!(
            "no ledger at {} yet: run `flexysync sync` first",
            config.ledger.path.display()
        )));
    }
    let ledger = Ledger::open(&config.ledger.path)
        .await
        .map_err(|err| CliError::Other(err.into()))?;
    let outcome = status_report(&config, &ledger, chrono::Utc::now()).await;
    ledger.close().await;
    present_status(outcome, &config, context).await.finish()
}

/// What `status` prints and how it ends: exit 1 when something needs someone (an arrival
/// within 24 h without a confirmed booking, a source failing for over an hour, held deletions).
pub async fn present_status(
    outcome: Result<StatusReport, LedgerError>,
    config: &Config,
    context: &Context,
) -> Output {
    let report = match outcome {
        Ok(report) => report,
        Err(err) => return failed(CliError::Other(err.into())),
    };
    let stdout = if context.json {
        match json_text(&report) {
            Ok(text) => text,
            Err(err) => return failed(err),
        }
    } else {
        let objects: Vec<i64> = report.objects.iter().map(|o| o.booking_object_id).collect();
        let client = Client::new(&config.flexykey).ok();
        let zones = ObjectZones::load(context, config, client.as_ref(), objects).await;
        view::status_text(&report, &zones)
    };
    let result = if report.attention.is_empty() {
        Ok(())
    } else {
        let reasons: Vec<String> = report
            .attention
            .iter()
            .map(|a| format!("{}: {}", a.source, a.detail))
            .collect();
        Err(CliError::NeedsAttention(format!(
            "needs attention: {}",
            reasons.join("; ")
        )))
    };
    Output { stdout, result }
}
