//! Hand-checked occurrences of corpus files: Windows zone names, DST change-overs, EXDATE,
//! RECURRENCE-ID overrides, THISANDFUTURE, all-day and floating times, cancelled occurrences.

use super::*;

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
