//! The pass's reader of real sources (the sources module does the reading), and
//! [`sync_once`]: one pass with everything set up from the config, for the CLI and the daemon.

use std::time::Duration;

use chrono::Utc;
use secrecy::ExposeSecret;

use super::pass::{PassError, PassOptions, PassReport, run_pass};
use crate::config::Config;
use crate::flexykey::Client;
use crate::ledger::{Ledger, LedgerError};
use crate::sources::Reader;

/// The reader of calendars and webhook sources, whose events the ledger keeps.
pub type FeedReader = Reader<Ledger>;

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
        .redirect(crate::sources::fetch::redirect_policy())
        .user_agent(concat!("flexysync/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// One full pass over the configured sources with the real reader.
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
