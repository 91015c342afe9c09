//! A direct engine for the rules real feeds are made of (`FREQ=DAILY;COUNT=30`,
//! `FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=…`, `FREQ=MONTHLY`): it makes the very starts calcard's
//! iterator yields for the same rule and DTSTART, in the same order, without calcard's
//! dateutil-style day sets. Any other rule, and any date this engine does not reproduce
//! exactly, is left to calcard. The differential tests in `rrule_diff_tests.rs` hold the two
//! engines to the same answers.

use std::ops::RangeInclusive;

use calcard::icalendar::{ICalendarFrequency, ICalendarRecurrenceRule, ICalendarWeekday};
use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

/// Years both engines read alike: calcard keeps a rule's dates with a `u16` year and stops
/// iterating beyond ±10,000.
const YEARS: RangeInclusive<i32> = 1..=9999;

/// A rule of the simple class: FREQ DAILY, WEEKLY, MONTHLY or YEARLY, any INTERVAL of at
/// least 1, COUNT and UNTIL, any WKST, and plain weekdays in BYDAY on a WEEKLY rule; no other
/// BY* part, no BYSETPOS, no RSCALE nor SKIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleRule {
    period: Period,
    interval: u32,
    count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Period {
    Day,
    /// The weekdays to keep (indexed from Monday; empty means DTSTART's) and the week's start.
    Week {
        days: [bool; 7],
        week_start: Weekday,
    },
    /// DTSTART's day of the month; a month without it is skipped.
    Month,
    /// DTSTART's day and month; a year without it (29 February) is skipped.
    Year,
}

impl SimpleRule {
    /// The rule as a simple one, or `None` when calcard must expand it.
    pub fn of(rule: &ICalendarRecurrenceRule) -> Option<Self> {
        let only_weekdays = rule.byday.iter().all(|day| day.ordwk.is_none());
        let no_other_parts = rule.bysecond.is_empty()
            && rule.byminute.is_empty()
            && rule.byhour.is_empty()
            && rule.bymonthday.is_empty()
            && rule.byyearday.is_empty()
            && rule.byweekno.is_empty()
            && rule.bymonth.is_empty()
            && rule.bysetpos.is_empty()
            && rule.rscale.is_none()
            && rule.skip.is_none();
        let interval = u32::from(rule.interval.unwrap_or(1));
        if !no_other_parts || interval == 0 {
            return None;
        }
        let period = match rule.freq {
            ICalendarFrequency::Weekly if only_weekdays => {
                let mut days = [false; 7];
                for day in &rule.byday {
                    days[Weekday::from(day.weekday).num_days_from_monday() as usize] = true;
                }
                let week_start = rule.wkst.unwrap_or(ICalendarWeekday::Monday).into();
                Period::Week { days, week_start }
            }
            _ if !rule.byday.is_empty() => return None,
            ICalendarFrequency::Daily => Period::Day,
            ICalendarFrequency::Monthly => Period::Month,
            ICalendarFrequency::Yearly => Period::Year,
            _ => return None,
        };
        Some(SimpleRule {
            period,
            interval,
            count: rule.count,
        })
    }

    /// The starts calcard yields from `first` (its DTSTART), none after `until`, at most
    /// `limit` of them. `None` when calcard would read the dates otherwise: years out of
    /// [`YEARS`], or UNTIL before DTSTART (calcard refuses that rule).
    pub fn starts(
        &self,
        first: NaiveDateTime,
        until: NaiveDateTime,
        limit: usize,
    ) -> Option<Vec<NaiveDateTime>> {
        // calcard keeps whole seconds.
        let first = first.with_nanosecond(0)?;
        let until = until.with_nanosecond(0)?;
        if !YEARS.contains(&first.year()) || !YEARS.contains(&until.year()) || until < first {
            return None;
        }
        let wanted = self.count.map_or(limit, |count| {
            limit.min(usize::try_from(count).unwrap_or(usize::MAX))
        });
        let mut out = Starts {
            time: first.time(),
            until,
            wanted,
            found: Vec::new(),
        };
        if wanted > 0 {
            match &self.period {
                Period::Day => self.days(first.date(), &mut out),
                Period::Week { days, week_start } => {
                    self.weeks(first.date(), *days, *week_start, &mut out);
                }
                Period::Month => self.months(first.date(), 1, &mut out),
                Period::Year => self.months(first.date(), 12, &mut out),
            }
        }
        Some(out.found)
    }

    fn days(&self, first: NaiveDate, out: &mut Starts) {
        let mut day = Some(first);
        while let Some(current) = day {
            if !out.take(current) {
                return;
            }
            day = current.checked_add_days(Days::new(u64::from(self.interval)));
        }
    }

    /// Weeks begin on `week_start`; the first one is cut at DTSTART.
    fn weeks(&self, first: NaiveDate, mut days: [bool; 7], week_start: Weekday, out: &mut Starts) {
        if !days.contains(&true) {
            days[first.weekday().num_days_from_monday() as usize] = true;
        }
        let back = u64::from(first.weekday().days_since(week_start));
        let mut week = first.checked_sub_days(Days::new(back));
        while let Some(week_begins) = week {
            for day in week_begins.iter_days().take(7) {
                let kept = days[day.weekday().num_days_from_monday() as usize];
                if day >= first && kept && !out.take(day) {
                    return;
                }
            }
            week = week_begins.checked_add_days(Days::new(7 * u64::from(self.interval)));
        }
    }

    /// Every `interval × step` months from `first`, on `first`'s day where the month has it.
    fn months(&self, first: NaiveDate, step: u32, out: &mut Starts) {
        let every = i64::from(self.interval) * i64::from(step);
        let mut index = i64::from(first.year()) * 12 + i64::from(first.month0());
        loop {
            let (Ok(year), Ok(month0)) = (
                i32::try_from(index.div_euclid(12)),
                u32::try_from(index.rem_euclid(12)),
            ) else {
                return;
            };
            match NaiveDate::from_ymd_opt(year, month0 + 1, first.day()) {
                Some(day) if !out.take(day) => return,
                Some(_) => {}
                // A month without the day is skipped, until the years pass UNTIL's.
                None if year > out.until.year() => return,
                None => {}
            }
            index += every;
        }
    }
}

/// The starts found so far and when to stop.
struct Starts {
    time: NaiveTime,
    until: NaiveDateTime,
    wanted: usize,
    found: Vec<NaiveDateTime>,
}

impl Starts {
    /// Takes the start on `day`; `false` once no more are wanted.
    fn take(&mut self, day: NaiveDate) -> bool {
        let at = day.and_time(self.time);
        if at > self.until {
            return false;
        }
        self.found.push(at);
        self.found.len() < self.wanted
    }
}
