//! The pass's reader of calendar sources (the sources module does the reading), and
//! [`sync_once`]: one pass with everything set up from the config, for the CLI and the daemon.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use secrecy::ExposeSecret;

use super::pass::{PassError, PassOptions, PassReport, SourceReader, run_pass};
use crate::config::{Config, SourceConfig};
use crate::flexykey::Client;
use crate::ledger::{Ledger, LedgerError};
use crate::sources::webhook::sync_snapshot;
use crate::sources::{FetchMemo, ReadContext, ReadOutcome, read_source};

/// Reads iCal sources over HTTP or from files.
pub struct FeedReader {
    http: reqwest::Client,
    ledger: Ledger,
    now: DateTime<Utc>,
    horizon_days: u32,
    code_secret: Vec<u8>,
}

impl FeedReader {
    pub fn new(
        http: reqwest::Client,
        ledger: Ledger,
        now: DateTime<Utc>,
        horizon_days: u32,
        code_secret: Vec<u8>,
    ) -> Self {
        FeedReader {
            http,
            ledger,
            now,
            horizon_days,
            code_secret,
        }
    }
}

impl SourceReader for FeedReader {
    fn code_secret(&self) -> &[u8] {
        &self.code_secret
    }

    fn read(
        &self,
        source: &SourceConfig,
        default_timezone: Option<Tz>,
        memo: Option<&str>,
    ) -> impl Future<Output = (ReadOutcome, Option<String>)> + Send {
        // A memo that no longer parses only costs one unconditional fetch.
        let previous: Option<FetchMemo> = memo.and_then(|text| serde_json::from_str(text).ok());
        async move {
            let ctx = ReadContext {
                http: &self.http,
                now: self.now,
                horizon_days: self.horizon_days,
                default_timezone,
                code_secret: &self.code_secret,
            };
            let (outcome, memo) = read_source(source, &ctx, previous.as_ref()).await;
            crate::progress::mark();
            (outcome, memo.and_then(|m| serde_json::to_string(&m).ok()))
        }
    }

    async fn refresh_pushed(
        &self,
        source: &SourceConfig,
        max_drop: Option<f64>,
    ) -> Result<(), String> {
        let synced = sync_snapshot(&self.http, &self.ledger, source, self.now, max_drop).await;
        crate::progress::mark();
        synced.map(drop).map_err(|err| err.to_string())
    }
}

/// The secret behind derived keypad codes: `[sync] code_secret`, else one generated once and
/// kept in the ledger so that codes survive restarts.
pub async fn code_secret(config: &Config, ledger: &Ledger) -> Result<Vec<u8>, LedgerError> {
    if let Some(secret) = &config.sync.code_secret {
        return Ok(secret.expose_secret().as_bytes().to_vec());
    }
    let fresh = hex::encode(rand::random::<[u8; 32]>());
    Ok(ledger
        .meta_get_or_insert("code_secret", &fresh)
        .await?
        .into_bytes())
}

/// An HTTP client for feeds: bounded connect time (each read sets its own total timeout).
pub fn feed_http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("flexysync/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// One full pass over the configured sources with the real feed reader.
pub async fn sync_once(
    config: &Config,
    ledger: &Ledger,
    client: &Client,
    http: &reqwest::Client,
    options: &PassOptions,
) -> Result<PassReport, PassError> {
    let secret = code_secret(config, ledger).await?;
    let reader = FeedReader::new(
        http.clone(),
        ledger.clone(),
        Utc::now(),
        config.sync.horizon_days,
        secret,
    );
    run_pass(config, ledger, client, &reader, options).await
}
