//! `flexysync sandbox`: the FlexyKey API simulator on its own, on a loopback port.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::CliError;
use crate::sandbox::{
    DEMO_PASSWORD, DEMO_USER, OTHER_PASSWORD, OTHER_USER, Sandbox, SandboxOptions,
};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (loopback only; port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
    /// Seed of the generated logs and of the fault dice
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of requests answered 500/502/503 before anything is done (0 to 1)
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    pub fault_rate: f64,
    /// Share of successful writes done but whose answer is lost (0 to 1)
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    pub lost_response_rate: f64,
    /// Delay added to every answer, in milliseconds
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Requests per second above which the sandbox answers 429 with Retry-After
    #[arg(long, value_parser = positive)]
    pub rate_limit: Option<f64>,
    /// Log entries each FlexyKey unit generates per UTC day [default: 150]
    #[arg(long, value_name = "N")]
    pub logs_per_day: Option<u32>,
    /// Refuse every create on this booking object (403, as FlexyKey answers one it will not
    /// do); repeat for several
    #[arg(long, value_name = "OBJECT_ID")]
    pub refuse_creates_on: Vec<i64>,
    /// Keep bookings, outputs and injected logs in this JSON file across restarts
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,
}

fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("expected a number from 0 to 1, got {text:?}")),
    }
}

fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("expected a positive number, got {text:?}")),
    }
}

/// Serves until SIGINT or SIGTERM; prints its address and users first (one JSON line with
/// `--json`).
pub async fn run(args: SandboxArgs, json: bool) -> Result<(), CliError> {
    if !args.listen.ip().is_loopback() {
        return Err(CliError::Usage(format!(
            "--listen {}: the sandbox listens on loopback only (127.0.0.1 or ::1)",
            args.listen
        )));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let mut options = SandboxOptions {
        seed: args.seed,
        fault_rate: args.fault_rate,
        lost_response_rate: args.lost_response_rate,
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: args.rate_limit,
        state_file: args.state_file,
        refuse_creates_on: args.refuse_creates_on,
        ..SandboxOptions::default()
    };
    let known: Vec<i64> = (options.world.objects.iter())
        .map(|o| o.booking_object_id)
        .collect();
    if let Some(unknown) = (options.refuse_creates_on.iter()).find(|id| !known.contains(id)) {
        let known: Vec<String> = known.iter().map(i64::to_string).collect();
        return Err(CliError::Usage(format!(
            "--refuse-creates-on {unknown}: the sandbox has no booking object {unknown} \
             (it has {})",
            known.join(", ")
        )));
    }
    if let Some(logs_per_day) = args.logs_per_day {
        for unit in options.world.units.iter_mut().filter(|u| u.is_flexykey()) {
            unit.logs_per_day = logs_per_day;
        }
    }
    let sandbox = Sandbox::start(listener, options)
        .await
        .context("cannot start the sandbox")?;
    let text = if json {
        let users = serde_json::json!([
            { "user": DEMO_USER, "password": DEMO_PASSWORD, "company": "A",
              "units": [3023, 5459, 7001], "booking_objects": [123, 124, 125] },
            { "user": OTHER_USER, "password": OTHER_PASSWORD, "company": "B",
              "units": [9001], "booking_objects": [900] },
        ]);
        let value = serde_json::json!({ "base_url": sandbox.base_url(), "users": users });
        format!(
            "{}\n",
            serde_json::to_string(&value).context("cannot write JSON")?
        )
    } else {
        format!(
            "{}\nuser {DEMO_USER} password {DEMO_PASSWORD} (company A: units 3023, 5459, 7001; \
             booking objects 123, 124, 125)\nuser {OTHER_USER} password {OTHER_PASSWORD} \
             (company B: unit 9001; booking object 900)\n",
            sandbox.base_url()
        )
    };
    {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .context("cannot write to stdout")?;
    }
    wait_for_signal().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// SIGINT or SIGTERM.
async fn wait_for_signal() -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            _ = term.recv() => {}
            interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot watch SIGINT")?,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot watch Ctrl-C")?;
    Ok(())
}
