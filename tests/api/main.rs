//! One integration-test binary (one link step), a module per area.

mod helpers;
mod operator;
mod sandbox;
