//! Comparing what FlexyKey lists with what the ledger owns, before anything is planned:
//! bookings carrying flexysync's marker that the ledger does not know are adopted (a lost
//! ledger, a create whose answer was lost); owned bookings missing from the list were deleted
//! by hand (drift); everything else on the object is someone else's and only counted.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::marker::{marker, marker_in};
use crate::flexykey::Booking;
use crate::model::{BookingState, Credentials, OwnedBooking, StoredReservation};

/// The fingerprint given to an adopted booking that matches no current reservation version:
/// the plan then replaces or deletes it like any other stale booking of its own.
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

/// Compares the listings with the ledger. `owned` are the active and vanished bookings.
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
            let is_current = booking.booking_object_id == r.booking_object_id
                && booking.end == r.end
                && booking.start >= r.start
                && booking.start <= r.start.max(now)
                && same_credentials(booking, &r.credentials)
                && !current.contains(r.key.as_str());
            if is_current {
                current.insert(&r.key);
            }
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
