//! Instances moved earlier into the window: an override whose RECURRENCE-ID lies after the
//! rule's reach (the window's end and its margin) but whose own times fall in the window. The
//! rule is not run that far for every series; it is run once around each such RECURRENCE-ID,
//! to check that it names an instance (not excluded by EXDATE), as for any other override.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::event::Component;
use super::rrule::{RuleClock, expand_rule};

/// What decides whether a moment is an instance of a series.
pub struct Instances<'a> {
    pub master: &'a Component,
    /// DTSTART in the series' own clock.
    pub start: NaiveDateTime,
    pub clock: &'a RuleClock<'a>,
    /// RDATEs in the series' own clock.
    pub rdates: &'a [NaiveDateTime],
    pub excluded: &'a BTreeSet<NaiveDateTime>,
    pub excluded_days: &'a BTreeSet<NaiveDate>,
    pub max_iterations: usize,
}

impl Instances<'_> {
    /// The overrides (exact, or by day) after `cutoff` whose own times reach the window: taken
    /// out of their maps, each with the instance it replaces, or with `None` when it names no
    /// instance of the series (the caller warns).
    pub fn take_late(
        &self,
        exact: &mut BTreeMap<NaiveDateTime, Component>,
        by_day: &mut BTreeMap<NaiveDate, Component>,
        cutoff: NaiveDateTime,
        reaches_window: impl Fn(&Component) -> bool,
    ) -> Vec<(Option<NaiveDateTime>, Component)> {
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
        let mut taken = Vec::new();
        for rid in late_exact {
            taken.extend(exact.remove(&rid).map(|c| (self.at(rid), c)));
        }
        for day in late_days {
            taken.extend(by_day.remove(&day).map(|c| (self.on(day), c)));
        }
        taken
    }

    /// The series' instance at `at` exactly.
    fn at(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        self.within(at, at)
    }

    /// The series' first instance on `day` (a DATE RECURRENCE-ID of a timed series).
    fn on(&self, day: NaiveDate) -> Option<NaiveDateTime> {
        let last_second = NaiveTime::from_hms_opt(23, 59, 59)?;
        self.within(day.and_time(NaiveTime::MIN), day.and_time(last_second))
    }

    /// The first instance in `[from, to]`: DTSTART, an RDATE or a start of an RRULE, unless an
    /// EXDATE removes it.
    fn within(&self, from: NaiveDateTime, to: NaiveDateTime) -> Option<NaiveDateTime> {
        let inside = |at: &NaiveDateTime| {
            (from..=to).contains(at)
                && !self.excluded.contains(at)
                && !self.excluded_days.contains(&at.date())
        };
        let mut found: Option<NaiveDateTime> = std::iter::once(self.start)
            .chain(self.rdates.iter().copied())
            .filter(inside)
            .min();
        for rule in &self.master.rrules {
            // Warnings were given when the rule ran for the window; an error means no instance.
            let Ok(expansion) =
                expand_rule(rule, self.start, self.clock, from, to, self.max_iterations)
            else {
                continue;
            };
            if let Some(first) = expansion.starts.into_iter().find(inside) {
                found = Some(found.map_or(first, |f| f.min(first)));
            }
        }
        found
    }
}
