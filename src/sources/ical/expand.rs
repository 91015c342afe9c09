//! Components grouped by UID and expanded into occurrences inside a window: the master with
//! the highest SEQUENCE, overrides matched by UID + RECURRENCE-ID (highest SEQUENCE each, in
//! the master's value type and zone), THISANDFUTURE, RDATE and EXDATE, and caps.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::event::{Clock, Component, EndSpec, Moment};
use super::moved_earlier::Instances;
pub use super::occurrence::{
    ExpandOptions, Instance, Occurrence, OccurrenceSink, sort_occurrences,
};
use super::rrule::{RuleClock, expand_rule};
pub use super::when::When;
use super::zone::Zone;

/// How long each instance of a series lasts.
#[derive(Debug, Clone, Copy)]
enum Length {
    Days(i64),
    Exact(Duration),
    Nominal { days: i64, seconds: i64 },
}

fn length_of(component: &Component, floating: &Zone) -> Length {
    let start = &component.start;
    match (&component.end, start.is_date()) {
        (Some(EndSpec::At(end)), true) => {
            Length::Days((end.naive.date() - start.naive.date()).num_days().max(1))
        }
        (Some(EndSpec::At(end)), false) => match (start.to_utc(floating), end.to_utc(floating)) {
            (Some(s), Some(e)) if e >= s => Length::Exact(e - s),
            _ => Length::Exact(Duration::zero()),
        },
        (Some(EndSpec::For(span)), true) => {
            let extra = i64::from(span.seconds > 0);
            Length::Days((span.days + extra).max(1))
        }
        (Some(EndSpec::For(span)), false) => Length::Nominal {
            days: span.days,
            seconds: span.seconds,
        },
        (None, true) => Length::Days(1),
        (None, false) => Length::Exact(Duration::zero()),
    }
}

fn span_of(length: Length) -> Duration {
    match length {
        Length::Days(d) => Duration::days(d),
        Length::Exact(d) => d,
        Length::Nominal { days, seconds } => Duration::days(days) + Duration::seconds(seconds),
    }
}

/// The series' own clock: `None` for dates, else the zone its local times are read in.
fn series_zone(start: &Moment, opts: &ExpandOptions, recurring: bool) -> (Option<Zone>, Moment) {
    match &start.clock {
        Clock::Date => (None, start.clone()),
        // X-WR-TIMEZONE names the zone of the calendar's floating times (as Google writes them).
        Clock::Floating => (
            Some(
                opts.x_wr_timezone
                    .clone()
                    .unwrap_or_else(|| opts.floating.clone()),
            ),
            start.clone(),
        ),
        Clock::Zoned(Zone::Utc) if recurring => match &opts.x_wr_timezone {
            Some(zone) => {
                let local = zone.to_local(start.naive.and_utc()).unwrap_or(start.naive);
                (
                    Some(zone.clone()),
                    Moment {
                        naive: local,
                        clock: Clock::Zoned(zone.clone()),
                    },
                )
            }
            None => (Some(Zone::Utc), start.clone()),
        },
        Clock::Zoned(zone) => (Some(zone.clone()), start.clone()),
    }
}

/// A moment in the series' clock (value type and zone of the master).
fn normalize(m: &Moment, zone: Option<&Zone>, floating: &Zone) -> Option<NaiveDateTime> {
    match zone {
        None => {
            // A zoned value on an all-day series names the day on its own wall clock; only a
            // UTC one is moved into the calendar's zone first.
            let date = match &m.clock {
                Clock::Zoned(Zone::Utc) => floating.to_local(m.naive.and_utc())?.date(),
                _ => m.naive.date(),
            };
            Some(date.and_time(NaiveTime::MIN))
        }
        Some(series) => match &m.clock {
            Clock::Date | Clock::Floating => Some(m.naive),
            // Kept as written: a time in the spring-forward gap does not survive the round trip
            // through UTC, and the rule's instances are wall-clock times too.
            Clock::Zoned(z) if z == series => Some(m.naive),
            Clock::Zoned(z) => series.to_local(z.to_utc(m.naive)?),
        },
    }
}

fn bounds(
    local: NaiveDateTime,
    zone: Option<&Zone>,
    length: Length,
    floating: &Zone,
) -> Option<(When, When, DateTime<Utc>, DateTime<Utc>)> {
    match zone {
        None => {
            let Length::Days(days) = length else {
                return None;
            };
            let start = local.date();
            let end = start.checked_add_signed(Duration::days(days))?;
            let s = floating.to_utc(start.and_time(NaiveTime::MIN))?;
            let e = floating.to_utc(end.and_time(NaiveTime::MIN))?;
            Some((When::Date(start), When::Date(end), s, e))
        }
        Some(zone) => {
            let s = zone.to_utc(local)?;
            let e = match length {
                Length::Exact(d) => s.checked_add_signed(d)?,
                Length::Days(days) => {
                    zone.to_utc(local.checked_add_signed(Duration::days(days))?)?
                }
                Length::Nominal { days, seconds } => zone
                    .to_utc(local.checked_add_signed(Duration::days(days))?)?
                    .checked_add_signed(Duration::seconds(seconds))?,
            };
            Some((When::Instant(s), When::Instant(e), s, e))
        }
    }
}

fn overlaps(s: DateTime<Utc>, e: DateTime<Utc>, opts: &ExpandOptions) -> bool {
    if e > s {
        s < opts.window_end && e > opts.window_start
    } else {
        s >= opts.window_start && s < opts.window_end
    }
}

/// The RECURRENCE-ID an occurrence prints.
#[derive(Debug, Clone, Copy)]
enum Rid {
    /// An instance of the series at its own time: its start.
    OwnStart,
    Given(Option<When>),
}

fn emit(
    source: &Component,
    local: NaiveDateTime,
    zone: Option<&Zone>,
    length: Length,
    rid: Rid,
    opts: &ExpandOptions,
    out: &mut impl OccurrenceSink,
) -> bool {
    let Some((start, end, s, e)) = bounds(local, zone, length, &opts.floating) else {
        return false;
    };
    if !overlaps(s, e, opts) {
        return false;
    }
    out.push(
        source,
        Instance {
            recurrence_id: match rid {
                Rid::OwnStart => Some(start),
                Rid::Given(rid) => rid,
            },
            start,
            end,
            all_day: zone.is_none(),
            floating: matches!(source.start.clock, Clock::Floating),
            start_utc: s,
            end_utc: e,
        },
    );
    true
}

/// An override emitted with its own times.
fn emit_own(c: &Component, rid: Option<When>, opts: &ExpandOptions, out: &mut impl OccurrenceSink) {
    let (zone, start) = series_zone(&c.start, opts, false);
    let length = length_of(c, &opts.floating);
    emit(
        c,
        start.naive,
        zone.as_ref(),
        length,
        Rid::Given(rid),
        opts,
        out,
    );
}

/// Whether an override's own times overlap the window (whatever instance it replaces).
fn reaches_window(c: &Component, opts: &ExpandOptions) -> bool {
    let (zone, start) = series_zone(&c.start, opts, false);
    let length = length_of(c, &opts.floating);
    bounds(start.naive, zone.as_ref(), length, &opts.floating)
        .is_some_and(|(_, _, s, e)| overlaps(s, e, opts))
}

fn rid_when(local: NaiveDateTime, zone: Option<&Zone>) -> Option<When> {
    match zone {
        None => Some(When::Date(local.date())),
        Some(z) => z.to_utc(local).map(When::Instant),
    }
}

/// A refused series (non-Gregorian RSCALE) takes its overrides with it.
fn masters_refused(master: &Option<Component>, overrides: &[Component]) -> Option<String> {
    master.iter().chain(overrides).find_map(|c| {
        c.refused
            .as_ref()
            .map(|why| format!("UID {} (line {}): {why}", c.uid, c.line))
    })
}

/// The series (the highest SEQUENCE wins among duplicate masters, the later one on a tie) and
/// its overrides.
fn split_master(group: Vec<Component>) -> (Option<Component>, Vec<Component>) {
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
fn emit_orphans(overrides: Vec<Component>, opts: &ExpandOptions, out: &mut impl OccurrenceSink) {
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
struct Overrides {
    exact: BTreeMap<NaiveDateTime, Component>,
    /// RANGE=THISANDFUTURE ones.
    future: BTreeMap<NaiveDateTime, Component>,
    /// A DATE RECURRENCE-ID on a timed series names the occurrence of that day.
    by_day: BTreeMap<NaiveDate, Component>,
}

fn key_overrides(overrides: Vec<Component>, zone: Option<&Zone>, floating: &Zone) -> Overrides {
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

pub fn expand_group(
    group: Vec<Component>,
    opts: &ExpandOptions,
    warnings: &mut Vec<String>,
    out: &mut impl OccurrenceSink,
) -> Option<String> {
    let (master, overrides) = split_master(group);
    if let Some(why) = masters_refused(&master, &overrides) {
        warnings.push(why);
        return None;
    }
    let Some(master) = master else {
        emit_orphans(overrides, opts, out);
        return None;
    };
    let recurring = !master.rrules.is_empty() || !master.rdates.is_empty();
    let (zone, start) = series_zone(&master.start, opts, recurring);
    let zone = zone.as_ref();
    let floating = &opts.floating;
    let length = length_of(&master, floating);
    let tag = |what: &str| format!("UID {} (line {}): {what}", master.uid, master.line);

    let Overrides {
        mut exact,
        future,
        mut by_day,
    } = key_overrides(overrides, zone, floating);

    // The window in the series' local clock, with a margin for zone offsets and long events.
    let margin = Duration::days(2);
    // THISANDFUTURE moves and stretches the instances after it: the rule reaches as far back
    // and on as they can come from into the window.
    let (pulled_back, pushed_on) =
        future
            .iter()
            .fold((span_of(length), Duration::zero()), |reach, (rid, taf)| {
                let shift =
                    normalize(&taf.start, zone, floating).map_or_else(Duration::zero, |s| s - *rid);
                let stretch = span_of(length_of(taf, floating));
                let back = shift.checked_add(&stretch).unwrap_or(reach.0);
                (reach.0.max(back), reach.1.max(-shift))
            });
    // Checked: a window given on the command line may lie at the ends of the calendar.
    let cutoff = opts
        .window_end
        .naive_utc()
        .checked_add_signed(margin)
        .and_then(|t| t.checked_add_signed(pushed_on))
        .unwrap_or(NaiveDateTime::MAX);
    let keep_from = opts
        .window_start
        .naive_utc()
        .checked_sub_signed(margin)
        .and_then(|t| t.checked_sub_signed(pulled_back))
        .unwrap_or(NaiveDateTime::MIN);
    // An instance moved into the window from before it: the rule runs from that instance on,
    // so that the override finds it (skipping the periods before the window would lose it).
    let moved_in = exact
        .iter()
        .map(|(rid, c)| (*rid, c))
        .chain(
            by_day
                .iter()
                .map(|(day, c)| (day.and_time(NaiveTime::MIN), c)),
        )
        .filter(|(rid, c)| *rid < keep_from && reaches_window(c, opts))
        .map(|(rid, _)| rid)
        .min();
    let keep_from = moved_in.map_or(keep_from, |rid| rid.min(keep_from));

    // Sorted and made unique once all are in (a rule's starts come sorted already).
    let mut starts: Vec<NaiveDateTime> = vec![start.naive];
    let mut rdate_lengths: HashMap<NaiveDateTime, Length> = HashMap::new();
    let clock = RuleClock {
        zone,
        date_zone: floating,
    };
    let mut first_generated = start.naive;
    // Why this series may lack occurrences it has (a cap was reached).
    let mut incomplete = None;
    for rule in &master.rrules {
        match expand_rule(
            rule,
            start.naive,
            &clock,
            keep_from,
            cutoff,
            opts.max_iterations,
        ) {
            Ok(expansion) => {
                for note in &expansion.notes {
                    warnings.push(tag(note));
                }
                if let Some(first) = expansion.starts.first() {
                    // Instances before this were skipped as out of the window.
                    first_generated = first_generated.max(*first);
                }
                if expansion.truncated {
                    let why = tag(&format!(
                        "series truncated after {} iterations",
                        opts.max_iterations
                    ));
                    warnings.push(why.clone());
                    incomplete = Some(why);
                }
                starts.extend(expansion.starts);
            }
            Err(why) => warnings.push(tag(&format!("{why}; only DTSTART and RDATE count"))),
        }
    }
    let mut rdates = Vec::with_capacity(master.rdates.len());
    for rdate in &master.rdates {
        if let Some(local) = normalize(&rdate.start, zone, floating) {
            rdates.push(local);
            if let Some(end) = &rdate.end {
                let probe = Component {
                    start: rdate.start.clone(),
                    end: Some(end.clone()),
                    ..master.clone()
                };
                rdate_lengths.insert(local, length_of(&probe, floating));
            }
        }
    }
    starts.extend_from_slice(&rdates);
    // EXDATE removes from RRULE and RDATE alike; a DATE EXDATE on a timed series removes the day.
    starts.sort_unstable();
    starts.dedup();
    let mut excluded_days: BTreeSet<NaiveDate> = BTreeSet::new();
    let mut excluded: BTreeSet<NaiveDateTime> = BTreeSet::new();
    for ex in &master.exdates {
        if ex.is_date() && zone.is_some() {
            excluded_days.insert(ex.naive.date());
        } else if let Some(local) = normalize(ex, zone, floating) {
            excluded.insert(local);
        }
    }
    if !excluded.is_empty() || !excluded_days.is_empty() {
        starts.retain(|s| !excluded.contains(s) && !excluded_days.contains(&s.date()));
    }
    let within = starts.partition_point(|s| *s <= cutoff);

    let mut kept = 0usize;
    for local in &starts[..within] {
        if kept >= opts.max_per_series {
            let why = tag(&format!(
                "series truncated at {} occurrences in the window",
                opts.max_per_series
            ));
            warnings.push(why.clone());
            incomplete = Some(why);
            break;
        }
        let over = exact.remove(local).or_else(|| by_day.remove(&local.date()));
        if let Some(over) = over {
            let before = out.len();
            emit_own(&over, rid_when(*local, zone), opts, out);
            kept += out.len() - before;
        } else {
            let taf = future.range(..=*local).next_back();
            let emitted = match taf {
                Some((taf_rid, taf)) => {
                    let shift = normalize(&taf.start, zone, floating)
                        .map(|s| s - *taf_rid)
                        .unwrap_or_else(Duration::zero);
                    let moved = local.checked_add_signed(shift).unwrap_or(*local);
                    let rid = Rid::Given(rid_when(*local, zone).filter(|_| recurring));
                    emit(taf, moved, zone, length_of(taf, floating), rid, opts, out)
                }
                None => {
                    let len = rdate_lengths.get(local).copied().unwrap_or(length);
                    // The rid is the start the conversion below makes (converted once).
                    let rid = if recurring {
                        Rid::OwnStart
                    } else {
                        Rid::Given(None)
                    };
                    emit(&master, *local, zone, len, rid, opts, out)
                }
            };
            kept += usize::from(emitted);
        }
    }
    // Instances after the rule's reach, moved earlier into the window.
    let instances = Instances {
        master: &master,
        start: start.naive,
        clock: &clock,
        rdates: &rdates,
        excluded: &excluded,
        excluded_days: &excluded_days,
        max_iterations: opts.max_iterations,
    };
    let (late, late_truncated) =
        instances.take_late(&mut exact, &mut by_day, cutoff, |c| reaches_window(c, opts));
    let not_found = if late_truncated {
        "was not reached within the iteration cap"
    } else {
        "matches no occurrence of the series"
    };
    for (instance, over) in late {
        let Some(instance) = instance else {
            let deleted = over
                .recurrence_id
                .as_ref()
                .and_then(|m| normalize(m, zone, floating))
                .is_some_and(|at| excluded.contains(&at) || excluded_days.contains(&at.date()));
            if deleted {
                // Its instance was deleted by EXDATE, and it with it.
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
    // An override of an instance an EXDATE deleted went with it (a deleted modification):
    // nothing to warn about.
    let deleted_day =
        |day: NaiveDate| excluded_days.contains(&day) || excluded.iter().any(|at| at.date() == day);
    let unmatched_days = by_day
        .keys()
        .filter(|day| **day >= first_generated.max(keep_from).date() && !deleted_day(**day))
        .map(|day| day.and_time(NaiveTime::MIN));
    // Overrides of instances before the window's reach change nothing: not checked.
    let unmatched = exact.keys().copied().filter(|rid| {
        *rid >= first_generated.max(keep_from)
            && !excluded.contains(rid)
            && !excluded_days.contains(&rid.date())
    });
    for rid in unmatched.chain(unmatched_days) {
        if rid <= cutoff {
            warnings.push(tag(&format!(
                "RECURRENCE-ID {rid} matches no occurrence of the series; ignored"
            )));
        }
    }
    incomplete
}
