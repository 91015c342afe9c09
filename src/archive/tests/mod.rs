//! The archive against a stand-in FlexyKey and real SQLite files.

mod fake;
mod read;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures::TryStreamExt;

use self::fake::{Call, FakeSource, at, entries, unit};
use super::*;
use crate::config::{ArchiveConfig, HumanDuration, UnitSelection};
use crate::flexykey::LogEntry;
use crate::ledger::{ArchiveFilter, ArchivedEntry, Ledger};

async fn ledger(dir: &tempfile::TempDir) -> Ledger {
    Ledger::open(&dir.path().join("ledger.db")).await.unwrap()
}

fn config(start: NaiveDate, units: UnitSelection) -> ArchiveConfig {
    ArchiveConfig {
        units,
        start,
        overlap: HumanDuration::from_secs(2 * 3600),
        ..ArchiveConfig::default()
    }
}

async fn stored(ledger: &Ledger, unit_id: i64) -> Vec<LogEntry> {
    let filter = ArchiveFilter {
        unit_id: Some(unit_id),
        ..ArchiveFilter::default()
    };
    let items: Vec<ArchivedEntry> = ledger.archive_entries(&filter).try_collect().await.unwrap();
    items.into_iter().map(|item| item.entry).collect()
}

/// Asserts the archive holds exactly `expected`, each entry as many times as it is listed.
async fn assert_archived_exactly(ledger: &Ledger, unit_id: i64, expected: &[LogEntry]) {
    let mut expected: Vec<[u8; 32]> = expected
        .iter()
        .map(|entry| entry_hash(unit_id, &normalize(entry.clone())))
        .collect();
    let mut hashes: Vec<[u8; 32]> = stored(ledger, unit_id)
        .await
        .iter()
        .map(|entry| entry_hash(unit_id, entry))
        .collect();
    expected.sort_unstable();
    hashes.sort_unstable();
    assert_eq!(hashes.len(), expected.len(), "stored count differs");
    assert!(
        hashes == expected,
        "stored entries differ from the source's"
    );
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn entries_identical_but_for_server_date_are_different_entries() {
    let first = entries(1, at(2026, 3, 1, 0, 0, 0), TimeDelta::days(1), 1)
        .pop()
        .unwrap();
    let mut twin = first.clone();
    twin.server_date += TimeDelta::seconds(1);
    assert_ne!(entry_hash(3023, &first), entry_hash(3023, &twin));
    assert_ne!(entry_hash(3023, &first), entry_hash(5459, &first));
    // One field's text moved into the next must not collide.
    let mut shifted = first.clone();
    shifted.source_label = Some("ab".to_owned());
    shifted.action_label = Some("c".to_owned());
    let mut other = first.clone();
    other.source_label = Some("a".to_owned());
    other.action_label = Some("bc".to_owned());
    assert_ne!(entry_hash(1, &shifted), entry_hash(1, &other));
}

#[test]
fn normalizing_drops_subseconds_and_empty_texts() {
    let mut entry = entries(2, at(2026, 3, 1, 0, 0, 0), TimeDelta::days(1), 1)
        .pop()
        .unwrap();
    let whole = entry.server_date;
    entry.server_date += TimeDelta::milliseconds(400);
    entry.source_label = Some(String::new());
    let normal = normalize(entry);
    assert_eq!(normal.server_date, whole);
    assert_eq!(normal.source_label, None);
}

#[test]
fn windows_cover_the_range_without_gaps() {
    let from = at(2026, 1, 1, 6, 0, 0);
    let to = at(2026, 1, 4, 12, 0, 0);
    let cuts = windows(from, to, TimeDelta::days(1));
    assert_eq!(cuts.len(), 4);
    assert_eq!(cuts[0].0, from);
    assert_eq!(cuts.last().unwrap().1, to);
    for pair in cuts.windows(2) {
        assert_eq!(pair[0].1, pair[1].0);
    }
    assert_eq!(windows(to, to, WINDOW), vec![(to, to)]);
    assert_eq!(windows(to, from, WINDOW), vec![(from, from)]);
}

#[tokio::test]
async fn a_busy_day_is_archived_once_and_a_second_pull_asks_once() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let source = FakeSource::with_units(vec![unit(
        3023,
        "FlexyKey",
        Some("W. Europe Standard Time"),
    )]);
    let busy = entries(7, at(2026, 3, 1, 0, 0, 0), TimeDelta::days(1), 5_000);
    source.add_logs(3023, busy.clone());
    let config = config(day(2026, 3, 1), UnitSelection::All);
    let now = at(2026, 3, 2, 9, 0, 0);

    let first = pull(&source, &ledger, &config, now).await.unwrap();
    assert_eq!(first.units[0].fetched, 5_000);
    assert_archived_exactly(&ledger, 3023, &busy).await;
    let state = ledger.archive_unit(3023).await.unwrap().unwrap();
    assert_eq!(state.pulled_to, Some(now));
    assert_eq!(state.timezone.as_deref(), Some("Europe/Berlin"));
    let newest = busy.iter().map(|entry| entry.server_date).max();
    assert_eq!(state.cursor, newest);

    source.clear_calls();
    let later = now + TimeDelta::minutes(15);
    let second = pull(&source, &ledger, &config, later).await.unwrap();
    assert_eq!(second.stored(), 0);
    assert_eq!(
        source.calls(),
        vec![Call::Logs(3023, now - TimeDelta::hours(2), later)],
        "a pull with nothing new costs one request per unit"
    );
    assert_archived_exactly(&ledger, 3023, &busy).await;
}

#[tokio::test]
async fn new_entries_appear_after_the_next_pull() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let source = FakeSource::with_units(vec![unit(5459, "FlexyKey", None)]);
    let config = config(day(2026, 4, 1), UnitSelection::Listed(vec![5459]));
    let old = entries(3, at(2026, 4, 1, 0, 0, 0), TimeDelta::hours(20), 300);
    source.add_logs(5459, old.clone());
    pull(&source, &ledger, &config, at(2026, 4, 1, 20, 0, 0))
        .await
        .unwrap();
    // Arrives with a serverDate inside the overlap, and later ones.
    let fresh = entries(4, at(2026, 4, 1, 19, 0, 0), TimeDelta::hours(2), 120);
    source.add_logs(5459, fresh.clone());
    let report = pull(&source, &ledger, &config, at(2026, 4, 1, 21, 0, 0))
        .await
        .unwrap();
    let all: Vec<LogEntry> = old.into_iter().chain(fresh).collect();
    assert_archived_exactly(&ledger, 5459, &all).await;
    assert!(report.stored() > 0);
}

#[tokio::test]
async fn a_pull_that_fails_half_way_and_runs_again_leaves_no_gap_or_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let source = FakeSource::with_units(vec![unit(3023, "FlexyKey", None)]);
    let history = entries(11, at(2026, 2, 1, 0, 0, 0), TimeDelta::days(6), 3_000);
    source.add_logs(3023, history.clone());
    let config = config(day(2026, 2, 1), UnitSelection::All);
    let now = at(2026, 2, 7, 0, 0, 0);
    *source.logs_budget.lock().unwrap() = Some(3);

    let failed = pull(&source, &ledger, &config, now).await.unwrap();
    assert_eq!(failed.failed.len(), 1, "{failed:?}");
    let state = ledger.archive_unit(3023).await.unwrap().unwrap();
    assert_eq!(state.pulled_to, Some(at(2026, 2, 4, 0, 0, 0)));
    let partial = stored(&ledger, 3023).await;
    assert!(
        partial
            .iter()
            .all(|e| e.server_date <= at(2026, 2, 4, 0, 0, 0))
    );

    *source.logs_budget.lock().unwrap() = None;
    source.clear_calls();
    pull(&source, &ledger, &config, now).await.unwrap();
    let resumed_from = source.log_calls()[0].1;
    assert_eq!(
        resumed_from,
        at(2026, 2, 3, 22, 0, 0),
        "resumes at position - overlap"
    );
    assert_archived_exactly(&ledger, 3023, &history).await;
}

#[tokio::test(flavor = "current_thread")]
async fn pulls_aborted_at_any_point_and_run_again_converge_to_the_exact_archive() {
    let mut source = FakeSource::with_units(vec![unit(3023, "FlexyKey", None)]);
    source.yields = 3;
    let source = std::sync::Arc::new(source);
    let history = entries(12, at(2026, 2, 1, 0, 0, 0), TimeDelta::days(8), 4_000);
    source.add_logs(3023, history.clone());
    let config = config(day(2026, 2, 1), UnitSelection::All);
    let now = at(2026, 2, 9, 0, 0, 0);
    let mut interrupted_mid_way = 0;
    // Abort once the k-th request was made, after a few more scheduler turns: the abort
    // lands in a fetch, between a fetch and its store, or inside the store's transaction.
    for (calls, turns) in (2..=9).flat_map(|k| [0, 1, 3, 8].map(|turns| (k, turns))) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(&dir).await;
        source.clear_calls();
        let (task_source, task_ledger, task_config) =
            (source.clone(), ledger.clone(), config.clone());
        let task =
            tokio::spawn(async move { pull(&*task_source, &task_ledger, &task_config, now).await });
        while source.calls().len() < calls && !task.is_finished() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        for _ in 0..turns {
            tokio::task::yield_now().await;
        }
        task.abort();
        let _ = task.await;
        // SQLite's worker thread may still finish a commit the aborted task had sent: take
        // the write lock once, so the reads below see the ledger after it, not half-way.
        ledger.check_writable().await.unwrap();
        // Whatever is stored is exactly the history up to the stored position, each once.
        let position = ledger
            .archive_unit(3023)
            .await
            .unwrap()
            .and_then(|unit| unit.pulled_to);
        let prefix: Vec<LogEntry> = history
            .iter()
            .filter(|entry| position.is_some_and(|position| entry.server_date <= position))
            .cloned()
            .collect();
        assert_archived_exactly(&ledger, 3023, &prefix).await;
        if !prefix.is_empty() && prefix.len() < history.len() {
            interrupted_mid_way += 1;
        }
        pull(&*source, &ledger, &config, now).await.unwrap();
        assert_archived_exactly(&ledger, 3023, &history).await;
    }
    assert!(
        interrupted_mid_way > 10,
        "aborts did not land half-way: {interrupted_mid_way}"
    );
}

#[tokio::test]
async fn an_interrupted_backfill_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let source = FakeSource::with_units(vec![unit(3023, "FlexyKey", None)]);
    let history = entries(21, at(2026, 1, 1, 0, 0, 0), TimeDelta::days(10), 2_000);
    source.add_logs(3023, history.clone());
    let selection = UnitSelection::Listed(vec![3023]);
    let (from, to) = (at(2026, 1, 1, 0, 0, 0), at(2026, 1, 11, 0, 0, 0));
    *source.logs_budget.lock().unwrap() = Some(4);

    let err = backfill(&source, &ledger, &selection, from, to, to, &())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ArchiveError::Unit { unit_id: 3023, .. }),
        "{err}"
    );
    let job = ledger.archive_backfill(3023).await.unwrap().unwrap();
    assert_eq!(job.position, at(2026, 1, 5, 0, 0, 0));

    *source.logs_budget.lock().unwrap() = None;
    source.clear_calls();
    let report = backfill(&source, &ledger, &selection, from, to, to, &())
        .await
        .unwrap();
    let calls = source.log_calls();
    assert_eq!(calls.len(), 6, "only the six days left are read again");
    assert_eq!(calls[0].1, at(2026, 1, 5, 0, 0, 0));
    assert_eq!(report.units[0].resumed_at, at(2026, 1, 5, 0, 0, 0));
    assert_archived_exactly(&ledger, 3023, &history).await;

    source.clear_calls();
    backfill(&source, &ledger, &selection, from, to, to, &())
        .await
        .unwrap();
    assert!(
        source.log_calls().is_empty(),
        "a complete backfill reads nothing"
    );
}

#[tokio::test]
async fn units_without_logs_are_skipped_and_the_unit_list_is_read_daily() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let source = FakeSource::with_units(vec![
        unit(3023, "FlexyKey", None),
        unit(7001, "EVVA AirKey", None),
    ]);
    let config = config(day(2026, 3, 1), UnitSelection::All);
    let now = at(2026, 3, 1, 6, 0, 0);
    let report = pull(&source, &ledger, &config, now).await.unwrap();
    assert_eq!(report.skipped, vec![7001]);
    assert!(!source.log_calls().iter().any(|call| call.0 == 7001));
    assert_eq!(source.calls()[0], Call::Units);

    source.clear_calls();
    pull(&source, &ledger, &config, now + TimeDelta::hours(1))
        .await
        .unwrap();
    assert!(!source.calls().contains(&Call::Units), "the list is cached");
    source.clear_calls();
    pull(&source, &ledger, &config, now + TimeDelta::days(1))
        .await
        .unwrap();
    assert!(
        source.calls().contains(&Call::Units),
        "read again after a day"
    );

    let err = backfill(
        &source,
        &ledger,
        &UnitSelection::Listed(vec![7001]),
        now - TimeDelta::days(1),
        now,
        now,
        &(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("7001"), "{err}");
}

#[tokio::test]
async fn a_refused_unit_is_reported_and_the_others_are_still_pulled() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let source = FakeSource::with_units(vec![
        unit(3023, "FlexyKey", None),
        unit(5459, "FlexyKey", None),
    ]);
    let history = entries(5, at(2026, 3, 1, 0, 0, 0), TimeDelta::hours(5), 50);
    source.add_logs(5459, history.clone());
    source.forbidden.lock().unwrap().push(3023);
    let config = config(day(2026, 3, 1), UnitSelection::Listed(vec![3023, 5459]));
    let report = pull(&source, &ledger, &config, at(2026, 3, 1, 6, 0, 0))
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, 3023);
    assert!(report.failed[0].1.contains("403"), "{:?}", report.failed);
    assert_archived_exactly(&ledger, 5459, &history).await;
}

#[tokio::test]
async fn retention_deletes_entries_older_than_its_days() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let source = FakeSource::with_units(vec![unit(3023, "FlexyKey", None)]);
    let history = entries(8, at(2026, 3, 1, 0, 0, 0), TimeDelta::days(10), 500);
    source.add_logs(3023, history.clone());
    let mut config = config(day(2026, 3, 1), UnitSelection::All);
    let now = at(2026, 3, 11, 0, 0, 0);
    pull(&source, &ledger, &config, now).await.unwrap();
    assert_archived_exactly(&ledger, 3023, &history).await;

    config.retention_days = 3;
    let report = pull(&source, &ledger, &config, now).await.unwrap();
    let cutoff = now - TimeDelta::days(3);
    let kept: Vec<LogEntry> = history
        .iter()
        .filter(|entry| entry.server_date >= cutoff)
        .cloned()
        .collect();
    assert!(report.units[0].expired > 0);
    assert_archived_exactly(&ledger, 3023, &kept).await;

    // A unit no longer pulled (dropped from the config) still loses its expired entries.
    let old_history = entries(8, at(2026, 3, 1, 0, 0, 0), TimeDelta::days(10), 50);
    archive_of(&ledger, 9999, old_history.clone(), now).await;
    config.units = UnitSelection::Listed(vec![3023]);
    let report = pull(&source, &ledger, &config, now).await.unwrap();
    assert!(report.expired_elsewhere > 0);
    let recent: Vec<LogEntry> = old_history
        .into_iter()
        .filter(|entry| entry.server_date >= cutoff)
        .collect();
    assert_archived_exactly(&ledger, 9999, &recent).await;
}

#[test]
fn identical_entries_of_one_answer_are_numbered_in_order() {
    let one = entries(3, at(2026, 3, 1, 0, 0, 0), TimeDelta::seconds(1), 1)
        .pop()
        .unwrap();
    let mut other = one.clone();
    other.log_msg = Some("another message".to_owned());
    let answer = vec![one.clone(), other, one.clone(), one];
    let numbered: Vec<u32> = hash_entries(3023, answer)
        .iter()
        .map(|item| item.occurrence)
        .collect();
    assert_eq!(numbered, [0, 0, 1, 2]);
}

/// Ten identical entries of one second: two overlapping pulls, one of them over a window
/// boundary at that very second, more of them listed later, and an interrupted backfill
/// resumed at that second. The archive and its export hold each as often as FlexyKey lists it.
#[tokio::test]
async fn identical_entries_are_kept_as_often_as_listed_across_overlaps_and_backfills() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let source = FakeSource::with_units(vec![unit(3023, "FlexyKey", None)]);
    let second = at(2026, 3, 2, 0, 0, 0);
    let one = entries(9, second, TimeDelta::seconds(1), 1).pop().unwrap();
    let config = config(day(2026, 3, 1), UnitSelection::Listed(vec![3023]));
    let count = |ledger: &Ledger| {
        let ledger = ledger.clone();
        async move {
            ledger
                .archive_count(&ArchiveFilter::default())
                .await
                .unwrap()
        }
    };

    // Four of them so far; the pull's two windows meet at their second.
    source.add_logs(3023, vec![one.clone(); 4]);
    pull(&source, &ledger, &config, second + TimeDelta::minutes(30))
        .await
        .unwrap();
    assert_eq!(count(&ledger).await, 4);
    // Six more arrive at that second; the next pull's overlap lists all ten.
    source.add_logs(3023, vec![one.clone(); 6]);
    pull(&source, &ledger, &config, second + TimeDelta::hours(1))
        .await
        .unwrap();
    assert_eq!(count(&ledger).await, 10);

    // A backfill interrupted after its first day, whose end is that second, then resumed.
    let selection = UnitSelection::Listed(vec![3023]);
    let (from, to) = (at(2026, 3, 1, 0, 0, 0), at(2026, 3, 3, 0, 0, 0));
    *source.logs_budget.lock().unwrap() = Some(1);
    let now = to + TimeDelta::days(1);
    assert!(
        backfill(&source, &ledger, &selection, from, to, now, &())
            .await
            .is_err()
    );
    *source.logs_budget.lock().unwrap() = None;
    backfill(&source, &ledger, &selection, from, to, now, &())
        .await
        .unwrap();
    assert_archived_exactly(&ledger, 3023, &vec![one.clone(); 10]).await;

    let mut csv = Vec::new();
    let written = export(
        &ledger,
        &ArchiveFilter::default(),
        None,
        ExportFormat::Csv,
        &mut csv,
    )
    .await
    .unwrap();
    assert_eq!(written, 10);
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().count(),
        11,
        "header and ten rows"
    );
}

/// Used by the read tests: an archive holding `entries` for `unit_id`.
async fn archive_of(ledger: &Ledger, unit_id: i64, entries: Vec<LogEntry>, end: DateTime<Utc>) {
    ledger
        .archive_store_pulled(unit_id, &hash_entries(unit_id, entries), end)
        .await
        .unwrap();
}
