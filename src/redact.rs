//! Personal data and secrets for terminal output and logs: phone numbers, keypad codes and
//! cards shown only by their tail, enough to tell them apart; URLs without their tokens.

use url::Url;

/// How many letters and digits stay visible at the end of a masked value.
const SHOWN: usize = 3;

/// `value` with every letter and digit but the last three hidden as `•`; other characters
/// (`+`, spaces, dashes) stay, so the value keeps its shape: `+46701234567` → `+••••••••567`.
pub fn mask(value: &str) -> String {
    mask_with(value, '•')
}

/// [`mask`] with `glyph` in place of each hidden character.
pub fn mask_with(value: &str, glyph: char) -> String {
    let secret = value.chars().filter(|c| c.is_alphanumeric()).count();
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen + SHOWN <= secret { glyph } else { c }
        })
        .collect()
}

/// What replaces a secret part of a URL.
const REDACTED: &str = "REDACTED";

/// A URL fit for logs, errors, the status page and metrics. The query, the fragment and any
/// password are always replaced. When a path segment or the user name looks like a token
/// (see [`looks_like_token`]), only the scheme, the host (and port) and the last segment's
/// extension are kept, since a token may run over several segments:
/// `https://calendar.google.com/calendar/ical/x/private-0123abcd/basic.ics` becomes
/// `https://calendar.google.com/REDACTED.ics`. Paths without a token stay as they are, so an
/// operator can still tell feeds apart.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.query().is_some() {
        shown.set_query(Some(REDACTED));
    }
    if shown.fragment().is_some() {
        shown.set_fragment(Some(REDACTED));
    }
    if shown.password().is_some() {
        let _ = shown.set_password(Some(REDACTED));
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    if looks_like_token(url.username()) {
        let _ = shown.set_username(REDACTED);
    }
    if segments.iter().any(|segment| segment_has_token(segment)) {
        let extension = segments
            .last()
            .and_then(|last| extension(last))
            .unwrap_or("");
        shown.set_path(&format!("/{REDACTED}{extension}"));
    }
    shown.to_string()
}

/// [`redact_url`] for text that may not parse as a URL (a config value with a typo): the
/// scheme and host stay, the rest is dropped when any part of it looks like a token, and the
/// query is always replaced.
pub fn redact_url_text(text: &str) -> String {
    let text = text.trim();
    if let Ok(url) = Url::parse(text) {
        return redact_url(&url);
    }
    let (before_query, had_query) = match text.find(['?', '#']) {
        Some(at) => (&text[..at], true),
        None => (text, false),
    };
    let (scheme, rest) = match before_query.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), before_query),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let authority = if host.len() < authority.len() {
        format!("{REDACTED}@{host}")
    } else {
        host.to_owned()
    };
    let path = if path.split('/').any(segment_has_token) || segment_has_token(&authority) {
        format!("/{REDACTED}")
    } else {
        path.to_owned()
    };
    let query = if had_query { "?REDACTED" } else { "" };
    format!("{scheme}{authority}{path}{query}")
}

/// `.ics` of `basic.ics`: a dot and one to five letters or digits at the end.
fn extension(segment: &str) -> Option<&str> {
    let at = segment.rfind('.')?;
    let ext = &segment[at + 1..];
    ((1..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(&segment[at..])
}

/// A path segment holds a token when it is a `private-…` segment (Google's secret address)
/// or any of its runs between `.`, `@`, `~`, `:` and the like looks like one.
fn segment_has_token(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    if lower.starts_with("private-") || lower.starts_with("private_") {
        return true;
    }
    segment
        .split(|c: char| !(c.is_ascii_alphanumeric() || "-_+=%".contains(c)))
        .any(looks_like_token)
}

/// True for what a secret in a URL looks like: a long hexadecimal string (16 hex digits or
/// more, dashes allowed: UUIDs, digests), or a long base64/base64url string that mixes
/// letters and digits. Words, dates, short ids and listing numbers are not tokens.
pub fn looks_like_token(run: &str) -> bool {
    let has_letter = run.chars().any(|c| c.is_ascii_alphabetic());
    let has_digit = run.chars().any(|c| c.is_ascii_digit());
    let hex_digits = run.chars().filter(char::is_ascii_hexdigit).count();
    let hex_only = run.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    // Pure numbers are ids (an Airbnb listing has up to 20 digits) unless very long.
    if hex_only && (hex_digits >= 24 || (hex_digits >= 16 && has_letter)) {
        return true;
    }
    let base64 = run
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_+=%".contains(c));
    if !base64 || !has_letter || !has_digit {
        return false;
    }
    let longest_mixed_piece = run
        .split(['-', '_'])
        .filter(|piece| {
            piece.chars().any(|c| c.is_ascii_digit())
                && piece.chars().any(|c| c.is_ascii_alphabetic())
        })
        .map(str::len)
        .max()
        .unwrap_or(0);
    longest_mixed_piece >= 16 || run.len() >= 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_all_but_the_last_three() {
        assert_eq!(mask("+46701234567"), "+••••••••567");
        assert_eq!(mask("12"), "12");
    }

    fn shown(url: &str) -> String {
        redact_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn urls_with_a_token_in_the_path_keep_scheme_host_and_extension_only() {
        let token = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
        let cases = [
            (
                format!(
                    "https://calendar.google.com/calendar/ical/me%40example.com/private-{token}/basic.ics"
                ),
                "https://calendar.google.com/REDACTED.ics",
            ),
            (
                format!("https://www.vrbo.com/icalendar/{token}.ics"),
                "https://www.vrbo.com/REDACTED.ics",
            ),
            (
                "https://feeds.example.org:8443/u/550e8400-e29b-41d4-a716-446655440000/cal"
                    .to_owned(),
                "https://feeds.example.org:8443/REDACTED",
            ),
            (
                "https://example.com/export/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==/feed.ical?k=1"
                    .to_owned(),
                "https://example.com/REDACTED.ical?REDACTED",
            ),
            (
                "https://example.com/k/Xy7_Qp2-Lm9_Vb4-Rt6_Nc1-Zs8_Hd3-Kw5/cal.ics".to_owned(),
                "https://example.com/REDACTED.ics",
            ),
            (
                "https://example.com/cal/private_s3cr3t/x.ics".to_owned(),
                "https://example.com/REDACTED.ics",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(shown(&url), expected, "{url}");
        }
    }

    #[test]
    fn paths_without_a_token_stay_and_query_password_fragment_go() {
        let cases = [
            (
                "https://www.airbnb.com/calendar/ical/12345678.ics?s=abcdef",
                "https://www.airbnb.com/calendar/ical/12345678.ics?REDACTED",
            ),
            (
                "https://www.airbnb.com/calendar/ical/1234567890123456789.ics",
                "https://www.airbnb.com/calendar/ical/1234567890123456789.ics",
            ),
            (
                "https://user:hunter2@example.com/bookings/summer-house-2024/calendar.ics#frag",
                "https://user:REDACTED@example.com/bookings/summer-house-2024/calendar.ics#REDACTED",
            ),
            (
                "http://127.0.0.1:8080/feed.ics",
                "http://127.0.0.1:8080/feed.ics",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(shown(url), expected, "{url}");
        }
        let token_user = shown("https://0123456789abcdef0123@example.com/c.ics");
        assert_eq!(token_user, "https://REDACTED@example.com/c.ics");
    }

    #[test]
    fn what_looks_like_a_token() {
        for token in [
            "0123456789abcdef",
            "550e8400-e29b-41d4-a716-446655440000",
            "dGhpc2lzYXNlY3JldDEyMw",
            "k3j4h5g6f7d8s9a0q1w2",
        ] {
            assert!(looks_like_token(token), "{token}");
        }
        for word in [
            "",
            "basic",
            "calendar",
            "summer-house-2024",
            "reservations-2024-summer",
            "12345678",
            "12345678901234567890",
            "InternationalHolidays",
            "deadbeef",
        ] {
            assert!(!looks_like_token(word), "{word}");
        }
    }

    #[test]
    fn text_that_is_no_url_loses_its_tokens_too() {
        let token = "private-0123456789abcdef0123";
        let shown = redact_url_text(&format!(
            "htps//calendar.google.com/x/{token}/basic.ics?t=1"
        ));
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(!shown.contains("t=1"), "{shown}");
        let shown = redact_url_text("not a url at all?secret=1");
        assert_eq!(shown, "not a url at all?REDACTED");
        let shown = redact_url_text("https://us:pw@host name/0123456789abcdef0123");
        assert_eq!(shown, "https://REDACTED@host name/REDACTED");
    }
}
