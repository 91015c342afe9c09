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
use calcard::icalendar::{ICalendarDuration, ICalendarStatus};
use memchr::{memchr, memchr2};

use super::dates::DATE_PROPERTIES;
use super::lines::{ContentLine, parse_line};

/// How much of a block the caller uses: the daemon's rules read DESCRIPTION and ATTENDEE,
/// `feed occurrences` prints neither (so the listing read leaves them out). Which reader takes
/// a block, and every other field, is the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Full,
    Listing,
}

/// What `event` takes from a VEVENT's own lines (its nested components' lines are not its own).
#[derive(Debug, Default, PartialEq)]
pub struct TextProps<'a> {
    /// The first UID line's text, as written (`None` when that line has no value).
    pub uid: Option<Cow<'a, str>>,
    /// The last integer SEQUENCE.
    pub sequence: i64,
    /// The last SUMMARY, DESCRIPTION and STATUS lines (`None` when empty or not text).
    pub summary: Option<Cow<'a, str>>,
    /// Always `None` in a [`Detail::Listing`] read.
    pub description: Option<Cow<'a, str>>,
    pub status: Option<ICalendarStatus>,
    /// Each DURATION line in order: its value when it is a duration.
    pub durations: Vec<Option<ICalendarDuration>>,
    /// ATTENDEE values and their CN parameters (calcard's reading only; none in a listing).
    pub attendees: Vec<String>,
    /// DTSTART, DTEND, RECURRENCE-ID, RDATE, EXDATE and RRULE lines, as `lines` reads them.
    pub dates: Vec<ContentLine<'a>>,
}

/// The properties `read_plain` tells apart, matched as calcard matches names (ASCII, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prop {
    Begin,
    End,
    Attendee,
    /// One of [`DATE_PROPERTIES`].
    Date,
    Uid,
    Summary,
    Description,
    Status,
    Sequence,
    Duration,
    Other,
}

/// Told apart by length and first letter, then compared once.
fn classify(name: &str) -> Prop {
    let bytes = name.as_bytes();
    let letter = |at: usize| bytes.get(at).map_or(0, |b| b | 0x20);
    let (known, prop) = match (bytes.len(), letter(0)) {
        (3, b'u') => ("UID", Prop::Uid),
        (3, b'e') => ("END", Prop::End),
        (5, b'b') => ("BEGIN", Prop::Begin),
        (5, b'd') => ("DTEND", Prop::Date),
        (5, b'r') if letter(1) == b'd' => ("RDATE", Prop::Date),
        (5, b'r') => ("RRULE", Prop::Date),
        (6, b's') => ("STATUS", Prop::Status),
        (6, b'e') => ("EXDATE", Prop::Date),
        (7, b'd') => ("DTSTART", Prop::Date),
        (7, b's') => ("SUMMARY", Prop::Summary),
        (8, b'a') => ("ATTENDEE", Prop::Attendee),
        (8, b's') => ("SEQUENCE", Prop::Sequence),
        (8, b'd') => ("DURATION", Prop::Duration),
        (11, b'd') => ("DESCRIPTION", Prop::Description),
        (13, b'r') => ("RECURRENCE-ID", Prop::Date),
        _ => return Prop::Other,
    };
    match known.eq_ignore_ascii_case(name) {
        true => prop,
        false => Prop::Other,
    }
}

/// The text properties of a plain block, or `None` when calcard must read it.
pub fn read_plain(block: &str, detail: Detail) -> Option<TextProps<'_>> {
    let mut lines = LogicalLines {
        rest: block,
        stray_cr: false,
    };
    if !lines.next()?.joined().eq_ignore_ascii_case("BEGIN:VEVENT") {
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
        let Some((name, has_params)) = line.name()? else {
            continue;
        };
        // Parameters folded over a line end are rare: they are read from the joined line.
        let joined = (has_params && line.is_folded()).then(|| line.joined());
        let after = joined.as_deref().unwrap_or(line.first).get(name.len()..)?;
        if has_params && sets_encoding(after) {
            // A quoted-printable value may run over its line end: calcard's business.
            return None;
        }
        let prop = classify(name);
        match prop {
            Prop::Begin if !has_params => depth += 1,
            Prop::End if !has_params => match depth.checked_sub(1) {
                Some(outer) => depth = outer,
                // The VEVENT's end. calcard reads nothing after it, `lines` may: anything but
                // blank lines there is theirs to read.
                None => {
                    return lines
                        .all(|rest| rest.joined().trim().is_empty())
                        .then_some(props);
                }
            },
            Prop::Begin | Prop::End => return None,
            _ if depth > 0 => {}
            Prop::Attendee => return None,
            Prop::Date => {
                let parsed = match joined.unwrap_or_else(|| line.joined()) {
                    Cow::Borrowed(text) => parse_line(text, &DATE_PROPERTIES),
                    Cow::Owned(text) => {
                        parse_line(&text, &DATE_PROPERTIES).map(ContentLine::into_owned)
                    }
                };
                props.dates.extend(parsed);
            }
            Prop::Uid
            | Prop::Summary
            | Prop::Description
            | Prop::Status
            | Prop::Sequence
            | Prop::Duration
                if line.escapes_line_end =>
            {
                return None;
            }
            Prop::Description if detail == Detail::Listing => {
                // Not printed: only checked to be plain, as the full read checks it.
                let plain = match &joined {
                    Some(text) => value_of(&text[name.len()..]).is_some_and(escapes_are_plain),
                    None if has_params => value_of(after).is_some_and(escapes_are_plain),
                    None => line.value_pieces(name.len() + 1).all_plain(),
                };
                if !plain {
                    return None;
                }
            }
            Prop::Other => {}
            known => {
                let value = match joined.unwrap_or_else(|| line.joined()) {
                    Cow::Borrowed(text) => unescape(value_of(&text[name.len()..])?)?,
                    Cow::Owned(text) => {
                        Cow::Owned(unescape(value_of(&text[name.len()..])?)?.into_owned())
                    }
                };
                props.take(known, value, &mut uid_seen);
            }
        }
    }
    Some(props)
}

impl<'a> TextProps<'a> {
    /// One text property's value, unescaped.
    fn take(&mut self, prop: Prop, value: Cow<'a, str>, uid_seen: &mut bool) {
        match prop {
            Prop::Uid if !*uid_seen => {
                *uid_seen = true;
                self.uid = non_empty(value);
            }
            Prop::Summary => self.summary = non_empty(value),
            Prop::Description => self.description = non_empty(value),
            Prop::Status => self.status = ICalendarStatus::parse(value.as_bytes()),
            Prop::Sequence => {
                if let Ok(n) = value.parse::<i64>() {
                    self.sequence = n;
                }
            }
            Prop::Duration => self
                .durations
                .push(ICalendarDuration::parse(value.as_bytes())),
            _ => {}
        }
    }
}

fn non_empty(value: Cow<'_, str>) -> Option<Cow<'_, str>> {
    (!value.is_empty()).then_some(value)
}

/// Physical lines joined at folds (a line starting with a space or tab continues the one
/// before, that one character dropped), each without its line end. A CR anywhere else makes
/// the block calcard's (it keeps or drops such a CR depending on what came before it).
struct LogicalLines<'a> {
    rest: &'a str,
    stray_cr: bool,
}

/// One logical line, not joined until someone needs it joined.
struct Line<'a> {
    /// The first physical line, without its line end.
    first: &'a str,
    /// The physical lines that continue it, each with its leading space or tab and line end.
    folds: &'a str,
    /// A physical line ends with `\` and the next one is a bare fold: calcard takes the line
    /// end after that fold as the escaped character, `lines` what follows it.
    escapes_line_end: bool,
}

impl<'a> Iterator for LogicalLines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let (first, folds_from, mut stray) = cut_line(self.rest);
        let mut rest = folds_from;
        let (mut after_backslash, mut escapes_line_end) = (first.ends_with('\\'), false);
        while rest.starts_with([' ', '\t']) {
            let (piece, after, more) = cut_line(rest);
            stray |= more;
            escapes_line_end |= after_backslash && piece.len() == 1;
            after_backslash = piece.ends_with('\\');
            rest = after;
        }
        self.rest = rest;
        self.stray_cr |= stray;
        Some(Line {
            first,
            folds: &folds_from[..folds_from.len() - rest.len()],
            escapes_line_end,
        })
    }
}

impl<'a> Line<'a> {
    fn is_folded(&self) -> bool {
        !self.folds.is_empty()
    }

    /// The physical lines after the first, each without its fold character and line end.
    fn fold_pieces(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let mut rest = self.folds;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (piece, after, _) = cut_line(rest);
            rest = after;
            Some(&piece[1..])
        })
    }

    fn joined(&self) -> Cow<'a, str> {
        if self.folds.is_empty() {
            return Cow::Borrowed(self.first);
        }
        let mut text = String::with_capacity(self.first.len() + self.folds.len());
        text.push_str(self.first);
        self.fold_pieces().for_each(|piece| text.push_str(piece));
        Cow::Owned(text)
    }

    /// The joined line from byte `from` on, piece by piece (`from` within the first line).
    fn value_pieces(&self, from: usize) -> Pieces<impl Iterator<Item = &'a str>> {
        Pieces(std::iter::once(&self.first[from..]).chain(self.fold_pieces()))
    }

    /// `Some(None)`: a line without value that calcard skips too (blank, or a bare name).
    /// `Some(Some((name, has_params)))`: a plain name, then `:` (false) or `;` (true).
    /// `None`: a name calcard reads by rules of its own (spaces, quotes, escapes, `,` or `=`),
    /// or one folded over a line end (where `lines` and calcard part ways).
    fn name(&self) -> Option<Option<(&'a str, bool)>> {
        let bytes = self.first.as_bytes();
        let end = bytes.iter().position(|b| !is_name_byte(*b));
        let Some(end) = end else {
            // No name end on the first line: a name that goes on past a fold is calcard's,
            // a line that is all name (joined or not) is skipped.
            return match self.is_folded() {
                false => Some(None),
                true => split_name(&self.joined())?.is_none().then_some(None),
            };
        };
        match bytes[end] {
            b':' | b';' if end > 0 => Some(Some((&self.first[..end], bytes[end] == b';'))),
            _ => None,
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b':' | b';' | b',' | b'=' | b'"' | b'\\' | b'.')
}

/// The line up to its `\n` (excluded, with a CR before it), what follows it, and whether a CR
/// stands anywhere else in the line (found in the same pass).
fn cut_line(text: &str) -> (&str, &str, bool) {
    let bytes = text.as_bytes();
    let mut stray = false;
    let mut from = 0;
    while let Some(found) = memchr2(b'\n', b'\r', &bytes[from..]) {
        let at = from + found;
        if bytes[at] == b'\n' {
            return (&text[..at], &text[at + 1..], stray);
        }
        match bytes.get(at + 1) {
            Some(b'\n') => return (&text[..at], &text[at + 2..], stray),
            None => return (&text[..at], "", stray),
            Some(_) => {
                stray = true;
                from = at + 1;
            }
        }
    }
    (text, "", stray)
}

/// `Some(None)`: a line without value that calcard skips too (blank, or a bare name).
/// `Some(Some((name, rest)))`: a plain name and the rest of the line from its `:` or `;`.
/// `None`: a name calcard reads by rules of its own (spaces, quotes, escapes, `,` or `=`).
fn split_name(line: &str) -> Option<Option<(&str, &str)>> {
    let end = line
        .bytes()
        .position(|b| !is_name_byte(b))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    match rest.as_bytes().first() {
        None => Some(None),
        Some(b':' | b';') if !name.is_empty() => Some(Some((name, rest))),
        _ => None,
    }
}

/// A parameter that changes how calcard decodes the value (and may join lines): its name
/// anywhere on the line, in any case. Two letters are looked at before the whole word.
fn sets_encoding(params: &str) -> bool {
    let bytes = params.as_bytes();
    bytes.windows(2).enumerate().any(|(at, pair)| {
        let word: &[u8] = match [pair[0] | 0x20, pair[1] | 0x20] {
            [b'e', b'n'] => b"ENCODING",
            [b'b', b'a'] => b"BASE64",
            [b'c', b'h'] => b"CHARSET",
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
pub(super) fn unescape(raw: &str) -> Option<Cow<'_, str>> {
    if memchr(b'\\', raw.as_bytes()).is_none() {
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

/// True when [`unescape`] reads `raw` (without building the text).
fn escapes_are_plain(raw: &str) -> bool {
    Pieces(std::iter::once(raw)).all_plain()
}

/// A value in pieces (the physical lines of a folded one), checked as one text.
struct Pieces<I>(I);

impl<'p, I: Iterator<Item = &'p str>> Pieces<I> {
    /// [`escapes_are_plain`] of the pieces joined. A `\` escapes the next byte, which only
    /// has to be no tab (the bytes of a multi-byte character are never a tab or a `\`).
    fn all_plain(self) -> bool {
        let mut escaping = false;
        for piece in self.0 {
            let bytes = piece.as_bytes();
            let mut at = 0;
            if escaping {
                match bytes.first() {
                    None => continue,
                    Some(b'\t') => return false,
                    Some(_) => {
                        escaping = false;
                        at = 1;
                    }
                }
            }
            while let Some(found) = memchr(b'\\', &bytes[at..]) {
                let escaped = at + found + 1;
                match bytes.get(escaped) {
                    None => {
                        escaping = true;
                        break;
                    }
                    Some(b'\t') => return false,
                    Some(_) => at = escaped + 1,
                }
            }
        }
        !escaping
    }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
