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
fn windows_zone_names() {
    // "W. Europe Standard Time" on a bare VEVENT: 07:00 CET is 06:00 UTC.
    let (found, _) = occurrences(
        &need!("ha-ics_calendar/issue6.ics"),
        "2020-01-01",
        "2020-02-01",
        "UTC",
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].start.to_string(), "2020-01-21T06:00:00Z");
    assert_eq!(found[0].end.to_string(), "2020-01-21T14:30:00Z");
    // Outlook display names "(UTC-05:00) Eastern Time" and "(GMT+10:00) Canberra, Melbourne, Sydney".
    let (found, _) = occurrences(
        &need!("node-ical/Office-2012-owa.ics"),
        "2020-10-28",
        "2020-10-29",
        "UTC",
    );
    let starts: Vec<String> = found.iter().map(|o| o.start.to_string()).collect();
    assert_eq!(starts, ["2020-10-28T02:30:00Z", "2020-10-28T17:30:00Z"]);
    // A quoted Windows display name with a daily COUNT=10 series, 12:00 EDT = 16:00 UTC.
    let (found, _) = occurrences(
        &need!("node-ical/windows-quoted-tz-rrule.ics"),
        "2015-07-01",
        "2015-08-01",
        "UTC",
    );
    assert_eq!(found.len(), 10);
    assert_eq!(found[0].start.to_string(), "2015-07-06T16:00:00Z");
}

#[test]
fn dst_change_over_days() {
    // Weekly 00:30 Berlin: 23:30 UTC before the spring change (2019-03-31), 22:30 after.
    let (found, _) = occurrences(
        &need!("python-recurring-ical-events/each_week_but_two_deleted.ics"),
        "2019-03-01",
        "2019-04-20",
        "UTC",
    );
    let starts: Vec<String> = found.iter().map(|o| o.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2019-03-03T23:30:00Z",
            "2019-03-17T23:30:00Z",
            "2019-03-31T22:30:00Z",
            "2019-04-07T22:30:00Z",
            "2019-04-14T22:30:00Z"
        ]
    );
    // A Los Angeles series across the autumn change (2023-11-05): 17:00 PDT, then 17:00 PST;
    // the EXDATEs in between (given at local midnight) remove three weeks.
    let (found, _) = occurrences(
        &need!("magicmirror/exdate_la_at_midnight_dst.ics"),
        "2023-10-20",
        "2023-11-20",
        "UTC",
    );
    let starts: Vec<String> = found.iter().map(|o| o.start.to_string()).collect();
    assert_eq!(starts, ["2023-10-26T00:00:00Z", "2023-11-16T01:00:00Z"]);
    // An all-day series moved over the Berlin fall-back weekend keeps its dates.
    let (found, _) = occurrences(
        &need!("magicmirror/whole_day_moved_over_dst_change_berlin.ics"),
        "2024-10-01",
        "2024-11-30",
        "Europe/Berlin",
    );
    let days: Vec<String> = found
        .iter()
        .map(|o| format!("{}..{}", o.start, o.end))
        .collect();
    assert_eq!(
        days,
        [
            "2024-10-27..2024-10-28",
            "2024-10-29..2024-10-30",
            "2024-10-30..2024-10-31"
        ]
    );
    // A zone whose DST rules change (Fiji-like custom transitions): times stay in the zone.
    let (found, _) = occurrences(
        &need!("python-icalendar/issue_722_timezone_transition_ambiguity.ics"),
        "2024-01-01",
        "2025-01-01",
        "UTC",
    );
    assert_eq!(found.len(), 4);
}

#[test]
fn exdate_in_several_forms() {
    // EXDATE given in UTC (Z) against a zoned series.
    let (found, _) = occurrences(
        &need!("khal/event_dtr_exdatez.ics"),
        "2014-01-01",
        "2015-01-01",
        "UTC",
    );
    let starts: Vec<String> = found.iter().map(|o| o.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2014-06-30T05:30:00Z",
            "2014-07-07T05:30:00Z",
            "2014-07-14T05:30:00Z"
        ]
    );
    // Several EXDATEs on one line (Outlook): 5 of the weekly series remain.
    let (found, _) = occurrences(
        &need!("icalevents/multi_exdate_same_line_ms.ics"),
        "2022-01-01",
        "2023-01-01",
        "UTC",
    );
    assert_eq!(found.len(), 5);
    assert_eq!(found[1].start.to_string(), "2022-03-25T15:00:00Z");
    // EXDATE with a TZID: 7 occurrences left, the first on 2019-10-29.
    let (found, _) = occurrences(
        &need!("python-recurring-ical-events/issue_20_exdate_ignored.ics"),
        "2019-01-01",
        "2021-01-01",
        "UTC",
    );
    assert_eq!(found.len(), 7);
    assert_eq!(found[0].start.to_string(), "2019-10-29T15:15:00Z");
    // EXDATE removes every occurrence before UNTIL in a broken-TZID series.
    let (found, warnings) = occurrences(
        &need!("magicmirror/bad_rrule.ics"),
        "2021-04-01",
        "2021-05-01",
        "UTC",
    );
    assert!(found.is_empty(), "{found:?}");
    assert!(
        warnings.iter().any(|w| w.contains("not a known zone")),
        "{warnings:?}"
    );
}

#[test]
fn recurrence_id_overrides() {
    // Moved instances replace their originals, one for one.
    let (found, _) = occurrences(
        &need!("python-recurring-ical-events/recurring_events_moved.ics"),
        "2019-03-07",
        "2019-03-11",
        "UTC",
    );
    assert_eq!(
        times_of(&found, "a0c78729-30b1-4ba3-a86e-6aedd9"),
        pairs(&[
            ("2019-03-07T01:00:00Z", "2019-03-07T02:00:00Z"),
            ("2019-03-08T00:00:00Z", "2019-03-08T01:00:00Z"),
            ("2019-03-09T02:00:00Z", "2019-03-09T03:00:00Z"),
            ("2019-03-10T01:00:00Z", "2019-03-10T02:00:00Z"),
        ])
    );
    // One edited title in a daily Google series.
    let (found, _) = occurrences(
        &need!("allenporter-ical/recurring_with_single_change.ics"),
        "2026-02-01",
        "2026-02-04",
        "UTC",
    );
    let titles: Vec<&str> = found
        .iter()
        .map(|o| o.summary.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(titles, ["Initial Title", "Edited Title", "Initial Title"]);
    // An override without its master stands alone.
    let (found, _) = occurrences(
        &need!("khal/event_dt_recuid_no_master.ics"),
        "2017-01-01",
        "2018-01-01",
        "UTC",
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].start.to_string(), "2017-03-29T16:00:00Z");
    // An all-day Exchange instance moved by RECURRENCE-ID with a TZID: 02-26 moves to 02-27.
    let (found, _) = occurrences(
        &need!("node-ical/exchange_whole_day_moved_recurrence.ics"),
        "2026-02-24",
        "2026-03-01",
        "UTC",
    );
    let days: Vec<String> = found.iter().map(|o| o.start.to_string()).collect();
    assert_eq!(days, ["2026-02-24", "2026-02-27"]);
    // Duplicate UIDs: the highest SEQUENCE wins.
    let (found, _) = occurrences(
        &need!("node-ical/duplicate-uid-sequence.ics"),
        "2024-01-01",
        "2024-02-01",
        "UTC",
    );
    let titles: Vec<&str> = found
        .iter()
        .map(|o| o.summary.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(titles.len(), 2);
    assert!(
        titles[0].contains("SEQUENCE 2") && titles[1].contains("SEQUENCE 3"),
        "{titles:?}"
    );
}

#[test]
fn this_and_future() {
    let (found, _) = occurrences(
        &need!("python-recurring-ical-events/issue_75_range_parameter.ics"),
        "2024-09-10",
        "2024-09-25",
        "UTC",
    );
    assert_eq!(
        times_of(&found, "210"),
        pairs(&[
            ("2024-09-11T12:00:00Z", "2024-09-11T14:00:00Z"),
            ("2024-09-13T09:00:00Z", "2024-09-13T16:00:00Z"),
            ("2024-09-14T06:00:00Z", "2024-09-14T13:00:00Z"),
            ("2024-09-15T17:00:00Z", "2024-09-15T19:00:00Z"),
            ("2024-09-17T09:00:00Z", "2024-09-17T16:00:00Z"),
            ("2024-09-19T09:00:00Z", "2024-09-19T16:00:00Z"),
            ("2024-09-22T14:22:00Z", "2024-09-22T16:13:00Z"),
            ("2024-09-24T14:22:00Z", "2024-09-24T16:13:00Z"),
        ])
    );
}

#[test]
fn all_day_duration_and_missing_end() {
    let (found, _) = occurrences(
        &need!("magicmirror/fullday_event_over_multiple_days_nonrepeating.ics"),
        "2024-10-01",
        "2024-12-01",
        "Europe/Berlin",
    );
    assert_eq!(found.len(), 1);
    assert!(found[0].all_day);
    assert_eq!(
        (found[0].start.to_string(), found[0].end.to_string()),
        ("2024-10-25".into(), "2024-10-31".into())
    );
    // DURATION instead of DTEND: one day of a timed event.
    let (found, _) = occurrences(
        &need!("ical.js/duration_instead_of_dtend.ics"),
        "2012-06-01",
        "2012-08-01",
        "UTC",
    );
    assert_eq!(
        times_of(&found, &found[0].uid),
        pairs(&[("2012-06-30T13:00:00Z", "2012-07-01T13:00:00Z")])
    );
    // An edited instance with its own DURATION.
    let (found, _) = occurrences(
        &need!("python-recurring-ical-events/duration_edited.ics"),
        "2019-03-18",
        "2019-03-21",
        "UTC",
    );
    let ends: Vec<String> = found.iter().map(|o| o.end.to_string()).collect();
    assert_eq!(
        ends,
        [
            "2019-03-18T04:00:00Z",
            "2019-03-19T06:00:00Z",
            "2019-03-20T04:00:00Z"
        ]
    );
    // No DTEND: a DATE-TIME event is an instant ...
    let (found, _) = occurrences(
        &need!("khal/event_dt_no_end.ics"),
        "2016-01-01",
        "2016-02-01",
        "UTC",
    );
    assert_eq!(
        times_of(&found, "nodtend"),
        pairs(&[("2016-01-16T07:00:00Z", "2016-01-16T07:00:00Z")])
    );
    // ... and a DATE event lasts one day.
    let (found, _) = occurrences(
        &need!("ical.js/only_dtstart_date.ics"),
        "2012-06-01",
        "2012-08-01",
        "UTC",
    );
    assert_eq!(
        (found[0].start.to_string(), found[0].end.to_string()),
        ("2012-06-30".into(), "2012-07-01".into())
    );
}

#[test]
fn floating_times_with_and_without_x_wr_timezone() {
    // No X-WR-TIMEZONE: a floating 16:00 is read in the zone asked for.
    let path = need!("node-ical/floating-dtstart-custom-vtimezone.ics");
    let (found, _) = occurrences(&path, "2025-06-01", "2025-07-01", "UTC");
    assert!(found[0].floating);
    assert_eq!(found[0].start.to_string(), "2025-06-10T14:00:00Z");
    let (found, _) = occurrences(&path, "2025-06-01", "2025-07-01", "Europe/Berlin");
    assert_eq!(found[0].start.to_string(), "2025-06-10T12:00:00Z");
    // A zoned event does not move with the zone asked for; a DATE event is a date.
    let (found, _) = occurrences(
        &need!("icalevents/floating.ics"),
        "2021-04-01",
        "2021-11-01",
        "America/New_York",
    );
    assert_eq!(found[0].start.to_string(), "2021-04-08T06:30:00Z");
    assert!(!found[0].floating);
    assert_eq!(found[1].start.to_string(), "2021-10-13");
    // X-WR-TIMEZONE Europe/Berlin names the zone of floating 21:00: 19:00 UTC, whatever --tz says.
    let (found, _) = occurrences(
        &need!("python-recurring-ical-events/issue_86_x_wr_timezone_without_time_zone_in_dt.ics"),
        "2021-09-01",
        "2021-10-01",
        "UTC",
    );
    assert_eq!(found[0].start.to_string(), "2021-09-16T19:00:00Z");
    // UTC times with X-WR-TIMEZONE stay the instants they name.
    let (found, _) = occurrences(
        &need!("python-recurring-ical-events/x_wr_timezone_simple_events_issue_59.ics"),
        "2021-12-01",
        "2022-01-01",
        "UTC",
    );
    let starts: Vec<String> = found.iter().map(|o| o.start.to_string()).collect();
    assert_eq!(starts, ["2021-12-22T17:00:00Z", "2021-12-23T02:00:00Z"]);
}

#[test]
fn cancelled_occurrences_are_listed_with_their_status() {
    let (found, _) = occurrences(
        &need!("khal/event_rrule_recuid_cancelled.ics"),
        "2014-06-30",
        "2014-07-22",
        "UTC",
    );
    let status: Vec<String> = found.iter().map(|o| format!("{:?}", o.status)).collect();
    assert_eq!(status, ["None", "None", "Some(Cancelled)", "None"]);
    assert_eq!(found[1].start.to_string(), "2014-07-07T07:00:00Z");
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
