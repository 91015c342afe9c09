//! One integration-test binary (one link step), a module per area.

mod archive;
mod helpers;
mod operator;
mod sandbox;
mod webhook;
