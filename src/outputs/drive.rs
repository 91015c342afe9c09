//! Carrying a decision out: journal, `POST /Control`, read the IO status back a few times,
//! resolve. One IO status read per unit per step; a command costs one POST and at most
//! [`VerifyPolicy::reads`] reads.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::decide::{self, Decision, Journaled};
use super::plan::Step;
use super::{OutputTarget, Stay};
use crate::config::UnitKey;
use crate::flexykey::{ApiError, Client, IoStatus, OutputAction, UnitRef};
use crate::ledger::{Ledger, LedgerError, OutputCommand, OutputCommandState};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("{label}: {source}")]
    Api {
        label: String,
        #[source]
        source: ApiError,
    },
    #[error("{label}: the IO status of unit {unit} does not list output {output}")]
    NotInStatus {
        label: String,
        unit: String,
        output: String,
    },
    #[error(
        "outputs[{index}].output: unit {unit} has no output {output} (its outputs: {known}); \
         fix the config or the unit's expansion modules"
    )]
    UnknownOutput {
        index: usize,
        unit: String,
        output: String,
        known: String,
    },
}

/// How a command's effect is read back: the API's advice is 2–5 reads, 5–10 s apart.
#[derive(Debug, Clone, Copy)]
pub struct VerifyPolicy {
    pub reads: u32,
    pub spacing: StdDuration,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            reads: 3,
            spacing: StdDuration::from_secs(6),
        }
    }
}

/// What one step did for one output.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub key: String,
    pub label: String,
    pub decision: Decision,
    pub observed_on: Option<bool>,
    pub commands_sent: u32,
    pub status_reads: u32,
    pub error: Option<String>,
}

/// What one output's step knows when it acts.
struct Moment<'a> {
    target: &'a OutputTarget,
    /// The planned transition in effect (its key in the journal).
    planned_at: DateTime<Utc>,
    planned_action: String,
    next: Option<DateTime<Utc>>,
    observed_on: bool,
    /// The journaled command whose outcome is not known, if any.
    doubt: Option<&'a OutputCommand>,
    sends: u32,
    now: DateTime<Utc>,
}

pub struct Driver<'a> {
    pub client: &'a Client,
    pub ledger: &'a Ledger,
    pub verify: VerifyPolicy,
}

impl Driver<'_> {
    /// One step over every target: one IO status read per unit, then each output's decision.
    pub async fn step_all(
        &self,
        targets: &[OutputTarget],
        stays: &[Stay],
        now: DateTime<Utc>,
    ) -> Vec<StepReport> {
        let mut statuses: BTreeMap<UnitKey, Result<IoStatus, String>> = BTreeMap::new();
        let mut reports = vec![];
        for target in targets {
            let mut reads = 0;
            if !statuses.contains_key(&target.unit) {
                reads = 1;
                let status = self
                    .client
                    .io_status(&target.unit_ref())
                    .await
                    .map_err(|e| e.to_string());
                statuses.insert(target.unit.clone(), status);
            }
            let mut report = match &statuses[&target.unit] {
                Ok(status) => match self.step(target, stays, status, now).await {
                    Ok(report) => report,
                    Err(err) => failed_report(target, None, err.to_string()),
                },
                Err(err) => failed_report(target, None, err.clone()),
            };
            report.status_reads += reads;
            if let Some(error) = &report.error {
                tracing::error!(output = %target.label, %error, "output step failed; retried at the next check");
            }
            reports.push(report);
        }
        reports
    }

    /// Decides and acts for one output, given the IO status just read.
    pub async fn step(
        &self,
        target: &OutputTarget,
        stays: &[Stay],
        status: &IoStatus,
        now: DateTime<Utc>,
    ) -> Result<StepReport, OutputError> {
        let observed_on = output_state(status, target)?;
        let plan = target.plan(stays, now);
        let planned_at = decide::transition_key(&plan.position);
        let history = self
            .ledger
            .output_commands_for(&target.key, planned_at)
            .await?;
        let journaled = journaled(&history, target.is_pulse());
        let decision = decide::decide(
            &plan.position,
            target.is_pulse(),
            journaled,
            observed_on,
            now,
        );
        let mut report = StepReport {
            key: target.key.clone(),
            label: target.label.clone(),
            decision,
            observed_on: Some(observed_on),
            commands_sent: 0,
            status_reads: 0,
            error: None,
        };
        let moment = Moment {
            target,
            planned_at,
            planned_action: action_text(plan.position.current.map_or(Step::Off, |t| t.step)),
            next: plan.position.next.map(|t| t.at),
            observed_on,
            doubt: history.last().filter(|c| in_doubt(c, target.is_pulse())),
            sends: journaled.sends,
            now,
        };
        self.act(&moment, &mut report).await?;
        Ok(report)
    }

    /// Carries out the decision in `report`: records what sent nothing, resolves a doubt,
    /// or journals and sends a command.
    async fn act(&self, moment: &Moment<'_>, report: &mut StepReport) -> Result<(), OutputError> {
        let Moment {
            target,
            planned_at,
            observed_on,
            now,
            doubt,
            ..
        } = *moment;
        let record = |state| {
            self.ledger.journal_output(
                &target.key,
                planned_at,
                &moment.planned_action,
                state,
                Some(observed_on),
                now,
            )
        };
        match report.decision {
            Decision::Nothing => {}
            Decision::GiveUp => {
                report.error = Some(format!(
                    "{} sends for the transition at {planned_at} did not take; waiting for the next transition",
                    moment.sends
                ));
            }
            Decision::AlreadyInPlace => {
                record(OutputCommandState::InPlace).await?;
            }
            Decision::DoubtResolved | Decision::DoubtUnknown => {
                if let Some(command) = doubt {
                    let state = if report.decision == Decision::DoubtResolved {
                        OutputCommandState::Verified
                    } else {
                        OutputCommandState::Unknown
                    };
                    self.ledger
                        .resolve_output(command.id, state, Some(observed_on), None, now)
                        .await?;
                }
            }
            Decision::Override { observed_on } => {
                tracing::warn!(
                    output = %target.label,
                    observed = on_off(observed_on),
                    next = ?moment.next,
                    "output switched by hand since flexysync's last command: left as it is until its next planned transition"
                );
                record(OutputCommandState::Override).await?;
            }
            Decision::SkipLatePulse => {
                tracing::warn!(output = %target.label, planned = %planned_at, "pulse not sent: its time passed while flexysync was not running");
                record(OutputCommandState::Skipped).await?;
            }
            Decision::Send { step } => {
                if let Some(command) = doubt {
                    self.ledger
                        .resolve_output(
                            command.id,
                            superseded(command.state),
                            Some(observed_on),
                            Some("the IO status did not show it"),
                            now,
                        )
                        .await?;
                }
                self.send(target, planned_at, step, report).await?;
            }
        }
        Ok(())
    }

    async fn send(
        &self,
        target: &OutputTarget,
        planned_at: DateTime<Utc>,
        step: Step,
        report: &mut StepReport,
    ) -> Result<(), OutputError> {
        let action = match step {
            Step::On => OutputAction::On,
            Step::Off => OutputAction::Off,
            Step::Pulse(seconds) => OutputAction::Pulse(seconds),
        };
        let id = self
            .ledger
            .journal_output(
                &target.key,
                planned_at,
                &action_text(step),
                OutputCommandState::Intent,
                None,
                Utc::now(),
            )
            .await?;
        report.commands_sent += 1;
        match self
            .client
            .control(&target.unit_ref(), &target.output, action)
            .await
        {
            Ok(_) => {}
            Err(err) if err.is_refusal() => {
                let detail = err.to_string();
                self.ledger
                    .resolve_output(
                        id,
                        OutputCommandState::Failed,
                        None,
                        Some(&detail),
                        Utc::now(),
                    )
                    .await?;
                report.error = Some(format!("{}: {detail}", target.label));
                return Ok(());
            }
            // The outcome is unknown: the intent stays in doubt; the next step reads the IO
            // status and resolves it.
            Err(err) => {
                report.error = Some(format!("{}: {err}", target.label));
                return Ok(());
            }
        }
        self.ledger
            .resolve_output(id, OutputCommandState::Sent, None, None, Utc::now())
            .await?;
        let expect_on = !matches!(step, Step::Off);
        let observed = self.verify(target, expect_on, step, report).await;
        let state = if observed == Some(expect_on) {
            OutputCommandState::Verified
        } else {
            OutputCommandState::Unverified
        };
        self.ledger
            .resolve_output(id, state, observed, None, Utc::now())
            .await?;
        tracing::info!(output = %target.label, action = %step, verified = state == OutputCommandState::Verified, "output switched");
        Ok(())
    }

    /// Reads the IO status until it shows the expected state, at most `reads` times. A pulse
    /// is read once right away: it may be over by the next read.
    async fn verify(
        &self,
        target: &OutputTarget,
        expect_on: bool,
        step: Step,
        report: &mut StepReport,
    ) -> Option<bool> {
        let pulse = matches!(step, Step::Pulse(_));
        let reads = if pulse { 1 } else { self.verify.reads.max(1) };
        let mut observed = None;
        for _ in 0..reads {
            if !pulse {
                tokio::time::sleep(self.verify.spacing).await;
            }
            report.status_reads += 1;
            let Ok(status) = self.client.io_status(&target.unit_ref()).await else {
                continue;
            };
            observed = output_state(&status, target).ok();
            if observed == Some(expect_on) {
                break;
            }
        }
        observed
    }
}

fn failed_report(target: &OutputTarget, observed_on: Option<bool>, error: String) -> StepReport {
    StepReport {
        key: target.key.clone(),
        label: target.label.clone(),
        decision: Decision::Nothing,
        observed_on,
        commands_sent: 0,
        status_reads: 0,
        error: Some(error),
    }
}

/// Sums the journal of one planned transition.
pub fn journaled(history: &[OutputCommand], pulse: bool) -> Journaled {
    use OutputCommandState::*;
    let last = history.last();
    Journaled {
        in_doubt: last.is_some_and(|c| in_doubt(c, pulse)),
        settled: last.is_some_and(|c| {
            matches!(c.state, Verified | InPlace | Override | Skipped | Unknown)
                || (pulse && c.state == Unverified)
        }),
        overridden: history.iter().any(|c| c.state == Override),
        sends: history.iter().filter(|c| c.state.counts_as_send()).count() as u32,
    }
}

/// A command in doubt whose effect the IO status does not show, before it is sent again:
/// never accepted (a crash before the answer) is lost; accepted but without effect counts as
/// an unverified send towards [`decide::MAX_SENDS_PER_TRANSITION`].
pub fn superseded(state: OutputCommandState) -> OutputCommandState {
    if state == OutputCommandState::Intent {
        OutputCommandState::Lost
    } else {
        OutputCommandState::Unverified
    }
}

fn in_doubt(command: &OutputCommand, pulse: bool) -> bool {
    use OutputCommandState::*;
    matches!(command.state, Intent | Sent) || (!pulse && command.state == Unverified)
}

/// The output's state in an IO status (names compared case-insensitively).
pub fn output_state(status: &IoStatus, target: &OutputTarget) -> Result<bool, OutputError> {
    status
        .f_outputs
        .iter()
        .chain(&status.x_outputs)
        .find(|io| io.name.eq_ignore_ascii_case(target.output.as_str()))
        .map(|io| io.state.eq_ignore_ascii_case("on"))
        .ok_or_else(|| OutputError::NotInStatus {
            label: target.label.clone(),
            unit: target.unit.to_string(),
            output: target.output.to_string(),
        })
}

fn action_text(step: Step) -> String {
    match step {
        Step::On => "ON".to_owned(),
        Step::Off => "OFF".to_owned(),
        Step::Pulse(seconds) => seconds.to_string(),
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// At start-up: every configured output must exist on its unit, by the unit's IO list
/// (`GET /units/{id}`, newer units) or its IO status (`GET /Control`).
pub async fn check_targets(client: &Client, targets: &[OutputTarget]) -> Result<(), OutputError> {
    let mut known: BTreeMap<UnitKey, Vec<String>> = BTreeMap::new();
    for (index, target) in targets.iter().enumerate() {
        if !known.contains_key(&target.unit) {
            let api = |source| OutputError::Api {
                label: format!("outputs[{index}] (unit {})", target.unit),
                source,
            };
            let mut names: Vec<String> = vec![];
            if let UnitRef::Id(id) = target.unit_ref() {
                let unit = client.unit(id).await.map_err(api)?;
                names.extend(
                    unit.io
                        .into_iter()
                        .map(|p| p.global_number.to_ascii_uppercase()),
                );
            }
            let status = client.io_status(&target.unit_ref()).await.map_err(api)?;
            names.extend(
                status
                    .f_outputs
                    .iter()
                    .chain(&status.x_outputs)
                    .map(|io| io.name.to_ascii_uppercase()),
            );
            names.sort();
            names.dedup();
            known.insert(target.unit.clone(), names);
        }
        let names = &known[&target.unit];
        if !names.iter().any(|n| n == target.output.as_str()) {
            let outputs: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| n.starts_with('F') || n.starts_with('X'))
                .collect();
            return Err(OutputError::UnknownOutput {
                index,
                unit: target.unit.to_string(),
                output: target.output.to_string(),
                known: if outputs.is_empty() {
                    "none".to_owned()
                } else {
                    outputs.join(", ")
                },
            });
        }
    }
    Ok(())
}
