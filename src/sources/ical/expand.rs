//! Components grouped by UID and expanded into occurrences inside a window: the master with
//! the highest SEQUENCE, overrides matched by UID + RECURRENCE-ID (highest SEQUENCE each, in
//! the master's value type and zone), THISANDFUTURE, RDATE and EXDATE, and caps.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::event::{Clock, Component, EndSpec, Moment};
use super::moved_earlier::Instances;
pub use super::occurrence::{
    ExpandOptions, Instance, Occurrence, OccurrenceSink, sort_occurrences,
};
use super::overrides::{
    Overrides, emit_late, emit_orphans, key_overrides, split_master, warn_unmatched,
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
pub(super) fn series_zone(
    start: &Moment,
    opts: &ExpandOptions,
    recurring: bool,
) -> (Option<Zone>, Moment) {
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
pub(super) fn normalize(m: &Moment, zone: Option<&Zone>, floating: &Zone) -> Option<NaiveDateTime> {
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
pub(super) fn emit_own(
    c: &Component,
    rid: Option<When>,
    opts: &ExpandOptions,
    out: &mut impl OccurrenceSink,
) {
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

pub(super) fn rid_when(local: NaiveDateTime, zone: Option<&Zone>) -> Option<When> {
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

/// How far the rule must run, in the series' local clock: `(keep_from, cutoff)`. The window
/// with a margin for zone offsets and long events, widened for THISANDFUTURE overrides that
/// move and stretch instances into it, and back to any instance an override moves into the
/// window from before it (skipping the periods before the window would lose it).
fn reach(
    keyed: &Overrides,
    zone: Option<&Zone>,
    length: Length,
    opts: &ExpandOptions,
) -> (NaiveDateTime, NaiveDateTime) {
    let margin = Duration::days(2);
    let floating = &opts.floating;
    let (pulled_back, pushed_on) =
        keyed
            .future
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
    let moved_in = keyed
        .exact
        .iter()
        .map(|(rid, c)| (*rid, c))
        .chain(
            keyed
                .by_day
                .iter()
                .map(|(day, c)| (day.and_time(NaiveTime::MIN), c)),
        )
        .filter(|(rid, c)| *rid < keep_from && reaches_window(c, opts))
        .map(|(rid, _)| rid)
        .min();
    (moved_in.map_or(keep_from, |rid| rid.min(keep_from)), cutoff)
}

/// What a series' RRULEs make inside `(keep_from, cutoff)`.
struct RuleStarts {
    starts: Vec<NaiveDateTime>,
    /// The latest first start of a rule: instances before it were skipped as out of the window.
    first_generated: NaiveDateTime,
    /// Why the series may lack instances it has (a rule stopped at the iteration cap).
    truncated: Option<String>,
    /// What was read differently from the rules' letter, and the caps reached, in order.
    notes: Vec<String>,
}

impl RuleStarts {
    fn of(
        master: &Component,
        start: NaiveDateTime,
        clock: &RuleClock<'_>,
        (keep_from, cutoff): (NaiveDateTime, NaiveDateTime),
        opts: &ExpandOptions,
    ) -> RuleStarts {
        let mut made = RuleStarts {
            starts: vec![start],
            first_generated: start,
            truncated: None,
            notes: Vec::new(),
        };
        for rule in &master.rrules {
            match expand_rule(rule, start, clock, keep_from, cutoff, opts.max_iterations) {
                Ok(expansion) => {
                    made.notes.extend(expansion.notes);
                    if let Some(first) = expansion.starts.first() {
                        made.first_generated = made.first_generated.max(*first);
                    }
                    if expansion.truncated {
                        let why =
                            format!("series truncated after {} iterations", opts.max_iterations);
                        made.notes.push(why.clone());
                        made.truncated = Some(why);
                    }
                    made.starts.extend(expansion.starts);
                }
                Err(why) => made
                    .notes
                    .push(format!("{why}; only DTSTART and RDATE count")),
            }
        }
        made
    }
}

/// The RDATEs in the series' clock, and the lengths of those given as a PERIOD.
fn rdate_starts(
    master: &Component,
    zone: Option<&Zone>,
    floating: &Zone,
) -> (Vec<NaiveDateTime>, HashMap<NaiveDateTime, Length>) {
    let mut rdates = Vec::with_capacity(master.rdates.len());
    let mut lengths = HashMap::new();
    for rdate in &master.rdates {
        if let Some(local) = normalize(&rdate.start, zone, floating) {
            rdates.push(local);
            if let Some(end) = &rdate.end {
                let probe = Component {
                    start: rdate.start.clone(),
                    end: Some(end.clone()),
                    ..master.clone()
                };
                lengths.insert(local, length_of(&probe, floating));
            }
        }
    }
    (rdates, lengths)
}

/// A series' EXDATEs in its clock: instants, and days (a DATE EXDATE on a timed series).
pub(super) struct Exclusions {
    at: BTreeSet<NaiveDateTime>,
    days: BTreeSet<NaiveDate>,
}

impl Exclusions {
    fn of(master: &Component, zone: Option<&Zone>, floating: &Zone) -> Exclusions {
        let mut excluded = Exclusions {
            at: BTreeSet::new(),
            days: BTreeSet::new(),
        };
        for ex in &master.exdates {
            if ex.is_date() && zone.is_some() {
                excluded.days.insert(ex.naive.date());
            } else if let Some(local) = normalize(ex, zone, floating) {
                excluded.at.insert(local);
            }
        }
        excluded
    }

    fn is_empty(&self) -> bool {
        self.at.is_empty() && self.days.is_empty()
    }

    /// Whether an EXDATE removes the instance at `at`.
    pub(super) fn removes(&self, at: NaiveDateTime) -> bool {
        self.at.contains(&at) || self.days.contains(&at.date())
    }

    /// Whether an EXDATE removes an instance of `day`.
    pub(super) fn touches_day(&self, day: NaiveDate) -> bool {
        self.days.contains(&day) || self.at.iter().any(|at| at.date() == day)
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

    let keyed = key_overrides(overrides, zone, floating);
    let (keep_from, cutoff) = reach(&keyed, zone, length, opts);
    let Overrides {
        mut exact,
        future,
        mut by_day,
    } = keyed;

    let clock = RuleClock {
        zone,
        date_zone: floating,
    };
    let ruled = RuleStarts::of(&master, start.naive, &clock, (keep_from, cutoff), opts);
    for note in &ruled.notes {
        warnings.push(tag(note));
    }
    // Why this series may lack occurrences it has (a cap was reached).
    let mut incomplete = ruled.truncated.as_deref().map(tag);
    let first_generated = ruled.first_generated;
    let (rdates, rdate_lengths) = rdate_starts(&master, zone, floating);
    // Sorted and made unique once all are in (a rule's starts come sorted already).
    let mut starts = ruled.starts;
    starts.extend_from_slice(&rdates);
    starts.sort_unstable();
    starts.dedup();
    // EXDATE removes from RRULE and RDATE alike; a DATE EXDATE on a timed series removes the day.
    let excluded = Exclusions::of(&master, zone, floating);
    if !excluded.is_empty() {
        starts.retain(|s| !excluded.removes(*s));
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
        max_iterations: opts.max_iterations,
    };
    let (late, late_truncated) =
        instances.take_late(&mut exact, &mut by_day, cutoff, |c| reaches_window(c, opts));
    let unreached = emit_late(
        late,
        late_truncated,
        (zone, &excluded),
        opts,
        &tag,
        warnings,
        out,
    );
    incomplete = unreached.or(incomplete);
    let checked_from = first_generated.max(keep_from);
    warn_unmatched(
        &exact,
        &by_day,
        (checked_from, cutoff),
        &excluded,
        &tag,
        warnings,
    );
    incomplete
}
