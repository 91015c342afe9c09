//! Hand-written fixtures: the gaps calcard leaves open, and the booking rules.

use std::process::Command;

use super::{fixture, occurrences, rules_ctx, source, times_of};
use flexysync::sources::ical::preview_from_bytes;
use flexysync::sources::reservations_from_text;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn dst_gap_until_in_utc_and_utc_rrule_in_x_wr_timezone() {
    let (found, _) = occurrences(&fixture("gaps.ics"), "2025-01-01", "2025-05-01", "UTC");
    // 02:30 does not exist on 2025-03-30 in Stockholm: read with the offset before the gap.
    assert_eq!(
        times_of(&found, "dst-gap"),
        pairs(&[
            ("2025-03-28T01:30:00Z", "2025-03-28T02:30:00Z"),
            ("2025-03-29T01:30:00Z", "2025-03-29T02:30:00Z"),
            ("2025-03-30T01:30:00Z", "2025-03-30T02:30:00Z"),
            ("2025-03-31T00:30:00Z", "2025-03-31T01:30:00Z"),
        ])
    );
    // UNTIL=20250103T000000Z is 09:00 on 01-03 in Tokyo: that last occurrence counts.
    assert_eq!(times_of(&found, "until-east").len(), 3);
    // A UTC DTSTART repeats at the same wall-clock time of X-WR-TIMEZONE.
    let starts: Vec<String> = times_of(&found, "utc-weekly")
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        starts,
        [
            "2025-03-17T08:00:00Z",
            "2025-03-24T08:00:00Z",
            "2025-03-31T07:00:00Z"
        ]
    );
}

#[test]
fn fall_back_time_takes_the_first_instant() {
    let (found, _) = occurrences(&fixture("gaps.ics"), "2025-10-25", "2025-10-28", "UTC");
    assert_eq!(
        times_of(&found, "fall-back"),
        pairs(&[("2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z")])
    );
}

#[test]
fn overrides_rdate_exdate_on_an_all_day_series() {
    let (found, _) = occurrences(&fixture("gaps.ics"), "2025-06-01", "2025-07-01", "UTC");
    let series: Vec<(String, String, Option<String>)> = found
        .iter()
        .filter(|o| &*o.uid == "series")
        .map(|o| {
            (
                o.start.to_string(),
                o.end.to_string(),
                o.summary.as_deref().map(str::to_owned),
            )
        })
        .collect();
    // RDATE = DTSTART is listed once; EXDATE (DATE and UTC date-time) removes RRULE and RDATE
    // instances; the override with the highest SEQUENCE wins, matched despite its value type.
    assert_eq!(
        series,
        vec![
            (
                "2025-06-01".into(),
                "2025-06-02".into(),
                Some("All-day series".into())
            ),
            (
                "2025-06-02".into(),
                "2025-06-05".into(),
                Some("Moved (newest)".into())
            ),
            (
                "2025-06-04".into(),
                "2025-06-05".into(),
                Some("All-day series".into())
            ),
            (
                "2025-06-05".into(),
                "2025-06-06".into(),
                Some("All-day series".into())
            ),
        ]
    );
}

#[test]
fn hostile_and_broken_components_are_skipped_or_repaired_not_fatal() {
    let (found, warnings) = occurrences(&fixture("gaps.ics"), "2025-06-30", "2025-07-03", "UTC");
    // A DURATION of 999999999999999999 weeks is ignored: the event is an instant.
    assert_eq!(
        times_of(&found, "hostile").first(),
        Some(&(
            "2025-07-01T10:00:00Z".to_owned(),
            "2025-07-01T10:00:00Z".to_owned()
        ))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("UID hostile") && w.contains("DURATION")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("UID no-start (line 65)")),
        "{warnings:?}"
    );
    // An hourly series that began in 1990 still reaches the window.
    assert_eq!(times_of(&found, "hourly-forever").len(), 72);
}

#[test]
fn a_series_past_the_cap_is_reported_as_truncated() {
    let (found, warnings) = occurrences(&fixture("gaps.ics"), "2025-01-01", "2026-01-01", "UTC");
    assert_eq!(
        times_of(&found, "hourly-forever").len(),
        flexysync::sources::ical::MAX_PER_SERIES
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("hourly-forever") && w.contains("truncated")),
        "{warnings:?}"
    );
}

#[test]
fn airbnb_preset_extracts_code_and_last4_and_skips_blocks() {
    let text = std::fs::read_to_string(fixture("airbnb.ics")).expect("fixture");
    let src = source(
        serde_json::json!({"preset": "airbnb", "code": "phone-last4", "buffer_before": "30m", "buffer_after": "15m"}),
    );
    let (reservations, _) =
        reservations_from_text(&text, &src, &rules_ctx("2026-02-01", "2026-05-01"))
            .expect("calendar");
    assert_eq!(reservations.len(), 2);
    let first = &reservations[0];
    assert_eq!(first.label, "Reserved · HMABC12345");
    assert_eq!(first.credentials.code.as_deref(), Some("4821"));
    assert_eq!(first.key, "cabin/stay-1@airbnb.com/");
    assert_eq!(first.booking_object_id, 77);
    // 15:00 CET minus 30 min; 11:00 CET plus 15 min.
    assert_eq!(first.start.to_rfc3339(), "2026-03-01T13:30:00+00:00");
    assert_eq!(first.end.to_rfc3339(), "2026-03-05T10:15:00+00:00");
    // No last 4 digits: phone-last4 falls back to a derived, non-trivial 6-digit code.
    let second = reservations[1]
        .credentials
        .code
        .as_deref()
        .expect("derived code");
    assert_eq!(second.len(), 6);
    assert!(!flexysync::sources::ical::is_trivial_code(second));
    // Check-out day after the spring change: 11:00 CEST is 09:00 UTC.
    assert_eq!(
        reservations[1].end.to_rfc3339(),
        "2026-03-29T09:15:00+00:00"
    );
}

#[test]
fn generic_rules_phones_helpers_cancelled_and_filters() {
    let bytes = std::fs::read(fixture("generic_phones.ics")).expect("fixture");
    let src = source(serde_json::json!({"code": "derived", "code_length": 4}));
    let preview = preview_from_bytes(&bytes, &src, &rules_ctx("2026-04-01", "2026-05-01"));
    let keys: Vec<&str> = preview
        .reservations
        .iter()
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(keys, ["cabin/guest-1/", "cabin/owner-1/"]);
    let guest = &preview.reservations[0];
    assert_eq!(
        guest.credentials.phones,
        ["+46701234567", "+447400123456", "+46701112233"]
    );
    assert!(
        !guest.label.contains("123 45 67") && guest.label.starts_with("Anna Berg"),
        "{}",
        guest.label
    );
    assert_eq!(guest.start.to_rfc3339(), "2026-04-10T14:00:00+00:00");
    let reasons: Vec<&str> = preview.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("helper")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("cancelled")),
        "{reasons:?}"
    );

    let only_owner = source(serde_json::json!({"include_summary": "^Owner"}));
    let preview = preview_from_bytes(&bytes, &only_owner, &rules_ctx("2026-04-01", "2026-05-01"));
    assert_eq!(preview.reservations.len(), 1);
    assert!(
        preview
            .skipped
            .iter()
            .any(|s| s.reason.contains("include_summary"))
    );
    let no_owner = source(serde_json::json!({"exclude_summary": "(?i)owner"}));
    let preview = preview_from_bytes(&bytes, &no_owner, &rules_ctx("2026-04-01", "2026-05-01"));
    assert_eq!(preview.reservations.len(), 1);
    assert_eq!(preview.reservations[0].key, "cabin/guest-1/");
}

#[test]
fn text_that_is_not_a_calendar_is_refused() {
    let src = source(serde_json::json!({}));
    let result = reservations_from_text(
        "<html>login</html>",
        &src,
        &rules_ctx("2026-04-01", "2026-05-01"),
    );
    assert!(result.is_err());
}

#[test]
fn preview_through_the_binary_masks_secrets_and_reports_skips() {
    let out = Command::new(super::super::helpers::binary())
        .args(["feed", "preview", "--file"])
        .arg(fixture("airbnb.ics"))
        .args([
            "--object",
            "77",
            "--preset",
            "airbnb",
            "--code",
            "phone-last4",
            "--timezone",
            "Europe/Stockholm",
        ])
        .args(["--from", "2026-02-01", "--to", "2026-05-01", "--json"])
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(value["reservations"].as_array().map(Vec::len), Some(2));
    assert_eq!(value["reservations"][0]["code"], "••••");
    assert_eq!(value["skipped"][0]["uid"], "block-1@airbnb.com");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("4821"));
}

#[test]
fn bad_dates_and_files_exit_with_code_2() {
    for args in [
        vec![
            "feed",
            "occurrences",
            "--file",
            "/nonexistent.ics",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
        ],
        vec![
            "feed",
            "occurrences",
            "--file",
            "Cargo.toml",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
        ],
    ] {
        let out = Command::new(super::super::helpers::binary())
            .args(&args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("flexysync:"));
    }
    let out = Command::new(super::super::helpers::binary())
        .args(["feed", "occurrences", "--file"])
        .arg(fixture("gaps.ics"))
        .args(["--from", "2025-13-01", "--to", "2025-02-01"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from \"2025-13-01\""));
}

/// The binary tells a calendar from a file's head; a head of blank lines longer than what it
/// looks at is judged on the whole file, and a big file that is no calendar is still refused.
#[test]
fn a_calendar_after_a_long_run_of_blank_lines_is_read_through_the_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let calendar = std::fs::read_to_string(fixture("airbnb.ics")).expect("fixture");
    let padded = dir.path().join("padded.ics");
    std::fs::write(&padded, " \r\n".repeat(40_000) + &calendar).expect("written");
    let html = dir.path().join("page.ics");
    std::fs::write(&html, "<html>".to_owned() + &"x".repeat(200_000)).expect("written");
    let run = |path: &std::path::Path| {
        Command::new(super::super::helpers::binary())
            .args(["feed", "occurrences", "--file"])
            .arg(path)
            .args(["--from", "2026-02-01", "--to", "2026-05-01"])
            .output()
            .expect("runs")
    };
    let out = run(&padded);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let direct = run(&fixture("airbnb.ics"));
    let expected: serde_json::Value = serde_json::from_slice(&direct.stdout).expect("JSON");
    assert!(listed.as_array().is_some_and(|list| !list.is_empty()));
    assert_eq!(listed, expected);
    let refused = run(&html);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a calendar"));
}

#[test]
fn skipped_events_never_show_full_phone_numbers_and_a_cut_feed_is_incomplete() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:c1\r\nDTSTART;VALUE=DATE:20260410\r\nDTEND;VALUE=DATE:20260412\r\nSTATUS:CANCELLED\r\nSUMMARY:Anna +46 70 123 45 67\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let src = source(serde_json::json!({}));
    let preview = preview_from_bytes(
        text.as_bytes(),
        &src,
        &rules_ctx("2026-04-01", "2026-05-01"),
    );
    assert_eq!(preview.skipped.len(), 1);
    let summary = preview.skipped[0].summary.as_deref().unwrap();
    assert!(
        !summary.contains("123 45 67") && summary.contains("[phone]"),
        "{summary}"
    );
    assert_eq!(preview.incomplete, None);

    let cut = &text[..text.len() - "END:VCALENDAR\r\n".len()];
    let preview = preview_from_bytes(cut.as_bytes(), &src, &rules_ctx("2026-04-01", "2026-05-01"));
    assert!(
        preview
            .incomplete
            .as_deref()
            .unwrap()
            .contains("END:VCALENDAR")
    );
}
