//! `flexysync logs`: live fetch, and the archive's backfill, show and export.

use clap::Subcommand;

use super::{CliError, Context, not_built};

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Fetch a unit's logs live from FlexyKey (not the archive)
    Fetch { unit_id: i64 },
}

pub async fn run(_cmd: LogsCommand, _context: &Context) -> Result<(), CliError> {
    Err(not_built("logs"))
}
