//! One integration-test binary (one link step), a module per area.

mod archive;
mod archive_repeats;
mod browser;
mod commands;
mod daemon;
mod feed;
mod helpers;
mod operator;
mod phones;
mod reconcile;
mod redaction;
mod sandbox;
mod webhook;
