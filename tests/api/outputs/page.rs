//! The status page's door timelines in headless Chromium at desktop and phone width: stays
//! coloured by source, a stay FlexyKey would not book drawn dashed, the heating's ON window,
//! the gate's pulses, and a switch by hand. With `FLEXYSYNC_SCREENSHOTS` set to a directory,
//! the two screenshots are copied there.

use std::time::Duration;

use flexysync::ledger::OutputCommandState;
use flexysync::sandbox::{self, SandboxOptions};

use crate::browser::{chromium, chromium_run, serve_in_process};
use crate::daemon::{calendar, eventually, serve_feed, stay};
use crate::helpers::{sandbox_config, start_sandbox};

/// PNG width and height from the IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn door_timelines_render_in_chromium_at_desktop_and_phone_width() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let cabin = serve_feed(calendar(&[stay("anna@test", 1, 2), stay("bo@test", 6, 3)])).await;
    let sauna = serve_feed(calendar(&[
        stay("cilla@test", 2, 1),
        stay("dan@test", 9, 2),
    ]))
    .await;
    let foreign = serve_feed(calendar(&[stay("eva@test", 4, 2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let source = |name: &str, url: &str, object: i64| {
        format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"ical\"\nurl = \"{url}\"\nbooking_object_id = {object}\n\
             timezone = \"Europe/Stockholm\"\nschedule = \"*/2 * * * * *\"\n\n"
        )
    };
    let extra = format!(
        "{}{}{}[archive]\nenabled = false\n\n\
         [[outputs]]\nname = \"Cabin heating\"\nunit = {unit}\noutput = \"X3\"\nbooking_objects = [{cabin}]\n\
         on_before = \"2d\"\noff_after = \"2h\"\nmerge_gap = \"3d\"\n\n\
         [[outputs]]\nname = \"Sauna gate\"\nunit = {unit}\noutput = \"F2\"\nsources = [\"sauna\"]\npulse_at_start = 30\n",
        source("cabin", &cabin.url, sandbox::OBJECT_CABIN),
        source("sauna", &sauna.url, sandbox::OBJECT_SAUNA),
        source("elsewhere", &foreign.url, sandbox::OBJECT_OTHER),
        unit = sandbox::UNIT_MAIN,
        cabin = sandbox::OBJECT_CABIN,
    );
    let path = sandbox_config(dir.path(), &sandbox, &extra);
    let (url, stop, daemon) = serve_in_process(&path).await;
    assert!(
        eventually(Duration::from_secs(30), || sandbox
            .output_is_on(sandbox::UNIT_MAIN, "X3"))
        .await,
        "the heating was never switched on"
    );
    // Once flexysync has read its command's effect back, the guest switches the heating off
    // by phone (a switch while the command is being verified is taken for a lost command);
    // a new stay in the feed makes the next check.
    let ledger = flexysync::ledger::Ledger::open(&dir.path().join("ledger.db"))
        .await
        .unwrap();
    let mut verified = false;
    for _ in 0..100 {
        let journal = ledger.recent_output_commands("3023/X3", 1).await.unwrap();
        if journal
            .first()
            .is_some_and(|c| c.state == OutputCommandState::Verified)
        {
            verified = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(verified, "the ON command was never verified");
    sandbox
        .switch_output_by_hand(sandbox::UNIT_MAIN, "X3", false)
        .unwrap();
    *cabin.text.lock().unwrap() = calendar(&[
        stay("anna@test", 1, 2),
        stay("bo@test", 6, 3),
        stay("fia@test", 12, 1),
    ]);

    let profile = dir.path().join("chromium-profile");
    let mut dom = String::new();
    for _ in 0..40 {
        let out = chromium_run(&browser, &profile, &["--dump-dom".to_owned(), url.clone()]).await;
        dom = String::from_utf8_lossy(&out.stdout).into_owned();
        if dom.contains("switched by hand: left alone") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !dom.contains("switched by hand: left alone") {
        let journal = ledger.recent_output_commands("3023/X3", 20).await.unwrap();
        panic!("no switch by hand shown; journal {journal:#?}");
    }
    assert!(
        !sandbox.output_is_on(sandbox::UNIT_MAIN, "X3"),
        "switched back"
    );
    // One timeline per door, by name; the foreign object's name is not the account's to know.
    for door in ["Cabin 7", "Sauna", "Booking object 900"] {
        assert!(
            dom.contains(&format!("<figcaption>{door}</figcaption>")),
            "{door}: {dom}"
        );
    }
    assert_eq!(dom.matches("<svg").count(), 3);
    let cabin_figure = &dom[dom.find("<figcaption>Cabin 7").unwrap()..];
    let cabin_figure = &cabin_figure[..cabin_figure.find("</figure>").unwrap()];
    assert!(cabin_figure.contains("class=\"on\""), "{cabin_figure}");
    assert_eq!(
        cabin_figure.matches("class=\"stay\"").count(),
        3,
        "{cabin_figure}"
    );
    let sauna_figure = &dom[dom.find("<figcaption>Sauna").unwrap()..];
    let sauna_figure = &sauna_figure[..sauna_figure.find("</figure>").unwrap()];
    assert_eq!(
        sauna_figure.matches("class=\"pulse\"").count(),
        2,
        "{sauna_figure}"
    );
    let foreign_figure = &dom[dom.find("<figcaption>Booking object 900").unwrap()..];
    assert!(
        foreign_figure[..foreign_figure.find("</figure>").unwrap()].contains("stroke-dasharray")
    );
    assert!(!dom.contains("<script"));

    let keep = std::env::var_os("FLEXYSYNC_SCREENSHOTS").map(std::path::PathBuf::from);
    for (name, width) in [("desktop", 1280u32), ("phone", 390)] {
        let shot = dir.path().join(format!("outputs-{name}.png"));
        let out = chromium_run(
            &browser,
            &profile,
            &[
                format!("--window-size={width},1100"),
                format!("--screenshot={}", shot.display()),
                url.clone(),
            ],
        )
        .await;
        let png = std::fs::read(&shot)
            .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
        assert!(png.starts_with(b"\x89PNG"));
        assert_eq!(png_size(&png).0, width, "{name}");
        assert!(png.len() > 10_000, "{name}: a blank page would be smaller");
        if let Some(keep) = &keep {
            std::fs::create_dir_all(keep).unwrap();
            std::fs::copy(&shot, keep.join(format!("outputs-{name}.png"))).unwrap();
        }
    }
    stop.cancel();
    daemon.await.unwrap().unwrap();
}
