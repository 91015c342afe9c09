//! `flexysync sync` and `flexysync status`.

use clap::Args;

use super::{CliError, Context, not_built};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Print what would be done, and why, without any write call
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn sync(_args: SyncArgs, _context: &Context) -> Result<(), CliError> {
    Err(not_built("sync"))
}

pub async fn status(_context: &Context) -> Result<(), CliError> {
    Err(not_built("status"))
}
