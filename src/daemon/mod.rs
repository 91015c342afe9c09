//! The daemon: scheduling, the HTTP listener (webhooks, health, metrics, status page),
//! signals, systemd notify, and the demo. Business rules live elsewhere.

pub mod demo_feeds;
pub mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod scheduler;
pub mod status_page;
