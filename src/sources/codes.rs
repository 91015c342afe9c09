//! Keypad codes are unique per door at any one time, across sources too: a source derives its
//! codes knowing only its own stays, so two sources feeding one booking object (Airbnb and
//! Booking.com for one cabin, a cleaning rota) could hand two guests the same code.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::model::StoredReservation;
use crate::sources::ical::derive_code;

/// How far back a code is looked for among a key's derived candidates.
const MAX_ATTEMPT: u32 = 1000;

type Windows = Vec<(String, DateTime<Utc>, DateTime<Utc>)>;

/// Gives every derived code in `merged` that clashes with an overlapping stay of `earlier`
/// (the sources read before this one) on the same object its next candidate, in key order,
/// so the outcome is stable from pass to pass. A clash of codes that were not derived (a
/// guest's own phone digits) cannot be mended; it is returned as a warning.
pub fn distinct_across_sources(
    merged: &mut [StoredReservation],
    earlier: &[StoredReservation],
    secret: &[u8],
    length: u8,
) -> Vec<String> {
    let mut taken: HashMap<(i64, String), Windows> = HashMap::new();
    let note = |taken: &mut HashMap<(i64, String), Windows>, stored: &StoredReservation| {
        let r = &stored.reservation;
        if let Some(code) = &r.credentials.code {
            taken
                .entry((r.booking_object_id, code.as_str().to_owned()))
                .or_default()
                .push((r.key.clone(), r.start, r.end));
        }
    };
    for stored in earlier.iter().chain(merged.iter()) {
        note(&mut taken, stored);
    }
    let mut order: Vec<usize> = (0..merged.len()).collect();
    order.sort_by(|a, b| merged[*a].reservation.key.cmp(&merged[*b].reservation.key));
    let mut warnings = vec![];
    for index in order {
        let r = &merged[index].reservation;
        let Some(code) = r.credentials.code.as_ref().map(|c| c.as_str().to_owned()) else {
            continue;
        };
        let (object, key, start, end) = (r.booking_object_id, r.key.clone(), r.start, r.end);
        let clashes = |taken: &HashMap<(i64, String), Windows>, code: &str| {
            taken
                .get(&(object, code.to_owned()))
                .is_some_and(|windows| {
                    windows
                        .iter()
                        .any(|(other, s, e)| *other != key && *s < end && *e > start)
                })
        };
        if !clashes(&taken, &code) {
            continue;
        }
        let Some(mut attempt) =
            (0..=MAX_ATTEMPT).find(|n| derive_code(secret, &key, length, *n) == code)
        else {
            warnings.push(format!(
                "{key}: its keypad code is also another overlapping stay's on booking object \
                 {object} (a guest's own digits: not changed)"
            ));
            continue;
        };
        let mut next = code.clone();
        while clashes(&taken, &next) && attempt < MAX_ATTEMPT {
            attempt += 1;
            next = derive_code(secret, &key, length, attempt);
        }
        if let Some(windows) = taken.get_mut(&(object, code)) {
            windows.retain(|(other, _, _)| *other != key);
        }
        let stored = &mut merged[index];
        stored.reservation.credentials.code = Some(next.into());
        stored.fingerprint = stored.reservation.fingerprint();
        note(&mut taken, stored);
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Credentials, Reservation};
    use chrono::TimeZone;

    const SECRET: &[u8] = b"installation secret";

    fn stay(source: &str, uid: &str, day: u32, code: String) -> StoredReservation {
        let start = Utc.with_ymd_and_hms(2026, 12, day, 14, 0, 0).unwrap();
        let reservation = Reservation {
            source: source.into(),
            key: format!("{source}/{uid}/"),
            booking_object_id: 123,
            start,
            end: start + chrono::Duration::days(3),
            credentials: Credentials {
                phones: vec![],
                code: Some(code.into()),
                rfid: None,
            },
            label: uid.into(),
        };
        StoredReservation::new(reservation, start)
    }

    fn derived(source: &str, uid: &str) -> String {
        derive_code(SECRET, &format!("{source}/{uid}/"), 4, 0)
    }

    /// A uid of source `b` whose first derived code equals `code`.
    fn colliding_uid(code: &str) -> String {
        (0..1_000_000)
            .map(|n| format!("guest-{n}"))
            .find(|uid| derived("b", uid) == code)
            .expect("a 4-digit collision within a million keys")
    }

    #[test]
    fn a_clash_with_another_source_takes_the_next_derived_code_stably() {
        let a = stay("a", "first", 1, derived("a", "first"));
        let uid = colliding_uid(&derived("a", "first"));
        let mut merged = vec![stay("b", &uid, 2, derived("b", &uid))];
        let before = merged[0].fingerprint.clone();
        let warnings = distinct_across_sources(&mut merged, std::slice::from_ref(&a), SECRET, 4);
        assert!(warnings.is_empty());
        let code = merged[0].reservation.credentials.code.clone().unwrap();
        assert_ne!(Some(&code), a.reservation.credentials.code.as_ref());
        let code = code.into_string();
        assert_eq!(code, derive_code(SECRET, &format!("b/{uid}/"), 4, 1));
        assert_ne!(
            merged[0].fingerprint, before,
            "the fingerprint follows the code"
        );

        // The next pass reads the same feeds: the same answer, so no booking changes.
        let mut again = vec![stay("b", &uid, 2, derived("b", &uid))];
        distinct_across_sources(&mut again, &[a], SECRET, 4);
        assert_eq!(again[0].fingerprint, merged[0].fingerprint);
    }

    #[test]
    fn stays_that_do_not_overlap_keep_their_codes_and_own_digits_are_only_reported() {
        let a = stay("a", "first", 1, derived("a", "first"));
        let uid = colliding_uid(&derived("a", "first"));
        let mut later = vec![stay("b", &uid, 20, derived("b", &uid))];
        distinct_across_sources(&mut later, std::slice::from_ref(&a), SECRET, 4);
        assert_eq!(
            later[0].reservation.credentials.code,
            Some(derived("b", &uid).into())
        );

        let mut phone_digits = vec![stay("b", "guest", 2, derived("a", "first"))];
        let warnings =
            distinct_across_sources(&mut phone_digits, std::slice::from_ref(&a), SECRET, 4);
        assert_eq!(warnings.len(), 1);
        assert!(
            !warnings[0].contains(&derived("a", "first")),
            "no code in the warning"
        );
        assert_eq!(
            phone_digits[0].reservation.credentials.code,
            Some(derived("a", "first").into())
        );
    }
}
