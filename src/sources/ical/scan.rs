//! A VEVENT's text properties (UID, SUMMARY, DESCRIPTION, STATUS, SEQUENCE, DURATION) read
//! straight from its lines, without calcard's tokenizer (most of the time of a big feed).
//!
//! Only blocks whose every line is plain are read here: names of printable ASCII stopped by
//! `:` or `;`, simple parameters on the properties read, no ENCODING, no ATTENDEE, no escape
//! whose meaning depends on where the line ends. Anything else returns `None` and the block
//! goes to calcard, so that the result is always what calcard reads (a test compares the two
//! on every VEVENT of the corpus and on generated blocks).

use std::borrow::Cow;

use calcard::common::IanaParse;
use calcard::icalendar::{ICalendarDuration, ICalendarProperty, ICalendarStatus};

use super::dates::DATE_PROPERTIES;
use super::lines::{ContentLine, parse_line};

/// What `event` takes from a VEVENT's own lines (its nested components' lines are not its own).
#[derive(Debug, Default, PartialEq)]
pub struct TextProps<'a> {
    /// The first UID line's text, as written (`None` when that line has no value).
    pub uid: Option<String>,
    /// The last integer SEQUENCE.
    pub sequence: i64,
    /// The last SUMMARY, DESCRIPTION and STATUS lines (`None` when empty or not text).
    pub summary: Option<String>,
    pub description: Option<String>,
    pub status: Option<ICalendarStatus>,
    /// Each DURATION line in order: its value when it is a duration.
    pub durations: Vec<Option<ICalendarDuration>>,
    /// ATTENDEE values and their CN parameters (calcard's reading only).
    pub attendees: Vec<String>,
    /// DTSTART, DTEND, RECURRENCE-ID, RDATE, EXDATE and RRULE lines, as `lines` reads them.
    pub dates: Vec<ContentLine<'a>>,
}

/// The text properties of a plain block, or `None` when calcard must read it.
pub fn read_plain(block: &str) -> Option<TextProps<'_>> {
    let mut lines = LogicalLines {
        rest: block,
        stray_cr: false,
        first_len: 0,
    };
    let first = lines.next()?;
    if !first.eq_ignore_ascii_case("BEGIN:VEVENT") {
        return None;
    }
    let mut props = TextProps::default();
    let mut uid_seen = false;
    // Components open inside the VEVENT (VALARM, ...): their lines are not the VEVENT's.
    let mut depth = 0usize;
    while let Some(line) = lines.next() {
        if lines.stray_cr {
            return None;
        }
        let Some((name, after)) = split_name(&line)? else {
            continue;
        };
        if name.len() >= lines.first_len {
            // A name folded over two lines: `lines` and calcard part ways there.
            return None;
        }
        let property = ICalendarProperty::parse(name.as_bytes());
        let has_params = after.starts_with(';');
        if has_params && sets_encoding(after) {
            // A quoted-printable value may run over its line end: calcard's business.
            return None;
        }
        match property {
            Some(ICalendarProperty::Begin) if !has_params => depth += 1,
            Some(ICalendarProperty::End) if !has_params => match depth.checked_sub(1) {
                Some(outer) => depth = outer,
                // The VEVENT's end. calcard reads nothing after it, `lines` may: anything but
                // blank lines there is theirs to read.
                None => {
                    return lines.all(|rest| rest.trim().is_empty()).then_some(props);
                }
            },
            Some(ICalendarProperty::Begin | ICalendarProperty::End) => return None,
            _ if depth > 0 => {}
            Some(ICalendarProperty::Attendee) => return None,
            _ if DATE_PROPERTIES.iter().any(|d| d.eq_ignore_ascii_case(name)) => {
                let parsed = match &line {
                    Cow::Borrowed(text) => parse_line(text, &DATE_PROPERTIES),
                    Cow::Owned(text) => {
                        parse_line(text, &DATE_PROPERTIES).map(ContentLine::into_owned)
                    }
                };
                props.dates.extend(parsed);
            }
            Some(
                known @ (ICalendarProperty::Uid
                | ICalendarProperty::Summary
                | ICalendarProperty::Description
                | ICalendarProperty::Status
                | ICalendarProperty::Sequence
                | ICalendarProperty::Duration),
            ) => {
                let raw = value_of(after)?;
                let value = unescape(raw)?;
                match known {
                    ICalendarProperty::Uid if !uid_seen => {
                        uid_seen = true;
                        props.uid = non_empty(value);
                    }
                    ICalendarProperty::Uid => {}
                    ICalendarProperty::Summary => props.summary = non_empty(value),
                    ICalendarProperty::Description => props.description = non_empty(value),
                    ICalendarProperty::Status => {
                        props.status = ICalendarStatus::parse(value.as_bytes());
                    }
                    ICalendarProperty::Sequence => {
                        if let Ok(n) = value.parse::<i64>() {
                            props.sequence = n;
                        }
                    }
                    _ => props
                        .durations
                        .push(ICalendarDuration::parse(value.as_bytes())),
                }
            }
            _ => {}
        }
    }
    Some(props)
}

fn non_empty(value: Cow<'_, str>) -> Option<String> {
    (!value.is_empty()).then(|| value.into_owned())
}

/// Physical lines joined at folds (a line starting with a space or tab continues the one
/// before, that one character dropped), each without its line end. A CR anywhere else makes
/// the block calcard's (it keeps or drops such a CR depending on what came before it).
struct LogicalLines<'a> {
    rest: &'a str,
    stray_cr: bool,
    /// Length of the last line's first physical line.
    first_len: usize,
}

impl<'a> Iterator for LogicalLines<'a> {
    type Item = Cow<'a, str>;

    fn next(&mut self) -> Option<Cow<'a, str>> {
        if self.rest.is_empty() {
            return None;
        }
        let (first, mut rest) = cut_line(self.rest);
        self.first_len = first.len();
        let mut line = Cow::Borrowed(first);
        while rest.starts_with([' ', '\t']) {
            let (more, after) = cut_line(rest);
            line.to_mut().push_str(&more[1..]);
            rest = after;
        }
        self.rest = rest;
        self.stray_cr |= line.contains('\r');
        Some(line)
    }
}

/// The line up to its `\n` (excluded, with a CR before it), and what follows it.
fn cut_line(text: &str) -> (&str, &str) {
    let (line, rest) = match text.find('\n') {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    };
    (line.strip_suffix('\r').unwrap_or(line), rest)
}

/// `Some(None)`: a line without value that calcard skips too (blank, or a bare name).
/// `Some(Some((name, rest)))`: a plain name and the rest of the line from its `:` or `;`.
/// `None`: a name calcard reads by rules of its own (spaces, quotes, escapes, `,` or `=`).
fn split_name(line: &str) -> Option<Option<(&str, &str)>> {
    let end = line
        .bytes()
        .position(|b| {
            !b.is_ascii_graphic() || matches!(b, b':' | b';' | b',' | b'=' | b'"' | b'\\' | b'.')
        })
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    match rest.as_bytes().first() {
        None => Some(None),
        Some(b':' | b';') if !name.is_empty() => Some(Some((name, rest))),
        _ => None,
    }
}

/// A parameter that changes how calcard decodes the value (and may join lines).
fn sets_encoding(params: &str) -> bool {
    let bytes = params.as_bytes();
    (0..bytes.len()).any(|at| {
        let word: &[u8] = match bytes[at] | 0x20 {
            b'e' => b"ENCODING",
            b'b' => b"BASE64",
            b'c' => b"CHARSET",
            _ => return false,
        };
        bytes
            .get(at..at + word.len())
            .is_some_and(|here| here.eq_ignore_ascii_case(word))
    })
}

/// The value after the parameters (from `;` or `:`), when every parameter is `NAME=value`
/// or `NAME="value"` of a kind that does not change the value's type.
fn value_of(after: &str) -> Option<&str> {
    let mut rest = after;
    loop {
        if let Some(value) = rest.strip_prefix(':') {
            return Some(value);
        }
        rest = rest.strip_prefix(';')?;
        let eq = rest.find('=')?;
        let name = &rest[..eq];
        let plain_name =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !plain_name || name.eq_ignore_ascii_case("VALUE") {
            return None;
        }
        rest = &rest[eq + 1..];
        if let Some(quoted) = rest.strip_prefix('"') {
            let close = quoted.find('"')?;
            if quoted[..close].contains('\\') {
                return None;
            }
            rest = &quoted[close + 1..];
        } else {
            let end = rest.find([':', ';'])?;
            if rest[..end].contains(['"', '\\', ',']) {
                return None;
            }
            rest = &rest[end..];
        }
    }
}

/// A TEXT value unescaped as calcard does (`\n` and `\N` a newline, `\r` and `\R` a CR, any
/// other character after `\` itself). `None` for a `\` before a tab or at the end of the line,
/// which calcard reads by where the line ends.
fn unescape(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.contains('\\') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\t' => return None,
            'n' | 'N' => out.push('\n'),
            'r' | 'R' => out.push('\r'),
            other => out.push(other),
        }
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
