//! Found by the differential hunt (`benches/ical_fuzz.py`): an instance after the window moved
//! earlier, into it, by its override. The rule is not run that far, and the booking was lost.

use flexysync::sources::ical::Occurrence;

use super::{fixture, occurrences, pinned_rfc_occurrences};

fn calendar() -> std::path::PathBuf {
    fixture("rfc/moved_earlier_into_window.ics")
}

/// (start, recurrence id) of the occurrences of `uid` not at their own RECURRENCE-ID.
fn moved(found: &[Occurrence], uid: &str) -> Vec<(String, String)> {
    found
        .iter()
        .filter(|o| &*o.uid == uid && o.recurrence_id != Some(o.start))
        .map(|o| {
            (
                o.start.to_string(),
                o.recurrence_id.map(|r| r.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

fn pair(start: &str, rid: &str) -> Vec<(String, String)> {
    vec![(start.to_owned(), rid.to_owned())]
}

#[test]
fn an_instance_moved_into_the_window_from_after_it_is_kept() {
    let (found, _) = occurrences(&calendar(), "2025-06-01", "2025-07-01", "UTC");
    // Months after the window, in a series that began before it.
    assert_eq!(
        moved(&found, "weekly-pulled-in"),
        pair("2025-06-04T15:00:00Z", "2025-09-05T15:00:00Z")
    );
    // A COUNT series that begins after the window (10:00 in Berlin is 08:00 UTC).
    assert_eq!(
        moved(&found, "starts-later"),
        pair("2025-06-10T08:00:00Z", "2025-08-18T07:00:00Z")
    );
    // A DATE RECURRENCE-ID names that day's instance of a timed series.
    assert_eq!(
        moved(&found, "by-date"),
        pair("2025-06-15T12:00:00Z", "2025-10-01T09:00:00Z")
    );
    // An all-day series, the instance a year later.
    assert_eq!(
        moved(&found, "yearly-all-day"),
        pair("2025-06-20", "2026-07-20")
    );
    // The series' own instances in June are all there beside the moved ones.
    let count = |uid: &str| found.iter().filter(|o| &*o.uid == uid).count();
    assert_eq!(count("weekly-pulled-in"), 5);
    assert_eq!(count("starts-later"), 1);
    assert_eq!(count("by-date"), 31);
    assert_eq!(count("yearly-all-day"), 1);
    assert_eq!(count("ended"), 4);
}

#[test]
fn an_override_from_after_the_window_that_names_no_instance_is_warned_and_dropped() {
    let (found, warnings) = occurrences(&calendar(), "2025-06-01", "2025-07-01", "UTC");
    let summaries: Vec<&str> = found.iter().filter_map(|o| o.summary.as_deref()).collect();
    for dropped in [
        "names a Saturday the series never had",
        "names an instance an EXDATE removed",
        "an eleventh Monday, past COUNT",
        "names a Friday after UNTIL",
        "moved a day, still in September",
    ] {
        assert!(!summaries.contains(&dropped), "{dropped}: {summaries:?}");
    }
    let warned = |uid: &str, rid: &str| {
        warnings.iter().any(|w| {
            w.contains(&format!("UID {uid} "))
                && w.contains(rid)
                && w.contains("matches no occurrence")
        })
    };
    assert!(
        warned("weekly-pulled-in", "2025-09-06 15:00:00"),
        "{warnings:?}"
    );
    // Its instance was deleted by EXDATE: dropped without a word.
    assert!(
        !warnings.iter().any(|w| w.contains("2025-09-12 15:00:00")),
        "{warnings:?}"
    );
    assert!(
        warned("starts-later", "2025-10-13 09:00:00"),
        "{warnings:?}"
    );
    assert!(warned("ended", "2025-09-05 15:00:00"), "{warnings:?}");
    // The override that stays after the window changes nothing here and is not checked.
    assert_eq!(warnings.len(), 3, "{warnings:?}");
}

/// The same fixture through the real binary, byte for byte.
#[test]
fn feed_occurrences_of_an_instance_moved_in_from_after_the_window_is_pinned() {
    let stderr = pinned_rfc_occurrences("moved_earlier_into_window", "2025-06-01", "2025-06-30");
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
}

#[test]
fn an_override_from_beyond_the_iteration_cap_is_warned_as_not_reached() {
    // Every minute, COUNT-bound (run from DTSTART): a year on is far past the iteration cap.
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n\
        BEGIN:VEVENT\r\nUID:minutely\r\nDTSTAMP:20250101T000000Z\r\n\
        DTSTART:20250601T000000Z\r\nRRULE:FREQ=MINUTELY;COUNT=1000000\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:minutely\r\nDTSTAMP:20250101T000000Z\r\n\
        RECURRENCE-ID:20260601T000000Z\r\nDTSTART:20250601T120000Z\r\n\
        DTEND:20250601T130000Z\r\nSUMMARY:a year on, moved into the window\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("minutely.ics");
    std::fs::write(&path, text).expect("written");
    let (found, warnings) = occurrences(&path, "2025-06-01", "2025-06-02", "UTC");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("2026-06-01 00:00:00") && w.contains("not reached")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("matches no occurrence")),
        "{warnings:?}"
    );
    assert!(found.iter().all(|o| o.summary.is_none()));
}
