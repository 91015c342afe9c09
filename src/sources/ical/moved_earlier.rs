//! Instances moved earlier into the window: an override whose RECURRENCE-ID lies after the
//! rule's reach (the window's end and its margin) but whose own times fall in the window. The
//! rule is not run that far for every series; it is run once around each such RECURRENCE-ID,
//! to check that it names an instance (not excluded by EXDATE), as for any other override.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::event::Component;
use super::expand::Exclusions;
use super::rrule::{RuleClock, expand_rule};

/// What decides whether a moment is an instance of a series.
pub struct Instances<'a> {
    pub master: &'a Component,
    /// DTSTART in the series' own clock.
    pub start: NaiveDateTime,
    pub clock: &'a RuleClock<'a>,
    /// RDATEs in the series' own clock.
    pub rdates: &'a [NaiveDateTime],
    pub excluded: &'a Exclusions,
    pub max_iterations: usize,
}

impl Instances<'_> {
    /// The overrides (exact, or by day) after `cutoff` whose own times reach the window: taken
    /// out of their maps, each with the instance it replaces, or with `None` when it names no
    /// instance of the series (the caller warns); and whether a rule stopped at the iteration
    /// cap before the last of them.
    pub fn take_late(
        &self,
        exact: &mut BTreeMap<NaiveDateTime, Component>,
        by_day: &mut BTreeMap<NaiveDate, Component>,
        cutoff: NaiveDateTime,
        reaches_window: impl Fn(&Component) -> bool,
    ) -> (Vec<(Option<NaiveDateTime>, Component)>, bool) {
        let late_exact: Vec<NaiveDateTime> = exact
            .range(cutoff..)
            .filter(|(_, c)| reaches_window(c))
            .map(|(rid, _)| *rid)
            .collect();
        let late_days: Vec<NaiveDate> = by_day
            .range(cutoff.date()..)
            .filter(|(_, c)| reaches_window(c))
            .map(|(day, _)| *day)
            .collect();
        // One run of the rules over all of them: a calendar with many such overrides costs
        // one iteration cap, not one per override.
        let last_second = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
        let day_bounds = |day: NaiveDate| (day.and_time(NaiveTime::MIN), day.and_time(last_second));
        let from = late_exact
            .iter()
            .copied()
            .chain(late_days.iter().map(|d| day_bounds(*d).0))
            .min();
        let to = late_exact
            .iter()
            .copied()
            .chain(late_days.iter().map(|d| day_bounds(*d).1))
            .max();
        let (Some(from), Some(to)) = (from, to) else {
            return (Vec::new(), false);
        };
        let (instances, truncated) = self.within(from, to);
        let first_in = |lo: NaiveDateTime, hi: NaiveDateTime| {
            let at = instances.partition_point(|s| *s < lo);
            instances.get(at).copied().filter(|s| *s <= hi)
        };
        let mut taken = Vec::new();
        for rid in late_exact {
            taken.extend(exact.remove(&rid).map(|c| (first_in(rid, rid), c)));
        }
        for day in late_days {
            let (lo, hi) = day_bounds(day);
            taken.extend(by_day.remove(&day).map(|c| (first_in(lo, hi), c)));
        }
        (taken, truncated)
    }

    /// The instances in `[from, to]`, sorted: DTSTART, RDATEs and the starts of the RRULEs,
    /// less those an EXDATE removes; and whether a rule stopped at the iteration cap.
    fn within(&self, from: NaiveDateTime, to: NaiveDateTime) -> (Vec<NaiveDateTime>, bool) {
        let mut truncated = false;
        let mut found: Vec<NaiveDateTime> = std::iter::once(self.start)
            .chain(self.rdates.iter().copied())
            .collect();
        for rule in &self.master.rrules {
            // Warnings were given when the rule ran for the window; an error means no instance.
            if let Ok(expansion) =
                expand_rule(rule, self.start, self.clock, from, to, self.max_iterations)
            {
                truncated |= expansion.truncated;
                found.extend(expansion.starts);
            }
        }
        found.retain(|at| (from..=to).contains(at) && !self.excluded.removes(*at));
        found.sort_unstable();
        found.dedup();
        (found, truncated)
    }
}
