//! One integration-test binary (one link step), a module per area.

mod helpers;
mod reconcile;
mod operator;
mod sandbox;
mod webhook;
