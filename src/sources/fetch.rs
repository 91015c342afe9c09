//! Reading a source: an HTTPS feed (http only on loopback) or a local file, with timeouts, a
//! size cap, gzip, conditional GET as an optimisation, and a check that the body is a calendar.
//! Every read ends as exactly one `ReadOutcome`; a failure never looks like an empty feed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ReadOutcome;
use super::ical::{RuleContext, looks_like_calendar, preview_from_bytes};
use crate::config::{SourceConfig, check_transport};
use crate::model::{FailureKind, ReadFailure};
use crate::redact::redact_url;

/// The longest one feed download may take, whatever the client's own timeout.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// More redirects than this is a loop, not a feed.
pub const MAX_REDIRECTS: usize = 5;

/// The redirect rule of every feed and snapshot request: each hop must pass the transport rule
/// the configured URL passes (https; http only on loopback) and never go from https to http.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            let reason = format!("more than {MAX_REDIRECTS} redirects");
            return attempt.error(reason);
        }
        match check_redirect(attempt.previous().last(), attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(reason) => attempt.error(reason),
        }
    })
}

/// Whether a redirect from `from` to `to` may be followed, and why not.
pub fn check_redirect(from: Option<&url::Url>, to: &url::Url) -> Result<(), String> {
    check_transport(to).map_err(|reason| format!("redirect refused: {reason}"))?;
    if from.is_some_and(|from| from.scheme() == "https") && to.scheme() != "https" {
        return Err(format!(
            "redirect refused: from https to {}, which is not encrypted",
            redact_url(to)
        ));
    }
    Ok(())
}

/// What one read of every source needs.
#[derive(Debug, Clone, Copy)]
pub struct ReadContext<'a> {
    /// Shared client; its connect timeout is the caller's, the total timeout is set per request.
    pub http: &'a reqwest::Client,
    pub now: DateTime<Utc>,
    pub horizon_days: u32,
    /// The zone of the object's unit (`timezoneId`), used when the source names none.
    pub default_timezone: Option<chrono_tz::Tz>,
    pub code_secret: &'a [u8],
}

/// Remembered between reads of one source (the ledger stores it as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchMemo {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_fingerprint: Option<String>,
}

/// Why a download did not yield a calendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the source has neither `url` nor `path`")]
    NoLocation,
    #[error("{0}")]
    Transport(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("timed out")]
    Timeout,
    #[error("too large: more than {0} bytes")]
    TooLarge(u64),
    #[error("not a calendar: the body does not begin with BEGIN:VCALENDAR")]
    NotACalendar,
    #[error("could not be read: {0}")]
    Read(String),
    /// A failure of a feed URL, with the URL fit for logs (`redact_url`) so the operator can
    /// tell which address failed without seeing its token.
    #[error("{error} ({url})")]
    At { url: String, error: Box<FetchError> },
}

impl FetchError {
    fn at(self, url: &url::Url) -> FetchError {
        FetchError::At {
            url: redact_url(url),
            error: Box::new(self),
        }
    }
}

enum Body {
    Fresh {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    NotModified,
}

/// Reads one source. The memo returned is the one to pass next time (`None` after a failure
/// keeps nothing, so the next read is unconditional).
pub async fn read_source(
    source: &SourceConfig,
    ctx: &ReadContext<'_>,
    previous: Option<&FetchMemo>,
) -> (ReadOutcome, Option<FetchMemo>) {
    let body = match (&source.url, &source.path) {
        (Some(url), _) => fetch_url(ctx.http, &url.0, source.max_bytes, previous)
            .await
            .map_err(|err| err.at(&url.0)),
        (None, Some(path)) => read_file(path, source.max_bytes).await,
        (None, None) => Err(FetchError::NoLocation),
    };
    let (bytes, etag, last_modified) = match body {
        Ok(Body::NotModified) => return (ReadOutcome::Unchanged, previous.cloned()),
        Ok(Body::Fresh {
            bytes,
            etag,
            last_modified,
        }) => (bytes, etag, last_modified),
        Err(err) => {
            tracing::warn!(source = %source.name, reason = %err, "feed read failed");
            let failure = ReadFailure::new(FailureKind::Fetch, err.to_string());
            return (ReadOutcome::Failed(failure), None);
        }
    };
    if !looks_like_calendar(&bytes) {
        let error = FetchError::NotACalendar;
        let reason = match &source.url {
            Some(url) => error.at(&url.0).to_string(),
            None => error.to_string(),
        };
        let failure = ReadFailure::new(FailureKind::Format, reason);
        return (ReadOutcome::Failed(failure), None);
    }
    let content_fingerprint = hex::encode(&Sha256::digest(&bytes)[..16]);
    let rules = RuleContext {
        now: ctx.now,
        horizon_days: ctx.horizon_days,
        default_timezone: ctx.default_timezone,
        code_secret: ctx.code_secret,
        window: None,
    };
    // Parsing is CPU work: keep it off the async workers.
    let source_owned = source.clone();
    let secret = ctx.code_secret.to_vec();
    let parsed = tokio::task::spawn_blocking(move || {
        let rules = RuleContext {
            code_secret: &secret,
            ..rules
        };
        preview_from_bytes(&bytes, &source_owned, &rules)
    })
    .await;
    let preview = match parsed {
        Ok(preview) => preview,
        Err(err) => {
            let failure =
                ReadFailure::new(FailureKind::Other, format!("could not be parsed: {err}"));
            return (ReadOutcome::Failed(failure), None);
        }
    };
    if let Some(reason) = preview.incomplete {
        return (
            ReadOutcome::Failed(ReadFailure::new(FailureKind::Incomplete, reason)),
            None,
        );
    }
    if preview.zone_missing {
        let failure = ReadFailure::new(
            FailureKind::Zone,
            "its times need a time zone and none is known: the source sets no `timezone`, the \
             calendar no X-WR-TIMEZONE, and the booking object's zone could not be looked up; \
             nothing changes for it until the zone is known",
        );
        return (ReadOutcome::Failed(failure), None);
    }
    let memo = FetchMemo {
        etag,
        last_modified,
        content_fingerprint: Some(content_fingerprint.clone()),
    };
    (
        ReadOutcome::Fresh {
            reservations: preview.reservations,
            content_fingerprint,
            warnings: preview.warnings,
            unreadable: preview.unreadable,
        },
        Some(memo),
    )
}

/// The raw bytes of a source (URL or file), checked to be a calendar: for previews that apply
/// the rules themselves.
pub async fn fetch_bytes(
    http: &reqwest::Client,
    source: &SourceConfig,
) -> Result<Vec<u8>, FetchError> {
    let at = |err: FetchError| match &source.url {
        Some(url) => err.at(&url.0),
        None => err,
    };
    let body = match (&source.url, &source.path) {
        (Some(url), _) => fetch_url(http, &url.0, source.max_bytes, None)
            .await
            .map_err(at)?,
        (None, Some(path)) => read_file(path, source.max_bytes).await?,
        (None, None) => return Err(FetchError::NoLocation),
    };
    match body {
        Body::Fresh { bytes, .. } if looks_like_calendar(&bytes) => Ok(bytes),
        Body::Fresh { .. } => Err(at(FetchError::NotACalendar)),
        Body::NotModified => Err(at(FetchError::Status(304))),
    }
}

async fn read_file(path: &std::path::Path, max_bytes: u64) -> Result<Body, FetchError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| FetchError::Read(format!("{}: {e}", path.display())))?;
    if meta.len() > max_bytes {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| FetchError::Read(format!("{}: {e}", path.display())))?;
    Ok(Body::Fresh {
        bytes,
        etag: None,
        last_modified: None,
    })
}

async fn fetch_url(
    http: &reqwest::Client,
    url: &url::Url,
    max_bytes: u64,
    previous: Option<&FetchMemo>,
) -> Result<Body, FetchError> {
    check_transport(url).map_err(FetchError::Transport)?;
    // The client's own timeout applies; FETCH_TIMEOUT is the backstop around the whole read.
    let mut request = http.get(url.clone());
    if let Some(memo) = previous {
        if let Some(etag) = &memo.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &memo.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
    }
    let timed = |err: reqwest::Error| {
        if err.is_timeout() {
            FetchError::Timeout
        } else {
            // Its cause (DNS, refused, TLS), without the URL and so without the feed's token.
            FetchError::Transport(crate::net_error::describe(err))
        }
    };
    let response = tokio::time::timeout(FETCH_TIMEOUT, request.send())
        .await
        .map_err(|_| FetchError::Timeout)?
        .map_err(timed)?;
    // The client's policy checks every hop; this holds for a client built without it.
    if response.url() != url {
        check_redirect(Some(url), response.url()).map_err(FetchError::Transport)?;
    }
    if response.status() == StatusCode::NOT_MODIFIED && previous.is_some() {
        return Ok(Body::NotModified);
    }
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    if response.content_length().is_some_and(|len| len > max_bytes) {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header(ETAG);
    let last_modified = header(LAST_MODIFIED);
    let mut stream = response.bytes_stream();
    let mut bytes = Vec::new();
    let download = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(timed)?;
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
        }
        Ok(())
    };
    tokio::time::timeout(FETCH_TIMEOUT, download)
        .await
        .map_err(|_| FetchError::Timeout)??;
    Ok(Body::Fresh {
        bytes,
        etag,
        last_modified,
    })
}
