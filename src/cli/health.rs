//! `flexysync healthcheck`: asks the running service whether it is alive, for a container's
//! HEALTHCHECK or a monitoring script. Exits 0 when `/healthz` answers 200, else 1 (never 2:
//! Docker reserves that code), with one line that says what was asked and what came back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use clap::Args;

use super::{CliError, Context};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// Give up after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
}

pub async fn run(args: HealthcheckArgs, context: &Context) -> Result<(), CliError> {
    // Every failure, a config error included, is "unhealthy" (exit 1).
    let unhealthy = |err: anyhow::Error| CliError::Other(err.context("unhealthy"));
    let config = context
        .load_config()
        .map_err(|err| unhealthy(anyhow!(err)))?;
    let url = healthz_url(&config);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .context("HTTP client")
        .map_err(unhealthy)?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url}: no answer"))
        .map_err(unhealthy)?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(unhealthy(anyhow!("{url} answered {status}")));
    }
    println!("healthy: {url} answered {status}");
    Ok(())
}

/// Where the health check asks: `/healthz` on `server.listen` (the listener the service always
/// binds). An unspecified address (`0.0.0.0`, `[::]`) is asked on loopback.
pub fn healthz_url(config: &Config) -> String {
    format!("http://{}/healthz", reachable(config.server.listen))
}

fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback_of_its_family() {
        let cases = [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:9000", "[::1]:9000"),
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("192.0.2.7:81", "192.0.2.7:81"),
            ("[::1]:8080", "[::1]:8080"),
        ];
        for (listen, asked) in cases {
            assert_eq!(
                reachable(listen.parse().unwrap()).to_string(),
                asked,
                "{listen}"
            );
        }
    }
}
