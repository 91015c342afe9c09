//! `flexysync feed`: what a calendar yields, before and after the booking rules.

use clap::Subcommand;

use super::{CliError, Context, not_built};

#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Print the reservations a source would produce
    Preview,
}

pub async fn run(_cmd: FeedCommand, _context: &Context) -> Result<(), CliError> {
    Err(not_built("feed"))
}
