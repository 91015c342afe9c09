//! The VEVENT's own content lines, unfolded, as the feed wrote them: date values and RRULE are
//! read from here rather than from calcard, whose readers repair silently (`T1300Z` loses its
//! `Z`, `COUNT=-1` becomes 1) where flexysync must say what it assumed.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

/// One `NAME;PARAM=value:VALUE` line of the VEVENT itself (not of a nested VALARM), borrowed
/// from the block where it was written on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentLine<'a> {
    /// The wanted name it matched (upper case).
    pub name: &'static str,
    /// The parameters as written, from the first `;` (each checked to be `NAME=value`): read
    /// when asked for, as most lines are asked for one or two.
    params: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

impl ContentLine<'_> {
    /// The first parameter of that name (matched without regard to case), its value unquoted.
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        let (_, written) = Params(&self.params).find(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(if written.contains('"') {
            Cow::Owned(written.replace('"', "").trim().to_owned())
        } else {
            Cow::Borrowed(written.trim())
        })
    }

    pub fn into_owned(self) -> ContentLine<'static> {
        let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        ContentLine {
            name: self.name,
            params: owned(self.params),
            value: owned(self.value),
        }
    }
}

/// The `;NAME=value` parameters at the start of a text, each name (trimmed) and value as
/// written (quotes kept). Stops at the first text that is not one: the rest is left in `.0`.
struct Params<'a>(&'a str);

impl<'a> Iterator for Params<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let after = self.0.strip_prefix(';')?;
        let eq = memchr(b'=', after.as_bytes())?;
        // The value ends at the first `;` or `:` outside quotes (all three are ASCII, so
        // bytes find them where characters would).
        let mut quoted = false;
        let end = after.as_bytes()[eq + 1..]
            .iter()
            .position(|b| match b {
                b'"' => {
                    quoted = !quoted;
                    false
                }
                b';' | b':' => !quoted,
                _ => false,
            })
            .map_or(after.len(), |at| eq + 1 + at);
        self.0 = &after[end..];
        Some((after[..eq].trim(), &after[eq + 1..end]))
    }
}

/// The lines named in `wanted` (upper case) of the block's outermost component, in order.
pub fn content_lines<'a>(block: &'a str, wanted: &[&'static str]) -> Vec<ContentLine<'a>> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<Cow<'a, str>> = None;
    let finish = |text: Cow<'a, str>, found: &mut Vec<ContentLine<'a>>| {
        let line = match text {
            Cow::Borrowed(text) => parse_line(text, wanted),
            Cow::Owned(text) => parse_line(&text, wanted).map(ContentLine::into_owned),
        };
        if let Some(line) = line {
            found.push(line);
        }
    };
    for raw in block.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            if let Some(text) = current.as_mut() {
                text.to_mut().push_str(rest);
            }
            continue;
        }
        if let Some(text) = current.take() {
            finish(text, &mut found);
        }
        if raw
            .get(..6)
            .is_some_and(|h| h.eq_ignore_ascii_case("BEGIN:"))
        {
            depth += 1;
            continue;
        }
        if raw.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("END:")) {
            depth = depth.saturating_sub(1);
            continue;
        }
        if depth == 1 && starts_with_wanted(raw, wanted) {
            current = Some(Cow::Borrowed(raw));
        }
    }
    if let Some(text) = current {
        finish(text, &mut found);
    }
    found
}

fn starts_with_wanted(line: &str, wanted: &[&str]) -> bool {
    wanted.iter().any(|name| {
        line.get(..name.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(name))
            && matches!(line.as_bytes().get(name.len()), Some(b':' | b';'))
    })
}

pub fn parse_line<'a>(text: &'a str, wanted: &[&'static str]) -> Option<ContentLine<'a>> {
    let name_end = memchr2(b':', b';', text.as_bytes())?;
    let written = text[..name_end].trim();
    let name = *wanted.iter().find(|w| w.eq_ignore_ascii_case(written))?;
    let mut params = Params(&text[name_end..]);
    params.by_ref().for_each(drop);
    // Every parameter was read (one without `=` stops the reading short of the `:`).
    let value = params.0.strip_prefix(':')?;
    Some(ContentLine {
        name,
        params: Cow::Borrowed(&text[name_end..text.len() - params.0.len()]),
        value: Cow::Borrowed(value.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_unfolded_with_params_and_alarms_skipped() {
        let block = "BEGIN:VEVENT\r\nDTSTART;TZID=\"Europe/Oslo\";VALUE=DATE-TIME:2024\r\n 0101T100000\r\nRRULE:FREQ=DAILY\r\nBEGIN:VALARM\r\nRRULE:FREQ=HOURLY\r\nEND:VALARM\r\nrrule;X=\"a:b\":FREQ=WEEKLY\r\nDTSTARTX:1\r\nEND:VEVENT\r\n";
        let lines = content_lines(block, &["DTSTART", "RRULE"]);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0].value, "20240101T100000");
        assert_eq!(lines[0].param("TZID").as_deref(), Some("Europe/Oslo"));
        assert_eq!(lines[0].param("VALUE").as_deref(), Some("DATE-TIME"));
        assert_eq!(lines[1].value, "FREQ=DAILY");
        assert_eq!(lines[2].value, "FREQ=WEEKLY");
        assert_eq!(lines[2].param("X").as_deref(), Some("a:b"));
    }

    #[test]
    fn parameters_are_read_when_asked_for_as_they_were_written() {
        let text = "DTSTART; tzid = \"Europe/Oslo\" ;X=\"a;b\";TZID=Other;VALUE=DATE:20240101";
        let line = parse_line(text, &["DTSTART"]).expect("read");
        assert_eq!(line.param("TZID").as_deref(), Some("Europe/Oslo"));
        assert_eq!(line.param("x").as_deref(), Some("a;b"));
        assert_eq!(line.param("VALUE").as_deref(), Some("DATE"));
        assert_eq!(line.param("RANGE"), None);
        assert_eq!(line.value, "20240101");
        // A parameter without `=`, or a quote that never closes: no line at all.
        assert_eq!(parse_line("DTSTART;TZID:20240101", &["DTSTART"]), None);
        assert_eq!(parse_line("DTSTART;TZID=\"a:20240101", &["DTSTART"]), None);
    }
}
