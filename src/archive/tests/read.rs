//! Reading the archive back: export round trips, the show table.

use std::collections::HashMap;

use chrono::TimeDelta;

use super::fake::{at, entries};
use super::{archive_of, ledger};
use crate::archive::{
    CredentialIndex, ExportFormat, ShowOptions, export, mask_phone_numbers, show,
};
use crate::flexykey::LogEntry;
use crate::ledger::{ArchiveFilter, CredentialLabel};

/// Entries whose texts are hard on CSV and JSON: separators, quotes, new lines, non-ASCII,
/// absent fields.
fn awkward() -> Vec<LogEntry> {
    let mut list = entries(31, at(2026, 6, 1, 0, 0, 0), TimeDelta::days(1), 40);
    list[0].log_msg = Some("rad 1\nrad 2, \"citat\"; semikolon".to_owned());
    list[1].source_label = None;
    list[1].unit_date = None;
    list[2].action_label = Some("  ledande mellanslag".to_owned());
    list[3].log_msg = Some("emoji 🚪 och åäö\r\n".to_owned());
    list
}

fn field(value: &serde_json::Value, name: &str) -> Option<String> {
    value.get(name).and_then(|v| v.as_str()).map(str::to_owned)
}

#[tokio::test]
async fn csv_and_json_lines_exports_parse_back_to_the_same_entries() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let mut expected = awkward();
    archive_of(&ledger, 3023, expected.clone(), at(2026, 6, 2, 0, 0, 0)).await;
    expected.sort_by_key(|entry| entry.server_date);
    let filter = ArchiveFilter::default();

    let mut jsonl = Vec::new();
    let count = export(&ledger, &filter, None, ExportFormat::JsonLines, &mut jsonl)
        .await
        .unwrap();
    assert_eq!(count, expected.len() as u64);
    let text = String::from_utf8(jsonl).unwrap();
    let mut from_json: Vec<LogEntry> = Vec::new();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["unitId"], 3023);
        from_json.push(LogEntry {
            server_date: field(&value, "serverDate").unwrap().parse().unwrap(),
            unit_date: field(&value, "unitDate"),
            source_id: field(&value, "sourceID"),
            source_label: field(&value, "sourceLabel"),
            action_label: field(&value, "actionLabel"),
            log_msg: field(&value, "logMsg"),
        });
    }
    from_json.sort_by_key(|entry| entry.server_date);
    assert_eq!(from_json.len(), expected.len());
    for entry in &from_json {
        assert!(expected.contains(entry), "{entry:?} was not archived");
    }

    let mut csv_bytes = Vec::new();
    export(&ledger, &filter, None, ExportFormat::Csv, &mut csv_bytes)
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(&csv_bytes[..]);
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let text_or_none = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let mut from_csv = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(&record[column("unitId")], "3023");
        from_csv.push(LogEntry {
            server_date: record[column("serverDate")].parse().unwrap(),
            unit_date: text_or_none(&record[column("unitDate")]),
            source_id: text_or_none(&record[column("sourceID")]),
            source_label: text_or_none(&record[column("sourceLabel")]),
            action_label: text_or_none(&record[column("actionLabel")]),
            log_msg: text_or_none(&record[column("logMsg")]),
        });
    }
    assert_eq!(from_csv, from_json, "CSV and JSON lines disagree");
}

#[tokio::test]
async fn an_empty_csv_export_still_has_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let mut out = Vec::new();
    let count = export(
        &ledger,
        &ArchiveFilter::default(),
        None,
        ExportFormat::Csv,
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(count, 0);
    assert_eq!(
        String::from_utf8(out).unwrap().trim(),
        "unitId,serverDate,unitDate,sourceID,sourceLabel,actionLabel,logMsg"
    );
}

#[test]
fn phone_numbers_keep_only_their_last_three_digits() {
    assert_eq!(mask_phone_numbers("+46701234567"), "+********567");
    assert_eq!(
        mask_phone_numbers("Samtal från 070-123 45 67 öppnade"),
        "Samtal från ***-*** *5 67 öppnade"
    );
    assert_eq!(mask_phone_numbers("Informationslogg"), "Informationslogg");
    assert_eq!(mask_phone_numbers("kod 1234 F1"), "kod 1234 F1");
}

#[tokio::test]
async fn show_prints_local_time_labels_and_filters_without_full_phone_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let guest = "+46701234567";
    let other = "+46709999000";
    let entry = |hour: u32, source: &str, msg: &str| LogEntry {
        server_date: at(2026, 1, 14, hour, 5, 0),
        unit_date: Some(format!("2026-01-14 {hour:02}:05")),
        source_id: Some(source.to_owned()),
        source_label: None,
        action_label: Some("Öppnad".to_owned()),
        log_msg: Some(format!("Samtal från {source}: {msg}")),
    };
    archive_of(
        &ledger,
        3023,
        vec![
            entry(7, guest, "tvättstuga"),
            entry(9, other, "grind"),
            entry(11, guest, "GRIND"),
        ],
        at(2026, 1, 15, 0, 0, 0),
    )
    .await;
    let mut labels = CredentialIndex::default();
    labels.insert(
        3023,
        vec![
            CredentialLabel {
                credential: "070-123 45 67".to_owned(),
                label: "Anna Svensson (HMABC)".to_owned(),
                start: at(2026, 1, 14, 6, 0, 0),
                end: at(2026, 1, 14, 12, 0, 0),
            },
            // The same phone a week later: another guest's booking, not this one.
            CredentialLabel {
                credential: guest.to_owned(),
                label: "Next week".to_owned(),
                start: at(2026, 1, 21, 15, 0, 0),
                end: at(2026, 1, 24, 11, 0, 0),
            },
        ],
    );
    let zones = HashMap::from([(3023, chrono_tz::Europe::Stockholm)]);
    let run = |options: ShowOptions| {
        let (ledger, zones, labels) = (&ledger, &zones, &labels);
        async move {
            let mut out = Vec::new();
            let shown = show(ledger, &options, zones, labels, &mut out)
                .await
                .unwrap();
            (shown, String::from_utf8(out).unwrap())
        }
    };

    let (shown, table) = run(ShowOptions::default()).await;
    assert_eq!(shown, 3);
    assert!(table.contains("2026-01-14 08:05:00 CET"), "{table}");
    assert!(table.contains("Anna Svensson (HMABC)"), "{table}");
    assert!(!table.contains("Next week"), "{table}");
    assert!(table.contains("+********567"), "{table}");
    assert!(!table.contains(guest) && !table.contains(other), "{table}");
    assert!(!table.contains("709999"), "{table}");

    let (shown, table) = run(ShowOptions {
        filter: ArchiveFilter {
            source_id: Some(guest.to_owned()),
            ..ArchiveFilter::default()
        },
        ..ShowOptions::default()
    })
    .await;
    assert_eq!(shown, 2, "{table}");
    let (shown, table) = run(ShowOptions {
        filter: ArchiveFilter {
            source_id: Some("070-123 45 67".to_owned()),
            ..ArchiveFilter::default()
        },
        ..ShowOptions::default()
    })
    .await;
    assert_eq!(shown, 2, "the same phone in a national spelling: {table}");

    let (shown, table) = run(ShowOptions {
        grep: Some("grind".to_owned()),
        ..ShowOptions::default()
    })
    .await;
    assert_eq!(shown, 2, "{table}");
    let (shown, _) = run(ShowOptions {
        grep: Some("anna".to_owned()),
        ..ShowOptions::default()
    })
    .await;
    assert_eq!(shown, 2);

    let (shown, table) = run(ShowOptions {
        filter: ArchiveFilter {
            from: Some(at(2026, 1, 14, 8, 0, 0)),
            to: Some(at(2026, 1, 14, 10, 0, 0)),
            ..ArchiveFilter::default()
        },
        zone_override: Some(chrono_tz::UTC),
        ..ShowOptions::default()
    })
    .await;
    assert_eq!(shown, 1, "{table}");
    assert!(table.contains("2026-01-14 09:05:00 UTC"), "{table}");
}

#[tokio::test]
async fn an_archive_window_holds_its_start_and_stops_before_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(&dir).await;
    let list = (0..4)
        .map(|second| LogEntry {
            server_date: at(2026, 3, 29, 21, 59, 58) + TimeDelta::seconds(second),
            unit_date: None,
            source_id: Some(format!("card {second}")),
            source_label: None,
            action_label: None,
            log_msg: None,
        })
        .collect();
    archive_of(&ledger, 3023, list, at(2026, 3, 30, 0, 0, 0)).await;
    let count = |from, to| {
        let filter = ArchiveFilter {
            from: Some(from),
            to: Some(to),
            ..ArchiveFilter::default()
        };
        let ledger = &ledger;
        async move { ledger.archive_count(&filter).await.unwrap() }
    };
    // Entries at :58, :59, 22:00:00 and :01; the window [21:59:59, 22:00:00) holds only :59.
    assert_eq!(
        count(at(2026, 3, 29, 21, 59, 59), at(2026, 3, 29, 22, 0, 0)).await,
        1
    );
    assert_eq!(
        count(at(2026, 3, 29, 21, 59, 58), at(2026, 3, 29, 22, 0, 1)).await,
        3
    );
    // An end with a fraction of a second takes in the second it falls in.
    let fraction = at(2026, 3, 29, 22, 0, 0) + TimeDelta::milliseconds(500);
    assert_eq!(count(at(2026, 3, 29, 21, 59, 59), fraction).await, 2);
}

#[test]
fn who_an_access_event_was_is_found_by_the_same_number_in_e164() {
    let during = at(2026, 1, 14, 9, 0, 0);
    let label = |credential: &str, label: &str| CredentialLabel {
        credential: credential.to_owned(),
        label: label.to_owned(),
        start: at(2026, 1, 14, 6, 0, 0),
        end: at(2026, 1, 14, 12, 0, 0),
    };
    let mut labels = CredentialIndex::default();
    labels.insert(
        3023,
        vec![
            label("+46701234567", "Anna"),
            label("+390612345678", "Giulia"),
            label("4711", "Code guest"),
        ],
    );
    let who = |source_id: &str| labels.label(3023, source_id, during);
    for spelling in [
        "+46701234567",
        "0701234567",
        "46701234567",
        "0046 70-123 45 67",
    ] {
        assert_eq!(who(spelling), Some("Anna"), "{spelling}");
    }
    assert_eq!(who("0612345678"), Some("Giulia"));
    assert_eq!(who("4711"), Some("Code guest"));
    // Another country's number with the same last nine digits, an Italian number without
    // its 0, another unit: nobody.
    assert_eq!(who("+44701234567"), None);
    assert_eq!(who("612345678"), None);
    assert_eq!(labels.label(5459, "+46701234567", during), None);
}
