//! Log entries identical in every field (two events in one second) against the sandbox: kept
//! as many times as FlexyKey lists them, through overlapping pulls, a window boundary, a
//! resumed backfill and the real binary's export.

use chrono::{TimeDelta, Utc};
use flexysync::archive;
use flexysync::config::UnitSelection;
use flexysync::flexykey::LogEntry;
use flexysync::sandbox::SandboxLogEntry;

use crate::archive::{Fixture, fixture, midnight};
use crate::helpers::{code, run, stderr, stdout};

const UNIT: i64 = flexysync::sandbox::UNIT_MAIN;

fn opened_twice_in_one_second(at: chrono::DateTime<Utc>) -> SandboxLogEntry {
    SandboxLogEntry {
        server_date: at,
        unit_date: at.format("%Y-%m-%d %H:%M").to_string(),
        source_id: "+46701234567".to_owned(),
        source_label: Some("Gäst".to_owned()),
        action_label: Some("Öppna F1".to_owned()),
        log_msg: "Öppnad med telefonsamtal".to_owned(),
    }
}

async fn exported_rows(f: &Fixture) -> usize {
    let out = run(&f.config, &["logs", "export", "--format", "jsonl"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out).lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_identical_entries_across_an_overlap_and_a_resumed_backfill_are_ten() {
    let day = (Utc::now() - TimeDelta::days(3)).date_naive();
    let f = fixture(&format!(
        "units = [{UNIT}]\nstart = \"{day}\"\noverlap = \"2h\""
    ))
    .await;
    f.sandbox.set_logs_per_day(UNIT, 0).unwrap();
    // The second is midnight: the boundary between two pull windows and two backfill days.
    let second = midnight(day) + TimeDelta::days(1);
    let ten = vec![opened_twice_in_one_second(second); 10];
    f.sandbox.add_log_entries(UNIT, ten[..4].to_vec()).unwrap();
    let (client, config) = (f.client(), f.archive_config());

    let first = archive::pull(&client, &f.ledger, &config, second + TimeDelta::minutes(30))
        .await
        .unwrap();
    assert_eq!(
        (first.units[0].windows, first.stored()),
        (2, 4),
        "{first:?}"
    );
    // The other six are listed later; a pull whose overlap covers the second lists all ten.
    f.sandbox.add_log_entries(UNIT, ten[4..].to_vec()).unwrap();
    let second_pull = archive::pull(&client, &f.ledger, &config, second + TimeDelta::hours(1))
        .await
        .unwrap();
    assert_eq!(second_pull.stored(), 6, "{second_pull:?}");
    let again = archive::pull(&client, &f.ledger, &config, Utc::now())
        .await
        .unwrap();
    assert_eq!(again.stored(), 0, "{again:?}");

    // A backfill that ends at the second, then resumed past it.
    let units = UnitSelection::Listed(vec![UNIT]);
    let from = midnight(day);
    let now = Utc::now();
    archive::backfill(&client, &f.ledger, &units, from, second, now, &())
        .await
        .unwrap();
    let resumed = archive::backfill(
        &client,
        &f.ledger,
        &units,
        from,
        second + TimeDelta::days(1),
        now,
        &(),
    )
    .await
    .unwrap();
    assert_eq!(resumed.units[0].resumed_at, second, "{resumed:?}");
    assert_eq!(resumed.units[0].fetched, 10, "{resumed:?}");
    assert_eq!(resumed.units[0].stored, 0, "{resumed:?}");

    let expected: Vec<LogEntry> = f.truth(from, now).await;
    assert_eq!(expected.len(), 10, "FlexyKey lists ten");
    f.assert_archived_exactly(&expected).await;
    assert_eq!(exported_rows(&f).await, 10);
}

/// The measurement: a unit logging 300 entries an hour, archived over 30 hours and
/// compared with what FlexyKey lists for the same span (the sandbox repeats some entries
/// exactly, as real units do when two events fall in one second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_busy_hours_are_archived_entry_for_entry() {
    let now = Utc::now();
    let from = now - TimeDelta::hours(30);
    let start = from.date_naive();
    let f = fixture(&format!("units = [{UNIT}]\nstart = \"{start}\"")).await;
    f.sandbox.set_logs_per_day(UNIT, 300 * 24).unwrap();
    let (client, config) = (f.client(), f.archive_config());
    archive::pull(&client, &f.ledger, &config, now)
        .await
        .unwrap();

    let listed = f.truth(midnight(start), now).await;
    let in_span = |entries: &[LogEntry]| entries.iter().filter(|e| e.server_date >= from).count();
    let archived = f.archived().await;
    println!(
        "archive count: {} archived of {} listed in the last 30 hours ({} and {} since {start})",
        in_span(&archived),
        in_span(&listed),
        archived.len(),
        listed.len()
    );
    f.assert_archived_exactly(&listed).await;
    assert!(in_span(&listed) > 8_000, "{}", in_span(&listed));
}
