//! `flexysync events list|retry`: what the outbox holds and where each event stands with each
//! target; failed deliveries put back in the queue.

use clap::Subcommand;
use serde::Serialize;

use super::control::{self, Output};
use super::table::{print_json, render_table};
use super::{CliError, Context};
use crate::daemon::control::ControlCommand;
use crate::ledger::{Delivery, DeliveryState, Ledger, LedgerError};

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List deliveries, newest event first
    #[command(after_help = "Example:\n  flexysync events list --state failed --limit 20")]
    List {
        /// Only `pending`, `delivered` or `failed` ones
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        /// At most this many rows
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Put failed deliveries back in the queue (all, or those of one event id)
    #[command(after_help = "Example:\n  flexysync events retry evt_0f497ea5ea822179afda3c78")]
    Retry {
        /// The event whose failed deliveries are retried; all failed ones without it
        #[arg(value_name = "EVENT_ID")]
        event: Option<String>,
    },
}

#[derive(Serialize)]
struct Row<'a> {
    event: &'a str,
    kind: &'a str,
    occurred_at: String,
    target: &'a str,
    state: &'a str,
    attempts: u32,
    next_attempt_at: Option<String>,
    last_error: Option<&'a str>,
}

fn row<'a>(delivery: &'a Delivery, context: &Context) -> Row<'a> {
    Row {
        event: &delivery.event.id,
        kind: delivery.event.kind.as_str(),
        occurred_at: context.flag_or_utc().time(delivery.event.occurred_at),
        target: &delivery.target,
        state: delivery.state.as_str(),
        attempts: delivery.attempts,
        next_attempt_at: (delivery.state == DeliveryState::Pending)
            .then(|| context.flag_or_utc().time(delivery.next_attempt_at)),
        last_error: delivery.last_error.as_deref(),
    }
}

pub async fn run(command: EventsCommand, context: &Context) -> Result<(), CliError> {
    let config = context.load_config()?;
    // A running daemon owns the ledger's writes: it queues the retry itself.
    if let EventsCommand::Retry { event } = &command
        && let Some(daemon) = control::find(&config).await
    {
        let command = ControlCommand::EventsRetry {
            event: event.clone(),
        };
        return daemon.ask(command, context).await;
    }
    // The outbox is read beside a running daemon (WAL lets both); a retry with no daemon
    // running is one UPDATE.
    let ledger = Ledger::open(&config.ledger.path)
        .await
        .map_err(|err| CliError::Other(err.into()))?;
    match command {
        EventsCommand::List { state, limit } => {
            let state = match state.as_deref() {
                None => None,
                Some("pending") => Some(DeliveryState::Pending),
                Some("delivered") => Some(DeliveryState::Delivered),
                Some("failed") => Some(DeliveryState::Failed),
                Some(other) => {
                    return Err(CliError::Usage(format!(
                        "--state {other:?}: expected pending, delivered or failed"
                    )));
                }
            };
            let deliveries = ledger
                .list_deliveries(state, limit)
                .await
                .map_err(|err| CliError::Other(err.into()))?;
            let rows: Vec<Row> = deliveries.iter().map(|d| row(d, context)).collect();
            if context.json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("no deliveries");
                return Ok(());
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.event.to_owned(),
                        r.kind.to_owned(),
                        r.occurred_at.clone(),
                        r.target.to_owned(),
                        r.state.to_owned(),
                        r.attempts.to_string(),
                        r.next_attempt_at.clone().unwrap_or_else(|| "-".into()),
                        r.last_error.unwrap_or("-").to_owned(),
                    ]
                })
                .collect();
            print!(
                "{}",
                render_table(
                    &[
                        "EVENT",
                        "KIND",
                        "OCCURRED",
                        "TARGET",
                        "STATE",
                        "TRIES",
                        "NEXT",
                        "LAST ERROR"
                    ],
                    &table
                )
            );
            Ok(())
        }
        EventsCommand::Retry { event } => {
            let requeued = ledger
                .retry_deliveries(event.as_deref(), chrono::Utc::now())
                .await;
            present_retry(requeued, event.as_deref(), context).finish()
        }
    }
}

/// What `events retry` prints (run here or by the daemon): how many deliveries were queued
/// again; an event id with nothing failed to retry is a usage error.
pub fn present_retry(
    requeued: Result<u64, LedgerError>,
    event: Option<&str>,
    context: &Context,
) -> Output {
    let (stdout, result) = match requeued {
        Err(err) => (String::new(), Err(CliError::Other(err.into()))),
        Ok(requeued) if context.json => (
            format!("{:#}\n", serde_json::json!({ "requeued": requeued })),
            Ok(()),
        ),
        Ok(0) if event.is_some() => (
            String::new(),
            Err(CliError::Usage(format!(
                "event {}: no failed delivery to retry (see `flexysync events list --state failed`)",
                event.unwrap_or_default()
            ))),
        ),
        Ok(count) => (
            format!(
                "{count} failed deliver{} queued again\n",
                if count == 1 { "y" } else { "ies" }
            ),
            Ok(()),
        ),
    };
    Output { stdout, result }
}
