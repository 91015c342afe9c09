//! Found by the differential hunt (`benches/ical_fuzz.py`): a THISANDFUTURE override moves
//! (or stretches) every instance after it, so instances the rule makes well before or after
//! the window can land in it. The rule stopped at the window and its margin, and those
//! bookings were lost at the window's start and end.

use super::{fixture, occurrences, pinned_rfc_occurrences, starts, times_of};

fn calendar() -> std::path::PathBuf {
    fixture("rfc/this_and_future_reach.ics")
}

#[test]
fn instances_a_this_and_future_override_moves_into_the_window_are_kept() {
    let (found, warnings) = occurrences(&calendar(), "2025-06-01", "2025-07-01", "UTC");
    // Ten days later from 10 May: 22 May's instance is on 1 June, and every June day is there.
    let later = starts(times_of(&found, "pushed-later"));
    assert_eq!(later.len(), 30, "{later:?}");
    assert_eq!(
        later.first().map(String::as_str),
        Some("2025-06-01T09:00:00Z")
    );
    let moved_from = found
        .iter()
        .find(|o| &*o.uid == "pushed-later")
        .and_then(|o| o.recurrence_id)
        .map(|r| r.to_string());
    assert_eq!(moved_from.as_deref(), Some("2025-05-22T09:00:00Z"));
    // Ten days earlier from 12 May: 7 July's instance is on 27 June (10:00 in Berlin).
    assert_eq!(
        starts(times_of(&found, "pulled-earlier")),
        [
            "2025-06-06T08:00:00Z",
            "2025-06-13T08:00:00Z",
            "2025-06-20T08:00:00Z",
            "2025-06-27T08:00:00Z"
        ]
    );
    // Twenty days long from 10 May: 17 May's instance lasts until 6 June.
    let stretched = times_of(&found, "stretched");
    assert_eq!(
        stretched.first(),
        Some(&("2025-05-17".to_owned(), "2025-06-06".to_owned()))
    );
    assert_eq!(stretched.len(), 7, "{stretched:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// The same fixture through the real binary, byte for byte.
#[test]
fn feed_occurrences_of_this_and_future_moves_into_the_window_is_pinned() {
    let stderr = pinned_rfc_occurrences("this_and_future_reach", "2025-06-01", "2025-06-30");
    assert!(stderr.is_empty(), "{stderr}");
}
