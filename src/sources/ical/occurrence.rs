//! An occurrence as expansion makes it, the sinks it goes into, and the options expansion
//! works under.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::event::{Component, Status};
use super::when::When;
use super::zone::Zone;

/// One occurrence of a VEVENT, before any booking rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub uid: Arc<str>,
    pub recurrence_id: Option<When>,
    pub start: When,
    /// Exclusive.
    pub end: When,
    pub all_day: bool,
    pub floating: bool,
    pub summary: Option<Arc<str>>,
    pub description: Option<Arc<str>>,
    pub status: Option<Status>,
    pub attendees: Arc<[String]>,
    /// UTC bounds (dates read in the floating zone), for sorting and windows.
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
}

/// An occurrence's own values, before its component's texts are attached.
#[derive(Debug, Clone, Copy)]
pub struct Instance {
    pub recurrence_id: Option<When>,
    pub start: When,
    pub end: When,
    pub all_day: bool,
    pub floating: bool,
    pub start_utc: DateTime<Utc>,
    pub end_utc: DateTime<Utc>,
}

/// Where expansion puts occurrences: a plain list, or a compact one for printing. The texts
/// are lent by the component, so that a sink that keeps them once per event copies nothing
/// per occurrence.
pub trait OccurrenceSink {
    fn push(&mut self, source: &Component, instance: Instance);
    /// How much of each VEVENT the sink uses (a listing prints no DESCRIPTION or ATTENDEE).
    fn detail(&self) -> super::scan::Detail {
        super::scan::Detail::Full
    }
    fn len(&self) -> usize;
    fn truncate(&mut self, len: usize);
}

impl OccurrenceSink for Vec<Occurrence> {
    fn push(&mut self, source: &Component, instance: Instance) {
        Vec::push(
            self,
            Occurrence {
                uid: source.uid.clone(),
                recurrence_id: instance.recurrence_id,
                start: instance.start,
                end: instance.end,
                all_day: instance.all_day,
                floating: instance.floating,
                summary: source.summary.clone(),
                description: source.description.clone(),
                status: source.status,
                attendees: source.attendees.clone(),
                start_utc: instance.start_utc,
                end_utc: instance.end_utc,
            },
        );
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len);
    }
}

pub struct ExpandOptions {
    /// Floating times and DATE values are read in this zone.
    pub floating: Zone,
    /// The calendar's `X-WR-TIMEZONE`: a UTC DTSTART with an RRULE repeats in it.
    pub x_wr_timezone: Option<Zone>,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Occurrences kept per series inside the window.
    pub max_per_series: usize,
    /// RRULE iterations per series.
    pub max_iterations: usize,
    /// Occurrences kept in all.
    pub max_total: usize,
}

/// Sorts by (start, uid, recurrence_id), the order `feed occurrences` prints.
pub fn sort_occurrences(list: &mut [Occurrence]) {
    // Unstable: no scratch buffer as large as half the list; the key is total anyway.
    list.sort_unstable_by(|a, b| {
        (a.start_utc, &a.uid, a.recurrence_id, a.end_utc).cmp(&(
            b.start_utc,
            &b.uid,
            b.recurrence_id,
            b.end_utc,
        ))
    });
}
