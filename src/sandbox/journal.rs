//! Every request the sandbox answered (or failed to answer), for tests to assert on.

use chrono::{DateTime, Utc};

/// One request as the sandbox saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub at: DateTime<Utc>,
    pub method: String,
    /// Lower-cased, without a trailing slash: `/v1/bookings/100001`.
    pub path: String,
    /// The raw query string, empty when there was none.
    pub query: String,
    /// The status sent, or that would have been sent when the response was lost.
    pub status: u16,
    /// POST/DELETE on bookings, POST on control.
    pub write: bool,
    /// The write was done but the connection was dropped without an answer.
    pub lost: bool,
}

impl JournalEntry {
    /// A write that the sandbox performed (answered 2xx or lost after doing it).
    pub fn performed_write(&self) -> bool {
        self.write && (200..300).contains(&self.status)
    }
}

/// Whether a request is one of the sandbox's writes.
pub(crate) fn is_write(method: &str, path: &str) -> bool {
    match method {
        "POST" => path == "/v1/bookings" || path == "/v1/control",
        "DELETE" => path.starts_with("/v1/bookings/"),
        _ => false,
    }
}
