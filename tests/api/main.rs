//! One integration-test binary (one link step), a module per area.

mod archive;
mod browser;
mod commands;
mod control;
mod daemon;
mod feed;
mod helpers;
mod notify;
mod notify_mail;
mod operator;
mod reconcile;
mod sandbox;
mod webhook;
