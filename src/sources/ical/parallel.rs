//! `feed occurrences` expands a big feed's UID groups on the machine's cores: the outlined
//! groups are cut into chunks (whole groups, in feed order), each expanded into a sorted part
//! of its own, and the warnings are joined in chunk order, so that the result prints exactly
//! the one-thread result. Lowers the wall time, not the CPU time.

use std::num::NonZero;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::group_run::GroupRun;
use super::listing::{Listing, Part};
use super::{BlockTexts, MAX_WARNINGS, Plan, expand_groups, note_suppressed};

/// Blocks a chunk holds at least: below that a thread costs more than it saves.
const MIN_BLOCKS_PER_CHUNK: usize = 512;
/// Chunks per thread, so that a thread that drew cheap chunks takes more.
const CHUNKS_PER_THREAD: usize = 8;
/// Threads at most, whatever the machine has.
const MAX_THREADS: usize = 8;

/// How a feed's groups are shared out.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sharing {
    pub threads: usize,
    pub min_blocks_per_chunk: usize,
}

impl Sharing {
    /// As many threads as the machine has cores (up to [`MAX_THREADS`]).
    pub fn of_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
        Sharing {
            threads: cores.min(MAX_THREADS),
            min_blocks_per_chunk: MIN_BLOCKS_PER_CHUNK,
        }
    }
}

/// One chunk's share of the result.
#[derive(Default)]
struct ChunkResult {
    listing: Part,
    warnings: Vec<String>,
    suppressed: usize,
}

/// The sorted listing of `plan`'s groups, each block's text from a source `source` makes
/// (one per thread), with the warnings appended to `warnings`: the same as one thread gives.
pub(super) fn expand_listing<S: BlockTexts>(
    source: impl Fn() -> S + Sync,
    plan: Plan,
    sharing: Sharing,
    warnings: &mut Vec<String>,
) -> Listing {
    let began = std::time::Instant::now();
    let chunks = chunks(&plan.order, sharing);
    let sequential = |plan: Plan, warnings: &mut Vec<String>| {
        let mut listing = Part::default();
        expand_groups(
            &mut source(),
            plan,
            (began, None),
            warnings,
            &mut Vec::new(),
            &mut listing,
        );
        listing.sort();
        Listing::of_sorted_parts(vec![listing])
    };
    if chunks.len() < 2 || sharing.threads < 2 {
        return sequential(plan, warnings);
    }
    let run = GroupRun {
        opts: &plan.opts,
        zones: &plan.zones,
        total: plan.groups,
        began,
        budget: None,
    };
    let mut joined = Joined::default();
    expand_chunks(&run, &source, &chunks, sharing.threads, |result| {
        joined.add(result)
    });
    if joined.occurrences >= plan.opts.max_total {
        // Where the total cap cuts depends on the order the groups were read in: read them
        // in that order (a hostile feed's cost, not an ordinary one's).
        drop(joined);
        return sequential(plan, warnings);
    }
    joined.finish(warnings)
}

/// Expands every chunk on `threads` threads and hands each result to `take` in chunk order
/// as soon as the chunks before it are done (a chunk's listing waits only for those).
fn expand_chunks<S: BlockTexts>(
    run: &GroupRun<'_>,
    source: &(impl Fn() -> S + Sync),
    chunks: &[&[(u32, u32)]],
    threads: usize,
    mut take: impl FnMut(ChunkResult),
) {
    let next = AtomicUsize::new(0);
    let (send, receive) = std::sync::mpsc::channel::<(usize, ChunkResult)>();
    std::thread::scope(|scope| {
        for _ in 0..threads.min(chunks.len()) {
            let send = send.clone();
            let next = &next;
            scope.spawn(move || {
                let mut texts = source();
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(at) else {
                        break;
                    };
                    let mut result = ChunkResult::default();
                    result.suppressed = run.expand(
                        &mut texts,
                        chunk,
                        &mut None,
                        (&mut result.warnings, &mut Vec::new()),
                        &mut result.listing,
                    );
                    result.listing.shrink_to_fit();
                    result.listing.sort();
                    if send.send((at, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(send);
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        for (at, result) in receive {
            waiting.insert(at, result);
            while let Some(result) = waiting.remove(&due) {
                take(result);
                due += 1;
            }
        }
    });
}

/// The chunks' listings one after the other, and their warnings as one thread keeps them (the
/// first [`MAX_WARNINGS`], the rest counted).
#[derive(Default)]
struct Joined {
    parts: Vec<Part>,
    occurrences: usize,
    warnings: Vec<String>,
    suppressed: usize,
}

impl Joined {
    fn add(&mut self, result: ChunkResult) {
        self.occurrences += result.listing.rows();
        if result.listing.rows() > 0 {
            self.parts.push(result.listing);
        }
        self.suppressed += result.suppressed;
        self.warnings.extend(result.warnings);
        self.keep_at_most(MAX_WARNINGS);
    }

    fn keep_at_most(&mut self, most: usize) {
        if self.warnings.len() > most {
            self.suppressed += self.warnings.len() - most;
            self.warnings.truncate(most);
        }
    }

    /// The listing; the chunks' warnings after `warnings`.
    fn finish(mut self, warnings: &mut Vec<String>) -> Listing {
        warnings.append(&mut self.warnings);
        if warnings.len() > MAX_WARNINGS {
            self.suppressed += warnings.len() - MAX_WARNINGS;
            warnings.truncate(MAX_WARNINGS);
        }
        note_suppressed(self.suppressed, warnings);
        Listing::of_sorted_parts(self.parts)
    }
}

/// `order` cut at group boundaries into about `threads × CHUNKS_PER_THREAD` runs of similar
/// block counts, none smaller than the minimum (but the last).
fn chunks(order: &[(u32, u32)], sharing: Sharing) -> Vec<&[(u32, u32)]> {
    let wanted = (sharing.threads * CHUNKS_PER_THREAD).max(1);
    let size = (order.len() / wanted).max(sharing.min_blocks_per_chunk.max(1));
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = (start + size).min(order.len());
        // Forward to the end of the group the cut falls in.
        while end < order.len() && order[end].0 == order[end - 1].0 {
            end += 1;
        }
        chunks.push(&order[start..end]);
        start = end;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::sources::ical::test_support::calendar_files;
    use crate::sources::ical::{OccurrenceQuery, occurrence_listing_shared};

    const ONE_THREAD: Sharing = Sharing {
        threads: 1,
        min_blocks_per_chunk: MIN_BLOCKS_PER_CHUNK,
    };
    /// Small chunks, so that even a fixture is cut into several.
    const THREE_THREADS: Sharing = Sharing {
        threads: 3,
        min_blocks_per_chunk: 1,
    };

    fn query(from: &str, to: &str) -> OccurrenceQuery {
        crate::sources::ical::test_support::query_in_oslo(from, to)
    }

    fn json(listing: &Listing) -> String {
        let mut out = Vec::new();
        listing.write_json(&mut out).expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    /// Big chunks, so that one chunk alone has more warnings than are kept.
    const TWO_BIG_CHUNKS: Sharing = Sharing {
        threads: 2,
        min_blocks_per_chunk: 1_500,
    };

    /// Lists `bytes` on one thread and shared out; the result, after checking they agree.
    fn both_ways(bytes: &[u8], query: &OccurrenceQuery, what: &str) -> (String, Vec<String>) {
        let (one, one_warnings) = occurrence_listing_shared(bytes, query, ONE_THREAD);
        let printed = json(&one);
        for sharing in [THREE_THREADS, TWO_BIG_CHUNKS] {
            let (shared, shared_warnings) = occurrence_listing_shared(bytes, query, sharing);
            assert_eq!(shared_warnings, one_warnings, "{what}, {sharing:?}");
            assert_eq!(json(&shared), printed, "{what}, {sharing:?}");
        }
        (printed, one_warnings)
    }

    #[test]
    fn every_fixture_lists_the_same_on_several_threads() {
        let mut compared = 0;
        for path in calendar_files(&["tests/fixtures/ical"]) {
            let bytes = std::fs::read(&path).expect("calendar");
            let q = query("1995-01-01T00:00:00Z", "2031-01-01T00:00:00Z");
            let (printed, _) = both_ways(&bytes, &q, &path.display().to_string());
            compared += printed.matches("\"uid\":").count();
        }
        assert!(compared > 100, "only {compared} occurrences compared");
    }

    /// Series, overrides far from their series, events sharing a start (ties in the sort),
    /// and more warnings than are kept, spread over every chunk.
    fn generated_feed() -> String {
        let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
        for i in 0..2_400 {
            // Three starts in four lack their seconds: a warning each (1,800 in all).
            let seconds = if i % 4 != 0 { "" } else { "00" };
            let _ = write!(
                text,
                "BEGIN:VEVENT\r\nUID:g{}\r\nDTSTART;TZID=Europe/Oslo:20240{}0{}T1{}00{seconds}\r\n\
                 RRULE:FREQ=WEEKLY;COUNT={}\r\nSUMMARY:Event {i}\r\nEND:VEVENT\r\n",
                i % 1_700,
                1 + i % 9,
                1 + i % 7,
                i % 10,
                1 + i % 4,
            );
        }
        for i in (0..1_700).step_by(11) {
            let _ = write!(
                text,
                "BEGIN:VEVENT\r\nUID:g{i}\r\nRECURRENCE-ID;TZID=Europe/Oslo:20240{}0{}T1{}0000\r\n\
                 DTSTART:20241201T090000Z\r\nSUMMARY:Moved {i}\r\nEND:VEVENT\r\n",
                1 + i % 9,
                1 + i % 7,
                i % 10,
            );
        }
        text.push_str("END:VCALENDAR\r\n");
        text
    }

    #[test]
    fn a_generated_feed_lists_the_same_on_several_threads() {
        let feed = generated_feed();
        let q = query("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z");
        let order = outline_order(&feed);
        assert!(chunks(&order, THREE_THREADS).len() > 3);
        assert_eq!(chunks(&order, TWO_BIG_CHUNKS).len(), 2);
        let (printed, warnings) = both_ways(feed.as_bytes(), &q, "generated feed");
        assert!(
            printed.contains("\"summary\":\"Moved 1694\""),
            "overrides read"
        );
        assert!(printed.matches("\"uid\":").count() > 2_000);
        assert_eq!(warnings.len(), MAX_WARNINGS + 1, "{:?}", warnings.last());
        assert!(
            warnings[MAX_WARNINGS].ends_with("more warnings (not listed)"),
            "{:?}",
            warnings.last()
        );
    }

    fn outline_order(feed: &str) -> Vec<(u32, u32)> {
        let blocks = crate::sources::ical::text::split(feed, &mut Vec::new());
        crate::sources::ical::uid_groups(&blocks.events).0
    }

    #[test]
    fn chunks_end_where_groups_end_and_cover_every_block() {
        let order: Vec<(u32, u32)> = [0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 4, 5]
            .iter()
            .enumerate()
            .map(|(at, group)| (*group, at as u32))
            .collect();
        let cut = chunks(&order, THREE_THREADS);
        assert_eq!(cut.concat(), order);
        for pair in cut.windows(2) {
            let (last, next) = (pair[0].last(), pair[1].first());
            assert_ne!(last.map(|b| b.0), next.map(|b| b.0), "{cut:?}");
        }
        assert_eq!(chunks(&order, ONE_THREAD).len(), 1);
    }
}
