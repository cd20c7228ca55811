//! reqwest as its users write it: `.oauth1(&signer)` on a request builder,
//! and (feature `middleware`) a `reqwest-middleware` middleware that signs
//! every request a client sends.

use crate::error::ClientError;
use crate::signer::Signer;

/// Signs a reqwest request builder in place: `client.get(url).oauth1(&signer)?.send()`.
///
/// The request is built (its body must be in memory), signed with a fresh
/// nonce and timestamp, and handed back as a builder, so more can follow
/// (`.timeout(…)`). Sign last: a header or body added after signing is not
/// covered by the signature (a query or form parameter added after it makes
/// the signature wrong).
///
/// ```
/// use sigil_client::{Consumer, RequestBuilderExt, Signer, Token};
///
/// let signer = Signer::new(Consumer::new("key", "secret")).token(Token::new("token", "token-secret"));
/// let request = reqwest::Client::new()
///     .get("https://api.example.com/1/statuses?count=2")
///     .oauth1(&signer)?
///     .build()?;
/// let header = request.headers()[reqwest::header::AUTHORIZATION].to_str()?;
/// assert!(header.starts_with("OAuth ") && header.contains("oauth_token=\"token\""));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RequestBuilderExt: Sized {
    /// The same request, signed by `signer`.
    fn oauth1(self, signer: &Signer) -> Result<Self, ClientError>;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn oauth1(self, signer: &Signer) -> Result<Self, ClientError> {
        let (client, request) = self.build_split();
        let signed = signer.sign_reqwest(request?)?;
        Ok(Self::from_parts(client, signed))
    }
}

#[cfg(feature = "blocking")]
impl RequestBuilderExt for reqwest::blocking::RequestBuilder {
    fn oauth1(self, signer: &Signer) -> Result<Self, ClientError> {
        let (client, request) = self.build_split();
        let signed = signer.sign_blocking(request?)?;
        Ok(Self::from_parts(client, signed))
    }
}

/// A `reqwest-middleware` middleware that signs each request with its
/// signer (feature `middleware`).
///
/// Attach it after a retry middleware, so that each attempt passes through
/// it and is signed afresh: a resent signature has a used nonce and a
/// provider refuses it as a replay.
///
/// ```
/// use sigil_client::{Consumer, OAuth1Middleware, Signer, Token};
///
/// let signer = Signer::new(Consumer::new("key", "secret")).token(Token::new("token", "token-secret"));
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(OAuth1Middleware::new(signer))
///     .build();
/// # drop(client);
/// ```
#[cfg(feature = "middleware")]
#[derive(Clone, Debug)]
pub struct OAuth1Middleware {
    signer: Signer,
}

#[cfg(feature = "middleware")]
impl OAuth1Middleware {
    /// A middleware signing with `signer`.
    pub fn new(signer: Signer) -> Self {
        Self { signer }
    }
}

#[cfg(feature = "middleware")]
#[async_trait::async_trait]
impl reqwest_middleware::Middleware for OAuth1Middleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let signed = self
            .signer
            .sign_reqwest(request)
            .map_err(reqwest_middleware::Error::middleware)?;
        next.run(signed, extensions).await
    }
}
