//! The plan of one output: a pure function of the stays. ON windows are the union of each
//! stay widened by `on_before`/`off_after`, merged across gaps between stays shorter than
//! `merge_gap`; a pulse output has one pulse per distinct stay start.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// One stay that may drive outputs: filled by the daemon from the ledger's reservations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stay {
    pub booking_object_id: i64,
    pub source: String,
    /// UTC, inclusive.
    pub start: DateTime<Utc>,
    /// UTC, exclusive; after `start`.
    pub end: DateTime<Utc>,
}

/// How stays switch an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Window {
        on_before: Duration,
        off_after: Duration,
        merge_gap: Duration,
    },
    Pulse {
        seconds: u32,
    },
}

/// Which stays drive an output: those on these objects or from these sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub booking_objects: Vec<i64>,
    pub sources: Vec<String>,
}

impl Selection {
    pub fn drives(&self, stay: &Stay) -> bool {
        self.booking_objects.contains(&stay.booking_object_id)
            || self.sources.contains(&stay.source)
    }
}

/// A half-open ON window `[on, off)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    pub on: DateTime<Utc>,
    pub off: DateTime<Utc>,
}

/// What a planned transition does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    On,
    Off,
    Pulse(u32),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::On => f.write_str("ON"),
            Step::Off => f.write_str("OFF"),
            Step::Pulse(seconds) => write!(f, "pulse {seconds}s"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub step: Step,
}

/// The merged ON windows of the stays (only those `selection` picks), sorted and disjoint.
pub fn windows(rule: Rule, selection: &Selection, stays: &[Stay]) -> Vec<Window> {
    let Rule::Window {
        on_before,
        off_after,
        merge_gap,
    } = rule
    else {
        return vec![];
    };
    let mut picked: Vec<&Stay> = stays
        .iter()
        .filter(|s| s.end > s.start && selection.drives(s))
        .collect();
    picked.sort_by_key(|s| (s.start, s.end));
    let mut merged: Vec<Window> = vec![];
    // The latest stay end of the window being built: the gap to the next stay counts from it.
    let mut last_end: Option<DateTime<Utc>> = None;
    for stay in picked {
        let window = Window {
            on: stay.start - on_before,
            off: stay.end + off_after,
        };
        match (merged.last_mut(), last_end) {
            (Some(last), Some(end)) if window.on <= last.off || stay.start - end < merge_gap => {
                last.off = last.off.max(window.off);
                last_end = Some(end.max(stay.end));
            }
            _ => {
                merged.push(window);
                last_end = Some(stay.end);
            }
        }
    }
    merged
}

/// Every planned transition of the output, sorted by time.
pub fn transitions(rule: Rule, selection: &Selection, stays: &[Stay]) -> Vec<Transition> {
    match rule {
        Rule::Window { .. } => windows(rule, selection, stays)
            .into_iter()
            .flat_map(|w| {
                [
                    Transition {
                        at: w.on,
                        step: Step::On,
                    },
                    Transition {
                        at: w.off,
                        step: Step::Off,
                    },
                ]
            })
            .collect(),
        Rule::Pulse { seconds } => {
            let mut starts: Vec<DateTime<Utc>> = stays
                .iter()
                .filter(|s| s.end > s.start && selection.drives(s))
                .map(|s| s.start)
                .collect();
            starts.sort();
            starts.dedup();
            starts
                .into_iter()
                .map(|at| Transition {
                    at,
                    step: Step::Pulse(seconds),
                })
                .collect()
        }
    }
}

/// Whether the windows hold the output on at `at`.
pub fn desired_at(windows: &[Window], at: DateTime<Utc>) -> bool {
    windows.iter().any(|w| w.on <= at && at < w.off)
}

/// Where the plan stands at one instant: the transition in effect and the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// The latest transition at or before the instant; `None` before the first.
    pub current: Option<Transition>,
    pub next: Option<Transition>,
}

pub fn position(transitions: &[Transition], now: DateTime<Utc>) -> Position {
    let split = transitions.partition_point(|t| t.at <= now);
    Position {
        current: split.checked_sub(1).map(|i| transitions[i]),
        next: transitions.get(split).copied(),
    }
}
