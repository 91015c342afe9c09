//! Comparing what FlexyKey lists with what the ledger owns, before anything is planned:
//! bookings the ledger does not know that carry a reservation's marker *and* match it exactly
//! are adopted (a lost ledger, a create whose answer was lost); owned bookings missing from the
//! list may have been deleted by hand (drift, confirmed one by one before it is repaired);
//! everything else on the object is someone else's and only counted.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::marker::{marker, marker_in};
use crate::flexykey::Booking;
use crate::model::{BookingState, Credentials, OwnedBooking, Reservation, StoredReservation};

/// The fingerprint given to a second booking made exactly for a reservation that already has
/// one (a duplicate): the plan deletes it as superseded.
pub const STALE_FINGERPRINT: &str = "adopted-stale";

/// One object's bookings as FlexyKey listed them over `[from, to)`.
#[derive(Debug, Clone)]
pub struct Listing {
    pub booking_object_id: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bookings: Vec<Booking>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Bookings to record as owned.
    pub adopted: Vec<OwnedBooking>,
    /// Owned bookings FlexyKey no longer lists although flexysync never deleted them.
    pub vanished: Vec<i64>,
    /// Bookings that are not flexysync's (made by hand or by another system).
    pub foreign: u32,
}

/// True when a listed booking has the credentials flexysync asked for (phone order aside).
pub fn same_credentials(booking: &Booking, credentials: &Credentials) -> bool {
    credentials.same_as(
        &booking.phones,
        booking.code.as_deref(),
        booking.rfid.as_deref(),
    )
}

/// True when `booking` is exactly what flexysync would have created for `r`: same object, end,
/// credentials, and a start at the reservation's (or, for a stay already in progress when it
/// was booked, between its start and now). Times are whole seconds on both sides.
pub fn made_for(booking: &Booking, r: &Reservation, now: DateTime<Utc>) -> bool {
    booking.booking_object_id == r.booking_object_id
        && booking.end == r.end
        && booking.start >= r.start
        && booking.start <= r.start.max(now)
        && same_credentials(booking, &r.credentials)
}

/// Compares the listings with the ledger. A booking whose name carries a current reservation's
/// marker is adopted only when it was [`made_for`] that reservation; any other is foreign and
/// never touched; bookings of open journal entries were adopted before, by `matches_entry`.
/// `owned` are the active and vanished bookings.
pub fn compare(
    listings: &[Listing],
    reservations: &[StoredReservation],
    owned: &[OwnedBooking],
    now: DateTime<Utc>,
) -> Comparison {
    let mut out = Comparison::default();
    let known: HashSet<i64> = owned.iter().map(|b| b.booking_id).collect();
    let by_marker: HashMap<String, &StoredReservation> = reservations
        .iter()
        .map(|s| (marker(&s.reservation.key), s))
        .collect();
    // Keys that already have a booking of their current version: a second one is a duplicate.
    let wanted: HashMap<&str, &str> = reservations
        .iter()
        .map(|s| (s.reservation.key.as_str(), s.fingerprint.as_str()))
        .collect();
    let mut current: HashSet<&str> = owned
        .iter()
        .filter(|b| b.state == BookingState::Active)
        .filter(|b| wanted.get(b.reservation_key.as_str()) == Some(&b.fingerprint.as_str()))
        .map(|b| b.reservation_key.as_str())
        .collect();
    for listing in listings {
        let listed: HashSet<i64> = listing.bookings.iter().map(|b| b.booking_id).collect();
        for booking in &listing.bookings {
            if known.contains(&booking.booking_id) {
                continue;
            }
            let stored = booking
                .name
                .as_deref()
                .and_then(marker_in)
                .and_then(|m| by_marker.get(m));
            let Some(stored) = stored else {
                out.foreign += 1;
                continue;
            };
            let r = &stored.reservation;
            if !made_for(booking, r, now) {
                // The marker alone proves nothing: a host may copy a booking's name in FlexyWeb.
                out.foreign += 1;
                continue;
            }
            // A second booking made for the current version is a duplicate (a lost answer).
            let is_current = current.insert(r.key.as_str());
            out.adopted.push(OwnedBooking {
                booking_id: booking.booking_id,
                reservation_key: r.key.clone(),
                source: r.source.clone(),
                booking_object_id: booking.booking_object_id,
                start: booking.start,
                end: booking.end,
                credentials: Credentials {
                    phones: booking.phones.iter().map(|p| p.as_str().into()).collect(),
                    code: booking.code.as_deref().map(Into::into),
                    rfid: booking.rfid.clone(),
                },
                name: booking.name.clone().unwrap_or_default(),
                fingerprint: if is_current {
                    stored.fingerprint.clone()
                } else {
                    STALE_FINGERPRINT.to_owned()
                },
                state: BookingState::Active,
            });
        }
        for booking in owned {
            let expected_listed = booking.state == BookingState::Active
                && booking.booking_object_id == listing.booking_object_id
                && booking.end > listing.from.max(now)
                && booking.start < listing.to;
            if expected_listed && !listed.contains(&booking.booking_id) {
                out.vanished.push(booking.booking_id);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reservation;
    use crate::reconcile::marker::booking_name;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn reservation(key: &str, start_h: i64) -> StoredReservation {
        StoredReservation::new(
            Reservation {
                source: "s".into(),
                key: key.into(),
                booking_object_id: 123,
                start: now() + Duration::hours(start_h),
                end: now() + Duration::hours(start_h + 24),
                credentials: Credentials {
                    phones: vec!["+46701234567".into()],
                    code: Some("1234".into()),
                    rfid: None,
                },
                label: "Reserved".into(),
            },
            now(),
        )
    }

    fn listed(id: i64, r: &Reservation, name: Option<String>) -> Booking {
        Booking {
            booking_id: id,
            booking_object_id: r.booking_object_id,
            start: r.start.max(now()),
            end: r.end,
            phones: r.credentials.phone_strings(),
            code: r.credentials.code.as_ref().map(|c| c.as_str().to_owned()),
            rfid: None,
            name,
        }
    }

    fn listing(bookings: Vec<Booking>) -> Listing {
        Listing {
            booking_object_id: 123,
            from: now(),
            to: now() + Duration::days(180),
            bookings,
        }
    }

    #[test]
    fn marked_bookings_are_adopted_once_and_duplicates_marked_stale() {
        let a = reservation("s/a", 24);
        let running = reservation("s/run", -5);
        let name = |s: &StoredReservation| Some(booking_name("Reserved", &s.reservation.key));
        let list = listing(vec![
            listed(1, &a.reservation, name(&a)),
            listed(2, &a.reservation, name(&a)),
            listed(3, &running.reservation, name(&running)),
            listed(4, &a.reservation, Some("Cleaning".into())),
            listed(5, &a.reservation, None),
        ]);
        let got = compare(&[list], &[a.clone(), running.clone()], &[], now());
        assert_eq!(got.foreign, 2);
        let fps: Vec<(i64, &str)> = got
            .adopted
            .iter()
            .map(|b| (b.booking_id, b.fingerprint.as_str()))
            .collect();
        assert_eq!(
            fps,
            vec![
                (1, a.fingerprint.as_str()),
                (2, STALE_FINGERPRINT),
                (3, running.fingerprint.as_str())
            ]
        );
    }

    #[test]
    fn a_copied_name_on_another_window_or_credentials_is_foreign() {
        let a = reservation("s/a", 24);
        let running = reservation("s/run", -5);
        let name = |s: &StoredReservation| Some(booking_name("Host copy", &s.reservation.key));
        let exact = listed(1, &a.reservation, name(&a));
        let mut later = exact.clone();
        later.booking_id = 2;
        later.start += Duration::hours(1);
        let mut longer = exact.clone();
        longer.booking_id = 3;
        longer.end += Duration::seconds(1);
        let mut other_phone = exact.clone();
        other_phone.booking_id = 4;
        other_phone.phones = vec!["+46709999999".into()];
        let mut other_code = exact.clone();
        other_code.booking_id = 5;
        other_code.code = Some("9999".into());
        let mut other_object = exact.clone();
        other_object.booking_id = 6;
        other_object.booking_object_id = 124;
        // Started before the stay began: never what flexysync books.
        let mut early = listed(7, &running.reservation, name(&running));
        early.start = running.reservation.start - Duration::hours(1);
        let list = listing(vec![
            later,
            longer,
            other_phone,
            other_code,
            other_object,
            early,
            exact,
        ]);
        let got = compare(&[list], &[a.clone(), running], &[], now());
        assert_eq!(got.foreign, 6);
        let adopted: Vec<(i64, &str)> = got
            .adopted
            .iter()
            .map(|b| (b.booking_id, b.fingerprint.as_str()))
            .collect();
        assert_eq!(adopted, vec![(1, a.fingerprint.as_str())]);
    }

    #[test]
    fn owned_bookings_missing_from_the_list_have_vanished() {
        let a = reservation("s/a", 24);
        let ended = reservation("s/ended", -48);
        let owned = |id: i64, s: &StoredReservation| OwnedBooking {
            booking_id: id,
            reservation_key: s.reservation.key.clone(),
            source: "s".into(),
            booking_object_id: 123,
            start: s.reservation.start,
            end: s.reservation.end,
            credentials: s.reservation.credentials.clone(),
            name: String::new(),
            fingerprint: s.fingerprint.clone(),
            state: BookingState::Active,
        };
        let got = compare(
            &[listing(vec![])],
            &[a.clone(), ended.clone()],
            &[owned(7, &a), owned(8, &ended)],
            now(),
        );
        assert_eq!(got.vanished, vec![7]);
        assert!(got.adopted.is_empty());
    }
}
