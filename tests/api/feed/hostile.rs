//! Calendars written to hurt: rules that can never match, a feed over its parse budget, deep
//! nesting, and series that reach a cap. Each makes the read unknown (incomplete) or is
//! refused cheaply, never a silent partial truth.

use std::fmt::Write as _;
use std::time::Duration;

use flexysync::sources::ical::{
    MAX_PER_SERIES, MAX_WARNINGS, OccurrenceQuery, occurrences_from_text, preview_from_bytes,
    preview_within, resolve_zone,
};

use super::{day, rules_ctx, source};

fn calendar(body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//flexysync tests//EN\r\n{body}END:VCALENDAR\r\n"
    )
}

fn event(uid: &str, start: &str, rule: &str) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{uid}\r\nDTSTART:{start}\r\nDURATION:PT30M\r\nRRULE:{rule}\r\nEND:VEVENT\r\n"
    )
}

fn window(
    text: &str,
    from: &str,
    to: &str,
) -> (Vec<flexysync::sources::ical::Occurrence>, Vec<String>) {
    let query = OccurrenceQuery {
        floating: resolve_zone("UTC").expect("UTC"),
        window_start: day(from),
        window_end: day(to),
    };
    occurrences_from_text(text.as_bytes(), &query)
}

#[test]
fn rules_that_can_never_match_are_refused_without_iterating() {
    let mut body = String::new();
    for (i, rule) in [
        "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=SECONDLY;BYMONTH=4,6,9,11;BYMONTHDAY=31",
        "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=-31",
        "FREQ=MINUTELY;BYMONTH=3;BYYEARDAY=1",
        "FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3",
    ]
    .iter()
    .enumerate()
    {
        body.push_str(&event(&format!("never-{i}"), "20250101T100000Z", rule));
    }
    let (found, warnings) = window(&calendar(&body), "2025-01-01", "2026-01-01");
    // DTSTART alone, each with a warning saying why.
    assert_eq!(found.len(), 5, "{found:?}");
    for i in 0..5 {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("never-{i}")) && w.contains("can never match")),
            "never-{i}: {warnings:?}"
        );
    }
    assert!(
        !warnings.iter().any(|w| w.contains("truncated")),
        "{warnings:?}"
    );
}

#[test]
fn a_feed_over_its_parse_budget_is_an_unknown_read_naming_the_costliest_series() {
    let mut body = String::new();
    for i in 0..3 {
        body.push_str(&event(
            &format!("hourly-{i}"),
            "20250101T100000Z",
            "FREQ=HOURLY;COUNT=500",
        ));
    }
    let text = calendar(&body);
    let src = source(serde_json::json!({}));
    let ctx = rules_ctx("2025-01-01", "2025-03-01");
    let generous = preview_within(text.as_bytes(), &src, &ctx, Duration::from_secs(600));
    assert!(generous.incomplete.is_none(), "{:?}", generous.incomplete);
    assert_eq!(generous.reservations.len(), 1500);
    // No time at all: the first series is read, then the budget stops the rest.
    let spent = preview_within(text.as_bytes(), &src, &ctx, Duration::ZERO);
    let reason = spent.incomplete.expect("an unknown read");
    assert!(reason.contains("budget"), "{reason}");
    assert!(reason.contains("stopped after 1 of 3"), "{reason}");
    assert!(
        reason.contains("costliest series was UID hourly-0"),
        "{reason}"
    );
    assert!(spent.warnings.contains(&reason), "{:?}", spent.warnings);
}

#[test]
fn a_series_at_the_per_series_cap_makes_the_read_incomplete() {
    let text = calendar(&event("every-minute", "20250101T000000Z", "FREQ=MINUTELY"));
    let preview = preview_from_bytes(
        text.as_bytes(),
        &source(serde_json::json!({})),
        &rules_ctx("2025-01-01", "2025-02-01"),
    );
    assert_eq!(preview.reservations.len(), MAX_PER_SERIES);
    let reason = preview.incomplete.expect("capped series: unknown read");
    assert!(reason.contains("every-minute"), "{reason}");
    assert!(reason.contains("truncated"), "{reason}");
    // Exactly at the cap, with nothing left over, is complete.
    let text = calendar(&event(
        "just-enough",
        "20250101T000000Z",
        &format!("FREQ=MINUTELY;COUNT={MAX_PER_SERIES}"),
    ));
    let preview = preview_from_bytes(
        text.as_bytes(),
        &source(serde_json::json!({})),
        &rules_ctx("2025-01-01", "2025-02-01"),
    );
    assert_eq!(preview.reservations.len(), MAX_PER_SERIES);
    assert!(preview.incomplete.is_none(), "{:?}", preview.incomplete);
}

#[test]
fn deep_nesting_is_refused_and_warnings_stay_bounded() {
    let mut nested = String::from("BEGIN:VEVENT\r\nUID:deep\r\nDTSTART:20250101T100000Z\r\n");
    for _ in 0..50 {
        nested.push_str("BEGIN:VALARM\r\n");
    }
    for _ in 0..50 {
        nested.push_str("END:VALARM\r\n");
    }
    nested.push_str("END:VEVENT\r\n");
    let shallow = "BEGIN:VEVENT\r\nUID:shallow\r\nDTSTART:20250102T100000Z\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\n";
    let (found, warnings) = window(
        &calendar(&format!("{nested}{shallow}")),
        "2025-01-01",
        "2025-02-01",
    );
    let uids: Vec<&str> = found.iter().map(|o| &*o.uid).collect();
    assert_eq!(uids, ["shallow"]);
    assert!(
        warnings.iter().any(|w| w.contains("nested more than")),
        "{warnings:?}"
    );
    // 20,000 unterminated, empty VEVENTs: a bounded number of warnings, no occurrence.
    let mut flood = String::new();
    for _ in 0..20_000 {
        let _ = write!(flood, "BEGIN:VEVENT\r\n");
    }
    let (found, warnings) = window(&calendar(&flood), "2025-01-01", "2025-02-01");
    assert!(found.is_empty());
    assert!(warnings.len() <= MAX_WARNINGS + 5, "{}", warnings.len());
    assert!(
        warnings.iter().any(|w| w.contains("more warnings")),
        "{:?}",
        warnings.last()
    );
}
