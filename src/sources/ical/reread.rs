//! `feed occurrences` of a file: the feed is outlined (blocks, zones, UID groups) through a
//! window that moves over the file, so that its whole text is never one allocation, and each
//! VEVENT block is read again from the open file when its turn comes. A file that cannot be
//! outlined that way (UTF-16, invalid UTF-8, NUL bytes, changed while read) is outlined in
//! memory, its text dropped before the expansion: a big feed's text and its list of
//! occurrences are never in memory together.

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;

use super::listing::Listing;
use super::parallel::{self, Sharing};
use super::text::{self, Block, Kind, LineSplitter};
use super::{
    BlockTexts, OccurrenceQuery, Plan, UidGroups, occurrence_listing_shared, plan, plan_grouped,
};

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
    expand_from_file(file, &spans, plan, sharing, warnings)
}

fn expand_from_file(
    file: &File,
    spans: &[Span],
    plan: Plan,
    sharing: Sharing,
    mut warnings: Vec<String>,
) -> (Listing, Vec<String>) {
    let listing = parallel::expand_listing(
        || FileBlocks::over(file, spans),
        plan,
        sharing,
        &mut warnings,
    );
    (listing, warnings)
}

/// [`occurrence_listing_reread`] of a regular file, outlined through a window (see the module
/// comment); read whole, as that one reads it, when the window cannot outline it.
pub fn occurrence_listing_of_file(
    file: &File,
    query: &OccurrenceQuery,
) -> std::io::Result<(Listing, Vec<String>)> {
    listing_of_file_shared(file, query, Sharing::of_this_machine(), WINDOW)
}

fn listing_of_file_shared(
    file: &File,
    query: &OccurrenceQuery,
    sharing: Sharing,
    window: usize,
) -> std::io::Result<(Listing, Vec<String>)> {
    let Some(outline) = outline_windowed(file, window)? else {
        let len = file.metadata()?.len();
        let mut bytes = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        let filled = read_at_most(file, &mut bytes, 0)?;
        bytes.truncate(filled);
        return Ok(listing_reread_shared(file, bytes, query, sharing));
    };
    let Outline {
        spans,
        timezones,
        header,
        groups,
        mut warnings,
    } = outline;
    let blocks = text::Blocks {
        events: Vec::new(),
        timezones: timezones
            .iter()
            .map(|(text, line, calendar)| Block {
                text,
                line: *line,
                calendar: *calendar,
            })
            .collect(),
        x_wr_timezone: header.x_wr_timezone,
        too_deep: header.too_deep,
        ended: header.ended,
    };
    let plan = plan_grouped(
        &blocks,
        groups,
        |_| query.floating.clone(),
        (query.window_start, query.window_end),
        &mut warnings,
    );
    drop(blocks);
    drop(timezones);
    Ok(expand_from_file(file, &spans, plan, sharing, warnings))
}

/// What the windowed outline found: where each VEVENT is, the VTIMEZONE texts (with line and
/// calendar), the calendar's header, the UID groups and the warnings so far.
struct Outline {
    spans: Vec<Span>,
    timezones: Vec<(String, usize, usize)>,
    header: text::Header,
    groups: (Vec<(u32, u32)>, usize),
    warnings: Vec<String>,
}

/// The outline of a plain UTF-8 file (BOM or not) read `window` bytes at a time: only the
/// lines of the block still open are kept between reads. `None` when the text is not that
/// (UTF-16, invalid UTF-8, NUL bytes) or the file changed size while read: then it is read in
/// memory, where those are repaired with warnings.
fn outline_windowed(file: &File, window: usize) -> std::io::Result<Option<Outline>> {
    let len = file.metadata()?.len();
    let mut warnings = Vec::new();
    let mut splitter = LineSplitter::new(&mut warnings);
    // Room for a block every 256 bytes (a booking's VEVENT is about 300), grown past that.
    let mut groups = UidGroups::with_capacity(usize::try_from(len / 256).unwrap_or(0).min(1 << 20));
    let mut spans = Vec::new();
    let mut timezones = Vec::new();
    // The file's bytes from `buf_start`; the text starts `bom` bytes into the file.
    let mut buf: Vec<u8> = Vec::new();
    let mut head = [0u8; 3];
    let read = read_at_most(file, &mut head, 0)?;
    let head = &head[..read];
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Ok(None);
    }
    let bom: u64 = if head == b"\xEF\xBB\xBF" { 3 } else { 0 };
    let mut buf_start = bom;
    let mut taken = |cut: text::Cut, buf: &[u8], buf_start: u64, bom: u64| {
        let at = |offset: usize| usize::try_from(offset as u64 + bom - buf_start).ok();
        let bytes = buf.get(at(cut.start)?..at(cut.end)?)?;
        let block = std::str::from_utf8(bytes).ok()?;
        match cut.kind {
            Kind::Event => {
                groups.add(block);
                spans.push(Span {
                    start: cut.start as u64 + bom,
                    len: block.len(),
                    line: cut.line,
                    calendar: cut.calendar,
                });
            }
            Kind::Timezone => timezones.push((block.to_owned(), cut.line, cut.calendar)),
        }
        Some(())
    };
    loop {
        let old = buf.len();
        buf.resize(old + window.max(1), 0);
        let filled = read_at_most(file, &mut buf[old..], buf_start + old as u64)?;
        buf.truncate(old + filled);
        let eof = filled == 0;
        // Where the splitter stopped: the first line not read yet.
        let pos = usize::try_from(splitter.offset() as u64 + bom - buf_start).unwrap_or(0);
        // The whole lines read so far (and the last one at the end of the file), checked
        // at once: lines that are each UTF-8 without NUL are that together, and back.
        let whole = match memchr::memrchr(b'\n', buf.get(pos..).unwrap_or_default()) {
            _ if eof => buf.len(),
            Some(last) => pos + last + 1,
            None => pos,
        };
        let lines = buf.get(pos..whole).unwrap_or_default();
        let Some(lines) = std::str::from_utf8(lines)
            .ok()
            .filter(|text| memchr::memchr(0, text.as_bytes()).is_none())
        else {
            return Ok(None);
        };
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', lines.as_bytes())
            .map(|at| at + 1)
            .chain((eof && lines.len() > start_of_last(lines)).then_some(lines.len()))
        {
            if let Some(cut) = splitter.line(&lines[start..end])
                && taken(cut, &buf, buf_start, bom).is_none()
            {
                return Ok(None);
            }
            start = end;
        }
        let pos = pos + start;
        if eof {
            break;
        }
        let keep = splitter
            .open_since()
            .map_or(buf_start + pos as u64, |start| start as u64 + bom);
        let drained = usize::try_from(keep - buf_start).unwrap_or(0);
        buf.drain(..drained);
        buf_start = keep;
    }
    let (last, header) = splitter.finish();
    if let Some(cut) = last
        && taken(cut, &buf, buf_start, bom).is_none()
    {
        return Ok(None);
    }
    if buf_start + buf.len() as u64 != len || file.metadata()?.len() != len {
        return Ok(None);
    }
    Ok(Some(Outline {
        spans,
        timezones,
        header,
        groups: groups.finish(),
        warnings,
    }))
}

/// Where the text's last line starts (after its last line break).
fn start_of_last(text: &str) -> usize {
    memchr::memrchr(b'\n', text.as_bytes()).map_or(0, |at| at + 1)
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

    /// The outline made in memory from `bytes` (plain UTF-8), in the windowed outline's terms.
    fn in_memory_outline(bytes: &[u8]) -> (Vec<SpanRow>, Vec<String>) {
        let mut warnings = Vec::new();
        let text = text::decode(bytes, &mut warnings);
        let Cow::Borrowed(feed) = text else {
            panic!("a plain UTF-8 fixture")
        };
        let offset = feed.as_ptr() as usize - bytes.as_ptr() as usize;
        let blocks = text::split(feed, &mut warnings);
        let spans = spans(feed, offset, &blocks.events);
        (spans.iter().map(span_tuple).collect(), warnings)
    }

    /// A span's start, length, line and calendar.
    type SpanRow = (u64, usize, usize, usize);

    fn span_tuple(span: &Span) -> SpanRow {
        (span.start, span.len, span.line, span.calendar)
    }

    /// The windowed outline of `bytes` equals the in-memory one at each window size.
    fn outlines_agree(bytes: &[u8], windows: impl IntoIterator<Item = usize>) {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(bytes).expect("written");
        let (expected_spans, expected_warnings) = in_memory_outline(bytes);
        let mut warnings = Vec::new();
        let text = text::decode(bytes, &mut warnings);
        let blocks = text::split(&text, &mut warnings);
        let expected_zones: Vec<_> = blocks
            .timezones
            .iter()
            .map(|b| (b.text.to_owned(), b.line, b.calendar))
            .collect();
        let expected_order = super::super::uid_groups(&blocks.events);
        for window in windows {
            let outline = outline_windowed(&file, window)
                .expect("read")
                .expect("plain UTF-8 is outlined through the window");
            let spans: Vec<_> = outline.spans.iter().map(span_tuple).collect();
            assert_eq!(spans, expected_spans, "window {window}");
            assert_eq!(outline.warnings, expected_warnings, "window {window}");
            assert_eq!(outline.timezones, expected_zones, "window {window}");
            assert_eq!(outline.groups, expected_order, "window {window}");
            assert_eq!(outline.header.ended, blocks.ended, "window {window}");
            assert_eq!(outline.header.too_deep, blocks.too_deep, "window {window}");
            assert_eq!(
                outline.header.x_wr_timezone, blocks.x_wr_timezone,
                "window {window}"
            );
        }
    }

    /// A small feed where every window size puts a boundary everywhere: inside a CRLF, inside
    /// a UID folded over two lines, inside a multi-byte character, in a VTIMEZONE, in an
    /// unterminated block, and before a last line without a line break.
    const SMALL_FEED: &str = "\u{feff}BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Europe/Oslo\r\n\
        BEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
        TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
        BEGIN:VEVENT\r\nUID:folded-\r\n acro\r\n\tss\r\nDTSTART;TZID=Custom:20240301T100000\r\n\
        SUMMARY:Caf\u{e9} \u{1f511}\r\nEND:VEVENT\r\nBEGIN:VEVENT\nUID:lf-only\n\
        DTSTART:20240302T100000Z\nEND:VEVENT\nBEGIN:VEVENT\r\nUID:folded-across\r\n\
        RECURRENCE-ID;TZID=Custom:20240301T100000\r\nDTSTART:20240303T100000Z\r\n\
        BEGIN:VEVENT\r\nUID:open\r\nDTSTART:20240304T100000Z\r\nEND:VCALENDAR";

    #[test]
    fn the_windowed_outline_is_the_in_memory_outline_at_every_boundary() {
        let feed = SMALL_FEED.as_bytes();
        outlines_agree(feed, 1..=feed.len() + 1);
        let big = big_feed();
        outlines_agree(big.as_bytes(), [WINDOW, 4_093, 65_536 + 1, 7]);
        let dirs = ["tests/fixtures/ical", "tests/fixtures/ical/rfc"];
        for fixture in dirs
            .iter()
            .flat_map(|dir| std::fs::read_dir(dir).expect("fixtures"))
        {
            let path = fixture.expect("entry").path();
            if path.extension().is_none_or(|ext| ext != "ics") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("fixture");
            outlines_agree(&bytes, [1, 2, 3, 5, 64, 1_000, WINDOW]);
        }
    }

    /// The listing too, through the CLI's entry: the same JSON and warnings as in memory, and a
    /// file the window cannot outline (UTF-16, invalid UTF-8, NUL) read whole, as before.
    fn listing_agrees(bytes: &[u8], window: usize) {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(bytes).expect("written");
        let (expected, expected_warnings) = occurrence_listing(bytes, &query());
        let sharing = Sharing {
            threads: 3,
            min_blocks_per_chunk: 1,
        };
        let (listing, warnings) =
            listing_of_file_shared(&file, &query(), sharing, window).expect("read");
        assert_eq!(warnings, expected_warnings);
        assert_eq!(json(&listing), json(&expected));
    }

    #[test]
    fn a_file_outlined_through_a_window_lists_what_it_lists_in_memory() {
        let small = SMALL_FEED.as_bytes();
        for window in [1, 17, 100, WINDOW] {
            listing_agrees(small, window);
        }
        listing_agrees(big_feed().as_bytes(), WINDOW);
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in SMALL_FEED.trim_start_matches('\u{feff}').encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let mut invalid = SMALL_FEED.as_bytes().to_vec();
        invalid.extend_from_slice(b"\r\nX-A:\xff");
        let with_nul = SMALL_FEED.replace("lf-only", "lf\0only");
        for unreadable in [utf16.as_slice(), &invalid, with_nul.as_bytes()] {
            let mut file = tempfile::tempfile().expect("temp file");
            file.write_all(unreadable).expect("written");
            assert!(outline_windowed(&file, 64).expect("read").is_none());
            listing_agrees(unreadable, 64);
        }
    }
}
