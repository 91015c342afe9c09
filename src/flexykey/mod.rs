//! The FlexyKey REST API client: paths, JSON field names, auth, the rate limiter, retries and
//! error kinds. Every point that `flexykey-api.md` lists as *assumed* is spelled in `wire.rs`
//! alone, so that it can be corrected against the vendor's Swagger in one edit.

mod error;
mod models;

pub use error::ApiError;
pub use models::*;
mod client;

pub use client::Client;
