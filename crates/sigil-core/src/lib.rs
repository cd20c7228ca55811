//! # sigil-core
//!
//! OAuth 1.0a ([RFC 5849]) itself: percent-encoding, parameter collection,
//! the signature base string, every signature method (HMAC-SHA1/256/512,
//! RSA-SHA1/256/512, PLAINTEXT), the Authorization header, and the OAuth
//! Body Hash extension. No I/O, no async, no HTTP framework: client
//! ([`sign`]) and server ([`ParsedRequest::verify`]) share every rule here.
//! A client that signs many requests with the same credentials prepares
//! its key once ([`HmacKey`]) and can build only the header
//! ([`sign_authorization_header`]).
//!
//! Sign a request, then verify it as a server would:
//!
//! ```
//! use std::borrow::Cow;
//! use sigil_core::*;
//!
//! let consumer_secret = Secret::new("kd94hf93k423kf44");
//! let token_secret = Secret::new("pfkkdhi9sl3r4s00");
//! let oauth = OAuthParams {
//!     consumer_key: Some(Cow::Borrowed("dpf43f3p2l4k3l03")),
//!     token: Some(Cow::Borrowed("nnch734d00sl2jdk")),
//!     signature_method: Some(SignatureMethod::HmacSha1),
//!     timestamp: Some(Cow::Borrowed("137131202")),
//!     nonce: Some(Cow::Borrowed("chapoH")),
//!     ..OAuthParams::default()
//! };
//! let url = "http://photos.example.net/photos?file=vacation.jpg&size=original";
//! let signed = sign(
//!     &Request::new("GET", url),
//!     &oauth,
//!     &SigningKey::Shared { consumer_secret: &consumer_secret, token_secret: Some(&token_secret) },
//! )?;
//! let header = signed.authorization_header(Some("Photos"));
//! assert!(header.contains(r#"oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D""#));
//!
//! // The server side: parse, look up the secrets by consumer key and token, verify.
//! let request = Request::new("GET", url).with_authorization(&header);
//! let parsed = ParsedRequest::parse(&request, &Limits::DEFAULT)?;
//! assert_eq!(parsed.oauth().consumer_key.as_deref(), Some("dpf43f3p2l4k3l03"));
//! parsed.verify(&VerifyingKey::Shared {
//!     consumer_secret: &consumer_secret,
//!     token_secret: Some(&token_secret),
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 5849]: https://www.rfc-editor.org/rfc/rfc5849

mod b64;
pub mod encoding;
mod error;
pub mod example;
mod keys;
mod method;
mod nonce;
mod params;
mod request;
mod signature;
mod uri;

pub use error::{KeyError, ParseError, SignError, VerifyError};
pub use keys::{RsaPrivateKey, RsaPublicKey, Secret, SigningKey, VerifyingKey};
pub use method::{DigestAlgorithm, SignatureMethod};
pub use nonce::{Clock, FixedClock, RandomError, SystemClock, generate_nonce, random_hex};
pub use params::{AuthorizationHeader, Limits, OAuthParams, is_oauth_scheme};
pub use request::{
    Param, ParamLocation, ParsedRequest, Request, Signed, is_ambiguous_form_content_type,
    is_form_content_type, sign, sign_authorization_header, verify,
};
pub use signature::{
    HmacKey, body_hash, hmac_raw, shared_key, sign_base_string, verify_base_string,
};
pub use uri::BaseUri;

/// Any error of [`verify`]: the request could not be read, or did not verify.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The request could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The request did not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
}
