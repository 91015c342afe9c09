//! The shared corpus: every file survives, and hand-checked expectations (worked out from the
//! files and cross-checked with python's recurring-ical-events where both agree).

use std::path::PathBuf;
use std::process::Command;

use super::{corpus, occurrences, rules_ctx, source, times_of};
use flexysync::sources::ical::preview_from_bytes;

fn all_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("corpus dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(all_files(&path));
        } else if path.extension().is_some_and(|e| e == "ics") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_corpus_file_goes_through_occurrences_and_preview() {
    let Some(dir) = corpus() else {
        eprintln!("skipped: no shared iCal corpus on this checkout");
        return;
    };
    let files = all_files(&dir);
    assert!(files.len() >= 80, "corpus has {} files", files.len());
    let mut with_events = 0;
    for preset in ["airbnb", "booking-com", "vrbo", "generic"] {
        for file in &files {
            let bytes = std::fs::read(file).expect("corpus file");
            let src = source(serde_json::json!({"preset": preset, "code": "derived"}));
            let preview = preview_from_bytes(&bytes, &src, &rules_ctx("1990-01-01", "2031-01-01"));
            for r in &preview.reservations {
                assert!(r.end > r.start, "{}: {r:?}", file.display());
            }
        }
    }
    for file in &files {
        let (found, _warnings) = occurrences(file, "1990-01-01", "2031-01-01", "UTC");
        if !found.is_empty() {
            with_events += 1;
        }
        for pair in found.windows(2) {
            assert!(
                pair[0].start_utc <= pair[1].start_utc,
                "{} is not sorted",
                file.display()
            );
        }
    }
    assert!(
        with_events >= 70,
        "only {with_events} files yielded occurrences"
    );
}

fn corpus_file(rel: &str) -> Option<PathBuf> {
    corpus().map(|dir| dir.join(rel))
}

macro_rules! need {
    ($rel:expr) => {
        match corpus_file($rel) {
            Some(path) => path,
            None => {
                eprintln!("skipped: no shared iCal corpus on this checkout");
                return;
            }
        }
    };
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// After `need!`, so that its cases can use it.
mod cases;

#[test]
fn the_binary_prints_occurrences_json_for_corpus_files() {
    let path = need!("python-recurring-ical-events/issue_18_cancel_status.ics");
    let out = Command::new(super::super::helpers::binary())
        .args(["feed", "occurrences", "--file"])
        .arg(&path)
        .args(["--from", "2020-01-28", "--to", "2020-02-01"])
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    assert_eq!(list.len(), 3);
    let keys: Vec<&String> = list[1].as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "all_day",
            "end",
            "floating",
            "recurrence_id",
            "start",
            "status",
            "summary",
            "uid"
        ]
    );
    assert_eq!(list[1]["status"], "CANCELLED");
    assert_eq!(list[1]["start"], "2020-01-29T21:00:00Z");
    assert_eq!(list[1]["recurrence_id"], "2020-01-29T21:00:00Z");
    for rel in [
        "node-ical/large-file-with-late-error.ics",
        "homeassistant-rental-control/calendar_data.MALFORMED_ICS_CALENDAR.ics",
        "python-icalendar/bom_calendar.ics",
        "icalevents/basic_latin1.ics",
    ] {
        let out = Command::new(super::super::helpers::binary())
            .args(["feed", "occurrences", "--file"])
            .arg(need!(rel))
            .args(["--from", "2000-01-01", "--to", "2030-01-01"])
            .output()
            .expect("binary runs");
        assert!(
            out.status.success(),
            "{rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let parsed: Result<Vec<serde_json::Value>, _> = serde_json::from_slice(&out.stdout);
        assert!(parsed.is_ok(), "{rel}: output is not a JSON array");
    }
}

#[test]
fn broken_files_keep_their_readable_parts() {
    let (found, warnings) = occurrences(
        &need!("node-ical/large-file-with-late-error.ics"),
        "2024-01-01",
        "2025-06-01",
        "UTC",
    );
    assert!(found.len() >= 390, "{}", found.len());
    assert!(!warnings.is_empty());
    let (found, _) = occurrences(
        &need!("python-icalendar/bom_calendar.ics"),
        "2000-01-01",
        "2030-01-01",
        "UTC",
    );
    assert!(found.is_empty());
    // Latin-1 bytes are replaced, with a warning, and the events still count.
    let (found, warnings) = occurrences(
        &need!("icalevents/basic_latin1.ics"),
        "2016-01-01",
        "2030-01-01",
        "UTC",
    );
    assert_eq!(found.len(), 95);
    assert!(warnings.iter().any(|w| w.contains("UTF-8")), "{warnings:?}");
    // A custom VTIMEZONE (Office 365) and a floating DTSTART next to a custom VTIMEZONE.
    let (found, _) = occurrences(
        &need!("allenporter-ical/office_356_custom_timezone.ics"),
        "2024-05-01",
        "2024-05-03",
        "UTC",
    );
    assert_eq!(found[0].start.to_string(), "2024-05-02T09:00:00Z");
    // DTEND before DTSTART: the two are swapped, with a warning naming the UID.
    let (found, warnings) = occurrences(
        &need!("python-recurring-ical-events/end_before_start_event.ics"),
        "2019-03-01",
        "2019-04-01",
        "UTC",
    );
    assert_eq!(found[0].start.to_string(), "2019-03-04T07:00:00Z");
    assert!(
        warnings.iter().any(|w| w.contains("UYDQSG9TH4DE0WM3QFL2J")),
        "{warnings:?}"
    );
}

#[test]
fn rental_feeds_through_their_presets() {
    let ctx = rules_ctx("2024-01-01", "2027-01-01");
    let airbnb = std::fs::read(need!("synthetic/airbnb_hosting_calendar_style.ics")).expect("file");
    let preview = preview_from_bytes(
        &airbnb,
        &source(serde_json::json!({"preset": "airbnb", "code": "phone-last4"})),
        &ctx,
    );
    let labels: Vec<&str> = preview
        .reservations
        .iter()
        .map(|r| r.label.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "Reserved · HMSYNTH0001",
            "Reserved · HMSYNTH0002",
            "Reserved · HMSYNTH0003",
            "Reserved · HMSYNTH0005"
        ]
    );
    assert_eq!(
        preview.reservations[0].credentials.code.as_deref(),
        Some("0001")
    );
    // Check-in 15:00 and check-out 11:00 Stockholm time; DTEND is the check-out day.
    assert_eq!(
        preview.reservations[0].start.to_rfc3339(),
        "2024-12-29T14:00:00+00:00"
    );
    assert_eq!(
        preview.reservations[0].end.to_rfc3339(),
        "2025-01-02T10:00:00+00:00"
    );
    // The stay over the spring-forward night: 15:00 CEST is 13:00 UTC.
    assert_eq!(
        preview.reservations[3].start.to_rfc3339(),
        "2025-03-30T13:00:00+00:00"
    );
    assert_eq!(preview.skipped.len(), 2);
    assert!(
        preview
            .skipped
            .iter()
            .all(|s| s.reason.contains("Not available"))
    );

    let booking = std::fs::read(need!("synthetic/booking_com_style.ics")).expect("file");
    let preview = preview_from_bytes(
        &booking,
        &source(serde_json::json!({"preset": "booking-com", "code": "derived"})),
        &ctx,
    );
    assert_eq!(preview.reservations.len(), 3);
    assert!(
        preview
            .reservations
            .iter()
            .all(|r| r.label == "Booking.com reservation")
    );

    let vrbo = std::fs::read(need!("synthetic/vrbo_homeaway_style.ics")).expect("file");
    let preview = preview_from_bytes(&vrbo, &source(serde_json::json!({"preset": "vrbo"})), &ctx);
    assert_eq!(preview.reservations.len(), 3);
    assert_eq!(preview.skipped.len(), 1);
    assert!(preview.skipped[0].reason.contains("Blocked"));
    assert!(
        preview
            .reservations
            .iter()
            .all(|r| r.credentials.code.is_none())
    );
}
