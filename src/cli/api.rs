//! Operator commands over the FlexyKey API: units, unit, objects, bookings.

use clap::Subcommand;

use super::{CliError, Context, not_built};

#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Show one unit's information
    Show { unit_id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum BookingsCommand {
    /// Delete one booking by id
    Delete { booking_id: i64 },
}

pub async fn units(_context: &Context) -> Result<(), CliError> {
    Err(not_built("units"))
}

pub async fn unit(_cmd: UnitCommand, _context: &Context) -> Result<(), CliError> {
    Err(not_built("unit"))
}

pub async fn objects(_context: &Context) -> Result<(), CliError> {
    Err(not_built("objects"))
}

pub async fn bookings(_cmd: BookingsCommand, _context: &Context) -> Result<(), CliError> {
    Err(not_built("bookings"))
}
