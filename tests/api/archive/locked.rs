//! The commands that write the archive take the single-instance lock, as `sync` does.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_and_pull_refuse_while_another_process_holds_the_ledger() {
    let f = fixture(&format!("units = [{UNIT}]")).await;
    let day = (Utc::now() - TimeDelta::days(3)).date_naive().to_string();
    // This test process plays the running daemon.
    let running = Ledger::open_exclusive(&f.dir.path().join("ledger.db"))
        .await
        .unwrap();
    let pid = std::process::id().to_string();
    for args in [
        vec![
            "logs",
            "backfill",
            "--from",
            day.as_str(),
            "--to",
            day.as_str(),
        ],
        vec!["logs", "pull"],
    ] {
        let out = run(&f.config, &args).await;
        assert_ne!(code(&out), 0, "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("in use by") && err.contains(&pid),
            "{args:?}: {err}"
        );
    }
    assert!(f.log_requests().is_empty(), "no log was read");
    assert_eq!(
        f.ledger
            .archive_count(&ArchiveFilter::default())
            .await
            .unwrap(),
        0
    );
    drop(running);
    let out = run(
        &f.config,
        &["logs", "backfill", "--from", &day, "--to", &day],
    )
    .await;
    assert_eq!(code(&out), 0, "once the lock is free: {}", stderr(&out));
}
