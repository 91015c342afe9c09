//! What to do now for one output: a pure function of the plan's position, what the ledger
//! journaled for the transition in effect, and the IO status just read. Acting once per
//! planned transition is what keeps a person's switch in place (hands off until the next
//! transition) and what makes a restart after a crash send nothing twice.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::plan::{Position, Step, Transition};

/// A pulse is sent at most this long after its planned time: a gate opened half an hour late
/// opens for no one.
pub const PULSE_GRACE: Duration = Duration::minutes(10);
/// Sends for one planned transition, retries included, before flexysync gives up on it.
pub const MAX_SENDS_PER_TRANSITION: u32 = 3;

/// What the journal holds for the transition in effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Journaled {
    /// A command was journaled but its outcome is not known (a crash, a lost answer).
    pub in_doubt: bool,
    /// The transition is done: verified, found already in place, handed to a person, skipped.
    pub settled: bool,
    /// Whether a person's switch was noticed (hands off until the next transition).
    pub overridden: bool,
    /// Commands sent (or maybe sent) for this transition so far.
    pub sends: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// In line with the plan, or handed off: no call.
    Nothing,
    /// The IO status already shows the planned state: record it, send nothing.
    AlreadyInPlace,
    /// Send this command (journal first).
    Send { step: Step },
    /// A command in doubt did happen: the IO status shows it.
    DoubtResolved,
    /// A pulse in doubt cannot be told from the status later; never re-sent.
    DoubtUnknown,
    /// The output differs from flexysync's last verified state: a person switched it.
    Override { observed_on: bool },
    /// A pulse whose time passed more than [`PULSE_GRACE`] ago: not sent.
    SkipLatePulse,
    /// The sends for this transition are used up; the next transition tries again.
    GiveUp,
}

/// The planned state in effect: `Some(on)` for ON/OFF outputs, `None` for pulse outputs.
pub fn steady_state(current: Option<Transition>) -> Option<bool> {
    match current.map(|t| t.step) {
        None | Some(Step::Off) => Some(false),
        Some(Step::On) => Some(true),
        Some(Step::Pulse(_)) => None,
    }
}

/// The instant that names the transition in effect; the Unix epoch before the first one.
pub fn transition_key(position: &Position) -> DateTime<Utc> {
    position
        .current
        .map(|t| t.at)
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// Decides one output's action. `pulse_output` tells the rule's kind apart before any
/// transition; `observed_on` is the IO status just read.
pub fn decide(
    position: &Position,
    pulse_output: bool,
    journaled: Journaled,
    observed_on: bool,
    now: DateTime<Utc>,
) -> Decision {
    if pulse_output {
        return decide_pulse(position, journaled, observed_on, now);
    }
    let desired = steady_state(position.current).unwrap_or(false);
    let step = if desired { Step::On } else { Step::Off };
    if journaled.overridden {
        return Decision::Nothing;
    }
    if journaled.in_doubt {
        return if observed_on == desired {
            Decision::DoubtResolved
        } else if journaled.sends >= MAX_SENDS_PER_TRANSITION {
            Decision::GiveUp
        } else {
            Decision::Send { step }
        };
    }
    if journaled.settled {
        return if observed_on == desired {
            Decision::Nothing
        } else {
            Decision::Override { observed_on }
        };
    }
    if observed_on == desired {
        Decision::AlreadyInPlace
    } else if journaled.sends >= MAX_SENDS_PER_TRANSITION {
        Decision::GiveUp
    } else {
        Decision::Send { step }
    }
}

fn decide_pulse(
    position: &Position,
    journaled: Journaled,
    observed_on: bool,
    now: DateTime<Utc>,
) -> Decision {
    let Some(Transition {
        at,
        step: step @ Step::Pulse(_),
    }) = position.current
    else {
        return Decision::Nothing;
    };
    if journaled.in_doubt {
        // A pulse ends by itself: "off" later says nothing about whether it was sent.
        return if observed_on {
            Decision::DoubtResolved
        } else {
            Decision::DoubtUnknown
        };
    }
    if journaled.settled || journaled.sends >= MAX_SENDS_PER_TRANSITION {
        return Decision::Nothing;
    }
    if now - at > PULSE_GRACE {
        Decision::SkipLatePulse
    } else {
        Decision::Send { step }
    }
}
