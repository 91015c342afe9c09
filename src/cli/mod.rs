//! The command line: parsing, the shared context, exit codes. Each area's commands live in
//! their own file; `main.rs` only calls [`main`].

mod api;
pub mod control;
mod daemon;
mod events;
mod feed;
mod health;
pub mod help;
mod logs;
mod manpage;
mod outputs;
mod sandbox;
mod sync;
mod table;
mod zone;

pub use crate::redact::mask;
pub use table::render_table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{FromArgMatches, Parser, Subcommand};

use crate::config::{Config, ConfigError, config_path};
use crate::flexykey::ApiError;

/// The heading of the options every command takes.
const GLOBAL_OPTIONS: &str = "Global options";

#[derive(Debug, Parser)]
#[command(
    name = "flexysync",
    version,
    about = "Keeps FlexyKey door-access bookings in step with booking calendars",
    propagate_version = true,
    after_help = "New here? `flexysync demo` shows it all against a built-in FlexyKey sandbox.\n\
                  `flexysync help COMMAND` (or COMMAND --help) shows a command's options and an example."
)]
pub struct Cli {
    /// Config file [default: $FLEXYSYNC_CONFIG, else /etc/flexysync/config.toml]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL_OPTIONS)]
    pub config: Option<PathBuf>,
    /// Print JSON for scripts instead of text (times in UTC); shapes in docs/cli-json.md
    #[arg(long, global = true, help_heading = GLOBAL_OPTIONS)]
    pub json: bool,
    /// Show times, and read dates and times without an offset, in this zone (IANA or Windows
    /// name) [default: the booking object's or unit's zone, else UTC]
    #[arg(long, global = true, value_name = "ZONE", help_heading = GLOBAL_OPTIONS)]
    pub tz: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands; `help::GROUPS` orders and groups them in `--help`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show flexysync working end to end against the built-in sandbox
    #[command(after_help = "Example:\n  flexysync demo --dir /tmp/flexysync-demo")]
    Demo(daemon::DemoArgs),
    /// Run the FlexyKey API simulator on a loopback port, to try a config safely
    #[command(
        after_help = "Example:\n  flexysync sandbox --listen 127.0.0.1:8090 --fault-rate 0.1"
    )]
    Sandbox(sandbox::SandboxArgs),
    /// Validate the config, reach FlexyKey and fetch every feed once
    #[command(after_help = "Example:\n  flexysync check --config /etc/flexysync/config.toml")]
    Check,
    /// Print shell completions
    #[command(
        after_help = "Example:\n  flexysync completions bash > /etc/bash_completion.d/flexysync"
    )]
    Completions {
        /// The shell to print completions for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run the long-running service (schedules, webhooks, health, metrics, status page)
    #[command(after_help = "Example:\n  flexysync run --config /etc/flexysync/config.toml")]
    Run,
    /// Run one full sync pass over all sources (fetch, plan, apply)
    #[command(
        after_help = "Times are shown in each booking object's zone (its source's `timezone`, \
                      else its unit's), or in --tz; --json is UTC.\n\n\
                      Example:\n  flexysync sync --dry-run --source cabin-7-airbnb"
    )]
    Sync(sync::SyncArgs),
    /// Show each source's freshness, held deletions and upcoming arrivals
    #[command(
        after_help = "Times are shown in each booking object's zone (its source's `timezone`, \
                      else its unit's), or in --tz; --json is UTC.\n\n\
                      Example:\n  flexysync status --tz Europe/Stockholm"
    )]
    Status,
    /// Preview what a calendar feed yields
    #[command(
        subcommand,
        after_help = "Example:\n  flexysync feed preview --source cabin-7-airbnb"
    )]
    Feed(feed::FeedCommand),
    /// Unit logs: fetch live, backfill, show and export the archive
    #[command(
        subcommand,
        after_help = "Example:\n  flexysync logs show --from 2026-03-14 --to 2026-03-14"
    )]
    Logs(logs::LogsCommand),
    /// Show each booking-driven output's plan for 14 days and its last verified state
    #[command(after_help = "Example:\n  flexysync outputs --json")]
    Outputs,
    /// Events told to people: list deliveries, retry failed ones
    #[command(
        subcommand,
        after_help = "Example:\n  flexysync events list --state failed"
    )]
    Events(events::EventsCommand),
    /// List the FlexyKey units the account sees
    #[command(after_help = "Example:\n  flexysync units --json")]
    Units,
    /// Show, read or switch one unit
    #[command(subcommand, after_help = "Example:\n  flexysync unit status 3023")]
    Unit(api::UnitCommand),
    /// List the booking objects the account sees
    #[command(after_help = "Example:\n  flexysync objects")]
    Objects,
    /// List, create or delete FlexyKey bookings by hand
    #[command(
        subcommand,
        after_help = "Example:\n  flexysync bookings list --object 123 --from 2026-12-01 --to 2026-12-31"
    )]
    Bookings(api::BookingsCommand),
    /// Ask the running service's /healthz (on server.listen); exit 0 healthy, 1 not
    #[command(
        after_help = "A container's HEALTHCHECK runs it.\n\nExample:\n  flexysync healthcheck --timeout 3"
    )]
    Healthcheck(health::HealthcheckArgs),
    /// Print the man page (roff), or write every page with --dir
    #[command(after_help = "Example:\n  flexysync man --dir /usr/share/man/man1")]
    Man(manpage::ManArgs),
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
}

/// Parses arguments, runs the command, prints one clear line on failure.
pub fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&help::command().get_matches()) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
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
    // `feed occurrences` reads a file and prints it: no runtime and no extra threads, so that
    // its time and peak memory are the calendar's own (and no phone metadata: it reads none).
    let command = match cli.command {
        Command::Feed(feed::FeedCommand::Occurrences(args)) => {
            return match feed::occurrences(args, &context) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => fail(&err),
            };
        }
        command => command,
    };
    if matches!(
        command,
        Command::Sync(_)
            | Command::Run
            | Command::Demo(_)
            | Command::Check
            | Command::Feed(feed::FeedCommand::Preview(_))
    ) {
        crate::model::phone::warm_up();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(&CliError::Other(err.into())),
    };
    match runtime.block_on(dispatch(command, &context)) {
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
        Command::Outputs => outputs::run(context).await,
        Command::Sandbox(args) => sandbox::run(args, context.json).await,
        Command::Run => daemon::run(context).await,
        Command::Demo(args) => daemon::demo(args, context).await,
        Command::Check => daemon::check(context).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut help::command(),
                "flexysync",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Healthcheck(args) => health::run(args, context).await,
        Command::Man(args) => manpage::run(args),
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
