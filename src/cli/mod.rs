//! The command line: parsing, the shared context, exit codes. Each area's commands live in
//! their own file; `main.rs` only calls [`main`].

mod api;
pub mod control;
mod daemon;
mod events;
mod feed;
mod logs;
mod sandbox;
mod sync;
mod table;

pub use crate::redact::mask;
pub use table::render_table;

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
    /// Events told to people: list deliveries, retry failed ones
    #[command(subcommand)]
    Events(events::EventsCommand),
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
    /// `status` found what monitoring should page someone for.
    #[error("{0}")]
    NeedsAttention(String),
    /// The running daemon did the command; this is how the command ended there.
    #[error("{message}")]
    Answered { message: String, exit_code: u8 },
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
            CliError::NotConverged(_) | CliError::NeedsAttention(_) | CliError::Other(_) => 1,
            CliError::Answered { exit_code, .. } => *exit_code,
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
        Command::Events(cmd) => events::run(cmd, context).await,
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

#[cfg(test)]
mod tests {
    use super::*;

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
