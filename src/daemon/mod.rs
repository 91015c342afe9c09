//! The daemon: scheduling, the HTTP listener (webhooks, health, metrics, status page),
//! signals, systemd notify, and the demo. Business rules live elsewhere.

pub mod app;
pub mod control;
pub mod demo_feeds;
pub mod lifecycle;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod outputs;
pub mod run;
pub mod scheduler;
pub mod server;
pub mod status_notify;
pub mod status_page;
pub mod timeline;

pub use run::{DaemonError, Listeners, RunOptions, serve};
pub mod demo;
mod demo_notify;
