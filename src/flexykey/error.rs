//! The kinds of failure a caller of the FlexyKey client can match on.

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 401: the user name or password was refused.
    #[error("FlexyKey refused the credentials (401): check flexykey.username and the password")]
    Auth,
    /// 403: the unit or booking object belongs to another company.
    #[error("FlexyKey denied access (403): {message}")]
    Access { message: String },
    /// 404: unknown id.
    #[error("FlexyKey does not know {what} (404)")]
    NotFound { what: String },
    /// 400 with the server's message.
    #[error("FlexyKey rejected the request as invalid (400): {message}")]
    Invalid { message: String },
    /// 409: a conflict the server will not resolve; never retried.
    #[error("FlexyKey reported a conflict (409): {message}")]
    Conflict { message: String },
    /// 429 that outlasted the retries.
    #[error("FlexyKey is rate limiting (429){}", retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx, timeout or connection failure that outlasted the retries.
    #[error("FlexyKey is unreachable or failing: {reason}")]
    Transient { reason: String },
    /// A create whose response was lost: it may or may not have happened. Only reading the
    /// object's bookings tells; it is never retried blindly.
    #[error(
        "the outcome of the FlexyKey call is unknown ({reason}); read the bookings to find out"
    )]
    OutcomeUnknown { reason: String },
    /// The server answered something this client does not understand.
    #[error("FlexyKey sent an unexpected answer: {reason}")]
    Protocol { reason: String },
    /// flexysync is shutting down and did not send the call: known not to have happened.
    #[error("not sent: flexysync is shutting down")]
    Stopped,
    /// The client could not be built from its config (bad URL, TLS setup).
    #[error("FlexyKey client setup: {reason}")]
    Setup { reason: String },
}

impl ApiError {
    /// FlexyKey answered and said no: retrying will not help.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ApiError::Auth
                | ApiError::Access { .. }
                | ApiError::NotFound { .. }
                | ApiError::Invalid { .. }
                | ApiError::Conflict { .. }
        )
    }

    /// A short stable name for metrics and the journal.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Auth => "auth",
            ApiError::Access { .. } => "access",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Invalid { .. } => "invalid",
            ApiError::Conflict { .. } => "conflict",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Transient { .. } => "transient",
            ApiError::OutcomeUnknown { .. } => "outcome_unknown",
            ApiError::Protocol { .. } => "protocol",
            ApiError::Setup { .. } => "setup",
            ApiError::Stopped => "stopped",
        }
    }
}
