//! Where the pass finds a booking object's time zone: the zone kept in the ledger, looked up
//! again in FlexyKey only when none is kept or the object's drift check is due. A failed
//! lookup falls back on the kept zone; with none kept the zone is unknown (and the source's
//! read with it), never UTC.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::OnceCell;

use crate::flexykey::{BookingObject, Client};
use crate::ledger::{Ledger, ObjectRecord};
use crate::sources::ZoneLookup;

pub(super) struct ObjectZones<'a> {
    client: &'a Client,
    /// Where found zones are kept; `None` in a dry run.
    ledger: Option<&'a Ledger>,
    now: DateTime<Utc>,
    kept: HashMap<i64, Tz>,
    /// Objects whose zone is looked up again even though one is kept (drift check due).
    refresh: HashSet<i64>,
    /// FlexyKey's object list, read at most once per pass.
    objects: OnceCell<Result<Vec<BookingObject>, String>>,
    /// What this pass already found, so that sources sharing an object cost one lookup.
    found: Mutex<HashMap<i64, Result<Tz, String>>>,
}

impl<'a> ObjectZones<'a> {
    pub fn new(
        client: &'a Client,
        ledger: Option<&'a Ledger>,
        records: &[ObjectRecord],
        refresh: HashSet<i64>,
        now: DateTime<Utc>,
    ) -> Self {
        let kept = records
            .iter()
            .filter_map(|r| {
                let zone = r.timezone.as_deref()?.parse::<Tz>().ok()?;
                Some((r.booking_object_id, zone))
            })
            .collect();
        ObjectZones {
            client,
            ledger,
            now,
            kept,
            refresh,
            objects: OnceCell::new(),
            found: Mutex::new(HashMap::new()),
        }
    }

    /// Uses FlexyKey's object list already read in this pass instead of reading it again.
    pub fn with_listing(mut self, objects: Option<Vec<BookingObject>>) -> Self {
        if let Some(objects) = objects {
            self.objects = OnceCell::from(Ok(objects));
        }
        self
    }

    async fn look_up(&self, object: i64) -> Result<Tz, String> {
        let objects = self
            .objects
            .get_or_init(|| async {
                self.client
                    .booking_objects()
                    .await
                    .map_err(|err| format!("cannot list the booking objects: {err}"))
            })
            .await
            .as_ref()
            .map_err(Clone::clone)?;
        let unit = objects
            .iter()
            .find(|o| o.booking_object_id == object)
            .and_then(|o| o.unit_ids.first().copied())
            .ok_or_else(|| format!("booking object {object} has no unit in FlexyKey's list"))?;
        let unit = self
            .client
            .unit(unit)
            .await
            .map_err(|err| format!("cannot read unit {unit}: {err}"))?;
        unit.timezone()
            .ok_or_else(|| format!("the unit of booking object {object} names no known zone"))
    }

    fn remembered(&self, object: i64) -> Option<Result<Tz, String>> {
        let found = self.found.lock().unwrap_or_else(|p| p.into_inner());
        found.get(&object).cloned()
    }
}

impl ZoneLookup for ObjectZones<'_> {
    async fn object_zone(&self, object: i64) -> Result<Tz, String> {
        let kept = self.kept.get(&object).copied();
        if let Some(zone) = kept.filter(|_| !self.refresh.contains(&object)) {
            return Ok(zone);
        }
        let found = match self.remembered(object) {
            Some(found) => found,
            None => {
                let found = self.look_up(object).await;
                if let (Ok(zone), Some(ledger)) = (&found, self.ledger)
                    && let Err(err) = ledger.keep_object_zone(object, zone.name(), self.now).await
                {
                    tracing::warn!(object, error = %err, "cannot keep the object's time zone");
                }
                let mut memo = self.found.lock().unwrap_or_else(|p| p.into_inner());
                memo.insert(object, found.clone());
                found
            }
        };
        match (found, kept) {
            (Ok(zone), _) => Ok(zone),
            (Err(why), Some(zone)) => {
                tracing::warn!(object, reason = %why, zone = %zone.name(), "zone lookup failed; the kept zone is used");
                Ok(zone)
            }
            (Err(why), None) => Err(why),
        }
    }
}
