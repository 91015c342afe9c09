//! `feed occurrences` of a file: the feed is outlined in memory (blocks, zones, UID groups),
//! its text is then dropped, and each VEVENT block is read again from the open file when its
//! turn comes. A big feed's text and its list of occurrences are never in memory together
//! (peak memory: the larger of the two, not their sum).

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;

use super::json::Listing;
use super::parallel::{self, Sharing};
use super::text::{self, Block};
use super::{BlockTexts, OccurrenceQuery, occurrence_listing_shared, plan};

/// Bytes read ahead from the file at a time: blocks are mostly read in file order.
const WINDOW: usize = 256 * 1024;

/// [`occurrence_listing`] of `bytes`, which were read from `file`: once the feed is outlined,
/// `bytes` are dropped and each VEVENT is read again from `file`. A file that is not a regular
/// file, has changed size since, or whose text is not plain UTF-8 (a repaired text is not the
/// file's) is read from `bytes` as they are. Same result either way.
pub fn occurrence_listing_reread(
    file: &File,
    bytes: Vec<u8>,
    query: &OccurrenceQuery,
) -> (Listing, Vec<String>) {
    listing_reread_shared(file, bytes, query, Sharing::of_this_machine())
}

/// [`occurrence_listing_reread`] with the UID groups shared out as `sharing` says.
fn listing_reread_shared(
    file: &File,
    bytes: Vec<u8>,
    query: &OccurrenceQuery,
    sharing: Sharing,
) -> (Listing, Vec<String>) {
    let unchanged = file
        .metadata()
        .is_ok_and(|meta| meta.is_file() && meta.len() == bytes.len() as u64);
    if !unchanged {
        return occurrence_listing_shared(&bytes, query, sharing);
    }
    let mut warnings = Vec::new();
    let text = text::decode(&bytes, &mut warnings);
    let Cow::Borrowed(feed) = text else {
        return occurrence_listing_shared(&bytes, query, sharing);
    };
    // After a byte order mark.
    let offset = feed.as_ptr() as usize - bytes.as_ptr() as usize;
    let blocks = text::split(feed, &mut warnings);
    let plan = plan(
        &blocks,
        |_| query.floating.clone(),
        (query.window_start, query.window_end),
        &mut warnings,
    );
    let spans = spans(feed, offset, &blocks.events);
    drop(blocks);
    drop(bytes);
    let mut listing = parallel::expand_listing(
        || FileBlocks::over(file, &spans),
        plan,
        sharing,
        &mut warnings,
    );
    listing.sort();
    (listing, warnings)
}

/// Where a block was in the file.
struct Span {
    start: u64,
    len: usize,
    line: usize,
    calendar: usize,
}

/// VEVENT blocks read again from the file: through a window that moves forward, or alone
/// when a block lies behind it (an override far from its series) or is larger than it.
struct FileBlocks<'f> {
    file: &'f File,
    spans: &'f [Span],
    window: Vec<u8>,
    window_start: u64,
    alone: Vec<u8>,
}

/// Where each of `events`, slices of `text`, lies in a file `text` starts `offset` bytes into.
fn spans(text: &str, offset: usize, events: &[Block<'_>]) -> Vec<Span> {
    events
        .iter()
        .map(|block| Span {
            start: (offset + (block.text.as_ptr() as usize - text.as_ptr() as usize)) as u64,
            len: block.text.len(),
            line: block.line,
            calendar: block.calendar,
        })
        .collect()
}

impl<'f> FileBlocks<'f> {
    fn over(file: &'f File, spans: &'f [Span]) -> Self {
        FileBlocks {
            file,
            spans,
            window: Vec::new(),
            window_start: 0,
            alone: Vec::new(),
        }
    }

    fn bytes(&mut self, index: usize) -> std::io::Result<&[u8]> {
        let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let span = self.spans.get(index).ok_or_else(eof)?;
        let (start, len) = (span.start, span.len);
        let window_end = self.window_start + self.window.len() as u64;
        if start >= self.window_start && start + len as u64 <= window_end {
            let at = (start - self.window_start) as usize;
            return Ok(&self.window[at..at + len]);
        }
        if start >= window_end && len <= WINDOW {
            self.window.resize(WINDOW, 0);
            let filled = read_at_most(self.file, &mut self.window, start)?;
            self.window.truncate(filled);
            self.window_start = start;
            return self.window.get(..len).ok_or_else(eof);
        }
        self.alone.resize(len, 0);
        self.file.read_exact_at(&mut self.alone, start)?;
        Ok(&self.alone)
    }
}

/// Fills `buf` from `at` as far as the file goes.
fn read_at_most(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], at + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

impl BlockTexts for FileBlocks<'_> {
    fn block(&mut self, index: u32, warnings: &mut Vec<String>) -> Option<Block<'_>> {
        let index = index as usize;
        let (line, calendar) = self.spans.get(index).map(|s| (s.line, s.calendar))?;
        let read = self.bytes(index).map(std::str::from_utf8);
        match read {
            Ok(Ok(text)) => Some(Block {
                text,
                line,
                calendar,
            }),
            _ => {
                warnings.push(format!(
                    "line {line}: VEVENT could not be read again from the file (changed while \
                     it was read?); skipped"
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::io::Write as _;

    use super::*;
    use crate::sources::ical::occurrence_listing;

    fn query() -> OccurrenceQuery {
        crate::sources::ical::test_support::query_in_oslo(
            "2024-01-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
        )
    }

    fn json(listing: &Listing) -> String {
        let mut out = Vec::new();
        listing.write_json(&mut out).expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    /// Reads `bytes` both ways (from a file holding `on_disk`) and compares.
    fn both_ways(bytes: &[u8], on_disk: &[u8]) -> (String, Vec<String>) {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(on_disk).expect("written");
        let (expected, expected_warnings) = occurrence_listing(bytes, &query());
        let (reread, warnings) = occurrence_listing_reread(&file, bytes.to_vec(), &query());
        assert_eq!(warnings, expected_warnings);
        assert_eq!(json(&reread), json(&expected));
        // Each thread reads the file through a window of its own.
        let three_threads = Sharing {
            threads: 3,
            min_blocks_per_chunk: 1,
        };
        let (shared, shared_warnings) =
            listing_reread_shared(&file, bytes.to_vec(), &query(), three_threads);
        assert_eq!(shared_warnings, expected_warnings);
        assert_eq!(json(&shared), json(&expected));
        (json(&reread), warnings)
    }

    /// Over several windows' worth of text, with each series' override at the far end of the
    /// file (read alone, behind the window) and a block larger than the window.
    fn big_feed() -> String {
        let mut text = String::from("\u{feff}BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
        for i in 0..3_000 {
            let _ = write!(
                text,
                "BEGIN:VEVENT\r\nUID:s{i}\r\nDTSTART;TZID=Europe/Oslo:20240301T1000{:02}\r\n\
                 RRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Series {i}\r\nDESCRIPTION:{}\r\n\
                 END:VEVENT\r\n",
                i % 60,
                "x".repeat(40)
            );
        }
        let _ = write!(
            text,
            "BEGIN:VEVENT\r\nUID:huge\r\nDTSTART:20240601T100000Z\r\nDESCRIPTION:{}\r\nEND:VEVENT\r\n",
            "y".repeat(WINDOW + 10)
        );
        for i in (0..3_000).step_by(7) {
            let _ = write!(
                text,
                "BEGIN:VEVENT\r\nUID:s{i}\r\nRECURRENCE-ID;TZID=Europe/Oslo:20240308T1000{:02}\r\n\
                 DTSTART;TZID=Europe/Oslo:20240309T120000\r\nSUMMARY:Moved {i}\r\nEND:VEVENT\r\n",
                i % 60
            );
        }
        text.push_str("END:VCALENDAR\r\n");
        text
    }

    #[test]
    fn a_feed_read_again_from_its_file_lists_what_it_lists_in_memory() {
        let feed = big_feed();
        assert!(feed.len() > 2 * WINDOW);
        let (printed, _) = both_ways(feed.as_bytes(), feed.as_bytes());
        assert!(
            printed.contains("Moved 2996"),
            "overrides at the end were read"
        );
        assert!(printed.contains("\"uid\":\"huge\""));
        assert_eq!(printed.matches("\"uid\":").count(), 3_000 * 3 + 1);
    }

    #[test]
    fn repaired_text_and_a_changed_file_are_read_from_the_bytes() {
        let mut repaired = big_feed().into_bytes();
        repaired.extend_from_slice(b"\xff");
        let (_, warnings) = both_ways(&repaired, &repaired);
        assert!(warnings.iter().any(|w| w.contains("not valid UTF-8")));
        let feed = big_feed();
        both_ways(feed.as_bytes(), &feed.as_bytes()[..feed.len() / 2]);
    }

    #[test]
    fn a_block_that_no_longer_reads_is_skipped_with_a_warning() {
        let feed = big_feed();
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(feed.as_bytes()).expect("written");
        let events = vec![Block {
            text: &feed[..20],
            line: 1,
            calendar: 0,
        }];
        let mut spans = spans(&feed, 0, &events);
        spans[0].start = feed.len() as u64 - 5;
        let mut blocks = FileBlocks::over(&file, &spans);
        let mut warnings = Vec::new();
        assert!(blocks.block(0, &mut warnings).is_none());
        assert!(
            warnings[0].contains("could not be read again"),
            "{warnings:?}"
        );
    }
}
