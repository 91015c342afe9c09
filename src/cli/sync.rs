//! `flexysync sync` and `flexysync status`.

mod view;

use clap::Args;

use super::table::print_json;
use super::{CliError, Context};
use crate::flexykey::Client;
use crate::ledger::Ledger;
use crate::reconcile::feeds::{feed_http_client, sync_once};
use crate::reconcile::pass::{PassError, PassOptions, PassReport};
use crate::reconcile::status::status_report;

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
    let ledger = Ledger::open_exclusive(&config.ledger.path)
        .await
        .map_err(|err| CliError::Other(err.into()))?;
    let client = Client::new(&config.flexykey)?;
    let http = feed_http_client()
        .map_err(|err| CliError::Other(anyhow::anyhow!("cannot build the HTTP client: {err}")))?;
    let options = PassOptions {
        dry_run: args.dry_run,
        only_source: args.source.clone(),
        confirm: args.confirm.clone(),
        stop: Some(stop_on_signal()),
    };
    let report = sync_once(&config, &ledger, &client, &http, &options)
        .await
        .map_err(|err| match err {
            PassError::UnknownSource(name) => CliError::Usage(format!(
                "--source {name:?}: no source of that name in {}",
                context.config_path().display()
            )),
            PassError::UnknownConfirm(name) => CliError::Usage(format!(
                "--confirm {name:?}: no source of that name in {} or in the ledger",
                context.config_path().display()
            )),
            other => CliError::Other(other.into()),
        })?;
    ledger.close().await;
    // A dry run also shows the outputs' planned transitions (from the stored stays).
    let plans = if args.dry_run && !config.outputs.is_empty() {
        let views = super::outputs::views(&config, chrono::Utc::now()).await?;
        Some(views.into_iter().map(|v| v.plan).collect::<Vec<_>>())
    } else {
        None
    };
    if context.json {
        let mut json =
            serde_json::to_value(view::SyncJson::from(&report)).map_err(anyhow::Error::from)?;
        if let (Some(plans), Some(object)) = (&plans, json.as_object_mut()) {
            let plans = serde_json::to_value(plans).map_err(anyhow::Error::from)?;
            object.insert("output_plans".to_owned(), plans);
        }
        print_json(&json)?;
    } else {
        print!("{}", view::sync_text(&report, context));
        if let Some(plans) = &plans {
            print!(
                "{}",
                super::outputs::transitions_text(plans.iter(), context)
            );
        }
    }
    verdict(&report)
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
        parts.push(format!("{} deletion(s) held", report.plan.held.len()));
    }
    let held_sources = report.sources.iter().filter(|s| s.hold.is_some()).count();
    if held_sources > 0 && report.plan.held.is_empty() {
        parts.push(format!(
            "{held_sources} source(s) shrank too much: their deletions are held"
        ));
    }
    if failed_reads > 0 {
        parts.push(format!("{failed_reads} source(s) could not be read"));
    }
    Err(CliError::NotConverged(format!(
        "not converged: {}",
        parts.join(", ")
    )))
}

pub async fn status(context: &Context) -> Result<(), CliError> {
    let config = context.load_config()?;
    if !config.ledger.path.exists() {
        return Err(CliError::Usage(format!(
            "no ledger at {} yet: run `flexysync sync` first",
            config.ledger.path.display()
        )));
    }
    let ledger = Ledger::open(&config.ledger.path)
        .await
        .map_err(|err| CliError::Other(err.into()))?;
    let report = status_report(&config, &ledger, chrono::Utc::now())
        .await
        .map_err(|err| CliError::Other(err.into()))?;
    ledger.close().await;
    if context.json {
        print_json(&report)?;
    } else {
        print!("{}", view::status_text(&report, context));
    }
    Ok(())
}
