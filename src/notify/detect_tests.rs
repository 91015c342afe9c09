use chrono::TimeZone;

use super::*;

fn t(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, day, hour, minute, 0).unwrap()
}

fn stay(key: &str, source: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Stay {
    Stay {
        key: key.to_owned(),
        object: EventObject {
            id: 7,
            name: "Cabin 7".to_owned(),
            timezone: Some("Europe/Stockholm".to_owned()),
        },
        units: vec![3023],
        source: source.to_owned(),
        label: format!("Guest {key}"),
        start,
        end,
        phones: vec!["070-123 45 67".to_owned()],
        rfid: Some("04A2B3C4D5".to_owned()),
        overlap_ok: false,
        confirmed: true,
    }
}

fn entry(at: DateTime<Utc>, source_id: &str, message: &str) -> AccessEntry {
    AccessEntry {
        unit_id: 3023,
        at,
        source_id: source_id.to_owned(),
        labels: vec![],
        message: message.to_owned(),
    }
}

const OPENED: &str = "puls på X-utgång via telefon/rfid/tangentbord";
const REFUSED: &str = "numret finns inte registrerat";

#[test]
fn phones_written_differently_in_feed_and_log_match_in_e164() {
    // (phone in the feed, sourceID in the log, match?)
    let cases = [
        ("070-123 45 67", "+46701234567", true),
        ("070-123 45 67", "46701234567", true),
        ("070-123 45 67", "0701234567", true),
        ("+46 (0)70 123 45 67", "0046701234567", true),
        ("0046701234567", "070 123 45 67", true),
        ("+46701234567", "+46701234568", false),
        // Without trunk 0 or country code, as the API's examples suggest a unit may log it.
        ("+46701234567", "701234567", true),
        ("+1 (415) 555-0100", "14155550100", true),
        ("+1 (415) 555-0100", "4155550100", false),
        ("070-123 45 67", "Informationslogg", false),
        ("070-123 45 67", "", false),
        ("not a phone", "not a phone", false),
    ];
    for (feed, log, expected) in cases {
        let mut s = stay("a", "airbnb", t(1, 13, 0), t(3, 9, 0));
        s.phones = vec![feed.to_owned()];
        s.rfid = None;
        assert_eq!(
            credential_matches(&s, log, "46"),
            expected,
            "{feed} vs {log}"
        );
    }
    let s = stay("a", "airbnb", t(1, 13, 0), t(3, 9, 0));
    assert!(
        credential_matches(&s, "04a2b3c4d5", "46"),
        "tags ignore case"
    );
    assert!(!credential_matches(&s, "04A2B3C4D6", "46"));
}

#[test]
fn check_in_is_the_first_matching_opening_during_the_stay() {
    let s = stay("a", "airbnb", t(1, 13, 0), t(3, 9, 0));
    let rules = DetectRules::default();
    // (entries, expected check-in time)
    let cases: Vec<(Vec<AccessEntry>, Option<DateTime<Utc>>)> = vec![
        (vec![], None),
        (
            vec![entry(t(1, 15, 0), "46701234567", OPENED)],
            Some(t(1, 15, 0)),
        ),
        (
            vec![
                entry(t(2, 8, 0), "+46701234567", OPENED),
                entry(t(1, 16, 30), "04A2B3C4D5", "Öppnad med RFID-tagg"),
            ],
            Some(t(1, 16, 30)),
        ),
        // Before the stay, after it, someone else, a refusal, another unit: none is a check-in.
        (vec![entry(t(1, 12, 59), "+46701234567", OPENED)], None),
        (vec![entry(t(3, 9, 0), "+46701234567", OPENED)], None),
        (vec![entry(t(1, 15, 0), "+46702345678", OPENED)], None),
        (vec![entry(t(1, 15, 0), "+46701234567", REFUSED)], None),
        (
            vec![AccessEntry {
                unit_id: 9999,
                ..entry(t(1, 15, 0), "+46701234567", OPENED)
            }],
            None,
        ),
    ];
    for (i, (entries, expected)) in cases.iter().enumerate() {
        assert_eq!(
            check_in(&s, entries, &rules).map(|e| e.at),
            *expected,
            "case {i}"
        );
    }
}

#[test]
fn no_show_waits_for_the_deadline_and_for_the_log_to_reach_it() {
    let s = stay("a", "airbnb", t(1, 13, 0), t(3, 9, 0));
    let rules = DetectRules::default(); // six hours
    // (checked in, now, log known to, no-show?)
    let cases = [
        (false, t(1, 19, 0), t(1, 19, 0), true),
        (false, t(1, 18, 59), t(1, 18, 59), false),
        (true, t(1, 20, 0), t(1, 20, 0), false),
        (false, t(1, 20, 0), t(1, 18, 0), false),
        (false, t(3, 9, 0), t(3, 9, 0), false),
    ];
    for (checked_in, now, known, expected) in cases {
        assert_eq!(
            is_no_show(&s, checked_in, now, known, &rules),
            expected,
            "{checked_in} {now} {known}"
        );
    }
}

#[test]
fn a_refusal_counts_from_two_hours_before_the_stay_to_its_end() {
    let s = stay("a", "airbnb", t(1, 13, 0), t(3, 9, 0));
    let rules = DetectRules::default();
    // (entry, locked out?)
    let cases = [
        (entry(t(1, 11, 0), "0701234567", REFUSED), true),
        (entry(t(1, 10, 59), "0701234567", REFUSED), false),
        (
            entry(t(2, 23, 0), "+46701234567", "Nekad: ingen giltig bokning"),
            true,
        ),
        (entry(t(3, 9, 0), "+46701234567", REFUSED), false),
        (entry(t(1, 14, 0), "+46701234567", OPENED), false),
        (entry(t(1, 14, 0), "+46709999999", REFUSED), false),
        (
            AccessEntry {
                labels: vec!["- Saknas -".to_owned(), "Nekad".to_owned()],
                ..entry(t(1, 14, 0), "04A2B3C4D5", "")
            },
            true,
        ),
    ];
    for (e, expected) in cases {
        let entries = [e.clone()];
        assert_eq!(denials(&s, &entries, &rules).len() == 1, expected, "{e:?}");
    }
}

#[test]
fn overlaps_of_different_sources_on_one_object_are_double_bookings() {
    let a = stay("a", "airbnb", t(1, 13, 0), t(3, 9, 0));
    // (other stay, double booked?)
    let cases = [
        (stay("b", "booking", t(2, 13, 0), t(4, 9, 0)), true),
        (stay("b", "booking", t(3, 9, 0), t(4, 9, 0)), false),
        (stay("b", "booking", t(1, 0, 0), t(1, 13, 0)), false),
        (stay("b", "airbnb", t(2, 13, 0), t(4, 9, 0)), false),
        (
            Stay {
                overlap_ok: true,
                ..stay("b", "cleaning", t(2, 10, 0), t(2, 12, 0))
            },
            false,
        ),
        (
            Stay {
                object: EventObject {
                    id: 8,
                    name: "Cabin 8".to_owned(),
                    timezone: None,
                },
                ..stay("b", "booking", t(2, 13, 0), t(4, 9, 0))
            },
            false,
        ),
        (stay("b", "booking", t(1, 0, 0), t(9, 0, 0)), true),
    ];
    for (other, expected) in cases {
        let stays = [a.clone(), other.clone()];
        assert_eq!(double_bookings(&stays).len() == 1, expected, "{other:?}");
    }
    // Three overlapping stays of three sources: three pairs, each once.
    let stays = [
        a.clone(),
        stay("b", "booking", t(2, 0, 0), t(4, 0, 0)),
        stay("c", "vrbo", t(2, 12, 0), t(2, 14, 0)),
    ];
    assert_eq!(double_bookings(&stays).len(), 3);
}

#[test]
fn detect_yields_each_fact_once_with_stable_ids() {
    let mut unconfirmed = stay("c", "airbnb", t(2, 13, 0), t(4, 9, 0));
    unconfirmed.confirmed = false;
    unconfirmed.phones = vec!["+46702345678".to_owned()];
    let stays = [
        stay("a", "airbnb", t(1, 13, 0), t(3, 9, 0)),
        stay("b", "booking", t(1, 15, 0), t(2, 9, 0)),
        unconfirmed,
    ];
    let entries = [
        entry(t(1, 12, 0), "46701234567", REFUSED),
        entry(t(1, 14, 0), "46701234567", OPENED),
    ];
    let rules = DetectRules::default();
    let now = t(1, 22, 0);
    let events = detect(&stays, &entries, now, now, &rules);
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::GuestCheckedIn,
            EventKind::GuestDenied,
            EventKind::GuestNoShow,
            EventKind::ArrivalUnconfirmed,
            EventKind::StayDoubleBooked,
        ]
    );
    // b shares a's phone but starts at 15:00, after a's opening: a no-show by 21:00. a and c
    // are both airbnb, b and c do not overlap: one double booking.
    let again = detect(&stays, &entries, now + Duration::minutes(5), now, &rules);
    let ids = |list: &[NewEvent]| list.iter().map(NewEvent::id).collect::<Vec<_>>();
    assert_eq!(ids(&events), ids(&again));
}
