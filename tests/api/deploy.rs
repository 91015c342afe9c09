//! What a deployment relies on, through the real binary: the demo never touches a configured
//! ledger, `healthcheck` asks the running service where its config says it listens, and the
//! man page the package installs.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use flexysync::sandbox::SandboxOptions;

use crate::daemon::free_port;
use crate::helpers::{binary, code, sandbox_config, start_sandbox, stderr, stdout};

/// The demo as a container runs it: no `--dir`, the service's variables and config set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_ignores_the_services_config_and_variables_and_says_where_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let production = dir.path().join("production");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&production).unwrap();
    let production_ledger = production.join("ledger.db");
    // A config that would fail the demo if it were read at all.
    let config = production.join("config.toml");
    std::fs::write(&config, "[flexykey]\nburst = 0\n").unwrap();
    let out = tokio::process::Command::new(binary())
        .arg("--config")
        .arg(&config)
        .arg("demo")
        .env("TMPDIR", &tmp)
        .env("FLEXYSYNC_CONFIG", &config)
        .env("FLEXYSYNC__LEDGER__PATH", &production_ledger)
        .env("FLEXYSYNC__FLEXYKEY__BASE_URL", "http://127.0.0.1:9/v1/")
        .env("FLEXYSYNC__SYNC__DEBOUNCE_READS", "5")
        .output()
        .await
        .unwrap();
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    assert!(
        !production_ledger.exists(),
        "the demo wrote the configured ledger: {text}"
    );
    assert_eq!(std::fs::read_dir(&production).unwrap().count(), 1);

    let written = text
        .lines()
        .find_map(|line| line.strip_prefix("Writes only to "))
        .and_then(|rest| rest.split(" (").next())
        .unwrap_or_else(|| panic!("the demo does not say where it writes: {text}"));
    let written = Path::new(written);
    assert!(written.starts_with(&tmp), "{written:?} is not under TMPDIR");
    assert!(written.join("ledger.db").exists());
    assert!(written.join("config.toml").exists());
    assert!(
        text.contains("ignores --config, $FLEXYSYNC_CONFIG and every FLEXYSYNC__* variable (set here: FLEXYSYNC__FLEXYKEY__BASE_URL, FLEXYSYNC__LEDGER__PATH, FLEXYSYNC__SYNC__DEBOUNCE_READS)"),
        "{text}"
    );
    // The demo's own debounce (1) still shows the cancellation at the second pass.
    assert!(text.contains("revoke"), "{text}");
    // The hint to look around unsets the variables that would redirect it.
    assert!(
        text.contains("env -u FLEXYSYNC__FLEXYKEY__BASE_URL -u FLEXYSYNC__LEDGER__PATH -u FLEXYSYNC__SYNC__DEBOUNCE_READS flexysync --config"),
        "{text}"
    );
}

async fn healthcheck(config: &Path, env: &[(&str, String)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(binary());
    command
        .arg("--config")
        .arg(config)
        .args(["healthcheck", "--timeout", "2"])
        .env_remove("FLEXYSYNC_CONFIG");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_asks_the_running_service_where_the_config_says_and_exits_0_or_1() {
    let sandbox = start_sandbox(SandboxOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (port, admin_port) = (free_port(), free_port());
    let config = sandbox_config(
        dir.path(),
        &sandbox,
        &format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin_port}\"\n"
        ),
    );
    let url = format!("http://127.0.0.1:{port}/healthz");

    // Nothing listens yet: unhealthy, exit 1, saying what was asked.
    let out = healthcheck(&config, &[]).await;
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("unhealthy") && stderr(&out).contains(&url),
        "{}",
        stderr(&out)
    );

    let log_path = dir.path().join("service.log");
    let mut child = tokio::process::Command::new(binary())
        .args(["run", "--config"])
        .arg(&config)
        .stderr(std::fs::File::create(&log_path).unwrap())
        .stdout(Stdio::null())
        .env_remove("FLEXYSYNC_CONFIG")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut healthy = None;
    for _ in 0..100 {
        let out = healthcheck(&config, &[]).await;
        if code(&out) == 0 {
            healthy = Some(out);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = healthy.unwrap_or_else(|| panic!("never healthy; the service's log: {}", log()));
    // A log that is not a terminal (the journal, a file) gets no colour codes. The line comes
    // just after the listeners are bound, so it may trail the first healthy answer.
    for _ in 0..50 {
        if log().contains("flexysync is running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(log().contains("flexysync is running"), "{}", log());
    assert!(
        !log().contains('\x1b'),
        "escape codes in the log: {:?}",
        log()
    );
    assert_eq!(
        stdout(&out).trim(),
        format!("healthy: {url} answered 200 OK")
    );

    // An override of server.listen is read as the service reads it: another port is asked.
    let elsewhere = format!("127.0.0.1:{}", free_port());
    let out = healthcheck(&config, &[("FLEXYSYNC__SERVER__LISTEN", elsewhere.clone())]).await;
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains(&elsewhere), "{}", stderr(&out));

    // A config error is "unhealthy" too: 1, never 2 (Docker reserves 2).
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[server]\nlisten = \"nowhere\"\n").unwrap();
    let out = healthcheck(&broken, &[]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("broken.toml"), "{}", stderr(&out));

    // After the service stops, unhealthy again.
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the service stops within its grace time")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let out = healthcheck(&config, &[]).await;
    assert_eq!(code(&out), 1, "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_man_pages_cover_every_command_and_name_only_pages_that_exist() {
    let out = tokio::process::Command::new(binary())
        .arg("man")
        .output()
        .await
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH flexysync 1"), "{page}");
    for section in [
        ".SH SYNOPSIS",
        ".SH SUBCOMMANDS",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
    ] {
        assert!(page.contains(section), "missing {section}: {page}");
    }

    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man");
    let out = tokio::process::Command::new(binary())
        .args(["man", "--dir"])
        .arg(&pages)
        .output()
        .await
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(pages.join("flexysync.1")).unwrap(),
        page
    );
    for command in [
        "run",
        "sync",
        "demo",
        "healthcheck",
        "logs-backfill",
        "unit-control",
    ] {
        let name = format!("flexysync-{command}.1");
        let text = std::fs::read_to_string(pages.join(&name))
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(text.contains(".SH SYNOPSIS"), "{name}: {text}");
    }
    // Every page a page refers to (`flexysync-logs(1)`) is there.
    let reference = regex::Regex::new(r"(flexysync(?:\\-[a-z]+)*)\(1\)").unwrap();
    for entry in std::fs::read_dir(&pages).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for found in reference.captures_iter(&text) {
            let named = format!("{}.1", found[1].replace("\\-", "-"));
            assert!(
                pages.join(&named).exists(),
                "{} names {named}, which is missing",
                path.display()
            );
        }
    }
}
