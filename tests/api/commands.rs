//! The newcomer's and the operator's one-shot commands: `demo`, `check`, `completions`.

use flexysync::sandbox::{self, SandboxOptions};

use crate::daemon::{calendar, serve_feed, stay};
use crate::helpers::{binary, code, run, sandbox_config, start_sandbox, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_tells_both_passes_and_keeps_its_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let out = tokio::process::Command::new(binary())
        .arg("demo")
        .arg("--dir")
        .arg(&demo_dir)
        .output()
        .await
        .unwrap();
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    for expected in [
        "Pass 1",
        "Pass 2",
        "Pass 3",
        "revoke",
        "rebook",
        "Archived",
        "skipped in cabin-7-airbnb",
    ] {
        assert!(text.contains(expected), "missing {expected:?}: {text}");
    }
    assert!(
        text.contains("0 operations planned, 0 FlexyKey write calls"),
        "the third pass writes nothing: {text}"
    );
    // Pass 2 is one cancellation (a delete) and one move (a create and a delete).
    let pass2 = text
        .split("Pass 2")
        .nth(1)
        .unwrap()
        .split("Pass 3")
        .next()
        .unwrap();
    assert!(pass2.contains("FlexyKey write calls: 3"), "{pass2}");
    // Exactly one overlap of the two channels is kept, and its alert reaches the host.
    let alerts: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("host's phone got") && l.contains("stay.double_booked"))
        .collect();
    assert_eq!(alerts.len(), 1, "{text}");
    assert!(alerts[0].contains("cabin-7-airbnb") && alerts[0].contains("cabin-7-booking"));
    assert!(demo_dir.join("ledger.db").exists());
    assert!(!text.contains(sandbox::DEMO_PASSWORD));

    // A second demo into the same directory refuses rather than mixing ledgers.
    let out = tokio::process::Command::new(binary())
        .args(["demo", "--dir"])
        .arg(&demo_dir)
        .output()
        .await
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("already holds a ledger"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_one_line_per_check_and_fails_on_any() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let feed = serve_feed(calendar(&[stay("a@test", 3, 2)])).await;
    let dir = tempfile::tempdir().unwrap();
    let good = format!(
        "[[sources]]\nname = \"cabin\"\nkind = \"ical\"\nurl = \"{}\"\nbooking_object_id = {}\n",
        feed.url,
        sandbox::OBJECT_CABIN
    );
    let config = sandbox_config(dir.path(), &sandbox, &good);
    let out = run(&config, &["check"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().all(|l| l.starts_with("ok ")), "{text}");
    assert!(text.contains("feed cabin: 1 reservation,"), "{text}");
    assert!(text.contains("booking object 123"), "{text}");

    let bad = format!(
        "{good}\n[[sources]]\nname = \"gone\"\nkind = \"ical\"\nurl = \"{}\"\nbooking_object_id = 999\n",
        feed.url.replace("feed.ics", "missing.ics")
    );
    let config = sandbox_config(dir.path(), &sandbox, &bad);
    let out = run(&config, &["check"]).await;
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let text = stdout(&out);
    let failures: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures.iter().any(|l| l.contains("999")), "{failures:?}");
    assert!(
        failures
            .iter()
            .any(|l| l.contains("feed gone") && l.contains("404")),
        "{failures:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_of_an_invalid_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[flexykey]\nusername = \"u\"\npassword = \"p\"\nburst = 0\n",
    )
    .unwrap();
    let out = run(&config, &["check"]).await;
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("FAIL") && stdout(&out).contains("flexykey.burst"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_completions_are_printed() {
    for shell in ["bash", "zsh", "fish"] {
        let out = tokio::process::Command::new(binary())
            .args(["completions", shell])
            .output()
            .await
            .unwrap();
        assert_eq!(code(&out), 0, "{shell}");
        let text = stdout(&out);
        assert!(
            text.contains("flexysync") && text.contains("backfill"),
            "{shell}: {text}"
        );
    }
}
