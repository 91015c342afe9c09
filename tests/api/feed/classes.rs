//! The eight classes of issue 13, and an instance moved into the window from before it, each on
//! a fixture of its own (`tests/fixtures/ical/rfc/`): values read as RFC 5545 (and libical)
//! mean them, and every repair warned about. The `feed occurrences` output of each fixture is
//! pinned next to it (`<name>.json`).

use std::process::Command;

use super::{fixture, occurrences, times_of};

fn rfc(name: &str) -> std::path::PathBuf {
    fixture(&format!("rfc/{name}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn warned(warnings: &[String], uid: &str, needle: &str) -> bool {
    warnings
        .iter()
        .any(|w| w.contains(uid) && w.contains(needle))
}

#[test]
fn a_floating_end_is_read_in_the_start_zone_and_never_moves_the_start() {
    // Read in New York, where 10:00 EDT is 14:00 UTC; a floating zone far away must not matter.
    let (found, warnings) = occurrences(
        &rfc("floating_end.ics"),
        "2024-03-01",
        "2024-04-01",
        "Pacific/Auckland",
    );
    // The EXDATE (given at the start's time) still removes 03-12.
    assert_eq!(
        times_of(&found, "zoned-start-floating-end"),
        pairs(&[
            ("2024-03-11T14:00:00Z", "2024-03-11T15:00:00Z"),
            ("2024-03-13T14:00:00Z", "2024-03-13T15:00:00Z"),
        ])
    );
    // A floating start next to a Tokyo end is read in Tokyo.
    assert_eq!(
        times_of(&found, "floating-start-zoned-end"),
        pairs(&[("2024-03-11T00:00:00Z", "2024-03-11T01:00:00Z")])
    );
    assert_eq!(
        times_of(&found, "utc-start-floating-end"),
        pairs(&[("2024-03-14T10:00:00Z", "2024-03-14T12:00:00Z")])
    );
    // Still before the start in the start's own zone: the end is dropped, the start stays.
    assert_eq!(
        times_of(&found, "floating-end-still-before"),
        pairs(&[("2024-03-15T09:00:00Z", "2024-03-15T09:00:00Z")])
    );
    assert!(
        warned(&warnings, "zoned-start-floating-end", "DTEND is floating"),
        "{warnings:?}"
    );
    assert!(
        warned(&warnings, "floating-end-still-before", "DTEND ignored"),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("swapped")),
        "{warnings:?}"
    );
}

#[test]
fn a_value_of_the_other_type_than_declared_keeps_its_own_type() {
    let (found, warnings) = occurrences(
        &rfc("value_date_with_time.ics"),
        "2024-01-01",
        "2024-02-01",
        "UTC",
    );
    // VALUE=DATE with 10:00 Oslo time: a timed event, 09:00 UTC.
    assert_eq!(
        times_of(&found, "date-with-time"),
        pairs(&[("2024-01-01T09:00:00Z", "2024-01-01T11:00:00Z")])
    );
    assert!(
        warned(
            &warnings,
            "date-with-time",
            "says VALUE=DATE but holds a time"
        ),
        "{warnings:?}"
    );
    // VALUE=DATE-TIME with a bare date: all day.
    assert_eq!(
        times_of(&found, "date-time-without-time"),
        pairs(&[("2024-01-05", "2024-01-07")])
    );
    assert!(
        warned(&warnings, "date-time-without-time", "holds a date"),
        "{warnings:?}"
    );
    // An EXDATE declared DATE with a time removes exactly that instance.
    assert_eq!(
        times_of(&found, "exdate-date-with-time"),
        pairs(&[
            ("2024-01-10T08:00:00Z", "2024-01-10T09:00:00Z"),
            ("2024-01-12T08:00:00Z", "2024-01-12T09:00:00Z"),
        ])
    );
}

#[test]
fn rrule_parts_mean_what_rfc_5545_and_libical_say() {
    let (found, warnings) = occurrences(
        &rfc("rrule_semantics.ics"),
        "2024-01-01",
        "2026-01-01",
        "UTC",
    );
    // COUNT=4 counts the (non-matching) DTSTART as the first instance.
    assert_eq!(
        times_of(&found, "count-dtstart-not-matching"),
        pairs(&[
            ("2024-01-02T10:00:00Z", "2024-01-02T11:00:00Z"),
            ("2024-01-08T10:00:00Z", "2024-01-08T11:00:00Z"),
            ("2024-01-15T10:00:00Z", "2024-01-15T11:00:00Z"),
            ("2024-01-22T10:00:00Z", "2024-01-22T11:00:00Z"),
        ])
    );
    // BYWEEKNO=2 alone: the Wednesday (DTSTART's weekday) of ISO week 2.
    assert_eq!(
        times_of(&found, "byweekno-without-byday"),
        pairs(&[
            ("2024-01-03", "2024-01-04"),
            ("2024-01-10", "2024-01-11"),
            ("2025-01-08", "2025-01-09"),
        ])
    );
    // BYSETPOS=2 in the week of a Wednesday DTSTART is that week's Tuesday (before DTSTART):
    // the first week adds nothing beyond DTSTART.
    assert_eq!(
        times_of(&found, "bysetpos-first-week"),
        pairs(&[
            ("2024-01-03T09:00:00Z", "2024-01-03T10:00:00Z"),
            ("2024-01-09T09:00:00Z", "2024-01-09T10:00:00Z"),
            ("2024-01-16T09:00:00Z", "2024-01-16T10:00:00Z"),
        ])
    );
    // BYHOUR on an all-day series is ignored: one occurrence a day.
    assert_eq!(
        times_of(&found, "byhour-on-date"),
        pairs(&[
            ("2024-02-01", "2024-02-02"),
            ("2024-02-02", "2024-02-03"),
            ("2024-02-03", "2024-02-04"),
        ])
    );
    assert!(
        warned(&warnings, "byhour-on-date", "BYHOUR"),
        "{warnings:?}"
    );
    // A sub-daily rule on an all-day series: one occurrence a day, not 24 identical ones.
    assert_eq!(
        times_of(&found, "hourly-on-date"),
        pairs(&[
            ("2024-03-01", "2024-03-02"),
            ("2024-03-02", "2024-03-03"),
            ("2024-03-03", "2024-03-04"),
        ])
    );
}

#[test]
fn the_readable_part_of_a_broken_rrule_is_kept_with_a_warning() {
    let (found, warnings) =
        occurrences(&rfc("broken_rrule.ics"), "2024-01-01", "2025-01-01", "UTC");
    let starts =
        |uid: &str| -> Vec<String> { times_of(&found, uid).into_iter().map(|(s, _)| s).collect() };
    assert_eq!(
        starts("negative-count"),
        [
            "2024-01-01T10:00:00Z",
            "2024-01-29T10:00:00Z",
            "2024-02-26T10:00:00Z",
            "2024-03-25T10:00:00Z"
        ]
    );
    assert!(
        warned(&warnings, "negative-count", "COUNT=-1"),
        "{warnings:?}"
    );
    assert_eq!(starts("escaped-semicolon").len(), 10);
    assert!(
        warned(&warnings, "escaped-semicolon", "escaped"),
        "{warnings:?}"
    );
    assert_eq!(starts("bad-byday").len(), 3);
    assert!(warned(&warnings, "bad-byday", "BYDAY"), "{warnings:?}");
}

#[test]
fn a_date_recurrence_id_on_a_timed_series_matches_by_date() {
    let (found, warnings) = occurrences(
        &rfc("recurrence_id_other_type.ics"),
        "2024-01-01",
        "2024-02-01",
        "UTC",
    );
    let list: Vec<(String, String, Option<String>)> = found
        .iter()
        .map(|o| {
            (
                o.start.to_string(),
                o.summary.as_deref().unwrap_or("").to_owned(),
                o.recurrence_id.map(|r| r.to_string()),
            )
        })
        .collect();
    assert_eq!(
        list,
        [
            (
                "2024-01-02T09:00:00Z".to_owned(),
                "daily at 10 in Oslo".to_owned(),
                Some("2024-01-02T09:00:00Z".to_owned())
            ),
            (
                "2024-01-03T13:00:00Z".to_owned(),
                "moved to 14".to_owned(),
                Some("2024-01-03T09:00:00Z".to_owned())
            ),
            (
                "2024-01-04T09:00:00Z".to_owned(),
                "daily at 10 in Oslo".to_owned(),
                Some("2024-01-04T09:00:00Z".to_owned())
            ),
            (
                "2024-01-05T09:00:00Z".to_owned(),
                "cancelled".to_owned(),
                Some("2024-01-05T09:00:00Z".to_owned())
            ),
        ]
    );
    assert!(
        !warnings.iter().any(|w| w.contains("matches no occurrence")),
        "{warnings:?}"
    );
}

#[test]
fn each_calendar_of_a_file_reads_its_own_vtimezone() {
    let (found, warnings) = occurrences(
        &rfc("several_calendars.ics"),
        "2024-03-01",
        "2024-03-02",
        "UTC",
    );
    // The first of two definitions in one calendar (+01:00), the second calendar's own (-05:00).
    assert_eq!(
        times_of(&found, "first-calendar"),
        pairs(&[("2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z")])
    );
    assert_eq!(
        times_of(&found, "second-calendar"),
        pairs(&[("2024-03-01T15:00:00Z", "2024-03-01T16:00:00Z")])
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("two VTIMEZONEs define TZID \"Office Time\"")),
        "{warnings:?}"
    );
}

#[test]
fn every_repaired_value_is_warned_about() {
    let (found, warnings) = occurrences(&rfc("repairs.ics"), "2024-01-01", "2024-02-01", "UTC");
    assert_eq!(
        times_of(&found, "no-seconds"),
        pairs(&[("2024-01-01T13:00:00Z", "2024-01-01T14:00:00Z")])
    );
    assert!(
        warned(
            &warnings,
            "no-seconds",
            "DTSTART \"20240101T1300Z\" has no seconds"
        ),
        "{warnings:?}"
    );
    assert!(
        warned(
            &warnings,
            "no-seconds",
            "DTEND \"20240101T1400Z\" has no seconds"
        ),
        "{warnings:?}"
    );
    assert_eq!(
        times_of(&found, "iso-form"),
        pairs(&[("2024-01-02T09:00:00Z", "2024-01-02T10:30:00Z")])
    );
    assert!(warned(&warnings, "iso-form", "ISO 8601"), "{warnings:?}");
    assert_eq!(
        times_of(&found, "date-end-on-timed"),
        pairs(&[("2024-01-03T10:00:00Z", "2024-01-04T00:00:00Z")])
    );
    assert!(
        warned(&warnings, "date-end-on-timed", "DTEND is a date"),
        "{warnings:?}"
    );
    // A UTC UNTIL on an all-day series counts by its day, and says so.
    assert_eq!(
        times_of(&found, "until-date-time-on-date"),
        pairs(&[
            ("2024-01-10", "2024-01-11"),
            ("2024-01-11", "2024-01-12"),
            ("2024-01-12", "2024-01-13"),
        ])
    );
    assert!(
        warned(&warnings, "until-date-time-on-date", "UNTIL is a date-time"),
        "{warnings:?}"
    );
}

#[test]
fn a_non_gregorian_rscale_refuses_the_series() {
    let (found, warnings) = occurrences(&rfc("rscale.ics"), "2024-01-01", "2027-01-01", "UTC");
    assert!(times_of(&found, "hebrew-yearly").is_empty(), "{found:?}");
    assert!(
        warned(&warnings, "hebrew-yearly", "RSCALE=HEBREW"),
        "{warnings:?}"
    );
    assert_eq!(
        times_of(&found, "gregorian-rscale"),
        pairs(&[("2024-01-31", "2024-02-01"), ("2024-03-31", "2024-04-01")])
    );
}

/// `feed occurrences` of each fixture, byte for byte, through the real binary.
#[test]
fn feed_occurrences_output_of_each_fixture_is_pinned() {
    for name in [
        "floating_end",
        "value_date_with_time",
        "rrule_semantics",
        "broken_rrule",
        "recurrence_id_other_type",
        "several_calendars",
        "repairs",
        "rscale",
    ] {
        let out = Command::new(super::super::helpers::binary())
            .args(["feed", "occurrences", "--file"])
            .arg(rfc(&format!("{name}.ics")))
            .args(["--from", "2024-01-01", "--to", "2026-01-01"])
            .output()
            .expect("binary runs");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pinned = std::fs::read_to_string(rfc(&format!("{name}.json"))).expect("pinned output");
        assert_eq!(String::from_utf8_lossy(&out.stdout), pinned, "{name}");
    }
}

/// An instance moved into the window from weeks before it is found by its override, whatever
/// the RECURRENCE-ID's type (date-time, date on a timed series, date on an all-day series); an
/// instance moved out of the window is gone; an override that stays before the window and a
/// series that ended before it say nothing; an override naming no instance is still warned of.
#[test]
fn an_instance_moved_into_the_window_from_before_it_is_kept() {
    let (found, warnings) = occurrences(
        &rfc("moved_into_window.ics"),
        "2025-06-01",
        "2025-07-01",
        "UTC",
    );
    let moved = |uid: &str| -> Vec<(String, String)> {
        found
            .iter()
            .filter(|o| &*o.uid == uid && o.summary.as_deref().is_some_and(|s| s.contains("moved")))
            .map(|o| {
                (
                    o.start.to_string(),
                    o.recurrence_id.map(|r| r.to_string()).unwrap_or_default(),
                )
            })
            .collect()
    };
    assert_eq!(
        moved("weekly-moved"),
        pairs(&[("2025-06-03T15:00:00Z", "2025-05-16T15:00:00Z")])
    );
    assert_eq!(
        moved("date-moved"),
        pairs(&[("2025-06-02T09:00:00Z", "2025-05-08T09:00:00Z")])
    );
    assert_eq!(
        moved("allday-moved"),
        pairs(&[("2025-06-10", "2025-05-12")])
    );
    // The series' own instances in June are all there beside the moved ones.
    let count = |uid: &str| found.iter().filter(|o| &*o.uid == uid).count();
    assert_eq!(count("weekly-moved"), 5);
    assert_eq!(count("date-moved"), 5);
    assert_eq!(count("allday-moved"), 6);
    assert_eq!(count("stays-old"), 5);
    assert_eq!(count("ended"), 0);
    assert_eq!(
        times_of(&found, "moved-out")
            .iter()
            .map(|(start, _)| start.as_str())
            .collect::<Vec<_>>(),
        [
            "2025-06-02T08:00:00Z",
            "2025-06-16T08:00:00Z",
            "2025-06-23T08:00:00Z",
            "2025-06-30T08:00:00Z"
        ]
    );
    for quiet in [
        "stays-old",
        "ended",
        "weekly-moved",
        "date-moved",
        "allday-moved",
    ] {
        assert!(
            !warnings
                .iter()
                .any(|w| w.contains(&format!("UID {quiet} "))),
            "{quiet}: {warnings:?}"
        );
    }
    assert!(
        warned(&warnings, "not-an-instance", "matches no occurrence"),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

/// The same fixture through the real binary, in its own window, byte for byte.
#[test]
fn feed_occurrences_of_an_instance_moved_into_the_window_is_pinned() {
    let out = Command::new(super::super::helpers::binary())
        .args(["feed", "occurrences", "--file"])
        .arg(rfc("moved_into_window.ics"))
        .args(["--from", "2025-06-01", "--to", "2025-07-01"])
        .output()
        .expect("binary runs");
    assert!(out.status.success());
    let pinned = std::fs::read_to_string(rfc("moved_into_window.json")).expect("pinned output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), pinned);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not-an-instance"), "{stderr}");
}

/// An instance that both an EXDATE and an override name is deleted, override and all (a
/// deleted modification, as python's reader and the issue 163 calendar of its tests read it):
/// a host who deletes a moved stay takes the guest's access with it. An override of an
/// instance no EXDATE names still moves it.
#[test]
fn an_exdate_deletes_its_instance_and_its_override() {
    let (found, warnings) = occurrences(
        &rfc("exdate_and_override.ics"),
        "2025-06-01",
        "2025-06-30",
        "UTC",
    );
    let on = |uid: &str, day: &str| -> Vec<String> {
        found
            .iter()
            .filter(|o| &*o.uid == uid && o.start.to_string().starts_with(day))
            .map(|o| o.start.to_string())
            .collect()
    };
    for day in ["2025-06-10", "2025-06-12", "2025-06-14", "2025-06-16"] {
        assert_eq!(on("daily", day), Vec::<String>::new(), "{day}");
    }
    assert_eq!(on("daily", "2025-06-11"), ["2025-06-11T09:00:00Z"]);
    assert_eq!(on("allday", "2025-06-09"), Vec::<String>::new());
    assert_eq!(on("allday", "2025-06-10"), Vec::<String>::new());
    assert_eq!(on("allday", "2025-06-16"), Vec::<String>::new());
    assert_eq!(found.iter().filter(|o| &*o.uid == "daily").count(), 16);
    assert_eq!(found.iter().filter(|o| &*o.uid == "allday").count(), 2);
    assert!(found.iter().all(|o| o.status.is_none()), "{found:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    let stderr = super::pinned_rfc_occurrences("exdate_and_override", "2025-06-01", "2025-06-30");
    assert!(stderr.is_empty(), "{stderr}");
}

/// One UID written two ways (escaped or not, `\n` or `\N`, after a quoted parameter holding a
/// `:`, after a nested VALARM's own UID) is one series: its override replaces the instance it
/// names, through the library and through the real binary alike.
#[test]
fn an_override_finds_its_series_however_the_uid_is_spelled() {
    let path = rfc("uid_spellings.ics");
    let (found, warnings) = occurrences(&path, "2024-03-01", "2024-04-01", "UTC");
    for uid in ["comma,1", "quoted-2", "alarm-3", "line\nbreak-4"] {
        let list: Vec<(String, &str)> = found
            .iter()
            .filter(|o| &*o.uid == uid)
            .map(|o| (o.start.to_string(), o.summary.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            list,
            [
                ("2024-03-04T10:00:00Z".to_owned(), "series"),
                ("2024-03-05T15:00:00Z".to_owned(), "moved"),
                ("2024-03-06T10:00:00Z".to_owned(), "series"),
            ],
            "{uid:?}"
        );
    }
    assert_eq!(found.len(), 12);
    assert!(warnings.is_empty(), "{warnings:?}");

    let printed = super::printed_occurrences(&path, "2024-03-01", "2024-04-01");
    assert_eq!(printed.len(), 12, "{printed:?}");
    let moved = printed.iter().filter(|o| o["summary"] == "moved").count();
    assert_eq!(moved, 4, "{printed:?}");
}

/// An instance moved into the window from months after it is found by its override (a
/// date-time, or a date RECURRENCE-ID on a timed or an all-day series); one moved to another
/// day after the window stays out of it, and none is warned of.
#[test]
fn an_instance_moved_months_into_the_window_from_after_it_is_kept() {
    let (found, warnings) = occurrences(
        &rfc("moved_from_after_window.ics"),
        "2024-03-01",
        "2024-03-10",
        "UTC",
    );
    let list: Vec<(&str, String, &str)> = found
        .iter()
        .map(|o| {
            let summary = o.summary.as_deref().unwrap_or("");
            (&*o.uid, o.start.to_string(), summary)
        })
        .collect();
    let row = |uid, start: &str, summary| (uid, start.to_owned(), summary);
    assert_eq!(
        list,
        [
            row("pulled-3", "2024-03-01", "series"),
            row("pulled-1", "2024-03-01T10:00:00Z", "series"),
            row("pulled-2", "2024-03-01T10:00:00Z", "series"),
            row("pulled-4", "2024-03-01T10:00:00Z", "series"),
            row("pulled-1", "2024-03-05T15:00:00Z", "moved"),
            row("pulled-2", "2024-03-06T15:00:00Z", "moved"),
            row("pulled-3", "2024-03-07", "moved"),
        ]
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}
