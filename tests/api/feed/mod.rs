//! Calendar sources: the shared corpus, hand-written fixtures, the rules, fetching, and the
//! `feed` commands through the real binary.

mod classes;
mod corpus;
mod dst_gap;
mod fetch;
mod hostile;
mod moved_earlier;
mod props;
mod redirects;
mod rules;
mod this_and_future;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use flexysync::config::SourceConfig;
use flexysync::sources::ical::{Occurrence, OccurrenceQuery, RuleContext, resolve_zone};

/// The shared corpus, or `FLEXYSYNC_CORPUS` when set (a worktree outside the usual layout).
pub fn corpus() -> Option<PathBuf> {
    super::helpers::shared_corpus().or_else(|| {
        let dir = PathBuf::from(std::env::var_os("FLEXYSYNC_CORPUS")?);
        dir.is_dir().then_some(dir)
    })
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ical")
        .join(name)
}

pub fn day(text: &str) -> DateTime<Utc> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .expect("test date")
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
}

/// Occurrences of a file in [from, to) with floating times read in `zone`.
pub fn occurrences(
    path: &Path,
    from: &str,
    to: &str,
    zone: &str,
) -> (Vec<Occurrence>, Vec<String>) {
    let bytes = std::fs::read(path).expect("readable test file");
    let zone = resolve_zone(zone).expect("known zone");
    let start = zone.to_utc(day(from).naive_utc()).expect("window start");
    let end = zone.to_utc(day(to).naive_utc()).expect("window end");
    let query = OccurrenceQuery {
        floating: zone,
        window_start: start,
        window_end: end,
    };
    flexysync::sources::ical::occurrences_from_text(&bytes, &query)
}

/// (start, end) of each occurrence whose UID starts with `uid`, in feed-occurrences form.
pub fn times_of(found: &[Occurrence], uid: &str) -> Vec<(String, String)> {
    found
        .iter()
        .filter(|o| o.uid.starts_with(uid))
        .map(|o| (o.start.to_string(), o.end.to_string()))
        .collect()
}

/// The starts of `times_of`.
pub fn starts(list: Vec<(String, String)>) -> Vec<String> {
    list.into_iter().map(|(start, _)| start).collect()
}

/// `flexysync feed occurrences` of `rfc/<name>.ics` in [from, to], checked byte for byte
/// against `rfc/<name>.json`; returns its stderr (the warnings).
pub fn pinned_rfc_occurrences(name: &str, from: &str, to: &str) -> String {
    let out = std::process::Command::new(super::helpers::binary())
        .args(["feed", "occurrences", "--file"])
        .arg(fixture(&format!("rfc/{name}.ics")))
        .args(["--from", from, "--to", to])
        .output()
        .expect("binary runs");
    assert!(out.status.success());
    let pinned =
        std::fs::read_to_string(fixture(&format!("rfc/{name}.json"))).expect("pinned output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), pinned);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn source(extra: serde_json::Value) -> SourceConfig {
    let mut base = serde_json::json!({
        "name": "cabin",
        "kind": "ical",
        "path": "/dev/null",
        "booking_object_id": 77,
        "timezone": "Europe/Stockholm",
    });
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(base).expect("valid source config")
}

pub fn rules_ctx(from: &str, to: &str) -> RuleContext<'static> {
    RuleContext {
        now: day(from),
        horizon_days: 180,
        default_timezone: None,
        code_secret: b"test-installation-secret",
        window: Some((day(from), day(to))),
    }
}

/// `feed occurrences --json` of a file in [from, to) through the real binary, times in UTC.
pub fn printed_occurrences(path: &Path, from: &str, to: &str) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(super::helpers::binary())
        .args(["--json", "--tz", "UTC", "feed", "occurrences", "--file"])
        .arg(path)
        .args(["--from", from, "--to", to])
        .output()
        .expect("binary runs");
    assert!(out.status.success(), "{}", super::helpers::stderr(&out));
    serde_json::from_slice(&out.stdout).expect("a JSON array")
}
