//! Found by the differential hunt (`benches/ical_fuzz.py`): a RECURRENCE-ID, EXDATE or RDATE
//! in the series' own zone naming an instance at a wall-clock time the spring-forward gap
//! skips (02:30 on the day clocks go from 02:00 to 03:00). Read through UTC and back it became
//! 03:30 and matched nothing: the override was lost, the EXDATE removed nothing, the RDATE
//! doubled the instance.

use super::{fixture, occurrences, pinned_rfc_occurrences, starts, times_of};

fn calendar() -> std::path::PathBuf {
    fixture("rfc/dst_gap_instance.ics")
}

#[test]
fn values_naming_an_instance_in_the_dst_gap_match_it() {
    let (found, warnings) = occurrences(&calendar(), "2025-03-01", "2025-04-30", "UTC");
    // The override replaces the 30 March instance (02:30 does not exist in Berlin that day;
    // RFC 5545 reads it with the offset before the gap: 01:30 UTC).
    assert_eq!(
        starts(times_of(&found, "gap-moved")),
        [
            "2025-03-23T01:30:00Z",
            "2025-03-30T10:00:00Z",
            "2025-04-06T00:30:00Z",
            "2025-04-13T00:30:00Z"
        ]
    );
    let moved = found
        .iter()
        .find(|o| &*o.uid == "gap-moved" && o.start.to_string() == "2025-03-30T10:00:00Z")
        .expect("the override");
    assert_eq!(
        moved.recurrence_id.map(|r| r.to_string()).as_deref(),
        Some("2025-03-30T01:30:00Z")
    );
    // The EXDATE at 02:30 on 9 March (New York's gap) removes that night.
    assert_eq!(
        starts(times_of(&found, "gap-excluded")),
        [
            "2025-03-07T07:30:00Z",
            "2025-03-08T07:30:00Z",
            "2025-03-10T06:30:00Z",
            "2025-03-11T06:30:00Z"
        ]
    );
    // In a VTIMEZONE of the calendar's own: the RDATE equal to a rule instance is one
    // instance, and the override replaces it.
    assert_eq!(
        starts(times_of(&found, "gap-custom-zone")),
        [
            "2025-03-28T01:30:00Z",
            "2025-03-29T01:30:00Z",
            "2025-03-30T20:00:00Z",
            "2025-03-31T00:30:00Z"
        ]
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// The same fixture through the real binary, byte for byte.
#[test]
fn feed_occurrences_of_instances_in_the_dst_gap_is_pinned() {
    let stderr = pinned_rfc_occurrences("dst_gap_instance", "2025-03-01", "2025-04-30");
    assert!(stderr.is_empty(), "{stderr}");
}
