//! The archive through the real binary's `logs` commands: exports, live fetches, a backfill
//! of every unit, and access events shown with the label of the booking flexysync made.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_round_trip_and_show_masks_phones_in_the_units_time() {
    let start = (Utc::now() - TimeDelta::days(1)).date_naive();
    let f = fixture(&format!("units = \"all\"\nstart = \"{start}\"")).await;
    let out = run(&f.config, &["logs", "pull"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("unit 7001: skipped"),
        "{}",
        stdout(&out)
    );
    let archived = f.archived().await;
    assert!(archived.len() > 100, "{}", archived.len());

    let csv_path = f.dir.path().join("out.csv");
    let out = run(
        &f.config,
        &[
            "logs", "export", "--format", "csv", "--unit", "3023", "--output",
        ],
    )
    .await;
    assert_ne!(code(&out), 0, "--output needs a value");
    let out = run(
        &f.config,
        &[
            "logs",
            "export",
            "--format",
            "csv",
            "--unit",
            "3023",
            "--output",
            csv_path.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        [
            "unitId",
            "serverDate",
            "unitDate",
            "sourceID",
            "sourceLabel",
            "actionLabel",
            "logMsg"
        ]
    );
    let text = |value: &str| (!value.is_empty()).then(|| value.to_owned());
    let from_csv: Vec<LogEntry> = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            assert_eq!(&record[0], "3023");
            LogEntry {
                server_date: record[1].parse().unwrap(),
                unit_date: text(&record[2]),
                source_id: text(&record[3]),
                source_label: text(&record[4]),
                action_label: text(&record[5]),
                log_msg: text(&record[6]),
            }
        })
        .collect();
    assert_eq!(from_csv, archived, "CSV parses back to the archive");

    let out = run(&f.config, &["logs", "export", "--format", "jsonl"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let from_json: Vec<LogEntry> = stdout(&out)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|value| value["unitId"] == UNIT)
        .map(|value| {
            let field = |name: &str| value[name].as_str().map(str::to_owned);
            LogEntry {
                server_date: field("serverDate").unwrap().parse().unwrap(),
                unit_date: field("unitDate"),
                source_id: field("sourceID"),
                source_label: field("sourceLabel"),
                action_label: field("actionLabel"),
                log_msg: field("logMsg"),
            }
        })
        .collect();
    assert_eq!(from_json, archived, "JSON lines parse back to the archive");

    let out = run(&f.config, &["logs", "show", "--unit", "3023"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert_eq!(
        table.lines().count(),
        archived.len() + 1,
        "a header and a row each"
    );
    assert!(
        table.contains(" CET ") || table.contains(" CEST "),
        "the unit's zone (W. Europe Standard Time): {table}"
    );
    assert!(
        table.starts_with("TIME (Europe/Berlin) "),
        "the heading names the zone: {table}"
    );
    let full_phone = regex::Regex::new(r"\+\d{7,}").unwrap();
    assert!(!full_phone.is_match(&table), "a full phone number is shown");

    let phone = "+46701234567";
    let out = run(
        &f.config,
        &["logs", "show", "--unit", "3023", "--source-id", phone],
    )
    .await;
    let shown = stdout(&out);
    let rows: Vec<&str> = shown.lines().skip(1).map(str::trim_end).collect::<Vec<_>>();
    let expected = archived
        .iter()
        .filter(|entry| entry.source_id.as_deref() == Some(phone))
        .count();
    assert!(expected > 0);
    assert_eq!(rows.len(), expected);
    assert!(
        rows.iter().all(|row| row.contains("+********567")),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_fetch_reads_a_unit_live_and_refusals_have_their_exit_code() {
    let f = fixture("").await;
    let day = (Utc::now() - TimeDelta::days(3)).date_naive();
    let live = f
        .truth(midnight(day), midnight(day) + TimeDelta::seconds(86_399))
        .await;
    assert!(!live.is_empty());
    let day_text = day.to_string();
    // A UTC day (the unit's own zone is Europe/Berlin: tests/api/cli/windows.rs).
    let args = [
        "--tz", "UTC", "logs", "fetch", "3023", "--from", &day_text, "--to", &day_text,
    ];

    let out = run(&f.config, &args).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table
            .trim_end()
            .ends_with(&format!("{} entries", live.len())),
        "{table}"
    );
    assert!(table.starts_with("Times in UTC (--tz)."), "{table}");
    assert_eq!(table.lines().count(), live.len() + 3);
    assert!(!regex::Regex::new(r"\+\d{7,}").unwrap().is_match(&table));

    let mut json_args = vec!["--json"];
    json_args.extend(args);
    let out = run(&f.config, &json_args).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(listed.len(), live.len());
    assert!(
        listed
            .iter()
            .all(|e| e["sourceID"].is_string() && e["serverDate"].is_string())
    );
    assert_eq!(
        f.ledger
            .archive_count(&ArchiveFilter::default())
            .await
            .unwrap(),
        0
    );

    let out = run(
        &f.config,
        &[
            "logs", "fetch", "9001", "--from", &day_text, "--to", &day_text,
        ],
    )
    .await;
    assert_eq!(code(&out), 3, "another company's unit: {}", stderr(&out));
    let out = run(
        &f.config,
        &[
            "logs",
            "fetch",
            "3023",
            "--from",
            "yesterday",
            "--to",
            "now",
        ],
    )
    .await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--from"), "{}", stderr(&out));

    let out = run(
        &f.config,
        &["logs", "backfill", "--unit", "7001", "--from", &day_text],
    )
    .await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("7001"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_of_every_unit_skips_evva_and_reports_each_unit() {
    let f = fixture("units = \"all\"").await;
    let day = (Utc::now() - TimeDelta::days(4)).date_naive().to_string();
    let out = run(
        &f.config,
        &["logs", "backfill", "--from", &day, "--to", &day],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    for unit in ["3023", "5459"] {
        assert!(
            text.contains(&format!("unit {unit}: backfill complete")),
            "{text}"
        );
    }
    assert!(text.contains("unit 7001: skipped"), "{text}");
    assert!(
        !f.log_requests()
            .iter()
            .any(|entry| entry.path.ends_with("/7001")),
        "no log request for an EVVA unit"
    );
    let stored = f
        .ledger
        .archive_count(&ArchiveFilter::default())
        .await
        .unwrap();
    assert!(stored > 200, "{stored}");
}

/// `sync` books a guest with a phone number on the cabin (unit 3023); the guest's call to the
/// unit is shown with the reservation's label, found through the cabin's booking object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_event_shows_the_label_of_the_booking_flexysync_made() {
    let now = Utc::now();
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("cabin.ics");
    let t = |time: DateTime<Utc>| time.format("%Y%m%dT%H%M%SZ").to_string();
    std::fs::write(
        &feed,
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//flexysync tests//EN\r\nBEGIN:VEVENT\r\n\
             UID:stay-1@flexysync.test\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n\
             SUMMARY:Anna Berg\r\nDESCRIPTION:Phone: +46701239876\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            t(now - TimeDelta::hours(3)),
            t(now + TimeDelta::days(1)),
        ),
    )
    .unwrap();
    let f = fixture(&format!(
        "units = [{UNIT}]\nstart = \"{}\"\n\n[[sources]]\nname = \"cabin\"\nkind = \"ical\"\n\
         path = {:?}\nbooking_object_id = {}\ntimezone = \"Europe/Stockholm\"\n",
        now.date_naive(),
        feed.display().to_string(),
        sandbox::OBJECT_CABIN,
    ))
    .await;
    let out = run(&f.config, &["sync"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let bookings = f.sandbox.bookings_of(sandbox::OBJECT_CABIN);
    assert_eq!(bookings.len(), 1, "{bookings:?}");
    assert_eq!(bookings[0].phone1.as_deref(), Some("+46701239876"));
    f.sandbox
        .add_log_entries(
            UNIT,
            vec![SandboxLogEntry {
                server_date: now - TimeDelta::minutes(30),
                unit_date: "2026-01-01 00:00".to_owned(),
                source_id: "+46701239876".to_owned(),
                source_label: None,
                action_label: Some("Öppna F1".to_owned()),
                log_msg: "Öppnad med telefonsamtal".to_owned(),
            }],
        )
        .unwrap();
    let out = run(&f.config, &["logs", "pull"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&f.config, &["logs", "show", "--source-id", "0701239876"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.contains("Anna Berg"), "{table}");
    assert!(
        table.contains("+********876") && !table.contains("701239876"),
        "{table}"
    );
}
