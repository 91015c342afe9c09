//! Unit logs: a deterministic stream per unit, generated on demand from (seed, unit, UTC day),
//! so any window of any year can be answered without storing anything. Only entries whose
//! `serverDate` has passed exist. Injected entries are added as they are.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::rng::SplitMix;
use super::state::SandboxLogEntry;
use super::world::UnitSpec;

/// At most this many entries per response, cut silently.
pub const MAX_LIST: usize = 500;

/// Enough candidates that the 500 answered are a scattered subset, bounded so that a window
/// of years costs a few days of generation.
const CANDIDATES: usize = 4 * MAX_LIST;

/// Share of entries that repeat the previous one a few seconds later.
const REPEAT_SHARE: f64 = 0.05;

const PHONES: &[(&str, Option<&str>)] = &[
    ("+46701234567", Some("Anna Lindqvist")),
    ("+46702345678", Some("Erik Johansson")),
    ("+46733456789", None),
    ("+46704567890", Some("Maria Nilsson")),
    ("+46765678901", None),
    ("+4915112345678", Some("Gäst stuga 7")),
    ("+46707890123", Some("Vaktmästare")),
];

const CARDS: &[(&str, Option<&str>)] = &[
    ("04A2B3C4D5", Some("Bricka 12")),
    ("04FF10203A", Some("Bricka 7")),
    ("0A0B0C0D0E", None),
];

const SYSTEM: &[&str] = &[
    "Enheten startade om",
    "Signalstyrka 23",
    "Strömavbrott",
    "Strömmen tillbaka",
    "Ny mjukvara installerad",
    "Klockan synkroniserad",
];

/// The entries of `unit` with `from <= serverDate <= to`, at most [`MAX_LIST`], in an order
/// that is deterministic for (seed, unit, window) but not chronological.
pub(crate) fn window(
    seed: u64,
    unit: &UnitSpec,
    injected: &[SandboxLogEntry],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<SandboxLogEntry> {
    let mut found: Vec<SandboxLogEntry> = injected
        .iter()
        .filter(|e| from <= e.server_date && e.server_date <= to)
        .cloned()
        .collect();
    let generated_to = to.min(now);
    let generated_from = from.max(unit.created);
    if unit.logs_per_day > 0 && generated_from <= generated_to {
        let mut day = generated_from.date_naive();
        while day <= generated_to.date_naive() && found.len() < CANDIDATES {
            found.extend(
                day_entries(seed, unit, day)
                    .into_iter()
                    .filter(|e| generated_from <= e.server_date && e.server_date <= generated_to),
            );
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
    }
    let mut order = SplitMix::from_parts(&[
        seed,
        unit.unit_id as u64,
        from.timestamp() as u64,
        to.timestamp() as u64,
    ]);
    order.shuffle(&mut found);
    found.truncate(MAX_LIST);
    found
}

/// The whole generated log of one UTC day (future entries included; the caller filters).
pub(crate) fn day_entries(seed: u64, unit: &UnitSpec, day: NaiveDate) -> Vec<SandboxLogEntry> {
    let Some(start) = day.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t)) else {
        return Vec::new();
    };
    let mut rng = SplitMix::from_parts(&[seed, unit.unit_id as u64, day.to_epoch_days() as u64]);
    let count = unit.logs_per_day as usize;
    let mut seconds: Vec<i64> = (0..count).map(|_| rng.below(86_400) as i64).collect();
    seconds.sort_unstable();
    let zone = crate::config::resolve_timezone(&unit.timezone_id).unwrap_or(chrono_tz::UTC);
    let mut entries: Vec<SandboxLogEntry> = Vec::with_capacity(count);
    for second in seconds {
        let repeat_gap = 1 + rng.below(5) as i64;
        let repeat = rng.unit() < REPEAT_SHARE;
        if repeat && let Some(previous) = entries.last() {
            let server_date = previous.server_date + Duration::seconds(repeat_gap);
            if server_date.date_naive() == day {
                let copy = SandboxLogEntry {
                    server_date,
                    ..previous.clone()
                };
                entries.push(copy);
                continue;
            }
        }
        let server_date = start + Duration::seconds(second);
        // The unit's clock lags the server's by up to a minute.
        let unit_clock = server_date - Duration::seconds(rng.below(60) as i64);
        let unit_date = unit_clock
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M")
            .to_string();
        entries.push(entry(&mut rng, server_date, unit_date));
    }
    entries
}

fn entry(rng: &mut SplitMix, server_date: DateTime<Utc>, unit_date: String) -> SandboxLogEntry {
    let make =
        |source_id: &str, label: Option<&str>, action: Option<&str>, msg: &str| SandboxLogEntry {
            server_date,
            unit_date: unit_date.clone(),
            source_id: source_id.to_owned(),
            source_label: label.map(str::to_owned),
            action_label: action.map(str::to_owned),
            log_msg: msg.to_owned(),
        };
    match rng.below(100) {
        0..=54 => {
            let (phone, label) = *rng.pick(PHONES);
            make(phone, label, Some("Öppna F1"), "Öppnad med telefonsamtal")
        }
        55..=69 => {
            let (card, label) = *rng.pick(CARDS);
            make(card, label, Some("Öppna F1"), "Öppnad med RFID-tagg")
        }
        70..=77 => make("Kod", Some("Bokning"), Some("Öppna F2"), "Öppnad med kod"),
        78..=84 => {
            let (phone, label) = *rng.pick(PHONES);
            make(phone, label, Some("Nekad"), "Nekad: ingen giltig bokning")
        }
        85..=90 => {
            let (phone, label) = *rng.pick(PHONES);
            make(phone, label, Some("SMS"), "SMS mottaget: STATUS")
        }
        91..=95 => {
            let msg = *rng.pick(SYSTEM);
            make("Informationslogg", None, None, msg)
        }
        _ => make(
            "Kommunikationslogg",
            None,
            None,
            "Uppkoppling mot server återupprättad",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::world::{UNIT_MAIN, World};

    fn unit(logs_per_day: u32) -> UnitSpec {
        World::seed()
            .unit(UNIT_MAIN)
            .unwrap()
            .clone()
            .with_logs_per_day(logs_per_day)
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 11, 21).unwrap()
    }

    #[test]
    fn a_day_is_deterministic_for_a_seed_and_differs_between_seeds() {
        let unit = unit(150);
        let first = day_entries(1, &unit, day());
        assert_eq!(first.len(), 150);
        assert_eq!(first, day_entries(1, &unit, day()));
        assert_ne!(first, day_entries(2, &unit, day()));
        assert!(first.iter().all(|e| e.server_date.date_naive() == day()));
    }

    #[test]
    fn some_entries_repeat_but_for_their_server_date() {
        let entries = day_entries(1, &unit(1000), day());
        let repeats = entries
            .windows(2)
            .filter(|pair| {
                pair[0].server_date != pair[1].server_date
                    && SandboxLogEntry {
                        server_date: pair[0].server_date,
                        ..pair[1].clone()
                    } == pair[0]
            })
            .count();
        assert!(repeats > 10, "only {repeats} repeats");
        assert!(entries.iter().any(|e| e.source_id == "Informationslogg"));
        assert!(entries.iter().any(|e| e.log_msg.starts_with("SMS")));
        // The unit's clock is local (Stockholm, UTC+1 in November), minute precision, and
        // lags the server by less than a minute.
        for e in &entries {
            let unit_clock =
                chrono::NaiveDateTime::parse_from_str(&e.unit_date, "%Y-%m-%d %H:%M").unwrap();
            let server_local = (e.server_date + Duration::hours(1)).naive_utc();
            let lag = server_local - unit_clock;
            assert!(
                lag >= Duration::zero() && lag < Duration::minutes(2),
                "{e:?}"
            );
        }
    }

    #[test]
    fn window_bounds_are_inclusive_and_the_future_is_empty() {
        let unit = unit(150);
        let all = day_entries(1, &unit, day());
        let (a, b) = (all[10].server_date, all[20].server_date);
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let got = window(1, &unit, &[], a, b, now);
        let expected = all
            .iter()
            .filter(|e| a <= e.server_date && e.server_date <= b)
            .count();
        assert_eq!(got.len(), expected);
        assert!(got.iter().any(|e| e.server_date == a));
        assert!(got.iter().any(|e| e.server_date == b));
        assert!(window(1, &unit, &[], a, b, a - Duration::seconds(1)).is_empty());
    }

    #[test]
    fn big_windows_are_cut_at_500() {
        let unit = unit(5000);
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let from = Utc.with_ymd_and_hms(2025, 11, 21, 0, 0, 0).unwrap();
        let to = from + Duration::days(3650);
        assert_eq!(window(1, &unit, &[], from, to, now).len(), MAX_LIST);
    }
}
