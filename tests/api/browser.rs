//! The status page in a real browser: headless Chromium renders it from a running daemon.
//! Skipped with a message where Chromium is not installed (`.ci/run` installs it).

use std::time::Duration;

use flexysync::sandbox::{self, SandboxOptions};
use tokio_util::sync::CancellationToken;

use crate::daemon::{calendar, serve_feed, stay};
use crate::helpers::{sandbox_config, start_sandbox};

pub(crate) fn chromium() -> Option<std::path::PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

pub(crate) async fn chromium_run(
    browser: &std::path::Path,
    profile: &std::path::Path,
    args: &[String],
) -> std::process::Output {
    let mut command = tokio::process::Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("chromium finished within a minute")
        .expect("chromium ran")
}

/// The daemon in this process on a loopback port: its page's URL, the token that stops it,
/// and its task.
pub(crate) async fn serve_in_process(
    path: &std::path::Path,
) -> (
    String,
    CancellationToken,
    tokio::task::JoinHandle<Result<(), flexysync::daemon::DaemonError>>,
) {
    let config = flexysync::config::Config::load(path).unwrap();
    let listeners = flexysync::daemon::Listeners {
        hooks: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        admin: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    // The status page is on the admin listener.
    let url = format!("http://{}/", listeners.admin.local_addr().unwrap());
    let stop = CancellationToken::new();
    let options = flexysync::daemon::RunOptions {
        config_path: None,
        listen_for_signals: false,
        presenter: flexysync::cli::control::presenter(),
    };
    let daemon = tokio::spawn(flexysync::daemon::serve(
        config,
        listeners,
        stop.clone(),
        options,
    ));
    (url, stop, daemon)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_renders_in_chromium_with_soon_unbooked_arrivals_in_red() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    // Tomorrow's stay on the cabin is booked; the one on another company's object cannot be.
    let cabin = serve_feed(calendar(&[stay("booked@test", 1, 2)])).await;
    let foreign = serve_feed(calendar(&[stay("refused@test", 0, 2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[sources]]\nname = \"cabin\"\nkind = \"ical\"\nurl = \"{}\"\nbooking_object_id = {}\ntimezone = \"Europe/Stockholm\"\n\n[[sources]]\nname = \"elsewhere\"\nkind = \"ical\"\nurl = \"{}\"\nbooking_object_id = {}\ntimezone = \"Europe/Stockholm\"\n\n[archive]\nenabled = false\n",
        cabin.url,
        sandbox::OBJECT_CABIN,
        foreign.url,
        sandbox::OBJECT_OTHER
    );
    let path = sandbox_config(dir.path(), &sandbox, &extra);
    let (url, stop, daemon) = serve_in_process(&path).await;
    let started = std::time::Instant::now();
    while sandbox.bookings_of(sandbox::OBJECT_CABIN).is_empty()
        && started.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sandbox.bookings_of(sandbox::OBJECT_CABIN).len(), 1);

    let profile = dir.path().join("chromium-profile");
    let shot = dir.path().join("status.png");
    let out = chromium_run(
        &browser,
        &profile,
        &[format!("--screenshot={}", shot.display()), url.clone()],
    )
    .await;
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(
        png.len() > 10_000,
        "a blank page would be smaller: {} bytes",
        png.len()
    );

    let out = chromium_run(&browser, &profile, &["--dump-dom".to_owned(), url]).await;
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("Upcoming arrivals"), "{dom}");
    let red: Vec<&str> = dom
        .lines()
        .filter(|l| l.contains("class=\"bad\"") && l.contains("<td>"))
        .collect();
    assert!(
        red.iter().any(|l| l.contains("Guest refused@test")),
        "{dom}"
    );
    assert!(
        !red.iter().any(|l| l.contains("Guest booked@test")),
        "{dom}"
    );

    stop.cancel();
    daemon.await.unwrap().unwrap();
}
