//! One RRULE expanded with calcard's engine, inside a window: UNTIL is converted into the
//! series' own clock and clamped to the window's end, and a series that began long before the
//! window starts again at a whole number of periods before it, so that the iteration cap is
//! spent where it matters.

use calcard::common::PartialDateTime;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarFrequency,
    ICalendarProperty, ICalendarRecurrenceRule, ICalendarValue,
};
use chrono::{Datelike, Duration, Months, NaiveDateTime, NaiveTime, Timelike};

use super::rrule_simple::SimpleRule;
use super::rule_fix;
use super::zone::Zone;

/// Where the series' local times end up being read.
pub struct RuleClock<'a> {
    /// `None` for an all-day series.
    pub zone: Option<&'a Zone>,
    /// The zone dates are read in (for UNTIL given in UTC on an all-day series).
    pub date_zone: &'a Zone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub starts: Vec<NaiveDateTime>,
    pub truncated: bool,
    /// What was read differently from the rule's letter, for warnings.
    pub notes: Vec<String>,
}

/// Local start times produced by `rule` from `start`, none after `cutoff`, with a first
/// start not earlier than `keep_from` when the rule allows skipping whole periods. DTSTART is
/// the first instance and counts toward COUNT even when the rule does not produce it.
pub fn expand_rule(
    rule: &ICalendarRecurrenceRule,
    start: NaiveDateTime,
    clock: &RuleClock<'_>,
    keep_from: NaiveDateTime,
    cutoff: NaiveDateTime,
    max_iterations: usize,
) -> Result<Expansion, String> {
    let series = Series {
        start,
        clock,
        keep_from,
        cutoff,
        max_iterations,
    };
    expand_with(Engine::SimpleWhereItFits, rule, &series)
}

/// Which engine makes the candidate starts; the tests compare the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    /// [`SimpleRule`] for the rules of its class, calcard for the others.
    SimpleWhereItFits,
    /// calcard for every rule.
    #[cfg_attr(not(test), allow(dead_code))]
    CalcardOnly,
}

/// What `expand_rule` is asked, apart from the rule.
struct Series<'a> {
    start: NaiveDateTime,
    clock: &'a RuleClock<'a>,
    keep_from: NaiveDateTime,
    cutoff: NaiveDateTime,
    max_iterations: usize,
}

fn expand_with(
    engine: Engine,
    rule: &ICalendarRecurrenceRule,
    series: &Series<'_>,
) -> Result<Expansion, String> {
    let mut notes = Vec::new();
    let Some(iteration) = iteration_of(rule, series, &mut notes)? else {
        return Ok(Expansion {
            starts: vec![],
            truncated: false,
            notes,
        });
    };
    let Iteration {
        rule,
        first,
        until,
        count,
    } = iteration;
    let max_iterations = series.max_iterations;
    let simple = match engine {
        Engine::SimpleWhereItFits => {
            SimpleRule::of(&rule).and_then(|simple| simple.starts(first, until, max_iterations))
        }
        Engine::CalcardOnly => None,
    };
    let made = match simple {
        Some(made) => made,
        None => calcard_starts(rule, first, max_iterations)?,
    };
    // calcard's cap counts the starts its iterator yields.
    let truncated = made.len() >= max_iterations;
    Ok(Expansion {
        starts: kept_starts(made, series, count),
        truncated,
        notes,
    })
}

/// What an engine iterates: the rule as adjusted, from where and up to when.
struct Iteration {
    /// UNTIL set to `until`; COUNT raised when the first week is made whole.
    rule: ICalendarRecurrenceRule,
    /// The iteration's DTSTART: whole periods after the series' own, or the start of its week.
    first: NaiveDateTime,
    /// The rule's UNTIL in the series' clock, or the cutoff when that is earlier.
    until: NaiveDateTime,
    /// The series' own COUNT.
    count: Option<u32>,
}

/// The iteration for `rule` in `series`, or `None` when the rule yields nothing beyond
/// DTSTART; `notes` gets what was read differently from the rule's letter.
fn iteration_of(
    rule: &ICalendarRecurrenceRule,
    series: &Series<'_>,
    notes: &mut Vec<String>,
) -> Result<Option<Iteration>, String> {
    let Series {
        start,
        clock,
        keep_from,
        cutoff,
        ..
    } = *series;
    let mut rule = rule.clone();
    rule_fix::adjust(&mut rule, start, clock.zone.is_none(), notes);
    if let Some(why) = rule_fix::never_matches(&rule) {
        notes.push(format!(
            "RRULE can never match ({why}); only DTSTART counts"
        ));
        return Ok(None);
    }
    let mut until = cutoff;
    if let Some(given) = &rule.until {
        match (given.has_time(), clock.zone.is_some()) {
            (true, false) => notes.push(
                "RRULE UNTIL is a date-time on an all-day series; read by its day".to_owned(),
            ),
            (false, true) => notes.push(
                "RRULE UNTIL is a date on a timed series; read as the end of that day".to_owned(),
            ),
            _ => {}
        }
        let local = until_local(given, clock).ok_or("UNTIL is not a valid date")?;
        until = until.min(local);
    }
    if until < start {
        return Ok(None);
    }
    rule.until = Some(partial(until));
    let count = rule.count;
    let mut first = start;
    if count.is_none() && keep_from > start {
        first = skip_periods(&rule, start, keep_from).unwrap_or(start);
        if until < first {
            // The series ended before the window's reach.
            return Ok(None);
        }
    }
    if let Some(week_start) = rule_fix::whole_first_week(&mut rule, first) {
        first = week_start;
        // The days of the first week before DTSTART are produced too, then dropped.
        let extra = u32::try_from(rule_fix::candidates_per_period(&rule)).unwrap_or(u32::MAX);
        rule.count = count.map(|n| n.saturating_add(extra));
    }
    Ok(Some(Iteration {
        rule,
        first,
        until,
        count,
    }))
}

/// The starts calcard's iterator yields for `rule` from `first`, at most `max_iterations`.
fn calcard_starts(
    rule: ICalendarRecurrenceRule,
    first: NaiveDateTime,
    max_iterations: usize,
) -> Result<Vec<NaiveDateTime>, String> {
    let component = ICalendarComponent {
        component_type: ICalendarComponentType::VEvent,
        entries: vec![
            ICalendarEntry {
                name: ICalendarProperty::Dtstart,
                params: vec![],
                values: vec![ICalendarValue::PartialDateTime(Box::new(partial(first)))],
            },
            ICalendarEntry {
                name: ICalendarProperty::Rrule,
                params: vec![],
                values: vec![ICalendarValue::RecurrenceRule(Box::new(rule))],
            },
        ],
        component_ids: vec![],
    };
    let calendar = ICalendar {
        components: vec![component],
    };
    let expanded = calendar.expand_dates(calcard::common::timezone::Tz::Floating, max_iterations);
    if let Some(error) = expanded.errors.first() {
        return Err(format!("RRULE cannot be expanded ({:?})", error.error));
    }
    Ok(expanded
        .events
        .iter()
        .map(|event| event.start.naive_local())
        .collect())
}

/// The series' own starts among those the engine made: from DTSTART to the cutoff, one a day
/// for an all-day series, and no more than COUNT with DTSTART counted.
fn kept_starts(
    mut starts: Vec<NaiveDateTime>,
    series: &Series<'_>,
    count: Option<u32>,
) -> Vec<NaiveDateTime> {
    let start = series.start;
    starts.retain(|s| *s >= start && *s <= series.cutoff);
    if series.clock.zone.is_none() {
        // An all-day series has one instance a day, whatever times the rule makes.
        for at in &mut starts {
            *at = at.date().and_time(NaiveTime::MIN);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    if let Some(count) = count {
        // DTSTART is the first of the COUNT instances, produced by the rule or not.
        let from_rule = if starts.first() == Some(&start) {
            count
        } else {
            count.saturating_sub(1)
        };
        starts.truncate(usize::try_from(from_rule).unwrap_or(usize::MAX));
    }
    starts
}

fn partial(at: NaiveDateTime) -> PartialDateTime {
    PartialDateTime {
        year: u16::try_from(at.year()).ok(),
        month: Some(at.month() as u8),
        day: Some(at.day() as u8),
        hour: Some(at.hour() as u8),
        minute: Some(at.minute() as u8),
        second: Some(at.second() as u8),
        tz_hour: None,
        tz_minute: None,
        tz_minus: false,
    }
}

/// UNTIL in the series' clock: a UTC UNTIL is moved into the series' zone (else east of UTC the
/// last occurrence is lost); a DATE UNTIL includes its whole day.
fn until_local(until: &PartialDateTime, clock: &RuleClock<'_>) -> Option<NaiveDateTime> {
    let result = until.to_date_time()?;
    if !until.has_time() {
        return result.date_time.date().and_hms_opt(23, 59, 59);
    }
    let local = match result.offset {
        Some(offset) => {
            let utc = result
                .date_time
                .checked_sub_signed(Duration::seconds(i64::from(offset.local_minus_utc())))?
                .and_utc();
            let local = clock.zone.unwrap_or(clock.date_zone).to_local(utc)?;
            if clock.zone.is_none() && clock.date_zone.is_utc() {
                // All-day series from Outlook give UNTIL as the last day's local midnight in
                // UTC; with no zone to read it in, round to the nearest day.
                local.checked_add_signed(Duration::hours(12))?
            } else {
                local
            }
        }
        None => result.date_time,
    };
    if clock.zone.is_none() {
        // An all-day series: UNTIL counts by day.
        return local.date().and_hms_opt(23, 59, 59);
    }
    Some(local)
}

/// The latest start at a whole number of periods after `start` and not after `keep_from`,
/// when the rule's derived parts (weekday, day of month, time) stay the same.
fn skip_periods(
    rule: &ICalendarRecurrenceRule,
    start: NaiveDateTime,
    keep_from: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let interval = i64::from(rule.interval.unwrap_or(1).max(1));
    let span = keep_from.signed_duration_since(start);
    let fixed = |period: Duration| -> Option<NaiveDateTime> {
        let secs = period.num_seconds();
        if secs <= 0 {
            return None;
        }
        let k = span.num_seconds() / secs;
        start.checked_add_signed(Duration::seconds(k.checked_mul(secs)?))
    };
    let day_free = start.day() <= 28
        || !rule.bymonthday.is_empty()
        || !rule.byday.is_empty()
        || !rule.byyearday.is_empty()
        || !rule.byweekno.is_empty();
    let months = |per: i64| -> Option<NaiveDateTime> {
        if !day_free {
            return None;
        }
        let diff = i64::from(keep_from.year() - start.year()) * 12 + i64::from(keep_from.month())
            - i64::from(start.month())
            - 1;
        let k = diff.max(0) / per;
        let add = u32::try_from(k.checked_mul(per)?).ok()?;
        start.checked_add_months(Months::new(add))
    };
    match rule.freq {
        ICalendarFrequency::Daily => fixed(Duration::days(interval)),
        ICalendarFrequency::Weekly => fixed(Duration::weeks(interval)),
        ICalendarFrequency::Hourly => fixed(Duration::hours(interval)),
        ICalendarFrequency::Minutely => fixed(Duration::minutes(interval)),
        ICalendarFrequency::Monthly => months(interval),
        ICalendarFrequency::Yearly => months(interval.checked_mul(12)?),
        ICalendarFrequency::Secondly => None,
    }
    .filter(|s| *s >= start)
}

#[cfg(test)]
#[path = "rrule_diff_tests.rs"]
mod diff_tests;
