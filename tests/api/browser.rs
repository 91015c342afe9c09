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
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .kill_on_drop(true);
    if !args.iter().any(|a| a.starts_with("--window-size=")) {
        command.arg("--window-size=1280,1000");
    }
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

    let out = chromium_run(&browser, &profile, &["--dump-dom".to_owned(), url.clone()]).await;
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("Upcoming arrivals"), "{dom}");
    let red: Vec<&str> = dom
        .lines()
        .filter(|l| l.contains("class=\"bad\"") && l.contains("<td"))
        .collect();
    assert!(
        red.iter().any(|l| l.contains("Guest refused@test")),
        "{dom}"
    );
    assert!(
        !red.iter().any(|l| l.contains("Guest booked@test")),
        "{dom}"
    );

    // A phone's width: nothing scrolls sideways.
    let shot = dir.path().join("status-390.png");
    let (document, viewport, wider) = layout_at(&browser, &profile, &url, 390, &shot).await;
    assert!(
        document <= viewport,
        "the page is {document} px wide in a {viewport} px window; too wide: {wider}"
    );
    if let Ok(keep) = std::env::var("FLEXYSYNC_KEEP_SCREENSHOTS") {
        let _ = std::fs::copy(&shot, std::path::Path::new(&keep).join("status-390.png"));
    }

    stop.cancel();
    daemon.await.unwrap().unwrap();
}

/// The page at `url` laid out `width` px wide (a screenshot of it in `shot`): the document's
/// width, the viewport's, and the elements that reach past it. Headless Chromium's window is
/// at least 500 px wide and the page has no script of its own, so the test serves, from its own
/// loopback server, a frame `width` px wide holding a copy of the page with a measuring script
/// appended, which writes what it measured into the frame's parent.
async fn layout_at(
    browser: &std::path::Path,
    profile: &std::path::Path,
    url: &str,
    width: u32,
    shot: &std::path::Path,
) -> (u32, u32, String) {
    const MEASURE: &str = "<script>\
const wide=[...document.querySelectorAll('body *')]\
.filter(e=>e.getBoundingClientRect().right>window.innerWidth+0.5)\
.map(e=>e.tagName+(typeof e.className==='string'&&e.className?'.'+e.className:'')).join(' ');\
const out=parent.document.createElement('output');out.id='measured';\
out.textContent=document.documentElement.scrollWidth+' '+window.innerWidth+' '+wide;\
parent.document.body.append(out);</script>";
    let page = crate::daemon::get(url).await.expect("the status page").1;
    let measured = page.replace("</body>", &format!("{MEASURE}</body>"));
    let frame = format!(
        "<!doctype html><html><body style=\"margin:0\">\
         <iframe src=\"/page\" style=\"width:{width}px;height:1600px;border:0\"></iframe>\
         </body></html>"
    );
    let router = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || {
                let frame = frame.clone();
                async move { axum::response::Html(frame) }
            }),
        )
        .route(
            "/page",
            axum::routing::get(move || {
                let page = measured.clone();
                async move { axum::response::Html(page) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let framed = format!("http://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let out = chromium_run(browser, profile, &["--dump-dom".to_owned(), framed.clone()]).await;
    chromium_run(
        browser,
        profile,
        &[
            "--window-size=800,1600".to_owned(),
            format!("--screenshot={}", shot.display()),
            framed,
        ],
    )
    .await;
    server.abort();
    assert!(
        std::fs::read(shot)
            .unwrap_or_default()
            .starts_with(b"\x89PNG")
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let text = dom
        .split_once("<output id=\"measured\">")
        .and_then(|(_, rest)| rest.split_once("</output>"))
        .map(|(text, _)| text.to_owned())
        .unwrap_or_else(|| panic!("not measured: {dom}"));
    let mut parts = text.splitn(3, ' ');
    let mut number = || parts.next().and_then(|n| n.parse::<u32>().ok()).unwrap();
    let (document, viewport) = (number(), number());
    assert_eq!(viewport, width, "the frame is not {width} px wide");
    (
        document,
        viewport,
        parts.next().unwrap_or_default().to_owned(),
    )
}
