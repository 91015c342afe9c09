//! One integration-test binary (one link step), a module per area.

mod archive;
mod archive_repeats;
mod browser;
mod cli;
mod commands;
mod control;
mod daemon;
mod deploy;
mod feed;
mod helpers;
mod notify;
mod notify_mail;
mod notify_retry;
mod notify_scenarios;
mod notify_sigkill;
mod operator;
mod outputs;
mod phones;
mod reconcile;
mod redaction;
mod sandbox;
mod webhook;
