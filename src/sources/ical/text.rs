//! Raw bytes to text, and text to blocks: each VEVENT and VTIMEZONE is cut out on its own so
//! that one broken component never spoils the rest, and so that a big feed is parsed one small
//! piece at a time (peak memory stays near the file size).

use std::borrow::Cow;

/// Decodes a feed's bytes: UTF-8 with or without BOM, UTF-16 with a BOM; invalid bytes are
/// replaced and NUL bytes dropped, each with a warning.
pub fn decode<'a>(bytes: &'a [u8], warnings: &mut Vec<String>) -> Cow<'a, str> {
    let text: Cow<'_, str> = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        Cow::Owned(decode_utf16(rest, u16::from_le_bytes))
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        Cow::Owned(decode_utf16(rest, u16::from_be_bytes))
    } else {
        let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
        // Validation alone is faster than the lossy decoder's walk; that one only on failure.
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        if let Cow::Owned(_) = text {
            warnings.push("the feed is not valid UTF-8: invalid bytes were replaced".to_owned());
        }
        text
    };
    if text.contains('\0') {
        warnings.push("the feed contains NUL bytes: they were dropped".to_owned());
        return Cow::Owned(text.replace('\0', ""));
    }
    text
}

fn decode_utf16(bytes: &[u8], read: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| read([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// True when the text starts like an iCalendar object (after BOM and whitespace).
pub fn looks_like_calendar(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let mut warnings = Vec::new();
        let text = decode(bytes, &mut warnings);
        return text
            .trim_start()
            .get(..15)
            .is_some_and(|head| head.eq_ignore_ascii_case("BEGIN:VCALENDAR"));
    }
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0)
        .unwrap_or(bytes.len());
    bytes
        .get(start..start + 15)
        .is_some_and(|head| head.eq_ignore_ascii_case(b"BEGIN:VCALENDAR"))
}

/// One component cut out of the feed, with the 1-based line where it begins.
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    pub text: &'a str,
    pub line: usize,
    /// Which VCALENDAR of the feed it is in (0 for the first): a feed may hold several.
    pub calendar: usize,
}

#[derive(Debug, Default)]
pub struct Blocks<'a> {
    pub events: Vec<Block<'a>>,
    pub timezones: Vec<Block<'a>>,
    /// The calendar-level `X-WR-TIMEZONE` (the first calendar's, when several name one).
    pub x_wr_timezone: Option<String>,
    /// VEVENTs skipped because components were nested too deep inside them.
    pub too_deep: usize,
    /// An `END:VCALENDAR` line was seen: the feed was not cut off in transit.
    pub ended: bool,
}

enum State {
    Outside,
    Event {
        start: usize,
        line: usize,
        /// Components open inside the VEVENT (VALARM, ...).
        depth: usize,
    },
    Timezone {
        start: usize,
        line: usize,
    },
}

/// Components nested inside a VEVENT deeper than this make it unreadable (a VALARM is 1).
pub const MAX_NESTING: usize = 8;
/// Warnings about unterminated blocks kept in full; the rest are counted.
const MAX_SPLIT_WARNINGS: usize = 100;

/// Which kind of block a [`Cut`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Event,
    Timezone,
}

/// A block found by the [`LineSplitter`]: its byte range in the text, its first line and its
/// calendar.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub calendar: usize,
}

/// What the splitter learnt besides the blocks.
#[derive(Debug, Default)]
pub struct Header {
    /// The calendar-level `X-WR-TIMEZONE` (the first calendar's, when several name one).
    pub x_wr_timezone: Option<String>,
    /// VEVENTs skipped because components were nested too deep inside them.
    pub too_deep: usize,
    /// An `END:VCALENDAR` line was seen: the feed was not cut off in transit.
    pub ended: bool,
}

/// [`split`] fed one line at a time (each with its line break), so that a file can be cut
/// into blocks through a window, without its whole text in memory.
pub struct LineSplitter<'w> {
    header: Header,
    calendar: usize,
    calendars_begun: usize,
    state: State,
    offset: usize,
    line_no: usize,
    warnings: &'w mut Vec<String>,
    unterminated: usize,
}

impl<'w> LineSplitter<'w> {
    pub fn new(warnings: &'w mut Vec<String>) -> Self {
        LineSplitter {
            header: Header::default(),
            calendar: 0,
            calendars_begun: 0,
            state: State::Outside,
            offset: 0,
            line_no: 0,
            warnings,
            unterminated: 0,
        }
    }

    /// Bytes of text read so far (where the next line starts).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Where the block still open began (its text must be kept until it is cut).
    pub fn open_since(&self) -> Option<usize> {
        match self.state {
            State::Outside => None,
            State::Event { start, .. } | State::Timezone { start, .. } => Some(start),
        }
    }

    fn warn(&mut self, message: impl FnOnce() -> String) {
        self.unterminated += 1;
        if self.unterminated <= MAX_SPLIT_WARNINGS {
            self.warnings.push(message());
        }
    }

    fn event(&mut self, start: usize, end: usize, line: usize, depth: usize) -> Option<Cut> {
        if depth > MAX_NESTING {
            self.header.too_deep += 1;
            return None;
        }
        Some(self.cut(Kind::Event, start, end, line))
    }

    fn cut(&self, kind: Kind, start: usize, end: usize, line: usize) -> Cut {
        Cut {
            kind,
            start,
            end,
            line,
            calendar: self.calendar,
        }
    }

    /// The next line of the text, `raw` with its line break (the last may have none); the
    /// block it closes, if any.
    pub fn line(&mut self, raw: &str) -> Option<Cut> {
        self.line_no += 1;
        let (line_no, offset) = (self.line_no, self.offset);
        self.offset += raw.len();
        // Only BEGIN:, END: and X-WR-TIMEZONE lines change anything: most lines stop here.
        if !matches!(
            raw.as_bytes().first().map(|b| b | 0x20),
            Some(b'b' | b'e' | b'x')
        ) {
            return None;
        }
        let line = raw.trim_end_matches(['\r', '\n', ' ', '\t']);
        let begins_event = line.eq_ignore_ascii_case("BEGIN:VEVENT");
        let begins_tz = line.eq_ignore_ascii_case("BEGIN:VTIMEZONE");
        let ends_calendar = line.eq_ignore_ascii_case("END:VCALENDAR");
        let begins_calendar = line.eq_ignore_ascii_case("BEGIN:VCALENDAR");
        self.header.ended |= ends_calendar;
        let closes = begins_event || begins_tz || ends_calendar || begins_calendar;
        let mut cut = None;
        match &mut self.state {
            State::Event {
                start,
                line: first,
                depth,
            } => {
                let (start, first, open) = (*start, *first, *depth);
                if line.eq_ignore_ascii_case("END:VEVENT") {
                    cut = self.event(start, offset + raw.len(), first, open);
                    self.state = State::Outside;
                } else if closes {
                    self.warn(|| {
                        format!(
                            "line {first}: VEVENT has no END:VEVENT; it was closed at line {line_no}"
                        )
                    });
                    cut = self.event(start, offset, first, open);
                    self.state = State::Outside;
                } else if is_begin(line) {
                    // Past the limit the depth stays put: the block is dropped anyway.
                    *depth = (*depth + 1).min(MAX_NESTING + 1);
                } else if is_end(line) && *depth <= MAX_NESTING {
                    *depth = depth.saturating_sub(1);
                }
            }
            State::Timezone { start, line: first } => {
                let (start, first) = (*start, *first);
                if line.eq_ignore_ascii_case("END:VTIMEZONE") {
                    cut = Some(self.cut(Kind::Timezone, start, offset + raw.len(), first));
                    self.state = State::Outside;
                } else if closes {
                    self.warn(|| {
                        format!(
                            "line {first}: VTIMEZONE has no END:VTIMEZONE; it was closed at line {line_no}"
                        )
                    });
                    cut = Some(self.cut(Kind::Timezone, start, offset, first));
                    self.state = State::Outside;
                }
            }
            State::Outside => {}
        }
        if matches!(self.state, State::Outside) {
            self.outside(line, offset, (begins_calendar, begins_event, begins_tz));
        }
        cut
    }

    /// A line outside any block: one may begin here, or the calendar says something.
    fn outside(&mut self, line: &str, offset: usize, begins: (bool, bool, bool)) {
        let line_no = self.line_no;
        let (begins_calendar, begins_event, begins_tz) = begins;
        if begins_calendar {
            self.calendars_begun += 1;
            self.calendar = self.calendars_begun.saturating_sub(1);
        } else if begins_event {
            self.state = State::Event {
                start: offset,
                line: line_no,
                depth: 0,
            };
        } else if begins_tz {
            self.state = State::Timezone {
                start: offset,
                line: line_no,
            };
        } else if let Some(value) = header_value(line, "X-WR-TIMEZONE") {
            let value = value.trim();
            match &self.header.x_wr_timezone {
                None => self.header.x_wr_timezone = Some(value.to_owned()),
                Some(first) if first != value => self.warnings.push(format!(
                    "line {line_no}: a later calendar names X-WR-TIMEZONE {value:?}; \
                     the first one ({first:?}) is used"
                )),
                Some(_) => {}
            }
        }
    }

    /// The end of the text: the block still open, if any, and the header.
    pub fn finish(mut self) -> (Option<Cut>, Header) {
        let end = self.offset;
        let cut = match std::mem::replace(&mut self.state, State::Outside) {
            State::Event { start, line, depth } => {
                self.warn(|| {
                    format!("line {line}: VEVENT has no END:VEVENT before the end of the feed")
                });
                self.event(start, end, line, depth)
            }
            State::Timezone { start, line } => {
                self.warn(|| {
                    format!(
                        "line {line}: VTIMEZONE has no END:VTIMEZONE before the end of the feed"
                    )
                });
                Some(self.cut(Kind::Timezone, start, end, line))
            }
            State::Outside => None,
        };
        if self.unterminated > MAX_SPLIT_WARNINGS {
            let more = self.unterminated - MAX_SPLIT_WARNINGS;
            self.warnings
                .push(format!("{more} more blocks had no END line (not listed)"));
        }
        if self.header.too_deep > 0 {
            let count = self.header.too_deep;
            self.warnings.push(format!(
                "{count} VEVENT(s) skipped: components nested more than {MAX_NESTING} deep inside them"
            ));
        }
        (cut, self.header)
    }
}

/// Cuts the text into VEVENT and VTIMEZONE blocks. An unterminated block ends where the next
/// one begins (or at the end of the calendar), with a warning. A VEVENT with components
/// nested deeper than [`MAX_NESTING`] is dropped (counted in `too_deep`).
pub fn split<'a>(text: &'a str, warnings: &mut Vec<String>) -> Blocks<'a> {
    let mut splitter = LineSplitter::new(warnings);
    let mut blocks = Blocks::default();
    for raw in text.split_inclusive('\n') {
        if let Some(cut) = splitter.line(raw) {
            push(&mut blocks, text, cut);
        }
    }
    let (last, header) = splitter.finish();
    if let Some(cut) = last {
        push(&mut blocks, text, cut);
    }
    blocks.x_wr_timezone = header.x_wr_timezone;
    blocks.too_deep = header.too_deep;
    blocks.ended = header.ended;
    blocks
}

fn is_begin(line: &str) -> bool {
    line.get(..6)
        .is_some_and(|h| h.eq_ignore_ascii_case("BEGIN:"))
}

fn is_end(line: &str) -> bool {
    line.get(..4)
        .is_some_and(|h| h.eq_ignore_ascii_case("END:"))
}

fn push<'a>(blocks: &mut Blocks<'a>, text: &'a str, cut: Cut) {
    let list = match cut.kind {
        Kind::Event => &mut blocks.events,
        Kind::Timezone => &mut blocks.timezones,
    };
    if let Some(slice) = text.get(cut.start..cut.end) {
        list.push(Block {
            text: slice,
            line: cut.line,
            calendar: cut.calendar,
        });
    }
}

/// The UID of a VEVENT block as the parser will read it (unfolded, unescaped, trimmed), found
/// without parsing it: used only to group blocks so that each UID group is parsed and expanded
/// on its own. Only the event's own UID counts, not one in a nested VALARM (RFC 9074 gives
/// alarms UIDs of their own); a quoted parameter value may hold a `:`.
pub fn quick_uid(block: &str) -> Option<Cow<'_, str>> {
    let mut lines = block.split('\n').map(|l| l.trim_end_matches('\r'));
    let mut depth = 0usize;
    while let Some(line) = lines.next() {
        if starts_with_word(line, "BEGIN:") {
            depth += 1;
            continue;
        }
        if starts_with_word(line, "END:") {
            depth = depth.saturating_sub(1);
            continue;
        }
        if depth > 1 {
            continue;
        }
        let Some(value) = header_value(line, "UID") else {
            continue;
        };
        let mut uid = Cow::Borrowed(value);
        for more in lines.by_ref() {
            match more.strip_prefix(' ').or_else(|| more.strip_prefix('\t')) {
                Some(rest) => uid.to_mut().push_str(rest),
                None => break,
            }
        }
        // Two spellings of one UID (`a\,b` and `a,b`) must fall in one group.
        let unescaped = match super::scan::unescape(&uid) {
            Some(Cow::Owned(text)) => Some(text),
            _ => None,
        };
        let uid = unescaped.map_or(uid, Cow::Owned);
        let trimmed = match uid {
            Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
            Cow::Owned(text) => Cow::Owned(text.trim().to_owned()),
        };
        return Some(trimmed).filter(|u| !u.is_empty());
    }
    None
}

fn starts_with_word(line: &str, word: &str) -> bool {
    line.get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word))
}

/// `NAME:value` or `NAME;params:value` at the calendar level (a `:` inside a quoted parameter
/// value is not the value's start).
fn header_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let head = line.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name) {
        return None;
    }
    let rest = &line[name.len()..];
    if !(rest.starts_with(':') || rest.starts_with(';')) {
        return None;
    }
    let mut quoted = false;
    let colon = rest.bytes().position(|b| {
        if b == b'"' {
            quoted = !quoted;
        }
        b == b':' && !quoted
    })?;
    Some(&rest[colon + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_nul_and_invalid_utf8_survive_with_warnings() {
        let mut warnings = vec![];
        let bytes = b"\xEF\xBB\xBFBEGIN:VCALENDAR\r\nSUMMARY:caf\xE9\0\r\n";
        let text = decode(bytes, &mut warnings);
        assert!(text.starts_with("BEGIN:VCALENDAR"));
        assert!(!text.contains('\0'));
        assert!(text.contains('\u{FFFD}'));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "BEGIN:VCALENDAR\r\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let mut warnings = vec![];
        assert_eq!(decode(&bytes, &mut warnings), "BEGIN:VCALENDAR\r\n");
        assert!(looks_like_calendar(&bytes));
    }

    #[test]
    fn unterminated_event_is_closed_at_the_next_one() {
        let text = "BEGIN:VCALENDAR\nX-WR-TIMEZONE:Europe/Oslo\nBEGIN:VEVENT\nUID:a\nBEGIN:VEVENT\nUID:b\nEND:VEVENT\nEND:VCALENDAR\n";
        let mut warnings = vec![];
        let blocks = split(text, &mut warnings);
        assert_eq!(blocks.events.len(), 2);
        assert_eq!(blocks.events[0].line, 3);
        assert_eq!(blocks.events[1].line, 5);
        assert!(blocks.events[1].text.ends_with("END:VEVENT\n"));
        assert_eq!(blocks.x_wr_timezone.as_deref(), Some("Europe/Oslo"));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("line 3"));
    }

    #[test]
    fn the_quick_uid_is_the_uid_the_parser_reads() {
        let uid = |block: &str| quick_uid(block).map(|u| u.into_owned());
        let cases = [
            (
                "BEGIN:VEVENT\r\nUID:a\\,b\\;c\\\\d\r\nEND:VEVENT\r\n",
                "a,b;c\\d",
            ),
            ("BEGIN:VEVENT\nUID:x\\ny\nEND:VEVENT\n", "x\ny"),
            ("BEGIN:VEVENT\nUID:x\\Ny\nEND:VEVENT\n", "x\ny"),
            ("BEGIN:VEVENT\nUID;X-A=\"p:q\";X-B=r:ev\nEND:VEVENT\n", "ev"),
            ("BEGIN:VEVENT\nUID:fo\\,\n ld \nEND:VEVENT\n", "fo,ld"),
            (
                "BEGIN:VEVENT\nBEGIN:VALARM\nUID:alarm\nEND:VALARM\nuid:ev\nEND:VEVENT\n",
                "ev",
            ),
        ];
        for (block, expected) in cases {
            assert_eq!(uid(block).as_deref(), Some(expected), "{block:?}");
        }
        assert_eq!(
            uid("BEGIN:VEVENT\nBEGIN:VALARM\nUID:alarm\nEND:VALARM\nEND:VEVENT\n"),
            None
        );
    }

    #[test]
    fn begin_end_and_x_wr_timezone_lines_are_read_in_any_case() {
        let text = "begin:vcalendar\nx-wr-timezone:Europe/Oslo\nbEGIN:vtimezone\nTZID:A\n\
            End:VTimezone\nBegin:VEvent\nUID:a\nbegin:valarm\nend:valarm\nEND:vevent\n\
            begin:VEVENT\nuid:b\neND:VEVENT\nEnd:vCalendar\n";
        let mut warnings = vec![];
        let blocks = split(text, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let events: Vec<_> = blocks.events.iter().map(|b| (b.line, b.text)).collect();
        assert_eq!(
            events,
            [
                (
                    6,
                    "Begin:VEvent\nUID:a\nbegin:valarm\nend:valarm\nEND:vevent\n"
                ),
                (11, "begin:VEVENT\nuid:b\neND:VEVENT\n")
            ]
        );
        assert_eq!(blocks.timezones.len(), 1);
        assert_eq!(blocks.x_wr_timezone.as_deref(), Some("Europe/Oslo"));
        assert!(blocks.ended);
    }

    #[test]
    fn calendar_sniffing() {
        assert!(looks_like_calendar(b"\xEF\xBB\xBF \r\nbegin:vcalendar\r\n"));
        assert!(!looks_like_calendar(b"<!DOCTYPE html><html>"));
        assert!(!looks_like_calendar(b""));
    }
}
