//! `--json` of every command that prints a result: it parses, its keys are the ones
//! docs/cli-json.md shows, and its times are UTC.

use std::process::Stdio;

use chrono::{TimeDelta, Utc};
use flexysync::sandbox::{self, SandboxOptions};
use tokio::io::AsyncBufReadExt;

use super::{assert_documented, json_of};
use crate::daemon::{calendar, serve_feed, stay};
use crate::helpers::{binary, code, run, sandbox_config, start_sandbox, stderr, stdout};

/// An iCal source `cabin` for the sandbox's cabin (booking object 123), without `timezone`.
fn cabin_source(url: &str) -> String {
    format!(
        "[[sources]]\nname = \"cabin\"\nkind = \"ical\"\nurl = \"{url}\"\nbooking_object_id = {}\n",
        sandbox::OBJECT_CABIN
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_json_lists_every_check_with_its_verdict() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let feed = serve_feed(calendar(&[stay("a@test", 3, 2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let sources = cabin_source(&feed.url);
    let config = sandbox_config(dir.path(), &sandbox, &sources);
    let value = json_of(&config, "check", &["check"]).await;
    assert_eq!(value["ok"], true);
    assert_eq!(value["failed"], 0);
    let checks = value["checks"].as_array().unwrap();
    assert!(checks.len() >= 3, "{value}");
    assert!(checks.iter().all(|c| c["ok"] == true));
    assert!(
        checks
            .iter()
            .any(|c| c["message"] == "feed cabin: 1 reservation, 0 warnings"),
        "{value}"
    );

    // A feed that is gone: one check fails, exit 1, still one JSON document.
    let gone = sources.replace("feed.ics", "gone.ics");
    let config = sandbox_config(dir.path(), &sandbox, &gone);
    let out = run(&config, &["--json", "check"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let value = assert_documented("check", &out);
    assert_eq!(
        (value["ok"].clone(), value["failed"].clone()),
        (false.into(), 1.into())
    );

    // An invalid config: exit 2, and the JSON says which key.
    std::fs::write(
        &config,
        "[flexykey]\nusername = \"u\"\npassword = \"p\"\nburst = 0\n",
    )
    .unwrap();
    let out = run(&config, &["check", "--json"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let value = assert_documented("check", &out);
    assert_eq!(value["ok"], false);
    assert!(
        value["checks"][0]["message"]
            .as_str()
            .unwrap()
            .contains("flexykey.burst"),
        "{value}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flexykey_commands_print_their_documented_json() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_config(dir.path(), &sandbox, "");
    let unit = sandbox::UNIT_MAIN.to_string();
    for (command, args) in [
        ("units", vec!["units"]),
        ("unit show", vec!["unit", "show", &unit]),
        ("unit status", vec!["unit", "status", &unit]),
        ("unit control", vec!["unit", "control", &unit, "F1", "ON"]),
        ("objects", vec!["objects"]),
    ] {
        json_of(&config, command, &args).await;
    }

    let created = json_of(
        &config,
        "bookings create",
        &[
            "bookings",
            "create",
            "--object",
            "123",
            "--from",
            "2026-12-01T15:00",
            "--to",
            "2026-12-05",
            "--name",
            "Åsa",
        ],
    )
    .await;
    // Read in the object's zone (its unit's: W. Europe Standard Time), printed in UTC.
    assert_eq!(created["start"], "2026-12-01T14:00:00Z");
    assert_eq!(
        created["end"], "2026-12-05T23:00:00Z",
        "the end of the 5th, local"
    );
    let id = created["booking_id"].as_i64().unwrap().to_string();

    let listed = json_of(
        &config,
        "bookings list",
        &[
            "bookings",
            "list",
            "--object",
            "123",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-05",
        ],
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    let deleted = json_of(&config, "bookings delete", &["bookings", "delete", &id]).await;
    assert_eq!(deleted["deleted"].to_string(), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_commands_print_their_documented_json() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_config(dir.path(), &sandbox, "[archive]\nunits = [3023]\n");
    let day = (Utc::now() - TimeDelta::days(2)).date_naive().to_string();

    let fetched = json_of(
        &config,
        "logs fetch",
        &["logs", "fetch", "3023", "--from", &day, "--to", &day],
    )
    .await;
    assert!(!fetched.as_array().unwrap().is_empty());

    let backfilled = json_of(
        &config,
        "logs backfill",
        &[
            "logs", "backfill", "--unit", "3023", "--from", &day, "--to", &day,
        ],
    )
    .await;
    assert_eq!(backfilled["units"][0]["unit_id"], 3023);
    let stored = backfilled["units"][0]["stored"].as_u64().unwrap();
    assert_eq!(
        stored as usize,
        fetched.as_array().unwrap().len(),
        "backfill and fetch read the same [from, to) window in the unit's zone"
    );

    let pulled = json_of(&config, "logs pull", &["logs", "pull"]).await;
    assert_eq!(pulled["units"][0]["unit_id"], 3023);

    let shown = json_of(
        &config,
        "logs show",
        &[
            "logs", "show", "--unit", "3023", "--from", &day, "--to", &day,
        ],
    )
    .await;
    assert_eq!(shown.as_array().unwrap().len() as u64, stored);
    let text = shown.to_string();
    // `logs export --json` is JSON lines, one `logs fetch` record a line.
    let out = run(
        &config,
        &[
            "--json", "logs", "export", "--unit", "3023", "--from", &day, "--to", &day,
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|line| serde_json::from_str(line).expect(line))
        .collect();
    assert_eq!(lines.len() as u64, stored, "the same [from, to) window");
    assert_eq!(super::keys(&lines[0]), super::documented_keys("logs fetch"));
    let out = run(&config, &["logs", "export", "--unit", "3023"]).await;
    assert_eq!(code(&out), 2, "without --json, --format is needed");
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));
    assert!(
        !regex::Regex::new(r"\+\d{7,}").unwrap().is_match(&text),
        "phone numbers are masked as in the table: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_status_print_their_documented_json() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let feed = serve_feed(calendar(&[stay("a@test", 3, 2), stay("b@test", 8, 1)])).await;
    let dir = tempfile::tempdir().unwrap();
    let sources = cabin_source(&feed.url);
    let config = sandbox_config(dir.path(), &sandbox, &sources);
    let planned = json_of(&config, "sync", &["sync", "--dry-run"]).await;
    assert_eq!(planned["operations"].as_array().unwrap().len(), 2);
    let out = run(&config, &["--json", "sync"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(assert_documented("sync", &out)["counts"]["created"], 2);

    let status = json_of(&config, "status", &["status"]).await;
    assert_eq!(status["objects"][0]["owned_bookings"], 2);

    // The text is in the object's zone: its unit's, asked of FlexyKey once, then remembered in
    // the ledger, so that a FlexyKey that fails does not change it.
    let out = run(&config, &["status"]).await;
    assert!(
        stdout(&out).starts_with("Times in Europe/Berlin (the booking objects' zone"),
        "{}",
        stdout(&out)
    );
    sandbox.set_faults(flexysync::sandbox::Faults {
        fault_rate: 1.0,
        ..Default::default()
    });
    let out = run(&config, &["status"]).await;
    assert!(
        stdout(&out).starts_with("Times in Europe/Berlin (the booking objects' zone"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_preview_prints_its_documented_json_read_in_the_objects_zone() {
    let feed = serve_feed(calendar(&[stay("a@test", 3, 2)])).await;
    let dir = tempfile::tempdir().unwrap();
    // No `timezone`: like a pass, the preview reads the stay in the booking object's zone (its
    // unit's, W. Europe Standard Time), so check-in is 15:00 in Berlin.
    let sources = cabin_source(&feed.url);
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let config = sandbox_config(dir.path(), &sandbox, &sources);
    let preview = json_of(
        &config,
        "feed preview",
        &["feed", "preview", "--source", "cabin"],
    )
    .await;
    let reservations = preview["reservations"].as_array().unwrap();
    assert_eq!(reservations.len(), 1, "{preview}");
    let arrival = (Utc::now() + TimeDelta::days(3))
        .date_naive()
        .and_hms_opt(15, 0, 0)
        .unwrap()
        .and_local_timezone(chrono_tz::Europe::Berlin)
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        reservations[0]["start"],
        arrival.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "{preview}"
    );

    // The text says the zone, and shows the arrival at 15:00 local.
    let out = run(&config, &["feed", "preview", "--source", "cabin"]).await;
    let text = stdout(&out);
    assert!(
        text.contains("Times in Europe/Berlin (booking object 123's unit 3023)."),
        "{text}"
    );
    assert!(text.contains(" 15:00:00 CE"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_prints_its_address_as_one_json_line() {
    let mut child = tokio::process::Command::new(binary())
        .args(["--json", "sandbox", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the sandbox says where it listens")
        .unwrap()
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&line).expect(&line);
    assert_eq!(
        super::keys(&value),
        super::documented_keys("sandbox"),
        "{line}"
    );
    let base = value["base_url"].as_str().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let answer = reqwest::get(base).await;
    assert!(answer.is_ok(), "the sandbox listens at {base}");
    child.kill().await.unwrap();
}
