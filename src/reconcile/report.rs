//! What a pass tells: per source, what was read and held; for the pass, its plan, what was
//! applied, and every failure with its kind (metrics count by kind) and a text for people.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::apply::ApplyReport;
use super::plan::{Plan, ReadKind};
use crate::ledger::PassCounts;
use crate::model::ReadFailure;

/// What went wrong in a pass outside the sources' reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PassFailureKind {
    /// A booking object's bookings could not be listed: nothing is written there.
    List,
    /// FlexyKey refused a write, or its outcome is unknown.
    Write,
    /// A write was not attempted: its object is in doubt or unlisted, or the daemon stops.
    NotAttempted,
    /// The re-read after writing disagrees with what was written, or failed.
    Verify,
}

impl PassFailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PassFailureKind::List => "list",
            PassFailureKind::Write => "write",
            PassFailureKind::NotAttempted => "not_attempted",
            PassFailureKind::Verify => "verify",
        }
    }
}

/// One failure of a pass: its kind, and what happened in plain words (no code, no phone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassFailure {
    pub kind: PassFailureKind,
    pub text: String,
}

impl PassFailure {
    pub fn new(kind: PassFailureKind, text: impl Into<String>) -> Self {
        PassFailure {
            kind,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for PassFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub read: ReadKind,
    pub failure: Option<ReadFailure>,
    /// Upcoming reservations the source now stands for.
    pub upcoming: u32,
    pub warnings: Vec<String>,
    /// Why the source's deletions (or, for a pushed source, its snapshot) are held.
    pub hold: Option<String>,
    /// Why the source's creates are held (growth guard).
    pub creates_held: Option<String>,
    pub released: Option<String>,
}

impl SourceReport {
    pub fn new(name: &str, read: ReadKind, upcoming: u32) -> Self {
        SourceReport {
            name: name.to_owned(),
            read,
            failure: None,
            upcoming,
            warnings: vec![],
            hold: None,
            creates_held: None,
            released: None,
        }
    }

    /// Read, and nothing of it held.
    pub fn settled(&self) -> bool {
        self.read != ReadKind::Failed && self.hold.is_none() && self.creates_held.is_none()
    }
}

/// What the drift round listed, and where it gave way to a waiting pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftRound {
    /// Drift lists the round planned.
    pub planned: u32,
    /// Drift lists it made (failed ones included).
    pub made: u32,
    /// Objects whose check it did not make, or whose list failed: still due.
    pub owed: BTreeSet<i64>,
}

impl DriftRound {
    /// True when the round stopped early because another pass was waiting.
    pub fn gave_way(&self) -> bool {
        self.made < self.planned
    }

    /// "drift round gave way after N of M lists", for the pass's log line and status.
    pub fn summary(&self) -> Option<String> {
        let (made, planned) = (self.made, self.planned);
        (self.gave_way()).then(|| format!("drift round gave way after {made} of {planned} lists"))
    }
}

#[derive(Debug, Clone)]
pub struct PassReport {
    pub pass_id: Option<i64>,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    pub sources: Vec<SourceReport>,
    pub plan: Plan,
    pub applied: ApplyReport,
    /// Bookings found in FlexyKey by their marker and recorded as owned before planning.
    pub adopted: u32,
    /// Owned bookings found deleted by hand.
    pub vanished: Vec<i64>,
    /// Bookings on the objects that are not flexysync's.
    pub foreign: u32,
    /// Booking objects whose bookings were listed in this pass (the re-read aside).
    pub listed_objects: u32,
    /// Booking objects in scope left unlisted: nothing changed there since their last list.
    pub unlisted_objects: u32,
    /// The booking objects listed, by id (the re-read aside).
    pub listed: BTreeSet<i64>,
    /// The drift round: how many lists it planned, and the checks it still owes.
    pub drift: DriftRound,
    pub errors: Vec<PassFailure>,
    pub warnings: Vec<String>,
    pub converged: bool,
}

impl PassReport {
    pub fn new(pass_id: Option<i64>, dry_run: bool, started_at: DateTime<Utc>) -> Self {
        PassReport {
            pass_id,
            dry_run,
            started_at,
            sources: vec![],
            plan: Plan::default(),
            applied: ApplyReport::default(),
            adopted: 0,
            vanished: vec![],
            foreign: 0,
            listed_objects: 0,
            unlisted_objects: 0,
            listed: BTreeSet::new(),
            drift: DriftRound::default(),
            errors: vec![],
            warnings: vec![],
            converged: false,
        }
    }

    pub fn counts(&self) -> PassCounts {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        PassCounts {
            created: self.applied.created,
            deleted: self.applied.deleted,
            adopted: self.adopted.saturating_add(self.applied.adopted),
            failed: count(self.applied.failures.len() + self.errors.len()),
            held: count(self.plan.held.len() + self.plan.held_creates.len()),
            foreign_bookings: self.foreign,
        }
    }

    /// Every failure of the pass, the sources' aside.
    pub fn failures(&self) -> impl Iterator<Item = &PassFailure> {
        self.errors.iter().chain(&self.applied.failures)
    }

    /// Nothing failed, nothing is held, every source was read: the next pass has nothing to do.
    pub fn settle(&mut self) {
        self.converged = self.failures().next().is_none()
            && self.plan.held.is_empty()
            && self.plan.held_creates.is_empty()
            && self.sources.iter().all(SourceReport::settled);
    }
}
