//! `flexysync sandbox`: the FlexyKey API simulator on its own.

use clap::Args;

use super::{CliError, not_built};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (loopback)
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
}

pub async fn run(_args: SandboxArgs) -> Result<(), CliError> {
    Err(not_built("sandbox"))
}
