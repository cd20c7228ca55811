//! The HTTPS client: rustls (or native-tls, by feature) with the platform's
//! trust store, which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`, plus any
//! roots the caller adds (a private CA, as curl's `--cacert`).

use std::error::Error as _;
use std::path::Path;
use std::time::Duration;

use crate::ClientError;

/// Builds the `reqwest::Client` a [`crate::Flow`] or a caller sends with.
///
/// ```
/// let http = sigil_client::HttpClientBuilder::new().build()?;
/// let flow = sigil_client::Flow::new(
///     sigil_client::ServiceProfile::twitter(),
///     sigil_client::Signer::new(sigil_client::Consumer::new("key", "secret")),
/// )
/// .http_client(http);
/// # let _ = flow;
/// # Ok::<(), sigil_client::ClientError>(())
/// ```
#[derive(Debug, Default)]
pub struct HttpClientBuilder {
    roots: Vec<reqwest::Certificate>,
    timeout: Option<Duration>,
    pool_idle: Option<usize>,
    no_redirects: bool,
}

impl HttpClientBuilder {
    /// The platform's roots only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the certificates of a PEM bundle too (one or more
    /// `CERTIFICATE` blocks).
    pub fn add_root_pem(mut self, pem: &[u8]) -> Result<Self, ClientError> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ClientError::Certificate(format!("not a PEM certificate bundle: {e}")))?;
        if certs.is_empty() {
            return Err(ClientError::Certificate(
                "no CERTIFICATE block in the PEM bundle".into(),
            ));
        }
        self.roots.extend(certs);
        Ok(self)
    }

    /// Trusts the certificates of a PEM file too (curl's `--cacert`).
    pub fn add_root_file(self, path: &Path) -> Result<Self, ClientError> {
        let pem = std::fs::read(path).map_err(|e| {
            ClientError::Certificate(format!("cannot read {}: {e}", path.display()))
        })?;
        self.add_root_pem(&pem)
    }

    /// A time limit for each request, connection included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many idle connections per host are kept for reuse.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_idle = Some(max);
        self
    }

    /// Answers redirects to the caller instead of following them.
    pub fn no_redirects(mut self) -> Self {
        self.no_redirects = true;
        self
    }

    /// The client.
    pub fn build(self) -> Result<reqwest::Client, ClientError> {
        let mut builder = reqwest::Client::builder();
        if !self.roots.is_empty() {
            builder = builder.tls_certs_merge(self.roots);
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(max) = self.pool_idle {
            builder = builder.pool_max_idle_per_host(max);
        }
        if self.no_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        builder.build().map_err(ClientError::Transport)
    }
}

/// A transport error as the user should read it: a certificate that does
/// not verify becomes [`ClientError::Untrusted`], which says so and how to
/// trust a private CA.
pub fn explain_transport(err: reqwest::Error) -> ClientError {
    let mut chain = String::new();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(&cause.to_string());
        chain.push(' ');
        source = cause.source();
    }
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        let url = err.url().map(|u| u.to_string()).unwrap_or_default();
        return ClientError::Untrusted {
            url,
            detail: chain.trim().to_owned(),
        };
    }
    ClientError::Transport(err)
}
