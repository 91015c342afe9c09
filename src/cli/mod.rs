//! The command line: parsing, the shared context, exit codes. Each area's commands live in
//! their own file; `main.rs` only calls [`main`].

mod api;
mod daemon;
mod feed;
mod logs;
mod sandbox;
mod sync;
mod table;

pub use table::{mask, render_table};

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError, config_path};
use crate::flexykey::ApiError;

#[derive(Debug, Parser)]
#[command(
    name = "flexysync",
    version,
    about = "Keeps FlexyKey door-access bookings in step with booking calendars",
    propagate_version = true
)]
pub struct Cli {
    /// Config file [default: $FLEXYSYNC_CONFIG, else /etc/flexysync/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print JSON for scripts instead of tables
    #[arg(long, global = true)]
    pub json: bool,
    /// Show times in this zone (IANA or Windows name) instead of UTC
    #[arg(long, global = true, value_name = "ZONE")]
    pub tz: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the FlexyKey units the account sees
    Units,
    /// Show, read or switch one unit
    #[command(subcommand)]
    Unit(api::UnitCommand),
    /// List the booking objects the account sees
    Objects,
    /// List, create or delete FlexyKey bookings by hand
    #[command(subcommand)]
    Bookings(api::BookingsCommand),
    /// Unit logs: fetch live, backfill, show and export the archive
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// Preview what a calendar feed yields
    #[command(subcommand)]
    Feed(feed::FeedCommand),
    /// Run one full sync pass over all sources (fetch, plan, apply)
    Sync(sync::SyncArgs),
    /// Show each source's freshness, held deletions and upcoming arrivals
    Status,
    /// Run the FlexyKey API simulator on a loopback port
    Sandbox(sandbox::SandboxArgs),
    /// Run the long-running service
    Run,
    /// Show flexysync working end to end against the built-in sandbox
    Demo(daemon::DemoArgs),
    /// Validate the config, reach FlexyKey and fetch every feed once
    Check,
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// What a command failed with; decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Api(#[from] ApiError),
    /// The command ran but did not converge (sync with failed or held operations).
    #[error("{0}")]
    NotConverged(String),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl CliError {
    /// 0 success, 1 not converged or other failure, 2 usage or config, 3 FlexyKey refused,
    /// 4 FlexyKey unreachable or failing.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Usage(_) => 2,
            CliError::Api(err) if err.is_refusal() => 3,
            CliError::Api(ApiError::Setup { .. }) => 2,
            CliError::Api(_) => 4,
            CliError::NotConverged(_) | CliError::Other(_) => 1,
        }
    }
}

/// Options every command shares.
#[derive(Debug, Clone)]
pub struct Context {
    pub config_path: PathBuf,
    pub json: bool,
    pub tz: Option<chrono_tz::Tz>,
}

impl Context {
    pub fn load_config(&self) -> Result<Config, CliError> {
        Ok(Config::load(&self.config_path)?)
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// A UTC time shown in `--tz` (or UTC), second precision.
    pub fn show_time(&self, time: chrono::DateTime<chrono::Utc>) -> String {
        match self.tz {
            Some(tz) => time
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            None => time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }
}

/// Parses arguments, runs the command, prints one clear line on failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let tz = match cli.tz.as_deref().map(|name| {
        crate::config::resolve_timezone(name).ok_or_else(|| {
            CliError::Usage(format!(
                "--tz {name:?}: unknown time zone; expected an IANA name such as Europe/Stockholm"
            ))
        })
    }) {
        Some(Err(err)) => return fail(&err),
        Some(Ok(tz)) => Some(tz),
        None => None,
    };
    let context = Context {
        config_path: config_path(cli.config.as_deref()),
        json: cli.json,
        tz,
    };
    if !matches!(cli.command, Command::Run | Command::Demo(_)) {
        crate::daemon::logging::init_for_command();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(&CliError::Other(err.into())),
    };
    match runtime.block_on(dispatch(cli.command, &context)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

fn fail(err: &CliError) -> ExitCode {
    eprintln!("flexysync: {err}");
    ExitCode::from(err.exit_code())
}

async fn dispatch(command: Command, context: &Context) -> Result<(), CliError> {
    match command {
        Command::Units => api::units(context).await,
        Command::Unit(cmd) => api::unit(cmd, context).await,
        Command::Objects => api::objects(context).await,
        Command::Bookings(cmd) => api::bookings(cmd, context).await,
        Command::Logs(cmd) => logs::run(cmd, context).await,
        Command::Feed(cmd) => feed::run(cmd, context).await,
        Command::Sync(args) => sync::sync(args, context).await,
        Command::Status => sync::status(context).await,
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Run => daemon::run(context).await,
        Command::Demo(args) => daemon::demo(args, context).await,
        Command::Check => daemon::check(context).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "flexysync",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

/// A point in time from the command line: an RFC 3339 time (`2026-12-01T15:00:00Z`), a local
/// date-time (`2026-12-01T15:00`), or a date (`2026-12-01`, midnight); local forms are read in
/// `--tz`, else UTC.
pub fn parse_when(
    text: &str,
    tz: Option<chrono_tz::Tz>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
    let text = text.trim();
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(|| {
            format!("expected a date (2026-12-01) or a time (2026-12-01T15:00:00Z), found {text:?}")
        })?;
    let zone = tz.unwrap_or(chrono_tz::UTC);
    // A local time that does not exist (spring forward) is read with the offset before the gap.
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            use chrono::Offset;
            let before = zone
                .from_local_datetime(&(local - chrono::Duration::hours(3)))
                .earliest()?;
            let offset = before.offset().fix().local_minus_utc();
            Some(Utc.from_utc_datetime(&(local - chrono::Duration::seconds(offset.into()))))
        })
        .ok_or_else(|| format!("{text:?} does not exist in {}", zone.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_when_reads_rfc3339_dates_and_local_times() {
        let utc = parse_when("2026-12-01T15:00:00Z", None).unwrap();
        assert_eq!(utc.to_rfc3339(), "2026-12-01T15:00:00+00:00");
        let date = parse_when("2026-12-01", Some(chrono_tz::Europe::Stockholm)).unwrap();
        assert_eq!(date.to_rfc3339(), "2026-11-30T23:00:00+00:00");
        // 02:30 does not exist on 2026-03-29 in Stockholm: read with the offset before the gap.
        let gap = parse_when("2026-03-29T02:30", Some(chrono_tz::Europe::Stockholm)).unwrap();
        assert_eq!(gap.to_rfc3339(), "2026-03-29T01:30:00+00:00");
        assert!(
            parse_when("tomorrow", None)
                .unwrap_err()
                .contains("tomorrow")
        );
    }

    #[test]
    fn exit_codes_follow_the_documented_table() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::Api(ApiError::Auth).exit_code(), 3);
        assert_eq!(
            CliError::Api(ApiError::Transient { reason: "x".into() }).exit_code(),
            4
        );
        assert_eq!(CliError::NotConverged("x".into()).exit_code(), 1);
    }
}
