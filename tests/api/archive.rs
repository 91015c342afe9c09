//! The unit log archive against the sandbox: the library's pulls with the real client, and the
//! real binary's `logs` commands, killed half-way and run again.

mod commands;
mod locked;

use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use flexysync::archive::{self, normalize};
use flexysync::config::{ArchiveConfig, Config, FlexyKeyConfig};
use flexysync::flexykey::{Client, LogEntry};
use flexysync::ledger::{ArchiveFilter, Ledger};
use flexysync::sandbox::{self, Faults, Sandbox, SandboxLogEntry, SandboxOptions};
use futures::TryStreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::helpers::{binary, code, run, start_sandbox, stderr, stdout, write_config};

const UNIT: i64 = sandbox::UNIT_MAIN;

pub(crate) struct Fixture {
    pub(crate) sandbox: Sandbox,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: std::path::PathBuf,
    pub(crate) ledger: Ledger,
}

/// A sandbox, a config file with `archive` as its `[archive]` section, and the ledger it names
/// (opened, so migrated, before any binary runs).
pub(crate) async fn fixture(archive: &str) -> Fixture {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &sandbox.base_url(),
        sandbox::DEMO_USER,
        sandbox::DEMO_PASSWORD,
        &format!("[archive]\n{archive}\n"),
    );
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
    Fixture {
        sandbox,
        dir,
        config,
        ledger,
    }
}

impl Fixture {
    pub(crate) fn client(&self) -> Client {
        let mut config = FlexyKeyConfig::new(
            self.sandbox.base_url(),
            sandbox::DEMO_USER,
            sandbox::DEMO_PASSWORD,
        );
        config.requests_per_second = 200.0;
        config.burst = 50;
        Client::new(&config).unwrap()
    }

    pub(crate) fn archive_config(&self) -> ArchiveConfig {
        Config::load(&self.config).unwrap().archive
    }

    /// Every archived entry of the unit, each as stored.
    pub(crate) async fn archived(&self) -> Vec<LogEntry> {
        let filter = ArchiveFilter {
            unit_id: Some(UNIT),
            ..ArchiveFilter::default()
        };
        let items: Vec<_> = self
            .ledger
            .archive_entries(&filter)
            .try_collect()
            .await
            .unwrap();
        items.into_iter().map(|item| item.entry).collect()
    }

    /// Asserts that the archive holds exactly `expected` (normalized), each entry once.
    /// The archive holds `expected` exactly: each entry as many times as it is listed.
    pub(crate) async fn assert_archived_exactly(&self, expected: &[LogEntry]) {
        let key = |entry: &LogEntry| serde_json::to_string(entry).unwrap();
        let mut expected: Vec<String> = expected
            .iter()
            .map(|entry| key(&normalize(entry.clone())))
            .collect();
        let mut archived: Vec<String> = self.archived().await.iter().map(key).collect();
        expected.sort_unstable();
        archived.sort_unstable();
        let (missing, extra) = multiset_difference(&expected, &archived);
        assert_eq!(
            (missing, extra),
            (0, 0),
            "archive differs: {missing} missing, {extra} not in the source (or stored twice)"
        );
    }

    /// What FlexyKey (the sandbox, through the client) holds for the unit in `[from, to]`.
    pub(crate) async fn truth(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<LogEntry> {
        self.client().unit_logs(UNIT, from, to).await.unwrap()
    }

    fn log_requests(&self) -> Vec<sandbox::JournalEntry> {
        self.sandbox
            .journal()
            .into_iter()
            .filter(|entry| entry.path.starts_with("/v1/unitlogs/"))
            .collect()
    }
}

/// How many of `expected` are not in `actual`, and how many of `actual` not in `expected`,
/// counting repeats (both sorted).
fn multiset_difference(expected: &[String], actual: &[String]) -> (usize, usize) {
    let (mut missing, mut extra) = (0, 0);
    let (mut a, mut b) = (expected.iter().peekable(), actual.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x == y => {
                a.next();
                b.next();
            }
            (Some(x), Some(y)) if x < y => {
                missing += 1;
                a.next();
            }
            (Some(_), Some(_)) | (None, Some(_)) => {
                extra += 1;
                b.next();
            }
            (Some(_), None) => {
                missing += 1;
                a.next();
            }
            (None, None) => return (missing, extra),
        }
    }
}

pub(crate) fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap().and_utc()
}

fn as_log_entry(entry: &SandboxLogEntry) -> LogEntry {
    LogEntry {
        server_date: entry.server_date,
        unit_date: Some(entry.unit_date.clone()),
        source_id: Some(entry.source_id.clone()),
        source_label: entry.source_label.clone(),
        action_label: entry.action_label.clone(),
        log_msg: Some(entry.log_msg.clone()),
    }
}

/// `count` entries inside `[from, from + span)`, shuffled; one in eight repeats an earlier one
/// exactly but for `serverDate`.
fn injected(seed: u64, from: DateTime<Utc>, span: TimeDelta, count: usize) -> Vec<SandboxLogEntry> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out: Vec<SandboxLogEntry> = Vec::with_capacity(count);
    for index in 0..count {
        let server_date = from + TimeDelta::seconds(rng.random_range(0..span.num_seconds()));
        if index > 0 && rng.random_range(0..8) == 0 {
            let mut twin = out[rng.random_range(0..index)].clone();
            twin.server_date = server_date;
            out.push(twin);
            continue;
        }
        out.push(SandboxLogEntry {
            server_date,
            unit_date: server_date.format("%Y-%m-%d %H:%M").to_string(),
            source_id: format!("+4670{:07}", rng.random_range(0..10_000_000)),
            source_label: Some(format!("Gäst {}", rng.random_range(0..40))),
            action_label: Some("Öppna F1".to_owned()),
            log_msg: format!("Öppnad med telefonsamtal #{}", rng.random_range(0..3)),
        });
    }
    out.shuffle(&mut rng);
    out
}

/// The query value `name` of a journal entry.
fn query_value(entry: &sandbox::JournalEntry, name: &str) -> Option<String> {
    url::form_urlencoded::parse(entry.query.as_bytes())
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_day_is_archived_once_a_quiet_pull_asks_once_and_new_entries_follow() {
    let day = (Utc::now() - TimeDelta::days(2)).date_naive();
    let f = fixture(&format!("units = [{UNIT}]\nstart = \"{day}\"")).await;
    f.sandbox.set_logs_per_day(UNIT, 0).unwrap();
    let busy = injected(5, midnight(day), TimeDelta::days(1), 5_000);
    f.sandbox.add_log_entries(UNIT, busy.clone()).unwrap();
    let mut expected: Vec<LogEntry> = busy.iter().map(as_log_entry).collect();
    let (client, config) = (f.client(), f.archive_config());

    let report = archive::pull(&client, &f.ledger, &config, Utc::now())
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    f.assert_archived_exactly(&expected).await;
    assert!(report.stored() > 4_000, "{report:?}");

    f.sandbox.clear_journal();
    let quiet = archive::pull(&client, &f.ledger, &config, Utc::now())
        .await
        .unwrap();
    assert_eq!(quiet.stored(), 0);
    let journal = f.sandbox.journal();
    assert_eq!(journal.len(), 1, "one request per unit: {journal:?}");
    assert_eq!(journal[0].path, format!("/v1/unitlogs/{UNIT}"));

    // New entries, one of them dated inside the overlap before the last pull's end.
    let now = Utc::now();
    let fresh = injected(6, now - TimeDelta::minutes(90), TimeDelta::minutes(89), 40);
    f.sandbox.add_log_entries(UNIT, fresh.clone()).unwrap();
    let next = archive::pull(&client, &f.ledger, &config, Utc::now())
        .await
        .unwrap();
    expected.extend(fresh.iter().map(as_log_entry));
    f.assert_archived_exactly(&expected).await;
    assert!(next.stored() > 30, "{next:?}");
}

/// Runs the real binary with `args` and SIGKILLs it as soon as `reached` says so.
async fn kill_when<F, Fut>(f: &Fixture, args: &[&str], reached: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut child = tokio::process::Command::new(binary())
        .arg("--config")
        .arg(&f.config)
        .args(args)
        .env_remove("FLEXYSYNC_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if reached().await {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the command ended before it could be killed half-way"
        );
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "killed, not finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_killed_half_way_resumes_and_completes_exactly() {
    let f = fixture(&format!("units = [{UNIT}]")).await;
    f.sandbox.set_logs_per_day(UNIT, 1_200).unwrap();
    f.sandbox.set_faults(Faults {
        latency: Duration::from_millis(15),
        ..Faults::default()
    });
    let last = (Utc::now() - TimeDelta::days(2)).date_naive();
    let first = last - TimeDelta::days(11);
    let (from, to) = (midnight(first), midnight(last) + TimeDelta::seconds(86_399));
    let args = [
        "logs",
        "backfill",
        "--unit",
        "3023",
        "--from",
        &first.to_string(),
        "--to",
        &last.to_string(),
        // UTC days (the unit's own zone is Europe/Berlin).
        "--tz",
        "UTC",
    ];
    kill_when(&f, &args, || async {
        f.ledger
            .archive_backfill(UNIT)
            .await
            .unwrap()
            .is_some_and(|job| job.position >= from + TimeDelta::days(3))
    })
    .await;
    let position = f
        .ledger
        .archive_backfill(UNIT)
        .await
        .unwrap()
        .unwrap()
        .position;
    assert!(position < to, "killed before the end");
    f.sandbox.set_faults(Faults::default());
    let truth = f.truth(from, to).await;
    let stored_part: Vec<LogEntry> = truth
        .iter()
        .filter(|entry| entry.server_date <= position)
        .cloned()
        .collect();
    f.assert_archived_exactly(&stored_part).await;

    f.sandbox.clear_journal();
    let out = run(&f.config, &args).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming"), "{}", stderr(&out));
    let first_request = f.log_requests().into_iter().next().unwrap();
    let resumed_from: DateTime<Utc> = query_value(&first_request, "dateFrom")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(resumed_from, position, "resumed where it stopped");
    f.assert_archived_exactly(&truth).await;
    assert!(truth.len() > 12_000, "{}", truth.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_killed_half_way_and_run_again_leaves_no_gap_or_duplicate() {
    let start = (Utc::now() - TimeDelta::days(10)).date_naive();
    let f = fixture(&format!("units = [{UNIT}]\nstart = \"{start}\"")).await;
    f.sandbox.set_logs_per_day(UNIT, 1_200).unwrap();
    f.sandbox.set_faults(Faults {
        latency: Duration::from_millis(15),
        ..Faults::default()
    });
    kill_when(&f, &["logs", "pull"], || async {
        f.ledger
            .archive_unit(UNIT)
            .await
            .unwrap()
            .and_then(|unit| unit.pulled_to)
            .is_some_and(|to| to >= midnight(start) + TimeDelta::days(3))
    })
    .await;
    let pulled_to = f
        .ledger
        .archive_unit(UNIT)
        .await
        .unwrap()
        .unwrap()
        .pulled_to
        .unwrap();
    f.sandbox.set_faults(Faults::default());
    let stored_part = f.truth(midnight(start), pulled_to).await;
    f.assert_archived_exactly(&stored_part).await;

    let out = run(&f.config, &["logs", "pull"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let end = f
        .ledger
        .archive_unit(UNIT)
        .await
        .unwrap()
        .unwrap()
        .pulled_to
        .unwrap();
    assert!(end > pulled_to);
    let truth = f.truth(midnight(start), end).await;
    f.assert_archived_exactly(&truth).await;
}
