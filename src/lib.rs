//! flexysync keeps FlexyKey door-access bookings in step with the booking calendars a business
//! already uses. See `DESIGN.md` beside the project for the flow and the invariants.

pub mod archive;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod flexykey;
pub mod ledger;
pub mod model;
pub mod net_error;
pub mod notify;
pub mod outputs;
pub mod progress;
pub mod reconcile;
pub mod redact;
pub mod sandbox;
pub mod sources;
pub mod text;
pub mod when;
