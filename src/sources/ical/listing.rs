//! Occurrences held for printing (`feed occurrences`): parts of a few dozen bytes an
//! occurrence, one per chunk of the feed, each sorted on the thread that expanded it and merged
//! while printed (no list of the whole feed is built, copied or sorted at once).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::event::{Component, Status};
use super::expand::{Instance, OccurrenceSink, When};
use super::json::{Fields, write_array};
use super::stamp::Stamp;

/// A feed's occurrences in a window, sorted as [`super::expand::sort_occurrences`] sorts.
#[derive(Debug, Default)]
pub struct Listing {
    /// Each sorted; a UID's occurrences are all in one part.
    parts: Vec<Part>,
}

impl Listing {
    /// Parts each sorted, no UID in two of them.
    pub(super) fn of_sorted_parts(parts: Vec<Part>) -> Self {
        Listing { parts }
    }

    pub fn len(&self) -> usize {
        self.parts.iter().map(|part| part.rows.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The JSON array [`super::write_occurrences`] prints for the same occurrences.
    pub fn write_json(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        match self.parts.as_slice() {
            [part] => write_array(out, part.rows.iter().map(|row| part.fields(row))),
            parts => write_array(out, Merged::new(parts)),
        }
    }
}

/// The rows of several sorted parts in one sorted run. Parts hold different UID groups, so
/// heads almost always differ by start and UID; the printed recurrence id and end, then the
/// part, settle the rest (two groups whose UIDs print alike).
struct Merged<'a> {
    parts: &'a [Part],
    next: Vec<usize>,
    heads: BinaryHeap<Reverse<Head<'a>>>,
}

/// Start, UID, recurrence id (kind and value), end (as the row holds it), part.
type Head<'a> = (i64, &'a str, u8, i64, i64, usize);

impl<'a> Merged<'a> {
    fn new(parts: &'a [Part]) -> Self {
        let mut merged = Merged {
            parts,
            next: vec![0; parts.len()],
            heads: BinaryHeap::with_capacity(parts.len()),
        };
        for at in 0..parts.len() {
            merged.queue(at);
        }
        merged
    }

    /// Puts part `at`'s next row in line, if it has one.
    fn queue(&mut self, at: usize) {
        let part = &self.parts[at];
        if let Some(row) = part.rows.get(self.next[at]) {
            let uid = part.uid(&part.events[row.event()]);
            self.heads.push(Reverse((
                row.start_utc,
                uid,
                rid_kind(row),
                row.recurrence_id,
                row.end,
                at,
            )));
        }
    }
}

impl<'a> Iterator for Merged<'a> {
    type Item = Fields<'a>;

    fn next(&mut self) -> Option<Fields<'a>> {
        let Reverse((.., at)) = self.heads.pop()?;
        let part = &self.parts[at];
        let row = &part.rows[self.next[at]];
        self.next[at] += 1;
        self.queue(at);
        Some(part.fields(row))
    }
}

/// One chunk's occurrences: a row of plain numbers each (32 bytes), an event's texts once
/// however many occurrences it has, in one string, no description or attendees (not printed).
/// Sorted as [`super::expand::sort_occurrences`] sorts, ties broken by every field.
#[derive(Debug, Default)]
pub(super) struct Part {
    rows: Vec<Row>,
    events: Vec<EventText>,
    /// Every event's UID, each followed by its summary.
    texts: String,
    /// The last event's shared texts, to tell whether the next occurrence is of the same one.
    last: Option<Shared>,
}

/// An event's texts as its occurrences share them.
type Shared = (Arc<str>, Option<Arc<str>>, Option<Status>);

#[derive(Debug)]
struct EventText {
    /// Where the UID begins in `texts`; the summary follows it.
    at: usize,
    uid_len: u32,
    /// `u32::MAX` for none.
    summary_len: u32,
    status: Option<Status>,
}

/// One occurrence in 32 bytes. An instant start or end is its UTC bound (as `expand` makes
/// them), in whole seconds (every value is read to the second); a date is kept as days from CE.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// The UTC start, a date's too (read in the floating zone), for the order.
    start_utc: i64,
    /// Days from CE for a date end ([`END_DATE`]), else the UTC end: either orders as the
    /// UTC end does.
    end: i64,
    recurrence_id: i64,
    /// Days from CE for a date start.
    start_day: i32,
    /// The event's index in `events`, above [`FLAG_BITS`] bits of flags.
    event_and_flags: u32,
}

impl Row {
    fn event(&self) -> usize {
        (self.event_and_flags >> FLAG_BITS) as usize
    }

    fn flags(&self) -> u8 {
        (self.event_and_flags & ((1 << FLAG_BITS) - 1)) as u8
    }
}

const FLAG_BITS: u32 = 6;
// A part never holds more events than occurrences, and never many more occurrences than the
// cap (one series past it at most).
const _: () = assert!(super::MAX_OCCURRENCES * 2 < 1 << (u32::BITS - FLAG_BITS));

const START_DATE: u8 = 1;
const END_DATE: u8 = 2;
const RID_DATE: u8 = 4;
const RID_INSTANT: u8 = 8;
const ALL_DAY: u8 = 16;
const FLOATING: u8 = 32;
const NO_SUMMARY: u32 = u32::MAX;

/// No recurrence id, then dates, then instants: the order of `Option<When>`.
fn rid_kind(row: &Row) -> u8 {
    match row.flags() & (RID_DATE | RID_INSTANT) {
        0 => 0,
        RID_DATE => 1,
        _ => 2,
    }
}

fn days(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date)
}

impl Part {
    pub(super) fn rows(&self) -> usize {
        self.rows.len()
    }

    fn uid(&self, event: &EventText) -> &str {
        self.texts
            .get(event.at..event.at + event.uid_len as usize)
            .unwrap_or_default()
    }

    fn summary(&self, event: &EventText) -> Option<&str> {
        if event.summary_len == NO_SUMMARY {
            return None;
        }
        let at = event.at + event.uid_len as usize;
        self.texts.get(at..at + event.summary_len as usize)
    }

    fn fields(&self, row: &Row) -> Fields<'_> {
        let event = &self.events[row.event()];
        let on = |bit: u8| row.flags() & bit != 0;
        let recurrence_id = if on(RID_DATE) {
            i32::try_from(row.recurrence_id).ok().map(Stamp::Day)
        } else if on(RID_INSTANT) {
            Some(Stamp::Second(row.recurrence_id))
        } else {
            None
        };
        Fields {
            all_day: on(ALL_DAY),
            end: if on(END_DATE) {
                Stamp::Day(i32::try_from(row.end).unwrap_or_default())
            } else {
                Stamp::Second(row.end)
            },
            floating: on(FLOATING),
            recurrence_id,
            start: if on(START_DATE) {
                Stamp::Day(row.start_day)
            } else {
                Stamp::Second(row.start_utc)
            },
            status: event.status,
            summary: self.summary(event),
            uid: self.uid(event),
        }
    }

    /// Gives back the room grown for occurrences that never came (a chunk's listing waits
    /// for the others to be joined).
    pub(super) fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.events.shrink_to_fit();
        self.texts.shrink_to_fit();
    }

    pub(super) fn sort(&mut self) {
        // UIDs ranked once, so that rows compare as plain numbers.
        let mut by_uid: Vec<u32> = (0..self.events.len())
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        let uid = |i: u32| self.uid(&self.events[i as usize]);
        by_uid.sort_unstable_by(|a, b| uid(*a).cmp(uid(*b)));
        let mut rank = vec![0u32; self.events.len()];
        let mut current = 0u32;
        for (at, event) in by_uid.iter().enumerate() {
            if at > 0 && uid(by_uid[at - 1]) != uid(*event) {
                current += 1;
            }
            rank[*event as usize] = current;
        }
        // After the printed order, the rest of the row: rows alike in every printed field
        // come out in one order however the feed was cut into parts.
        let rest = |row: &Row| (row.event_and_flags, row.start_day);
        if let Some(packing) = Packing::of(&self.rows, self.events.len()) {
            // Start and UID rank packed into the start's place: one integer compare for
            // almost every pair (put back once sorted).
            for row in &mut self.rows {
                row.start_utc = packing.pack(row.start_utc, rank[row.event()]);
            }
            self.rows.sort_unstable_by(|a, b| {
                a.start_utc.cmp(&b.start_utc).then_with(|| {
                    (rid_kind(a), a.recurrence_id, a.end, rest(a)).cmp(&(
                        rid_kind(b),
                        b.recurrence_id,
                        b.end,
                        rest(b),
                    ))
                })
            });
            for row in &mut self.rows {
                row.start_utc = packing.unpack(row.start_utc);
            }
            return;
        }
        self.rows.sort_unstable_by_key(|row| {
            (
                row.start_utc,
                rank[row.event()],
                rid_kind(row),
                row.recurrence_id,
                row.end,
                rest(row),
            )
        });
    }

    /// The event's texts, shared with the previous occurrence's when they are the same.
    fn event_of(&mut self, occ: &Component) -> u32 {
        let same = self.last.as_ref().is_some_and(|(uid, summary, status)| {
            Arc::ptr_eq(uid, &occ.uid)
                && match (summary, &occ.summary) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                }
                && *status == occ.status
        });
        if !same {
            let at = self.texts.len();
            self.texts.push_str(&occ.uid);
            let summary_len = match &occ.summary {
                Some(summary) => {
                    self.texts.push_str(summary);
                    u32::try_from(summary.len()).unwrap_or(NO_SUMMARY - 1)
                }
                None => NO_SUMMARY,
            };
            self.events.push(EventText {
                at,
                uid_len: u32::try_from(occ.uid.len()).unwrap_or(u32::MAX),
                summary_len,
                status: occ.status,
            });
            self.last = Some((occ.uid.clone(), occ.summary.clone(), occ.status));
        }
        u32::try_from(self.events.len() - 1).unwrap_or(u32::MAX)
    }
}

/// Starts (as seconds after the earliest) and UID ranks packed into one non-negative `i64`
/// that orders as the pair does, when both fit.
struct Packing {
    earliest: i64,
    rank_bits: u32,
}

impl Packing {
    fn of(rows: &[Row], ranks: usize) -> Option<Packing> {
        let earliest = rows.iter().map(|row| row.start_utc).min()?;
        let latest = rows.iter().map(|row| row.start_utc).max()?;
        let span = u64::try_from(i128::from(latest) - i128::from(earliest)).ok()?;
        let start_bits = u64::BITS - span.leading_zeros();
        let rank_bits = usize::BITS - ranks.leading_zeros();
        (start_bits + rank_bits < 64).then_some(Packing {
            earliest,
            rank_bits,
        })
    }

    fn pack(&self, start: i64, rank: u32) -> i64 {
        ((start - self.earliest) << self.rank_bits) | i64::from(rank)
    }

    fn unpack(&self, packed: i64) -> i64 {
        (packed >> self.rank_bits) + self.earliest
    }
}

impl OccurrenceSink for Part {
    fn detail(&self) -> super::scan::Detail {
        super::scan::Detail::Listing
    }

    fn push(&mut self, source: &Component, occ: Instance) {
        let event = self.event_of(source);
        let bit = |on: bool, flag: u8| if on { flag } else { 0 };
        let (start_day, start_date) = match occ.start {
            When::Date(d) => (days(d), START_DATE),
            When::Instant(_) => (0, 0),
        };
        let (end, end_date) = match occ.end {
            When::Date(d) => (i64::from(days(d)), END_DATE),
            When::Instant(_) => (occ.end_utc.timestamp(), 0),
        };
        let (recurrence_id, rid_flag) = match occ.recurrence_id {
            Some(When::Date(d)) => (i64::from(days(d)), RID_DATE),
            Some(When::Instant(at)) => (at.timestamp(), RID_INSTANT),
            None => (0, 0),
        };
        let flags = start_date
            | end_date
            | rid_flag
            | bit(occ.all_day, ALL_DAY)
            | bit(occ.floating, FLOATING);
        self.rows.push(Row {
            start_utc: occ.start_utc.timestamp(),
            end,
            recurrence_id,
            start_day,
            event_and_flags: (event << FLAG_BITS) | u32::from(flags),
        });
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn truncate(&mut self, len: usize) {
        self.rows.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ical::write_occurrences;
    use chrono::{DateTime, Utc};

    /// The compact listing prints exactly what the full list prints, on every fixture and
    /// corpus calendar, in a window wide enough to hold their occurrences.
    #[test]
    fn the_listing_prints_what_the_full_list_prints() {
        use crate::sources::ical::{
            OccurrenceQuery, Zone, occurrence_listing, occurrences_from_text,
        };
        let files = crate::sources::ical::test_support::calendar_files(&[
            "tests/fixtures/ical",
            "../shared/corpus/ical",
        ]);
        assert!(!files.is_empty());
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("instant")
                .with_timezone(&Utc)
        };
        let query = OccurrenceQuery {
            floating: Zone::Iana(chrono_tz::Europe::Stockholm),
            window_start: at("1995-01-01T00:00:00Z"),
            window_end: at("2031-01-01T00:00:00Z"),
        };
        let mut printed = 0;
        for file in &files {
            let bytes = std::fs::read(file).expect("calendar");
            let (found, warnings) = occurrences_from_text(&bytes, &query);
            let (listing, listed_warnings) = occurrence_listing(&bytes, &query);
            assert_eq!(warnings, listed_warnings, "{}", file.display());
            assert_eq!(listing.len(), found.len(), "{}", file.display());
            let (mut full, mut compact) = (Vec::new(), Vec::new());
            write_occurrences(&mut full, &found).expect("written");
            listing.write_json(&mut compact).expect("written");
            assert_eq!(
                String::from_utf8(compact).expect("utf-8"),
                String::from_utf8(full).expect("utf-8"),
                "{}",
                file.display()
            );
            printed += found.len();
        }
        assert!(printed > 100, "only {printed} occurrences compared");
    }

    #[test]
    fn rows_sort_by_start_then_uid_whether_or_not_start_and_rank_pack() {
        // Spreads of starts: an hour and a year pack with the ranks, 2^60 s does not.
        for (spread, packs) in [(3_600i64, true), (400 * 86_400, true), (1 << 60, false)] {
            let mut listing = Part::default();
            for e in 0..50 {
                let uid = format!("uid-{:02}", 49 - e);
                listing.events.push(EventText {
                    at: listing.texts.len(),
                    uid_len: uid.len() as u32,
                    summary_len: NO_SUMMARY,
                    status: None,
                });
                listing.texts.push_str(&uid);
            }
            let mut seed = 0x9E37_79B9_7F4A_7C15u64;
            let mut next = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            for i in 0..3_000u64 {
                // Few distinct starts, so that most rows tie on the start.
                let start = (next() % 40) as i64 * (spread / 40) - spread / 2;
                listing.rows.push(Row {
                    start_utc: start,
                    end: start + (next() % 3) as i64,
                    recurrence_id: (next() % 3) as i64,
                    start_day: 0,
                    event_and_flags: ((next() % 50) as u32) << FLAG_BITS
                        | u32::from([0, RID_DATE, RID_INSTANT][(i % 3) as usize]),
                });
            }
            assert_eq!(
                Packing::of(&listing.rows, listing.events.len()).is_some(),
                packs,
                "spread {spread}"
            );
            let key = |listing: &Part, row: &Row| {
                let uid = listing.uid(&listing.events[row.event()]).to_owned();
                let kind = row.flags() & (RID_DATE | RID_INSTANT);
                (row.start_utc, uid, kind, row.recurrence_id, row.end)
            };
            let mut expected: Vec<_> = listing.rows.iter().map(|r| key(&listing, r)).collect();
            expected.sort();
            listing.sort();
            let sorted: Vec<_> = listing.rows.iter().map(|r| key(&listing, r)).collect();
            assert_eq!(sorted, expected, "spread {spread}");
        }
    }

    #[test]
    fn a_row_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Row>(), 32);
    }
}
