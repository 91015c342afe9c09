//! Running it day to day, with the real binary: the control channel (`sync`, `sync --dry-run`,
//! `sync --confirm`, `status` while the daemon runs), the two listeners, `status`'s exit code for
//! monitoring, metrics that pass `promtool check metrics`, and network errors that say why.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flexysync::sandbox::{self, Sandbox, SandboxOptions};

use crate::daemon::{calendar, eventually, free_port, get, serve_feed, signal, stay};
use crate::helpers::{binary, code, run, sandbox_config, start_sandbox, stderr, stdout};

/// `flexysync run` on its own ports, its stderr in a file.
pub(crate) struct Daemon {
    child: tokio::process::Child,
    log: PathBuf,
    pub(crate) public: String,
    pub(crate) admin: String,
}

impl Daemon {
    pub(crate) async fn start(config: &Path, public_port: u16, admin_port: u16) -> Daemon {
        let log = config.with_file_name("daemon.log");
        let child = tokio::process::Command::new(binary())
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "info")
            .env_remove("JOURNAL_STREAM")
            .stderr(std::fs::File::create(&log).unwrap())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let daemon = Daemon {
            child,
            log,
            public: format!("http://127.0.0.1:{public_port}"),
            admin: format!("http://127.0.0.1:{admin_port}"),
        };
        let ready = eventually(Duration::from_secs(30), || {
            std::fs::read_to_string(&daemon.log)
                .unwrap_or_default()
                .contains("flexysync is running")
        })
        .await;
        assert!(ready, "never started: {}", daemon.log());
        for _ in 0..150 {
            if let Some((200, _)) = get(&format!("{}/healthz", daemon.admin)).await {
                return daemon;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("never ready: {}", daemon.log());
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to finish anything. Returns the log.
    pub(crate) async fn kill(mut self) -> String {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        self.log()
    }

    /// SIGTERM, and a clean exit.
    pub(crate) async fn stop(mut self) -> String {
        signal(self.child.id().unwrap(), "TERM");
        let status = tokio::time::timeout(Duration::from_secs(12), self.child.wait())
            .await
            .expect("stopped in time")
            .unwrap();
        assert_eq!(status.code(), Some(0), "{}", self.log());
        self.log()
    }
}

/// A config with one iCal source that the daemon reads only when asked (and at its start),
/// stays deleted after one read without them, and the given ports.
fn config(dir: &Path, sandbox: &Sandbox, feed_url: &str, public: u16, admin: u16) -> PathBuf {
    let extra = format!(
        r#"[[sources]]
name = "cabin"
kind = "ical"
url = "{feed_url}"
booking_object_id = {}
timezone = "Europe/Stockholm"
schedule = "0 0 1 1 *"

[sync]
debounce_reads = 1

[archive]
enabled = false

[server]
listen = "127.0.0.1:{public}"
admin_listen = "127.0.0.1:{admin}"
"#,
        sandbox::OBJECT_CABIN
    );
    sandbox_config(dir, sandbox, &extra)
}

/// A sandbox, a feed of one stay, and the daemon running on them.
struct OneStay {
    sandbox: Sandbox,
    feed: crate::daemon::Feed,
    dir: tempfile::TempDir,
    path: PathBuf,
    daemon: Daemon,
}

impl OneStay {
    async fn start() -> OneStay {
        let sandbox = start_sandbox(SandboxOptions::default()).await;
        let feed = serve_feed(calendar(&[stay("a@test", 3, 2)])).await;
        let dir = tempfile::tempdir().unwrap();
        let (public_port, admin_port) = (free_port(), free_port());
        let path = config(dir.path(), &sandbox, &feed.url, public_port, admin_port);
        let daemon = Daemon::start(&path, public_port, admin_port).await;
        OneStay {
            sandbox,
            feed,
            dir,
            path,
            daemon,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_drives_the_running_daemon_and_status_tells_monitoring() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let stays = |uids: &[(&str, i64)]| {
        calendar(
            &uids
                .iter()
                .map(|(uid, from)| stay(uid, *from, 2))
                .collect::<Vec<_>>(),
        )
    };
    let feed = serve_feed(stays(&[("a@test", 3), ("b@test", 8), ("c@test", 12)])).await;
    let dir = tempfile::tempdir().unwrap();
    let (public_port, admin_port) = (free_port(), free_port());
    let path = config(dir.path(), &sandbox, &feed.url, public_port, admin_port);
    let daemon = Daemon::start(&path, public_port, admin_port).await;
    let cabin = || sandbox.bookings_of(sandbox::OBJECT_CABIN).len();
    assert!(
        eventually(Duration::from_secs(20), || cabin() == 3).await,
        "the first pass did not book the feed: {}",
        daemon.log()
    );

    // The public listener serves webhooks and /healthz only; the rest is on the admin one.
    // (The control channel there answers only with the token.)
    for (hidden, on_admin) in [
        ("/", 200),
        ("/metrics", 200),
        ("/readyz", 200),
        ("/control", 401),
    ] {
        let answer = get(&format!("{}{hidden}", daemon.public))
            .await
            .map(|r| r.0);
        assert_eq!(answer, Some(404), "{hidden} on the public listener");
        let answer = get(&format!("{}{hidden}", daemon.admin)).await.map(|r| r.0);
        assert_eq!(answer, Some(on_admin), "{hidden} on the admin listener");
    }
    assert_eq!(
        get(&format!("{}/healthz", daemon.public))
            .await
            .map(|r| r.0),
        Some(200)
    );
    // The control socket beside the ledger is for the service's own user only.
    let socket = dir.path().join("ledger.db.sock");
    let meta = std::fs::metadata(&socket).expect("the control socket exists");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // A dry run while the daemon holds the ledger: the plan, and nothing written.
    *feed.text.lock().unwrap() =
        stays(&[("a@test", 3), ("b@test", 8), ("c@test", 12), ("d@test", 5)]);
    let writes = sandbox.write_calls().len();
    let out = run(&path, &["sync", "--dry-run"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Would do 1 operation,") && text.contains("create"),
        "{text}"
    );
    assert!(text.contains("d@test"), "{text}");
    let out = run(&path, &["--json", "sync", "--dry-run"]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["operations"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(
        sandbox.write_calls().len(),
        writes,
        "a dry run writes nothing"
    );
    assert!(
        daemon
            .log()
            .contains("sync asked for on the control channel"),
        "the daemon did it: {}",
        daemon.log()
    );

    // `sync`: a pass now, by the daemon.
    let out = run(&path, &["sync"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("Result: 1 created"),
        "{}",
        stdout(&out)
    );
    assert_eq!(cabin(), 4);

    // The feed shrinks from four stays to one: the deletions are held, and status says so
    // with exit code 1.
    *feed.text.lock().unwrap() = stays(&[("a@test", 3)]);
    let out = run(&path, &["sync"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("held"), "{}", stderr(&out));
    assert_eq!(cabin(), 4, "nothing deleted while held");
    let out = run(&path, &["status"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("DELETIONS HELD"), "{}", stdout(&out));
    assert!(stderr(&out).contains("needs attention"), "{}", stderr(&out));
    let out = run(&path, &["--json", "status"]).await;
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let attention = json["attention"].as_array().unwrap();
    assert!(
        attention
            .iter()
            .any(|a| a["kind"] == "deletions_held" && a["source"] == "cabin"),
        "{json}"
    );

    // A typo is refused as it is without a daemon: exit 2, naming the config file.
    let out = run(&path, &["sync", "--confirm", "cabn"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"cabn\"") && stderr(&out).contains(&path.display().to_string()),
        "{}",
        stderr(&out)
    );

    // The operator confirms the shrink from the command line while the daemon runs.
    let out = run(&path, &["sync", "--confirm", "cabin"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(cabin(), 1, "the confirmed deletions went through");
    let out = run(&path, &["status"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let through_daemon = stdout(&out);

    // Without the socket (a state path too long for one), the admin listener carries the
    // channel for whoever can read the token beside the ledger, and for nobody else.
    let moved = dir.path().join("moved.sock");
    std::fs::rename(&socket, &moved).unwrap();
    let out = run(&path, &["status"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out), through_daemon);
    let token = dir.path().join("ledger.db.control-token");
    let mode = std::fs::metadata(&token).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let control = format!("{}/control", daemon.admin);
    let confirm = serde_json::json!({"command": {"command": "sync", "dry_run": false,
        "source": null, "confirm": ["cabin"]}, "json": false, "tz": null, "config_path": "x"});
    for bearer in ["", "Bearer wrong"] {
        let answer = reqwest::Client::new()
            .post(&control)
            .header("Authorization", bearer)
            .json(&confirm)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 401, "{bearer:?}");
    }
    let hidden_token = dir.path().join("token.bak");
    std::fs::rename(&token, &hidden_token).unwrap();
    let out = run(&path, &["sync", "--dry-run"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("in use") && stderr(&out).contains("ledger.db.sock"),
        "{}",
        stderr(&out)
    );
    std::fs::rename(&hidden_token, &token).unwrap();
    std::fs::rename(&moved, &socket).unwrap();

    let log = daemon.stop().await;
    assert!(!log.contains('\u{1b}'), "ANSI escapes in a log file: {log}");
    assert!(!socket.exists(), "the socket is removed on the way out");
    assert!(!token.exists(), "the token is removed on the way out");

    // Without the daemon the commands work as before, and print the same.
    let out = run(&path, &["status"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let without = |text: &str| -> Vec<String> {
        // The hourly full pass may have run in between.
        text.lines()
            .filter(|l| !l.starts_with("Last pass") && !l.starts_with("  error"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(without(&stdout(&out)), without(&through_daemon));
    let out = run(&path, &["sync", "--dry-run"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("Nothing to write"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_line_that_goes_away_does_not_cut_the_daemons_pass_short() {
    let OneStay {
        sandbox,
        feed,
        dir,
        path,
        daemon,
    } = OneStay::start().await;
    let cabin = || sandbox.bookings_of(sandbox::OBJECT_CABIN).len();
    assert!(eventually(Duration::from_secs(20), || cabin() == 1).await);

    // Four new stays, each create slowed down; the operator's Ctrl-C comes mid-pass.
    *feed.text.lock().unwrap() = calendar(
        &[
            ("a@test", 3),
            ("b@test", 6),
            ("c@test", 9),
            ("d@test", 12),
            ("e@test", 15),
        ]
        .map(|(uid, from)| stay(uid, from, 2)),
    );
    sandbox.set_faults(flexysync::sandbox::Faults {
        latency: Duration::from_millis(400),
        ..Default::default()
    });
    let writes = sandbox.write_calls().len();
    let mut cli = tokio::process::Command::new(binary())
        .arg("--config")
        .arg(&path)
        .arg("sync")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || sandbox.write_calls().len()
            > writes)
        .await,
        "the pass never started writing: {}",
        daemon.log()
    );
    cli.kill().await.unwrap();
    assert!(
        eventually(Duration::from_secs(20), || cabin() == 5).await,
        "the pass stopped with the command line: {} bookings\n{}",
        cabin(),
        daemon.log()
    );
    daemon.stop().await;
    let ledger = flexysync::ledger::Ledger::open(&dir.path().join("ledger.db"))
        .await
        .unwrap();
    assert!(
        ledger.open_journal().await.unwrap().is_empty(),
        "nothing in doubt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_1_for_an_arrival_within_a_day_without_a_booking() {
    // FlexyKey refuses the object: the stay tomorrow cannot be booked.
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let feed = serve_feed(calendar(&[stay("soon@test", 0, 2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[sources]]\nname = \"cabin\"\nkind = \"ical\"\nurl = \"{}\"\nbooking_object_id = 999999\ntimezone = \"Europe/Stockholm\"\n\n[archive]\nenabled = false\n[server]\nadmin_listen = \"127.0.0.1:{}\"\n",
        feed.url,
        free_port()
    );
    let path = sandbox_config(dir.path(), &sandbox, &extra);
    let out = run(&path, &["sync"]).await;
    assert_ne!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = run(&path, &["--json", "status"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let kinds: Vec<&str> = json["attention"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["unconfirmed_arrival"], "{json}");

    // The daemon says the same, on the command line and in its metrics.
    let (public_port, admin_port) = (free_port(), free_port());
    let with_ports = format!(
        "{}\n[server]\nlisten = \"127.0.0.1:{public_port}\"\nadmin_listen = \"127.0.0.1:{admin_port}\"\n",
        extra.split("[server]").next().unwrap()
    );
    let path = sandbox_config(dir.path(), &sandbox, &with_ports);
    let daemon = Daemon::start(&path, public_port, admin_port).await;
    let out = run(&path, &["status"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("soon@test") && stderr(&out).contains("no confirmed booking"),
        "{}",
        stderr(&out)
    );
    let (_, metrics) = get(&format!("{}/metrics", daemon.admin)).await.unwrap();
    assert!(
        metrics.contains("\nflexysync_arrivals_unconfirmed 1\n"),
        "{metrics}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_exist_from_the_start_and_pass_promtool() {
    let OneStay {
        // Kept to the end: the sandbox, the feed and the directory outlive the daemon.
        sandbox: _sandbox,
        feed: _feed,
        dir: _dir,
        path: _,
        daemon,
    } = OneStay::start().await;
    let (status, metrics) = get(&format!("{}/metrics", daemon.admin)).await.unwrap();
    assert_eq!(status, 200);
    for series in [
        "flexysync_build_info{version=\"",
        "flexysync_passes_total{result=\"error\"}",
        "flexysync_operations_total{kind=\"delete\",result=\"held\"}",
        "flexysync_last_fresh_read_timestamp_seconds{source=\"cabin\"}",
        "flexysync_arrivals_unconfirmed ",
        "flexysync_journal_in_doubt ",
        "flexysync_log_entries_archived_total ",
        "flexysync_limiter_wait_seconds_bucket{le=\"",
        "# TYPE flexysync_limiter_wait_seconds histogram",
    ] {
        assert!(metrics.contains(series), "{series} missing:\n{metrics}");
    }
    assert!(!metrics.contains("seconds_since"), "{metrics}");
    assert!(!metrics.contains("wait_seconds_total"), "{metrics}");
    daemon.stop().await;

    let checked = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut promtool) = checked else {
        eprintln!("skipped: promtool is not installed (Debian package `prometheus`)");
        return;
    };
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {said}\n{metrics}");
    assert!(said.trim().is_empty(), "promtool: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_errors_say_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let closed = free_port();
    let refused = url::Url::parse(&format!("http://127.0.0.1:{closed}/v1/")).unwrap();
    let path = crate::helpers::write_config(dir.path(), &refused, "user", "password", "");
    let out = run(&path, &["units"]).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("connection refused"),
        "{}",
        stderr(&out)
    );

    // Its log lines carry their time; under journald (JOURNAL_STREAM set) they do not, as
    // journald stamps each line itself. Never colours: stderr is not a terminal.
    let stamped = |text: &str| text.lines().filter(|l| l.starts_with("20")).count();
    assert!(stamped(&stderr(&out)) > 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains('\u{1b}'), "{}", stderr(&out));
    let journald = tokio::process::Command::new(binary())
        .arg("--config")
        .arg(&path)
        .arg("units")
        .env("RUST_LOG", "debug")
        .env("JOURNAL_STREAM", "8:123456")
        .output()
        .await
        .unwrap();
    let text = stderr(&journald);
    assert!(text.contains("DEBUG"), "{text}");
    assert_eq!(stamped(&text), 0, "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");

    // TLS spoken to a plain HTTP server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "plain" }));
        axum::serve(listener, router).await
    });
    let tls = url::Url::parse(&format!("https://127.0.0.1:{port}/v1/")).unwrap();
    let path = crate::helpers::write_config(dir.path(), &tls, "user", "password", "");
    let out = run(&path, &["units"]).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("TLS failed"), "{}", stderr(&out));
}
