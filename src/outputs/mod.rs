//! Booking-driven outputs: heat the cabin before the guest arrives, pulse the gate at check-in.
//! The plan of each output is a pure function of the stays ([`plan`]); what to do now is a
//! pure function of the plan, the journal and the IO status ([`decide`]); [`drive`] carries it
//! out through the FlexyKey client, journaling each command in the ledger before it is sent.
//! Knows nothing of calendars or SQL: the daemon hands it [`Stay`]s.

pub mod decide;
pub mod drive;
pub mod plan;
#[cfg(test)]
mod plan_tests;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

pub use decide::{Decision, Journaled};
pub use drive::{Driver, OutputError, StepReport, VerifyPolicy, check_targets};
pub use plan::{Rule, Selection, Stay, Step, Transition, Window};

use crate::config::{OutputConfig, UnitKey};
use crate::flexykey::{OutputName, UnitRef};

/// How far ahead `flexysync outputs` and the status page show plans.
pub const PLAN_DAYS: i64 = 14;

/// One configured output, ready to plan and drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTarget {
    /// Stable ledger key: `3023/F1` or `s040530585131396/X33`.
    pub key: String,
    pub label: String,
    pub unit: UnitKey,
    pub output: OutputName,
    pub rule: Rule,
    pub selection: Selection,
}

impl OutputTarget {
    pub fn from_config(config: &OutputConfig) -> OutputTarget {
        let output = config.output_name();
        let rule = match config.pulse_at_start {
            Some(seconds) => Rule::Pulse { seconds },
            None => Rule::Window {
                on_before: duration(config.on_before),
                off_after: duration(config.off_after),
                merge_gap: duration(config.merge_gap),
            },
        };
        let unit_part = match &config.unit {
            UnitKey::Id(id) => id.to_string(),
            UnitKey::Serial(serial) => format!("s{serial}"),
        };
        OutputTarget {
            key: format!("{unit_part}/{output}"),
            label: config.label(),
            unit: config.unit.clone(),
            output,
            rule,
            selection: Selection {
                booking_objects: config.booking_objects.clone(),
                sources: config.sources.clone(),
            },
        }
    }

    pub fn unit_ref(&self) -> UnitRef {
        self.unit.as_unit_ref()
    }

    pub fn is_pulse(&self) -> bool {
        matches!(self.rule, Rule::Pulse { .. })
    }

    /// The plan of this output over the stays, seen from `now`.
    pub fn plan(&self, stays: &[Stay], now: DateTime<Utc>) -> OutputPlan {
        let transitions = plan::transitions(self.rule, &self.selection, stays);
        let position = plan::position(&transitions, now);
        let horizon = now + Duration::days(PLAN_DAYS);
        OutputPlan {
            key: self.key.clone(),
            label: self.label.clone(),
            unit: self.unit.to_string(),
            output: self.output.to_string(),
            desired_now: decide::steady_state(position.current).filter(|_| !self.is_pulse()),
            upcoming: transitions
                .iter()
                .filter(|t| t.at > now && t.at <= horizon)
                .copied()
                .collect(),
            windows: plan::windows(self.rule, &self.selection, stays)
                .into_iter()
                .filter(|w| w.off > now && w.on <= horizon)
                .collect(),
            position,
        }
    }
}

fn duration(value: Option<crate::config::HumanDuration>) -> Duration {
    value.map(|d| d.as_chrono()).unwrap_or_else(Duration::zero)
}

/// One output's plan as `flexysync outputs`, `sync --dry-run` and the status page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputPlan {
    pub key: String,
    pub label: String,
    pub unit: String,
    pub output: String,
    /// ON/OFF outputs: the planned state now; `None` for pulse outputs.
    pub desired_now: Option<bool>,
    /// The transitions of the coming [`PLAN_DAYS`] days.
    pub upcoming: Vec<Transition>,
    /// ON windows that end after now and start within [`PLAN_DAYS`] days.
    pub windows: Vec<Window>,
    #[serde(skip)]
    pub position: plan::Position,
}

/// The targets of every `[[outputs]]` entry.
pub fn targets(configs: &[OutputConfig]) -> Vec<OutputTarget> {
    configs.iter().map(OutputTarget::from_config).collect()
}

/// The stays that may drive outputs, from the ledger's stored reservations: the one mapping
/// from the reservation type to this module's own.
pub fn stays_of(reservations: &[crate::ledger::StoredReservation]) -> Vec<Stay> {
    reservations
        .iter()
        .map(|stored| Stay {
            booking_object_id: stored.reservation.booking_object_id,
            source: stored.reservation.source.clone(),
            start: stored.reservation.start,
            end: stored.reservation.end,
        })
        .collect()
}
