//! One integration-test binary (one link step), a module per area.

mod archive;
mod browser;
mod commands;
mod daemon;
mod feed;
mod helpers;
mod operator;
mod outputs;
mod reconcile;
mod sandbox;
mod webhook;
