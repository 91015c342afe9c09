//! The guards on what one read may do at once. A source whose upcoming reservations shrink by
//! more than `max_shrink` has its deletions held; one that grows by more than `max_growth` (a
//! runaway recurring event) has its creates held. Either hold ends when the operator confirms
//! the source (`sync --confirm`), when the source recovers, or when the same content stays for
//! `shrink_confirm_hours`. Pure functions: the pass stores what they return.

use chrono::{DateTime, Duration, Utc};

use crate::config::{GrowthLimit, SyncConfig};
use crate::model::ShrinkHold;
use crate::text::{HOUR, UPCOMING, count};

/// The `[sync]` limits the guards apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardPolicy {
    pub max_shrink: f64,
    pub max_growth: GrowthLimit,
    pub confirm_hours: u32,
}

impl GuardPolicy {
    pub fn from_config(sync: &SyncConfig) -> GuardPolicy {
        GuardPolicy {
            max_shrink: sync.max_shrink,
            max_growth: sync.max_growth,
            confirm_hours: sync.shrink_confirm_hours,
        }
    }
}

impl Default for GuardPolicy {
    fn default() -> Self {
        GuardPolicy::from_config(&SyncConfig::default())
    }
}

/// A guard's verdict on one successful read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The guarded writes stay held while this is set.
    pub hold: Option<ShrinkHold>,
    /// Why an earlier hold ended in this read, if it did.
    pub released: Option<String>,
}

/// One successful read as a guard sees it.
#[derive(Debug, Clone, Copy)]
pub struct GuardInput<'a> {
    pub source: &'a str,
    /// The hold in force before this read, if any.
    pub previous: Option<&'a ShrinkHold>,
    /// Upcoming reservations the ledger knew before this read.
    pub before: u32,
    /// Upcoming reservations this read yields.
    pub after: u32,
    /// Fingerprint of the content read.
    pub content: &'a str,
    /// The operator ran `sync --confirm SOURCE`.
    pub confirmed: bool,
}

/// Decides whether a source's deletions are held.
pub fn assess_shrink(input: GuardInput<'_>, policy: &GuardPolicy, now: DateTime<Utc>) -> Verdict {
    let baseline = input.previous.map_or(input.before, |hold| hold.baseline);
    let lost = baseline.saturating_sub(input.after);
    let share = if baseline == 0 {
        0.0
    } else {
        f64::from(lost) / f64::from(baseline)
    };
    let source = input.source;
    let reason = format!(
        "{source} shrank from {baseline} to {} ({:.0} % gone, more than the {:.0} % allowed by \
         max_shrink); its deletions are held until `flexysync sync --confirm {source}` or until \
         the feed stays like this for {}",
        count(input.after, UPCOMING),
        share * 100.0,
        policy.max_shrink * 100.0,
        count(policy.confirm_hours, HOUR)
    );
    guard(
        input,
        policy,
        now,
        share > policy.max_shrink,
        baseline,
        reason,
    )
}

/// Decides whether a source's creates are held: more than `max_growth.stays` new upcoming
/// reservations and more than `max_growth.factor` times the count before, in one read.
pub fn assess_growth(input: GuardInput<'_>, policy: &GuardPolicy, now: DateTime<Utc>) -> Verdict {
    let baseline = input.previous.map_or(input.before, |hold| hold.baseline);
    let limit = policy.max_growth;
    let added = input.after.saturating_sub(baseline);
    let runaway =
        added > limit.stays && f64::from(input.after) > limit.factor * f64::from(baseline);
    let source = input.source;
    let reason = format!(
        "{source} grew from {baseline} to {} in one read ({added} new: more than max_growth \
         allows, {} new and {}× the count before); its creates are held until \
         `flexysync sync --confirm {source}` or until the feed stays like this for {}",
        count(input.after, UPCOMING),
        limit.stays,
        limit.factor,
        count(policy.confirm_hours, HOUR)
    );
    guard(input, policy, now, runaway, baseline, reason)
}

/// The hold shared by both guards: `tripped` says whether this read exceeds the limit.
fn guard(
    input: GuardInput<'_>,
    policy: &GuardPolicy,
    now: DateTime<Utc>,
    tripped: bool,
    baseline: u32,
    reason: String,
) -> Verdict {
    let GuardInput {
        source,
        previous,
        after,
        content,
        confirmed,
        ..
    } = input;
    let released = |why: String| Verdict {
        hold: None,
        released: previous.map(|_| why),
    };
    if confirmed {
        return Verdict {
            hold: None,
            released: Some(format!("confirmed by the operator (--confirm {source})")),
        };
    }
    if !tripped {
        return released(format!(
            "{source} recovered: {} against {baseline} before",
            count(after, UPCOMING)
        ));
    }
    let confirm_after = Duration::hours(i64::from(policy.confirm_hours));
    if let Some(hold) = previous.filter(|hold| hold.fingerprint == content) {
        if now.signed_duration_since(hold.since) >= confirm_after {
            return released(format!(
                "{source}'s content stayed the same for {}: accepted",
                count(policy.confirm_hours, HOUR)
            ));
        }
        return Verdict {
            hold: Some(hold.clone()),
            released: None,
        };
    }
    Verdict {
        hold: Some(ShrinkHold {
            reason,
            since: now,
            fingerprint: content.to_owned(),
            baseline,
        }),
        released: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn input<'a>(
        previous: Option<&'a ShrinkHold>,
        before: u32,
        after: u32,
        content: &'a str,
        confirmed: bool,
    ) -> GuardInput<'a> {
        GuardInput {
            source: "s",
            previous,
            before,
            after,
            content,
            confirmed,
        }
    }

    fn assess(
        previous: Option<&ShrinkHold>,
        before: u32,
        after: u32,
        content: &str,
        confirmed: bool,
        at: DateTime<Utc>,
    ) -> Verdict {
        let input = input(previous, before, after, content, confirmed);
        assess_shrink(input, &GuardPolicy::default(), at)
    }

    #[test]
    fn a_big_shrink_holds_until_confirmed_or_unchanged_long_enough() {
        let verdict = assess(None, 30, 10, "c1", false, now());
        let hold = verdict.hold.expect("held");
        assert_eq!(hold.baseline, 30);
        assert!(hold.reason.contains("--confirm s"), "{}", hold.reason);
        // Same content an hour later: still held, since the first time.
        let later = now() + Duration::hours(1);
        let again = assess(Some(&hold), 10, 10, "c1", false, later);
        assert_eq!(again.hold.as_ref().map(|h| h.since), Some(now()));
        // Different shrunken content restarts the clock.
        let other = assess(Some(&hold), 10, 9, "c2", false, later);
        assert_eq!(other.hold.as_ref().map(|h| h.since), Some(later));
        // Unchanged for 24 hours: released.
        let day = now() + Duration::hours(24);
        let released = assess(Some(&hold), 10, 10, "c1", false, day);
        assert_eq!(released.hold, None);
        assert!(released.released.is_some());
        // Recovered content: released.
        let recovered = assess(Some(&hold), 10, 29, "c3", false, later);
        assert_eq!(recovered.hold, None);
        // Operator confirmation: released at once.
        let confirmed = assess(Some(&hold), 10, 10, "c1", true, later);
        assert_eq!(confirmed.hold, None);
    }

    #[test]
    fn small_shrinks_and_empty_sources_hold_nothing() {
        assert_eq!(assess(None, 30, 15, "c", false, now()).hold, None);
        assert_eq!(assess(None, 0, 0, "c", false, now()).hold, None);
        assert!(assess(None, 3, 0, "c", false, now()).hold.is_some());
    }

    #[test]
    fn growth_holds_only_past_both_limits_and_releases_like_a_shrink() {
        let policy = GuardPolicy::default();
        let grow = |previous, before, after, content, confirmed, at| {
            assess_growth(
                input(previous, before, after, content, confirmed),
                &policy,
                at,
            )
        };
        // Many new stays but not three times as many: a busy season, not a runaway.
        assert_eq!(grow(None, 100, 200, "c", false, now()).hold, None);
        // Three times as many but few: a new listing filling up.
        assert_eq!(grow(None, 2, 40, "c", false, now()).hold, None);
        assert_eq!(grow(None, 0, 50, "c", false, now()).hold, None);
        // A runaway FREQ=MINUTELY: held, from an empty source too.
        let hold = grow(None, 10, 5_000, "c1", false, now())
            .hold
            .expect("held");
        assert_eq!(hold.baseline, 10);
        assert!(hold.reason.contains("creates are held"), "{}", hold.reason);
        assert!(grow(None, 0, 51, "c", false, now()).hold.is_some());
        // The same content for shrink_confirm_hours: released.
        let later = now() + Duration::hours(1);
        assert!(
            grow(Some(&hold), 10, 5_000, "c1", false, later)
                .hold
                .is_some()
        );
        let day = now() + Duration::hours(24);
        let released = grow(Some(&hold), 10, 5_000, "c1", false, day);
        assert_eq!(released.hold, None);
        assert!(released.released.is_some());
        // The feed fixed: released; confirmed: released.
        assert_eq!(grow(Some(&hold), 5_000, 12, "c2", false, later).hold, None);
        assert_eq!(grow(Some(&hold), 10, 5_000, "c1", true, later).hold, None);
    }
}
