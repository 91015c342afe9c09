//! The VEVENT's own content lines, unfolded, as the feed wrote them: date values and RRULE are
//! read from here rather than from calcard, whose readers repair silently (`T1300Z` loses its
//! `Z`, `COUNT=-1` becomes 1) where flexysync must say what it assumed.

/// One `NAME;PARAM=value:VALUE` line of the VEVENT itself (not of a nested VALARM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentLine {
    /// Upper case.
    pub name: String,
    /// Parameter names upper case; values unquoted.
    pub params: Vec<(String, String)>,
    pub value: String,
}

impl ContentLine {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The lines named in `wanted` (upper case) of the block's outermost component, in order.
pub fn content_lines(block: &str, wanted: &[&str]) -> Vec<ContentLine> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<String> = None;
    let finish = |text: String, found: &mut Vec<ContentLine>| {
        if let Some(line) = parse_line(&text, wanted) {
            found.push(line);
        }
    };
    for raw in block.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            if let Some(text) = current.as_mut() {
                text.push_str(rest);
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
            current = Some(raw.to_owned());
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

fn parse_line(text: &str, wanted: &[&str]) -> Option<ContentLine> {
    let name_end = text.find([':', ';'])?;
    let name = text[..name_end].trim().to_ascii_uppercase();
    if !wanted.contains(&name.as_str()) {
        return None;
    }
    let mut params = Vec::new();
    let mut rest = &text[name_end..];
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after.find('=')?;
        let pname = after[..eq].trim().to_ascii_uppercase();
        let mut value = String::new();
        let mut quoted = false;
        let mut end = after.len();
        for (index, ch) in after[eq + 1..].char_indices() {
            match ch {
                '"' => quoted = !quoted,
                ';' | ':' if !quoted => {
                    end = eq + 1 + index;
                    break;
                }
                _ => value.push(ch),
            }
        }
        params.push((pname, value.trim().to_owned()));
        rest = &after[end..];
    }
    let value = rest.strip_prefix(':')?;
    Some(ContentLine {
        name,
        params,
        value: value.trim().to_owned(),
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
        assert_eq!(lines[0].param("TZID"), Some("Europe/Oslo"));
        assert_eq!(lines[0].param("VALUE"), Some("DATE-TIME"));
        assert_eq!(lines[1].value, "FREQ=DAILY");
        assert_eq!(lines[2].value, "FREQ=WEEKLY");
        assert_eq!(lines[2].param("X"), Some("a:b"));
    }
}
