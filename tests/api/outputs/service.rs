//! The real binary drives an output from a calendar stay; SIGKILL and a restart send nothing
//! twice.

use std::time::Duration;

use flexysync::sandbox::{self, SandboxOptions};

use super::control_calls;
use crate::daemon::{became_ready, calendar, eventually, free_port, serve_feed, stay};
use crate::helpers::{binary, sandbox_config, start_sandbox};

fn posts(sandbox: &sandbox::Sandbox) -> usize {
    control_calls(sandbox, "POST")
}

fn status_reads(sandbox: &sandbox::Sandbox) -> usize {
    control_calls(sandbox, "GET")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_heats_for_a_stay_and_a_kill_and_restart_send_nothing_twice() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    // A stay from tomorrow: with on_before = 2d the heating is on now.
    let feed = serve_feed(calendar(&[stay("a@test", 1, 2), stay("b@test", 9, 2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let (port, admin_port) = (free_port(), free_port());
    let extra = format!(
        r#"[[sources]]
name = "cabin"
kind = "ical"
url = "{}"
booking_object_id = {}
timezone = "Europe/Stockholm"

[[outputs]]
name = "Cabin heating"
unit = {}
output = "x5"
booking_objects = [{}]
on_before = "2d"
off_after = "2h"

[server]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin_port}"
"#,
        feed.url,
        sandbox::OBJECT_CABIN,
        sandbox::UNIT_MAIN,
        sandbox::OBJECT_CABIN,
    );
    let config = sandbox_config(dir.path(), &sandbox, &extra);
    let log_path = dir.path().join("daemon.log");
    let spawn = || {
        tokio::process::Command::new(binary())
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("RUST_LOG", "info")
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log_path)
                    .unwrap(),
            )
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let base = format!("http://127.0.0.1:{admin_port}");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut child = spawn();
    assert!(became_ready(&base).await, "never ready: {}", log());
    assert!(
        eventually(Duration::from_secs(30), || sandbox
            .output_is_on(sandbox::UNIT_MAIN, "X5"))
        .await,
        "the heating was not switched on: {}",
        log()
    );
    assert_eq!(posts(&sandbox), 1);
    // SIGKILL while it may be reading the status back, then a restart.
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let reads_before = status_reads(&sandbox);
    let mut child = spawn();
    assert!(became_ready(&base).await, "never ready again: {}", log());
    assert!(
        eventually(Duration::from_secs(30), || status_reads(&sandbox)
            > reads_before)
        .await,
        "the restart never read the IO status: {}",
        log()
    );
    // The step after the read has had time to act; it must not have sent again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sandbox.output_is_on(sandbox::UNIT_MAIN, "X5"));
    assert_eq!(
        posts(&sandbox),
        1,
        "a restart re-sent the command: {}",
        log()
    );

    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
