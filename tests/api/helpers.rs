//! Shared by the integration tests: the real binary, the in-process sandbox, config files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use flexysync::sandbox::{Sandbox, SandboxOptions};

/// The real `flexysync` binary cargo built for these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flexysync"))
}

/// `../shared/corpus/ical` when present (a developer's or CI's checkout), else `None`: tests
/// that walk it are skipped on a user's clone, which has no `../shared`.
pub fn shared_corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ical");
    dir.is_dir().then_some(dir)
}

/// A sandbox on a fresh loopback port, in this process.
pub async fn start_sandbox(options: SandboxOptions) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    Sandbox::start(listener, options)
        .await
        .expect("start the sandbox")
}

/// Writes a config file for `base_url` with the given credentials, plus `extra` TOML.
pub fn write_config(
    dir: &Path,
    base_url: &url::Url,
    user: &str,
    password: &str,
    extra: &str,
) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[flexykey]\nbase_url = \"{base_url}\"\nusername = \"{user}\"\npassword = \"{password}\"\nrequests_per_second = 50.0\nburst = 20\ntimeout_seconds = 5\n\n[ledger]\npath = \"{}\"\n\n{extra}\n",
        dir.join("ledger.db").display()
    );
    std::fs::write(&path, text).expect("write the config");
    path
}

/// A config for the sandbox's demo account plus `extra` TOML, written into `dir`.
pub fn sandbox_config(dir: &Path, sandbox: &Sandbox, extra: &str) -> PathBuf {
    write_config(
        dir,
        &sandbox.base_url(),
        flexysync::sandbox::DEMO_USER,
        flexysync::sandbox::DEMO_PASSWORD,
        extra,
    )
}

/// What a sync pass run from a test needs: the loaded config, its ledger (locked), the
/// FlexyKey client and the feed HTTP client.
pub struct PassParts {
    pub config: flexysync::config::Config,
    pub ledger: flexysync::ledger::Ledger,
    pub client: flexysync::flexykey::Client,
    pub http: reqwest::Client,
}

impl PassParts {
    pub async fn load(config_path: &Path) -> PassParts {
        let config = flexysync::config::Config::load(config_path).expect("load the config");
        let ledger = flexysync::ledger::Ledger::open_exclusive(&config.ledger.path)
            .await
            .expect("open the ledger");
        let client = flexysync::flexykey::Client::new(&config.flexykey).expect("client");
        let http = flexysync::reconcile::feeds::feed_http_client().expect("feed client");
        PassParts {
            config,
            ledger,
            client,
            http,
        }
    }

    pub async fn sync(
        &self,
        options: &flexysync::reconcile::pass::PassOptions,
    ) -> flexysync::reconcile::pass::PassReport {
        flexysync::reconcile::feeds::sync_once(
            &self.config,
            &self.ledger,
            &self.client,
            &self.http,
            options,
        )
        .await
        .expect("the pass runs")
    }
}

/// Runs the real binary with `--config` and debug logging; returns its output.
pub async fn run(config: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "debug")
        .env_remove("FLEXYSYNC_CONFIG")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run flexysync")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code, with the output in the panic message when the process was killed.
pub fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {}{}", stdout(output), stderr(output)))
}
