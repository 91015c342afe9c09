//! TOML syntax and number errors told by place, never by content: the line that failed may
//! hold a password, so a message names the line, the column and the key when it is known, and
//! what was wrong, but never the text that is there.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// A problem in the file's text, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxProblem {
    pub line: usize,
    pub column: usize,
    /// The dotted key the problem is in, when the line is a plain `key = value`.
    pub key: Option<String>,
    pub what: String,
}

impl std::fmt::Display for SyntaxProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)?;
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.what)
    }
}

/// Checks that `text` is TOML whose numbers all fit (integers in 64 bits, floats finite unless
/// written `inf`), the way the config loader will read it.
pub(super) fn check_toml(text: &str) -> Result<(), SyntaxProblem> {
    let table = match DeTable::parse(text) {
        Ok(table) => table,
        Err(err) => {
            let at = err.span().map_or(0, |span| span.start);
            return Err(locate(text, at, fold(err.message())));
        }
    };
    let mut path = Vec::new();
    check_table(text, table.get_ref(), &mut path)
}

fn check_table<'i>(
    text: &str,
    table: &DeTable<'i>,
    path: &mut Vec<String>,
) -> Result<(), SyntaxProblem> {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        check_value(text, value.get_ref(), value.span(), path)?;
        path.pop();
    }
    Ok(())
}

fn check_value(
    text: &str,
    value: &DeValue<'_>,
    span: Range<usize>,
    path: &mut Vec<String>,
) -> Result<(), SyntaxProblem> {
    let too_large = |what: &str| {
        let mut problem = locate(text, span.start, what.to_owned());
        problem.key = Some(path.join("."));
        problem
    };
    match value {
        DeValue::Integer(number) => {
            if i64::from_str_radix(number.as_str(), number.radix()).is_err() {
                return Err(too_large(
                    "number does not fit in 64 bits (at most 9223372036854775807)",
                ));
            }
        }
        DeValue::Float(number) => {
            let parsed = number.as_str().parse::<f64>();
            let written_inf = number.as_str().contains("inf");
            if parsed.is_err() || (parsed.is_ok_and(f64::is_infinite) && !written_inf) {
                return Err(too_large("number is too large for a floating-point value"));
            }
        }
        DeValue::Table(table) => check_table(text, table, path)?,
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let last = path.pop().unwrap_or_default();
                path.push(format!("{last}[{index}]"));
                check_value(text, item.get_ref(), item.span(), path)?;
                path.pop();
                path.push(last);
            }
        }
        DeValue::String(_) | DeValue::Boolean(_) | DeValue::Datetime(_) => {}
    }
    Ok(())
}

/// Line and column (1-based, in characters) of byte `at`, and the key of that line when the
/// text before the line is whole TOML (so the line is not inside a multi-line string, whose
/// content is not a key at all).
fn locate(text: &str, at: usize, what: String) -> SyntaxProblem {
    let at = floor_char_boundary(text, at.min(text.len()));
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..at].matches('\n').count() + 1;
    let column = text[line_start..at].chars().count() + 1;
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let before = &text[..line_start];
    let key = DeTable::parse(before)
        .ok()
        .and_then(|_| key_of_line(before, &text[line_start..line_end]));
    SyntaxProblem {
        line,
        column,
        key,
        what: scrub(&what, &text[line_start..line_end]),
    }
}

/// `password = "…` under `[flexykey]` → `flexykey.password`; `None` for any other shape.
fn key_of_line(before: &str, line: &str) -> Option<String> {
    let (name, _) = line.split_once('=')?;
    let name = bare_key(name)?;
    let header = |l: &str| -> Option<(String, bool)> {
        let l = l.trim();
        if let Some(inner) = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
            return bare_key(inner).map(|name| (name, true));
        }
        let inner = l.strip_prefix('[').and_then(|r| r.strip_suffix(']'))?;
        bare_key(inner).map(|name| (name, false))
    };
    let table = match before.lines().rev().find_map(header) {
        // `[[sources]]`: the n-th table of that name is `sources[n-1]`.
        Some((name, true)) => {
            let count = before
                .lines()
                .filter_map(header)
                .filter(|(n, array)| *array && *n == name)
                .count();
            format!("{name}[{}]", count.saturating_sub(1))
        }
        Some((name, false)) => name,
        None => String::new(),
    };
    Some(if table.is_empty() {
        name
    } else {
        format!("{table}.{name}")
    })
}

/// A dotted run of bare keys (`a.b_c`), spaces around dots allowed; anything else is `None`.
fn bare_key(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.trim().split('.').map(str::trim).collect();
    let bare = |p: &&str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    parts.iter().all(bare).then(|| parts.join("."))
}

/// The parser's message on one line.
pub(super) fn fold(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Drops any quoted fragment of `message` longer than a token such as `"` or `=`: the parser
/// describes what it expected, and this keeps it from ever quoting the line's content.
fn scrub(message: &str, line: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"', '\'']) {
        let quote = rest[open..].chars().next().unwrap_or('`');
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(quote) {
            Some(close) => {
                let inner = &after[..close];
                if inner.chars().count() <= 3 && !(inner.len() > 1 && line.contains(inner)) {
                    out.push(quote);
                    out.push_str(inner);
                    out.push(quote);
                } else {
                    out.push_str("(…)");
                }
                rest = &after[close + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> SyntaxProblem {
        check_toml(text).unwrap_err()
    }

    #[test]
    fn syntax_errors_name_line_column_and_key_but_never_the_text() {
        let cases = [
            // Unterminated string.
            ("[flexykey]\nusername = \"u\"\npassword = \"Pw-secret\n", 3),
            // A bad escape.
            (
                "[flexykey]\nusername = \"u\"\npassword = \"Pw-sec\\qret\"\n",
                3,
            ),
            // The same key twice.
            (
                "[flexykey]\npassword = \"Pw-secret\"\npassword = \"Pw-secret2\"\n",
                3,
            ),
            // A bare word where a value belongs.
            ("[flexykey]\npassword = Pw-secret\n", 2),
            // A literal string never closed.
            ("[flexykey]\npassword = 'Pw-secret\n", 2),
            // Garbage after the value.
            ("[flexykey]\npassword = \"ok\" Pw-secret\n", 2),
            // A multi-line string never closed.
            ("[flexykey]\npassword = \"\"\"Pw-secret\nmore = 1\n", 2),
            // Control characters inside a string.
            ("[flexykey]\npassword = \"Pw-secret\u{1}x\"\n", 2),
        ];
        for (text, line) in cases {
            let problem = problem(text);
            let shown = problem.to_string();
            assert!(!shown.contains("Pw-sec"), "{text:?} → {shown}");
            assert!(!shown.contains('\n'), "{shown}");
            assert!(problem.line >= line.min(2), "{text:?} → {shown}");
            assert!(shown.starts_with("line "), "{shown}");
        }
        let unterminated = problem("[flexykey]\nusername = \"u\"\npassword = \"Pw-secret\n");
        assert_eq!(unterminated.line, 3, "{unterminated}");
        assert_eq!(unterminated.key.as_deref(), Some("flexykey.password"));
        let duplicate = problem("[flexykey]\npassword = \"a\"\npassword = \"b\"\n");
        assert_eq!(duplicate.line, 3, "{duplicate}");
        assert_eq!(duplicate.key.as_deref(), Some("flexykey.password"));
    }

    #[test]
    fn a_line_inside_a_multi_line_string_is_never_taken_for_a_key() {
        let text = "[flexykey]\npassword = \"\"\"top\nhunter2 = secret \\q\n\"\"\"\n";
        let problem = problem(text);
        assert!(
            !problem.to_string().contains("hunter2"),
            "{problem}: the line is part of the secret"
        );
        assert_eq!(problem.key, None);
    }

    #[test]
    fn numbers_that_do_not_fit_name_their_key() {
        let problem = problem("[flexykey]\ntimeout_seconds = 18446744073709551615\n");
        assert_eq!(problem.key.as_deref(), Some("flexykey.timeout_seconds"));
        assert_eq!((problem.line, problem.column), (2, 19));
        let problem = problem_of("[archive]\nunits = [1, 99999999999999999999]\n");
        assert_eq!(problem.key.as_deref(), Some("archive.units[1]"));
        let problem = problem_of("[[sources]]\nname = \"a\"\n[[sources]]\nmax_bytes = 1e999\n");
        assert_eq!(problem.key.as_deref(), Some("sources[1].max_bytes"));
        check_toml("[x]\na = inf\nb = -9223372036854775808\nc = 0x7fffffffffffffff\n").unwrap();
    }

    fn problem_of(text: &str) -> SyntaxProblem {
        check_toml(text).unwrap_err()
    }

    #[test]
    fn a_parser_message_that_quoted_the_line_would_lose_the_quote() {
        let line = "password = Pw-secret-1";
        let shown = scrub(
            "invalid value `Pw-secret-1` here, expected `\"` or 'abcd'",
            line,
        );
        assert_eq!(shown, "invalid value (…) here, expected `\"` or (…)");
        // Short tokens stay unless they are a piece of the line itself.
        assert_eq!(scrub("expected `=`", "a b"), "expected `=`");
        assert_eq!(scrub("found `Pw`", "password = Pw"), "found (…)");
    }

    #[test]
    fn fold_makes_one_line() {
        assert_eq!(fold("a\n  b\n\nc"), "a; b; c");
    }
}
