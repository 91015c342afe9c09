//! Retries, in two separate halves: [`classify`] decides what one attempt's outcome means
//! (done, failed for good, or worth another try), [`RetryPolicy`] decides how long to wait.
//! Writes that create something are never sent twice once they may have reached the server.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;

use super::{ApiError, wire};

/// How many attempts, and how long to wait between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// The backoff before the first retry is drawn from `0..=base_delay`, then doubles.
    pub base_delay: Duration,
    /// No backoff exceeds this.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is shortened to it.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The longest wait before retry number `retry` (1 for the first retry): capped exponential.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32
            .checked_pow(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Full jitter: a uniform draw from zero to the ceiling, so that clients that failed
    /// together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// The wait for a 429: the server's `Retry-After` (capped), or the backoff.
    pub fn rate_limit_wait(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(wait) => wait.min(self.max_retry_after),
            None => self.backoff(retry),
        }
    }
}

/// What sending a request twice would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallKind {
    /// GET, and DELETE (a repeated delete answers 404, which callers read as "gone").
    Idempotent,
    /// `POST /Bookings`, `POST /Control`: a second send may create a second booking or pulse.
    Create,
}

/// What became of one attempt.
#[derive(Debug)]
pub(super) enum Attempt {
    /// The server answered with a status and a complete body.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
        body: Bytes,
    },
    /// The connection could not be made: the request never left this machine.
    NotSent { reason: String },
    /// The request was (or may have been) sent, and no complete answer came back.
    Lost { reason: String },
}

impl Attempt {
    /// For the readiness probe: FlexyKey was reached and did not answer 5xx.
    pub(super) fn reached_healthy(&self) -> bool {
        matches!(self, Attempt::Answered { status, .. } if *status < 500)
    }

    /// A metrics label: the status code, or `error`.
    pub(super) fn status_label(&self) -> String {
        match self {
            Attempt::Answered { status, .. } => status.to_string(),
            Attempt::NotSent { .. } | Attempt::Lost { .. } => "error".to_owned(),
        }
    }
}

/// What to do after an attempt.
#[derive(Debug)]
pub(super) enum Verdict {
    /// A 2xx answer: here is the body.
    Success(Bytes),
    /// Final: retrying cannot help or is not safe.
    Fail(ApiError),
    /// Worth another try after `wait` (when attempts remain); `exhausted` is the error to
    /// return when they do not.
    Retry {
        wait: Option<Duration>,
        exhausted: ApiError,
    },
}

/// Who is asking: `what` names the thing a 404 is about ("booking 42"); `sensitive` lists
/// values sent in the request (phones, codes) that must not come back in an error message.
pub(super) struct CallContext<'a> {
    pub kind: CallKind,
    pub what: &'a str,
    pub sensitive: &'a [String],
}

/// Decides what an attempt means. `wait` in a `Retry` is only set when the server named it
/// (`Retry-After`, capped by the caller); otherwise the caller uses the policy's backoff.
pub(super) fn classify(context: &CallContext<'_>, attempt: Attempt) -> Verdict {
    let (status, retry_after, body) = match attempt {
        Attempt::Answered {
            status,
            retry_after,
            body,
        } => (status, retry_after, body),
        Attempt::NotSent { reason } => {
            return Verdict::Retry {
                wait: None,
                exhausted: ApiError::Transient { reason },
            };
        }
        Attempt::Lost { reason } => {
            return match context.kind {
                CallKind::Idempotent => Verdict::Retry {
                    wait: None,
                    exhausted: ApiError::Transient { reason },
                },
                CallKind::Create => Verdict::Fail(ApiError::OutcomeUnknown { reason }),
            };
        }
    };
    if (200..300).contains(&status) {
        return match wire::status_error(&body) {
            Some(message) => Verdict::Fail(ApiError::Invalid {
                message: scrub(&message, context.sensitive),
            }),
            None => Verdict::Success(body),
        };
    }
    let message = || {
        wire::error_message(&body)
            .map(|message| scrub(&message, context.sensitive))
            .unwrap_or_else(|| format!("HTTP {status} without a message"))
    };
    if let Some(refusal) = wire::refusal(status, context.what, message) {
        return Verdict::Fail(refusal);
    }
    match status {
        wire::TOO_MANY_REQUESTS => Verdict::Retry {
            wait: retry_after,
            exhausted: ApiError::RateLimited { retry_after },
        },
        // A 408 or a 5xx: the server may have acted before failing.
        408 | 500..=599 => match context.kind {
            // A 503 may say when to come back; otherwise the backoff decides.
            CallKind::Idempotent => Verdict::Retry {
                wait: retry_after,
                exhausted: ApiError::Transient {
                    reason: format!("HTTP {status}: {}", message()),
                },
            },
            CallKind::Create => Verdict::Fail(ApiError::OutcomeUnknown {
                reason: format!("HTTP {status}: {}", message()),
            }),
        },
        _ => Verdict::Fail(ApiError::Protocol {
            reason: format!("unexpected HTTP {status}: {}", message()),
        }),
    }
}

/// Replaces every sensitive value the server may echo ("invalid code 1234") with a marker.
pub(super) fn scrub(message: &str, sensitive: &[String]) -> String {
    sensitive
        .iter()
        .filter(|value| !value.trim().is_empty())
        .fold(message.to_owned(), |text, value| {
            text.replace(value.as_str(), "[redacted]")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, body: &str) -> Attempt {
        Attempt::Answered {
            status,
            retry_after: None,
            body: Bytes::from(body.to_owned()),
        }
    }

    fn context(kind: CallKind) -> CallContext<'static> {
        CallContext {
            kind,
            what: "booking 42",
            sensitive: &[],
        }
    }

    #[test]
    fn backoff_grows_doubling_up_to_the_cap_and_jitters_below_it() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_millis(400));
        assert_eq!(policy.backoff_ceiling(4), Duration::from_millis(1600));
        assert_eq!(policy.backoff_ceiling(7), Duration::from_secs(10));
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_secs(10));
        let draws: Vec<Duration> = (0..200).map(|_| policy.backoff(3)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_millis(800)));
        assert!(draws.iter().any(|d| *d != draws[0]), "no jitter");
    }

    #[test]
    fn retry_after_is_obeyed_but_capped() {
        let policy = RetryPolicy::default();
        let asked = Some(Duration::from_secs(3));
        assert_eq!(policy.rate_limit_wait(1, asked), Duration::from_secs(3));
        let huge = Some(Duration::from_secs(86_400));
        assert_eq!(policy.rate_limit_wait(1, huge), Duration::from_secs(120));
        let seven = wire::parse_retry_after(Some(" 7 "));
        assert_eq!(seven, Some(Duration::from_secs(7)));
        let date = Some("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(wire::parse_retry_after(date), None);
    }

    #[test]
    fn server_faults_are_retried_on_reads_but_never_on_creates() {
        let read = classify(&context(CallKind::Idempotent), answered(503, ""));
        assert!(matches!(
            read,
            Verdict::Retry {
                wait: None,
                exhausted: ApiError::Transient { .. }
            }
        ));
        let create = classify(&context(CallKind::Create), answered(502, "bad gateway"));
        assert!(matches!(
            create,
            Verdict::Fail(ApiError::OutcomeUnknown { .. })
        ));
        let lost = Attempt::Lost {
            reason: "connection reset".into(),
        };
        let create = classify(&context(CallKind::Create), lost);
        assert!(matches!(
            create,
            Verdict::Fail(ApiError::OutcomeUnknown { .. })
        ));
        let not_sent = Attempt::NotSent {
            reason: "connection refused".into(),
        };
        let create = classify(&context(CallKind::Create), not_sent);
        assert!(matches!(
            create,
            Verdict::Retry {
                exhausted: ApiError::Transient { .. },
                ..
            }
        ));
    }

    #[test]
    fn a_refusal_in_a_success_body_is_not_a_success() {
        let body = r#"{"status":"ERROR","message":"unknown output"}"#;
        let verdict = classify(&context(CallKind::Create), answered(200, body));
        assert!(
            matches!(verdict, Verdict::Fail(ApiError::Invalid { ref message }) if message == "unknown output")
        );
        let ok = classify(
            &context(CallKind::Create),
            answered(200, r#"{"status":"OK"}"#),
        );
        assert!(matches!(ok, Verdict::Success(_)));
    }

    #[test]
    fn echoed_secrets_are_scrubbed_from_server_messages() {
        let sensitive = ["+46701234567".to_owned(), "4711".to_owned()];
        let context = CallContext {
            kind: CallKind::Create,
            what: "booking",
            sensitive: &sensitive,
        };
        let body = r#"{"status":"ERROR","message":"code 4711 clashes for +46701234567"}"#;
        let Verdict::Fail(ApiError::Invalid { message }) = classify(&context, answered(400, body))
        else {
            panic!("400 is Invalid");
        };
        assert_eq!(message, "code [redacted] clashes for [redacted]");
    }
}
