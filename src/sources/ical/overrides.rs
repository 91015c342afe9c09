//! A series' overrides (RECURRENCE-ID): the master told from them, keyed in the master's
//! clock, those without a series, and those from after the rule's reach, matched or warned of.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::event::Component;
use super::expand::{
    Exclusions, ExpandOptions, OccurrenceSink, emit_own, normalize, rid_when, series_zone,
};
use super::zone::Zone;

/// The series (the highest SEQUENCE wins among duplicate masters, the later one on a tie) and
/// its overrides.
pub(super) fn split_master(group: Vec<Component>) -> (Option<Component>, Vec<Component>) {
    let mut master: Option<Component> = None;
    let mut overrides = Vec::new();
    for c in group {
        if c.recurrence_id.is_some() {
            overrides.push(c);
        } else if master
            .as_ref()
            .is_none_or(|kept| c.sequence >= kept.sequence)
        {
            master = Some(c);
        }
    }
    (master, overrides)
}

/// Overrides without their series stand alone (the highest SEQUENCE per RECURRENCE-ID).
pub(super) fn emit_orphans(
    overrides: Vec<Component>,
    opts: &ExpandOptions,
    out: &mut impl OccurrenceSink,
) {
    let mut seen: BTreeMap<String, Component> = BTreeMap::new();
    for c in overrides {
        let key = c
            .recurrence_id
            .as_ref()
            .map(|m| format!("{m:?}"))
            .unwrap_or_default();
        match seen.get(&key) {
            Some(kept) if kept.sequence > c.sequence => {}
            _ => {
                seen.insert(key, c);
            }
        }
    }
    for c in seen.into_values() {
        let rid = c.recurrence_id.as_ref().and_then(|m| {
            let (zone, _) = series_zone(m, opts, false);
            rid_when(m.naive, zone.as_ref())
        });
        emit_own(&c, rid, opts, out);
    }
}

/// A series' overrides keyed by RECURRENCE-ID in the master's clock, the highest SEQUENCE each.
pub(super) struct Overrides {
    pub exact: BTreeMap<NaiveDateTime, Component>,
    /// RANGE=THISANDFUTURE ones.
    pub future: BTreeMap<NaiveDateTime, Component>,
    /// A DATE RECURRENCE-ID on a timed series names the occurrence of that day.
    pub by_day: BTreeMap<NaiveDate, Component>,
}

pub(super) fn key_overrides(
    overrides: Vec<Component>,
    zone: Option<&Zone>,
    floating: &Zone,
) -> Overrides {
    let mut exact: BTreeMap<NaiveDateTime, Component> = BTreeMap::new();
    let mut future: BTreeMap<NaiveDateTime, Component> = BTreeMap::new();
    let mut by_day: BTreeMap<NaiveDate, Component> = BTreeMap::new();
    for c in overrides {
        if let Some(day) = c
            .recurrence_id
            .as_ref()
            .filter(|m| m.is_date() && zone.is_some() && !c.this_and_future)
            .map(|m| m.naive.date())
        {
            match by_day.get(&day) {
                Some(kept) if kept.sequence > c.sequence => {}
                _ => {
                    by_day.insert(day, c);
                }
            }
            continue;
        }
        let Some(key) = c
            .recurrence_id
            .as_ref()
            .and_then(|m| normalize(m, zone, floating))
        else {
            continue;
        };
        let map = if c.this_and_future {
            &mut future
        } else {
            &mut exact
        };
        match map.get(&key) {
            Some(kept) if kept.sequence > c.sequence => {}
            _ => {
                map.insert(key, c);
            }
        }
    }
    Overrides {
        exact,
        future,
        by_day,
    }
}

/// Emits the overrides from after the rule's reach that found their instance, and warns of
/// those that did not (an override whose instance an EXDATE deleted went with it, silently);
/// why the read is incomplete when a rule stopped at its cap before one of them.
pub(super) fn emit_late(
    late: Vec<(Option<NaiveDateTime>, Component)>,
    late_truncated: bool,
    (zone, excluded): (Option<&Zone>, &Exclusions),
    opts: &ExpandOptions,
    tag: &dyn Fn(&str) -> String,
    warnings: &mut Vec<String>,
    out: &mut impl OccurrenceSink,
) -> Option<String> {
    let not_found = if late_truncated {
        "was not reached within the iteration cap"
    } else {
        "matches no occurrence of the series"
    };
    let mut incomplete = None;
    for (instance, over) in late {
        let Some(instance) = instance else {
            let deleted = over
                .recurrence_id
                .as_ref()
                .and_then(|m| normalize(m, zone, &opts.floating))
                .is_some_and(|at| excluded.removes(at));
            if deleted {
                continue;
            }
            let rid = over.recurrence_id.as_ref().map(|m| m.naive.to_string());
            let why = tag(&format!(
                "RECURRENCE-ID {} (line {}, moved into the window) {not_found}; ignored",
                rid.unwrap_or_default(),
                over.line
            ));
            if late_truncated {
                incomplete = Some(why.clone());
            }
            warnings.push(why);
            continue;
        };
        emit_own(&over, rid_when(instance, zone), opts, out);
    }
    incomplete
}

/// Warns of the overrides left unmatched within `(from, cutoff)`. Overrides of instances
/// before the window's reach change nothing, and one whose instance an EXDATE deleted went
/// with it (a deleted modification): neither is warned of.
pub(super) fn warn_unmatched(
    exact: &BTreeMap<NaiveDateTime, Component>,
    by_day: &BTreeMap<NaiveDate, Component>,
    (from, cutoff): (NaiveDateTime, NaiveDateTime),
    excluded: &Exclusions,
    tag: &dyn Fn(&str) -> String,
    warnings: &mut Vec<String>,
) {
    let unmatched_days = by_day
        .keys()
        .filter(|day| **day >= from.date() && !excluded.touches_day(**day))
        .map(|day| day.and_time(NaiveTime::MIN));
    let unmatched = exact
        .keys()
        .copied()
        .filter(|rid| *rid >= from && !excluded.removes(*rid));
    for rid in unmatched.chain(unmatched_days) {
        if rid <= cutoff {
            warnings.push(tag(&format!(
                "RECURRENCE-ID {rid} matches no occurrence of the series; ignored"
            )));
        }
    }
}
