//! What needs someone's attention, and so makes `flexysync status` exit 1: an arrival within a
//! day without a confirmed booking (a guest at the door), a source failing for over an hour,
//! held deletions.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::status::{ObjectStatus, SourceStatus};
use crate::model::{ReadStatus, SourceReadRecord};
use crate::text::{DELETION, FAILED_READ, count};

/// A source failing for longer than this needs someone.
pub const FAILING_ATTENTION_AFTER: Duration = Duration::hours(1);

/// One reason for `status` to exit 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attention {
    pub kind: AttentionKind,
    pub source: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// An arrival within 24 hours (or a stay in progress) has no confirmed booking.
    UnconfirmedArrival,
    /// A source's reads have failed, and none has succeeded for over an hour (or ever).
    SourceFailing,
    /// A source's deletions are held: by the shrink guard, or because it left the config.
    DeletionsHeld,
}

/// Every reason the status needs someone: arrivals first (a guest at the door), then failing
/// sources, then held deletions.
pub(super) fn attention(
    sources: &[SourceStatus],
    objects: &[ObjectStatus],
    reads: &HashMap<String, SourceReadRecord>,
    now: DateTime<Utc>,
) -> Vec<Attention> {
    let mut found = vec![];
    for object in objects {
        for arrival in object.arrivals.iter().filter(|a| a.flagged) {
            found.push(Attention {
                kind: AttentionKind::UnconfirmedArrival,
                source: arrival.source.clone(),
                detail: format!(
                    "{} ({}) from {} has no confirmed booking on object {}",
                    arrival.label,
                    arrival.reservation_key,
                    arrival.start.format("%Y-%m-%dT%H:%M:%SZ"),
                    object.booking_object_id
                ),
            });
        }
    }
    for source in sources {
        let Some(read) = reads.get(&source.name) else {
            continue;
        };
        let failing_long = matches!(read.last_outcome, ReadStatus::Failed(_))
            && read
                .last_success_at
                .is_none_or(|success| now - success > FAILING_ATTENTION_AFTER);
        if failing_long {
            let since = read.last_success_at.map_or_else(
                || "has never been read".to_owned(),
                |at| format!("not read since {}", at.format("%Y-%m-%dT%H:%M:%SZ")),
            );
            found.push(Attention {
                kind: AttentionKind::SourceFailing,
                source: source.name.clone(),
                detail: format!(
                    "{since}; {} in a row: {}",
                    count(read.consecutive_failures, FAILED_READ),
                    read.last_reason.as_deref().unwrap_or("no reason recorded")
                ),
            });
        }
    }
    for source in sources {
        if source.held_deletions.is_empty() && source.shrink_hold.is_none() {
            continue;
        }
        let why = source
            .shrink_hold
            .clone()
            .or_else(|| source.held_deletions.first().map(|h| h.reason.clone()))
            .unwrap_or_default();
        found.push(Attention {
            kind: AttentionKind::DeletionsHeld,
            source: source.name.clone(),
            detail: format!(
                "{} held: {why}; `flexysync sync --confirm {}` lets them through",
                count(source.held_deletions.len(), DELETION),
                source.name
            ),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FailureKind;
    use crate::reconcile::status::HeldBooking;

    const FAILED: ReadStatus = ReadStatus::Failed(FailureKind::Fetch);

    fn source(name: &str) -> SourceStatus {
        SourceStatus {
            name: name.to_owned(),
            kind: "ical",
            ..SourceStatus::default()
        }
    }

    fn read(name: &str, outcome: ReadStatus, success: Option<DateTime<Utc>>) -> SourceReadRecord {
        SourceReadRecord {
            source: name.to_owned(),
            last_attempt_at: Utc::now(),
            last_outcome: outcome,
            last_reason: Some("HTTP status 503".to_owned()),
            last_success_at: success,
            last_fresh_at: success,
            content_fingerprint: None,
            consecutive_failures: 4,
            fetch_memo: None,
            hold: None,
            growth_hold: None,
        }
    }

    #[test]
    fn a_source_needs_attention_once_it_has_failed_for_over_an_hour_or_never_worked() {
        let now = Utc::now();
        let cases = [
            ("long", FAILED, Some(now - Duration::minutes(61))),
            ("never", FAILED, None),
            ("recent", FAILED, Some(now - Duration::minutes(59))),
            (
                "fine",
                ReadStatus::Unchanged,
                Some(now - Duration::hours(5)),
            ),
        ];
        let sources: Vec<SourceStatus> = cases.iter().map(|(name, ..)| source(name)).collect();
        let reads = cases
            .iter()
            .map(|(name, outcome, success)| (name.to_string(), read(name, *outcome, *success)))
            .collect();
        let found = attention(&sources, &[], &reads, now);
        let failing: Vec<&str> = found
            .iter()
            .filter(|a| a.kind == AttentionKind::SourceFailing)
            .map(|a| a.source.as_str())
            .collect();
        assert_eq!(failing, ["long", "never"]);
        assert!(found[0].detail.contains("HTTP status 503"), "{found:?}");
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn held_deletions_of_a_source_need_attention() {
        let mut held = source("cabin");
        held.held_deletions.push(HeldBooking {
            booking_id: 7,
            booking_object_id: 1,
            start: Utc::now(),
            end: Utc::now(),
            reason: "the feed shrank from 4 to 1".to_owned(),
        });
        let found = attention(&[held, source("other")], &[], &HashMap::new(), Utc::now());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, AttentionKind::DeletionsHeld);
        assert!(
            found[0].detail.contains("sync --confirm cabin"),
            "{found:?}"
        );
    }
}
