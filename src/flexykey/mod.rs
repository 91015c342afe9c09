//! The FlexyKey REST API client: paths, JSON field names, auth, the rate limiter, retries and
//! error kinds. Every point that `flexykey-api.md` lists as *assumed* is spelled in `wire.rs`
//! alone, so that it can be corrected against the vendor's Swagger in one edit.

mod bisect;
mod client;
mod decode;
mod error;
mod models;
mod priority;
mod retry;
#[cfg(test)]
mod tests;
mod wire;

pub use client::Client;
pub use error::ApiError;
pub use models::*;
pub use priority::{Priority, with_priority};
pub use retry::RetryPolicy;
