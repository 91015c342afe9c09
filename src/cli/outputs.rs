//! `flexysync outputs`: every booking-driven output's plan for the coming 14 days and its last
//! verified state; also the planned transitions that `sync --dry-run` shows.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::table::{print_json, render_table};
use super::{CliError, Context};
use crate::config::Config;
use crate::ledger::{Ledger, OutputCommand, OutputCommandState};
use crate::outputs::{self, OutputPlan, Step};

/// One output as the command shows it.
#[derive(Debug, Serialize)]
pub struct OutputView {
    #[serde(flatten)]
    pub plan: OutputPlan,
    /// The most recent IO status flexysync read for it, and what flexysync made of it.
    pub last_seen: Option<LastSeen>,
}

#[derive(Debug, Serialize)]
pub struct LastSeen {
    pub on: bool,
    pub at: DateTime<Utc>,
    /// verified, in_place, override (switched by hand), ...
    pub state: OutputCommandState,
}

pub async fn run(context: &Context) -> Result<(), CliError> {
    let config = context.load_config()?;
    if config.outputs.is_empty() {
        return Err(CliError::Usage(format!(
            "no [[outputs]] in {}: nothing to show",
            context.config_path().display()
        )));
    }
    let views = views(&config, Utc::now()).await?;
    if context.json {
        return print_json(&views);
    }
    print!("{}", text(&views, context));
    Ok(())
}

/// The plans from the ledger's stored stays (none before the first sync) and the journal.
pub async fn views(config: &Config, now: DateTime<Utc>) -> Result<Vec<OutputView>, CliError> {
    let ledger = if config.ledger.path.exists() {
        Some(
            Ledger::open(&config.ledger.path)
                .await
                .map_err(|err| CliError::Other(err.into()))?,
        )
    } else {
        None
    };
    let other = |err: crate::ledger::LedgerError| CliError::Other(err.into());
    let stays = match &ledger {
        Some(ledger) => outputs::stays_of(&ledger.reservations().await.map_err(other)?),
        None => vec![],
    };
    let mut views = vec![];
    for target in outputs::targets(&config.outputs) {
        let last_seen = match &ledger {
            Some(ledger) => last_seen(
                &ledger
                    .recent_output_commands(&target.key, 20)
                    .await
                    .map_err(other)?,
            ),
            None => None,
        };
        views.push(OutputView {
            plan: target.plan(&stays, now),
            last_seen,
        });
    }
    if let Some(ledger) = ledger {
        ledger.close().await;
    }
    Ok(views)
}

/// The newest journal row that carries an IO status reading.
fn last_seen(journal: &[OutputCommand]) -> Option<LastSeen> {
    journal.iter().find_map(|command| {
        command.observed_on.map(|on| LastSeen {
            on,
            at: command.resolved_at.unwrap_or(command.journaled_at),
            state: command.state,
        })
    })
}

pub fn text(views: &[OutputView], context: &Context) -> String {
    // Outputs belong to units, not booking objects: `--tz`, else UTC, said in the caption.
    let zone = context.flag_or_utc();
    let headers = ["Output", "Unit", "Planned now", "Last seen", "Next"];
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|view| {
            let plan = &view.plan;
            vec![
                format!("{} ({})", plan.label, plan.output),
                plan.unit.clone(),
                match plan.desired_now {
                    Some(true) => "ON".to_owned(),
                    Some(false) => "OFF".to_owned(),
                    None => "pulses".to_owned(),
                },
                match &view.last_seen {
                    Some(seen) => format!(
                        "{} at {}{}",
                        if seen.on { "ON" } else { "OFF" },
                        zone.time(seen.at),
                        match seen.state {
                            OutputCommandState::Override => " (switched by hand: left alone)",
                            OutputCommandState::Unverified => " (not verified)",
                            _ => "",
                        }
                    ),
                    None => "never read".to_owned(),
                },
                plan.upcoming
                    .first()
                    .map(|t| format!("{} at {}", step_text(t.step), zone.time(t.at)))
                    .unwrap_or_else(|| "none within 14 days".to_owned()),
            ]
        })
        .collect();
    let mut out = format!("{}\n", zone.caption());
    out.push_str(&render_table(&headers, &rows));
    out.push_str(&transitions_text(views.iter().map(|v| &v.plan), context));
    out
}

/// The planned transitions of the coming 14 days, per output.
pub fn transitions_text<'a>(
    plans: impl Iterator<Item = &'a OutputPlan>,
    context: &Context,
) -> String {
    let zone = context.flag_or_utc();
    let mut out = String::new();
    for plan in plans {
        out.push_str(&format!(
            "\nPlanned transitions of {} ({}, unit {}):\n",
            plan.label, plan.output, plan.unit
        ));
        if plan.upcoming.is_empty() {
            out.push_str("  none within 14 days\n");
        }
        for transition in &plan.upcoming {
            out.push_str(&format!(
                "  {}  {}\n",
                zone.time(transition.at),
                step_text(transition.step)
            ));
        }
    }
    out
}

fn step_text(step: Step) -> String {
    match step {
        Step::On => "ON".to_owned(),
        Step::Off => "OFF".to_owned(),
        Step::Pulse(seconds) => format!("pulse {seconds} s"),
    }
}
