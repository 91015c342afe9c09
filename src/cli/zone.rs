//! Which zone a command shows times in and reads dates in: `--tz`, else the booking object's
//! zone (its source's `timezone`, else its first unit's as the ledger or FlexyKey knows it),
//! else UTC. Text says which zone it is in; `--json` is always UTC. Windows are `[from, to)`.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{CliError, Context};
use crate::config::{Config, resolve_timezone};
use crate::flexykey::Client;
use crate::ledger::Ledger;
use crate::when::{WhenBound, parse_when};

/// How long a command waits for FlexyKey to name a zone before it shows UTC instead.
const ZONE_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// A zone, and where it came from (said in the caption above a table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownZone {
    pub tz: Tz,
    pub origin: String,
}

impl ShownZone {
    pub fn utc(origin: impl Into<String>) -> Self {
        ShownZone {
            tz: chrono_tz::UTC,
            origin: origin.into(),
        }
    }

    /// `time` in this zone, to the second, with the zone's abbreviation.
    pub fn time(&self, time: DateTime<Utc>) -> String {
        show_time(time, self.tz)
    }

    /// "Times in Europe/Stockholm (booking object 123's zone)."
    pub fn caption(&self) -> String {
        format!("Times in {} ({}).", self.tz.name(), self.origin)
    }

    /// A `[from, to)` window typed on the command line, dates and local times read in this zone.
    pub fn window(
        &self,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), CliError> {
        let start = self.when("--from", from, WhenBound::Start, now)?;
        let end = self.when("--to", to, WhenBound::End, now)?;
        if end <= start {
            return Err(CliError::Usage(format!(
                "--to {to:?} must be after --from {from:?} (the window is [from, to))"
            )));
        }
        Ok((start, end))
    }

    /// One end of a window: a bare date is its start or, as `--to`, the end of that day.
    pub fn when(
        &self,
        flag: &str,
        text: &str,
        bound: WhenBound,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, CliError> {
        parse_when(text, bound, Some(self.tz), now)
            .map_err(|reason| CliError::Usage(format!("{flag} {text:?}: {reason}")))
    }
}

/// `time` in `tz`: `2026-12-01 15:00:00 CET`.
pub fn show_time(time: DateTime<Utc>, tz: Tz) -> String {
    time.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Finds booking objects' and units' zones: the config first, then the ledger (when one exists),
/// then FlexyKey (when a client is given and answers in time). Remembers what it found.
pub struct ZoneFinder<'a> {
    config: &'a Config,
    ledger: Option<Ledger>,
    client: Option<&'a Client>,
    objects: HashMap<i64, Option<ShownZone>>,
    /// FlexyKey's object list, read at most once.
    listed: Option<Vec<crate::flexykey::BookingObject>>,
}

impl<'a> ZoneFinder<'a> {
    /// Opens the ledger only when it exists: looking up a zone never creates one.
    pub async fn new(config: &'a Config, client: Option<&'a Client>) -> ZoneFinder<'a> {
        let ledger = if config.ledger.path.exists() {
            Ledger::open(&config.ledger.path).await.ok()
        } else {
            None
        };
        ZoneFinder {
            config,
            ledger,
            client,
            objects: HashMap::new(),
            listed: None,
        }
    }

    pub async fn close(self) {
        if let Some(ledger) = self.ledger {
            ledger.close().await;
        }
    }

    /// The booking object's zone, or `None` when nobody knows it.
    pub async fn object(&mut self, object_id: i64) -> Option<ShownZone> {
        if let Some(known) = self.objects.get(&object_id) {
            return known.clone();
        }
        let found = match self.object_in_config(object_id) {
            Some(zone) => Some(zone),
            None => match self.object_in_ledger(object_id).await {
                Some(zone) => Some(zone),
                None => self.object_in_flexykey(object_id).await,
            },
        };
        self.objects.insert(object_id, found.clone());
        found
    }

    fn object_in_config(&self, object_id: i64) -> Option<ShownZone> {
        self.config.sources.iter().find_map(|source| {
            let serves = source.booking_object_id == Some(object_id)
                || source.objects.values().any(|&id| id == object_id);
            let tz = source.timezone.as_ref().filter(|_| serves)?.0;
            Some(ShownZone {
                tz,
                origin: format!("source {}'s timezone", source.name),
            })
        })
    }

    async fn object_in_ledger(&self, object_id: i64) -> Option<ShownZone> {
        let ledger = self.ledger.as_ref()?;
        let units = ledger.archive_object_unit_ids(object_id).await.ok()?;
        for unit_id in units {
            let zone = ledger
                .archive_unit(unit_id)
                .await
                .ok()
                .flatten()
                .and_then(|unit| unit.timezone)
                .and_then(|name| resolve_timezone(&name));
            if let Some(tz) = zone {
                return Some(ShownZone {
                    tz,
                    origin: format!("booking object {object_id}'s unit {unit_id}"),
                });
            }
        }
        None
    }

    async fn object_in_flexykey(&mut self, object_id: i64) -> Option<ShownZone> {
        let client = self.client?;
        if self.listed.is_none() {
            let listed = tokio::time::timeout(ZONE_LOOKUP_TIMEOUT, client.booking_objects()).await;
            match listed {
                Ok(Ok(objects)) => {
                    // Remembered for the next command, which then needs no call.
                    if let Some(ledger) = &self.ledger {
                        let pairs: Vec<(i64, i64)> = objects
                            .iter()
                            .flat_map(|o| o.unit_ids.iter().map(|&u| (o.booking_object_id, u)))
                            .collect();
                        let _ = ledger.archive_record_object_units(&pairs, Utc::now()).await;
                    }
                    self.listed = Some(objects)
                }
                // Asked once: a FlexyKey that does not answer is not asked again.
                _ => {
                    self.client = None;
                    return None;
                }
            }
        }
        let unit_id = self
            .listed
            .as_ref()?
            .iter()
            .find(|object| object.booking_object_id == object_id)?
            .unit_ids
            .first()
            .copied()?;
        self.unit_from_flexykey(unit_id).await.map(|tz| ShownZone {
            tz,
            origin: format!("booking object {object_id}'s unit {unit_id}"),
        })
    }

    /// A unit's zone: the ledger's, else FlexyKey's.
    pub async fn unit(&mut self, unit_id: i64) -> Option<ShownZone> {
        let cached = match &self.ledger {
            Some(ledger) => ledger.archive_unit(unit_id).await.ok().flatten(),
            None => None,
        };
        let tz = match cached
            .and_then(|unit| unit.timezone)
            .and_then(|name| resolve_timezone(&name))
        {
            Some(tz) => Some(tz),
            None => self.unit_from_flexykey(unit_id).await,
        };
        tz.map(|tz| ShownZone {
            tz,
            origin: format!("unit {unit_id}'s zone"),
        })
    }

    async fn unit_from_flexykey(&mut self, unit_id: i64) -> Option<chrono_tz::Tz> {
        let client = self.client?;
        match tokio::time::timeout(ZONE_LOOKUP_TIMEOUT, client.unit(unit_id)).await {
            Ok(Ok(unit)) => {
                let zone = unit.timezone();
                if let Some(ledger) = &self.ledger {
                    let info = crate::ledger::ArchiveUnitInfo {
                        unit_id,
                        unit_type: unit.unit_type.clone(),
                        name: unit.name.clone(),
                        timezone: zone.map(|tz| tz.name().to_owned()),
                    };
                    let _ = ledger.archive_record_unit_info(&info, Utc::now()).await;
                }
                zone
            }
            Ok(Err(err)) if err.is_refusal() => None,
            _ => {
                self.client = None;
                None
            }
        }
    }
}

impl Context {
    /// `--tz` as a shown zone, when given.
    pub fn tz_flag(&self) -> Option<ShownZone> {
        self.tz.map(|tz| ShownZone {
            tz,
            origin: "--tz".to_owned(),
        })
    }

    /// The zone for one booking object's times: `--tz`, else the object's, else UTC.
    pub async fn object_zone(
        &self,
        config: &Config,
        client: Option<&Client>,
        object_id: i64,
    ) -> ShownZone {
        self.zone_of(config, client, Owner::Object(object_id)).await
    }

    /// The zone for one unit's times: `--tz`, else the unit's, else UTC.
    pub async fn unit_zone(
        &self,
        config: &Config,
        client: Option<&Client>,
        unit_id: i64,
    ) -> ShownZone {
        self.zone_of(config, client, Owner::Unit(unit_id)).await
    }

    async fn zone_of(&self, config: &Config, client: Option<&Client>, owner: Owner) -> ShownZone {
        if let Some(zone) = self.tz_flag() {
            return zone;
        }
        let mut finder = ZoneFinder::new(config, client).await;
        let (zone, what) = match owner {
            Owner::Object(id) => (finder.object(id).await, format!("booking object {id}")),
            Owner::Unit(id) => (finder.unit(id).await, format!("unit {id}")),
        };
        finder.close().await;
        zone.unwrap_or_else(|| ShownZone::utc(format!("the zone of {what} is not known")))
    }

    /// `--tz`, else UTC: for times that belong to no one object.
    pub fn flag_or_utc(&self) -> ShownZone {
        self.tz_flag()
            .unwrap_or_else(|| ShownZone::utc("no --tz given"))
    }
}

/// Whose times a command shows.
enum Owner {
    Object(i64),
    Unit(i64),
}

/// The zones of every booking object a report mentions (`sync`, `status`): each object's times
/// are shown in its own zone, or all in `--tz`. Found from the config, the ledger, else FlexyKey
/// (which is then remembered in the ledger).
#[derive(Debug, Clone, Default)]
pub struct ObjectZones {
    flag: Option<Tz>,
    objects: HashMap<i64, Tz>,
    /// Each source's zone: its `timezone`, else its first object's.
    sources: HashMap<String, Tz>,
}

impl ObjectZones {
    /// The zones of the config's objects and of `more` objects.
    pub async fn load(
        context: &Context,
        config: &Config,
        client: Option<&Client>,
        more: impl IntoIterator<Item = i64>,
    ) -> ObjectZones {
        let mut zones = ObjectZones {
            flag: context.tz,
            ..ObjectZones::default()
        };
        if zones.flag.is_some() {
            return zones;
        }
        let mut finder = ZoneFinder::new(config, client).await;
        let mut wanted: Vec<i64> = config.sources.iter().flat_map(source_objects).collect();
        wanted.extend(more);
        for object_id in wanted {
            if let Some(zone) = finder.object(object_id).await {
                zones.objects.insert(object_id, zone.tz);
            }
        }
        finder.close().await;
        for source in &config.sources {
            let tz = source
                .timezone
                .map(|tz| tz.0)
                .or_else(|| source_objects(source).find_map(|id| zones.objects.get(&id).copied()));
            if let Some(tz) = tz {
                zones.sources.insert(source.name.clone(), tz);
            }
        }
        zones
    }

    /// The zone a booking object's times are shown in (UTC when not known).
    pub fn object(&self, object_id: i64) -> Tz {
        self.flag
            .or_else(|| self.objects.get(&object_id).copied())
            .unwrap_or(chrono_tz::UTC)
    }

    /// The zone a source's times are shown in (UTC when not known).
    pub fn source(&self, name: &str) -> Tz {
        self.flag
            .or_else(|| self.sources.get(name).copied())
            .unwrap_or(chrono_tz::UTC)
    }

    /// The zone for times that belong to no one object: `--tz`, else the objects' zone when
    /// they share one, else UTC.
    pub fn common(&self) -> Tz {
        let mut zones = self.objects.values();
        let first = zones.next().copied();
        match (self.flag, first) {
            (Some(tz), _) => tz,
            (None, Some(tz)) if zones.all(|other| *other == tz) => tz,
            _ => chrono_tz::UTC,
        }
    }

    /// The line above a report that says which zone its times are in.
    pub fn caption(&self) -> String {
        if let Some(tz) = self.flag {
            return format!("Times in {} (--tz).", tz.name());
        }
        let mut names: Vec<&str> = self.objects.values().map(|tz| tz.name()).collect();
        names.sort_unstable();
        names.dedup();
        match names.as_slice() {
            [] => "Times in UTC (no booking object's zone is known).".to_owned(),
            [one] => format!("Times in {one} (the booking objects' zone; UTC where not known)."),
            _ => format!(
                "Times in each booking object's zone ({}; UTC where not known).",
                names.join(", ")
            ),
        }
    }
}

/// The booking objects a source books.
fn source_objects(source: &crate::config::SourceConfig) -> impl Iterator<Item = i64> + '_ {
    source
        .booking_object_id
        .into_iter()
        .chain(source.objects.values().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_to_date_takes_in_the_whole_day_across_a_clock_change() {
        let zone = ShownZone {
            tz: chrono_tz::Europe::Stockholm,
            origin: "test".into(),
        };
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let (start, end) = zone.window("2026-10-25", "2026-10-25", now).unwrap();
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 10, 24, 22, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 10, 25, 23, 0, 0).unwrap());
        assert_eq!(zone.time(start), "2026-10-25 00:00:00 CEST");
        assert_eq!(zone.time(end), "2026-10-26 00:00:00 CET");
        let err = zone.window("2026-03-02", "2026-03-01", now).unwrap_err();
        assert!(err.to_string().contains("[from, to)"), "{err}");
        assert_eq!(zone.caption(), "Times in Europe/Stockholm (test).");
    }
}
