//! What a source's last read said, and the guards that hold its writes.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a source's last read said, and its shrink guard.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceReadRecord {
    pub source: String,
    pub last_attempt_at: DateTime<Utc>,
    pub last_outcome: ReadStatus,
    /// In plain words: why the read failed, or a note on a successful one.
    pub last_reason: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_fresh_at: Option<DateTime<Utc>>,
    pub content_fingerprint: Option<String>,
    pub consecutive_failures: u32,
    pub fetch_memo: Option<String>,
    /// The shrink guard's hold (a pushed source: its held snapshot).
    pub hold: Option<ShrinkHold>,
    /// The growth guard's hold: the source's creates are held.
    pub growth_hold: Option<ShrinkHold>,
}

/// A source's deletions held because its upcoming reservations shrank too much in one read
/// (or its creates, because they grew too much).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShrinkHold {
    pub reason: String,
    pub since: DateTime<Utc>,
    /// The content that shrank; unchanged content for `shrink_confirm_hours` releases the hold.
    pub fingerprint: String,
    /// Upcoming reservations before the shrink.
    pub baseline: u32,
}

/// How a source's last read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadStatus {
    /// Read whole: the source's desired state.
    Fresh,
    /// Not modified since the last fresh read, which still holds.
    Unchanged,
    /// Nothing is known from this read; `FailureKind` says which step failed.
    Failed(FailureKind),
}

impl ReadStatus {
    /// The text the ledger stores (`source_reads.last_outcome`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReadStatus::Fresh => "fresh",
            ReadStatus::Unchanged => "unchanged",
            ReadStatus::Failed(_) => "failed",
        }
    }

    pub fn failure(self) -> Option<FailureKind> {
        match self {
            ReadStatus::Failed(kind) => Some(kind),
            _ => None,
        }
    }
}

/// Which step of a read failed: what metrics and the status page count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The feed or snapshot could not be downloaded (network, HTTP status, timeout, size).
    Fetch,
    /// The body is not a calendar, or not the JSON a snapshot must be.
    Format,
    /// The body was cut short or too big to expand whole: it may lack events.
    Incomplete,
    /// The time zone the calendar's floating times need is not known.
    Zone,
    /// A webhook source's snapshot could not be read or applied.
    Snapshot,
    /// The source's stored state could not be read.
    Store,
    /// Anything else.
    Other,
}

impl FailureKind {
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Fetch,
        FailureKind::Format,
        FailureKind::Incomplete,
        FailureKind::Zone,
        FailureKind::Snapshot,
        FailureKind::Store,
        FailureKind::Other,
    ];

    /// The text stored in the ledger and used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Fetch => "fetch",
            FailureKind::Format => "format",
            FailureKind::Incomplete => "incomplete",
            FailureKind::Zone => "zone",
            FailureKind::Snapshot => "snapshot",
            FailureKind::Store => "store",
            FailureKind::Other => "other",
        }
    }

    /// The kind stored as `text`; an unknown text (a newer version's) reads as `Other`.
    pub fn parse(text: &str) -> FailureKind {
        FailureKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .unwrap_or(FailureKind::Other)
    }
}

/// A read that yielded nothing known: its kind, and a text for people (no secrets in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadFailure {
    pub kind: FailureKind,
    pub text: String,
}

impl ReadFailure {
    pub fn new(kind: FailureKind, text: impl Into<String>) -> Self {
        ReadFailure {
            kind,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
