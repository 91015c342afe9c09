//! `flexysync run`, `demo` and `check`.

use clap::Args;

use super::{CliError, Context, not_built};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep running as the daemon after the demo, serving the status page
    #[arg(long)]
    pub keep_running: bool,
}

pub async fn run(_context: &Context) -> Result<(), CliError> {
    Err(not_built("run"))
}

pub async fn demo(_args: DemoArgs, _context: &Context) -> Result<(), CliError> {
    Err(not_built("demo"))
}

pub async fn check(_context: &Context) -> Result<(), CliError> {
    Err(not_built("check"))
}
