//! `--cacert`, shared by the commands that talk HTTP.

use std::path::PathBuf;

use clap::Args;
use sigil_client::HttpClientBuilder;

/// Which servers to trust beyond the platform's roots (which honour
/// `SSL_CERT_FILE` and `SSL_CERT_DIR`).
#[derive(Clone, Debug, Default, Args)]
pub struct TlsArgs {
    /// Also trust the CA certificates in this PEM file (a private CA), as
    /// curl's --cacert.
    #[arg(long, value_name = "FILE", env = "SIGIL_CACERT")]
    pub cacert: Option<PathBuf>,
}

impl TlsArgs {
    /// A client builder trusting the platform's roots and `--cacert`.
    pub fn builder(&self) -> anyhow::Result<HttpClientBuilder> {
        let builder = HttpClientBuilder::new();
        Ok(match &self.cacert {
            Some(path) => builder.add_root_file(path)?,
            None => builder,
        })
    }
}
