//! # sigil-client
//!
//! OAuth 1.0a for calling services: sign any request (an `http::Request`, a
//! `reqwest::Request`, or plain parts), with the signature in the header,
//! the query or the form body; run the three-legged flow as a small typed
//! state machine; service quirks as profiles of data.
//!
//! Features: `rustls` (default: TLS through rustls with the platform's
//! trust store) or `native-tls`; `middleware` (a `reqwest-middleware`
//! middleware, `OAuth1Middleware`); `blocking` (signing reqwest's blocking
//! requests); `pkcs12` (RSA keys from `.p12` files).
//!
//! ```
//! use sigil_client::{Consumer, Signer, Token};
//!
//! let signer = Signer::new(Consumer::new("dpf43f3p2l4k3l03", "kd94hf93k423kf44"))
//!     .token(Token::new("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00"))
//!     .realm("Photos")
//!     .version(false);
//! let signed = signer.sign_with(
//!     "GET",
//!     "http://photos.example.net/photos?file=vacation.jpg&size=original",
//!     None,
//!     b"",
//!     "chapoH",
//!     "137131202",
//! )?;
//! assert!(signed.authorization.unwrap().contains(r#"oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D""#));
//!
//! // The same signer on a reqwest request builder:
//! use sigil_client::RequestBuilderExt;
//! let request = reqwest::Client::new()
//!     .get("http://photos.example.net/photos?size=original")
//!     .oauth1(&signer)?
//!     .build()?;
//! assert!(request.headers().contains_key(reqwest::header::AUTHORIZATION));
//!
//! // The same signer on an http::Request:
//! let request = http::Request::get("http://photos.example.net/photos?size=original").body(Vec::new())?;
//! let signed = signer.sign_http(request)?;
//! assert!(signed.headers().contains_key(http::header::AUTHORIZATION));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod callback;
pub mod doctor;
mod error;
mod flow;
#[cfg(feature = "pkcs12")]
mod pkcs12;
mod profiles;
mod reqwest_ext;
mod signer;
mod transport;

pub use callback::CallbackError;
pub use error::ClientError;
pub use flow::{Flow, TemporaryCredentials, TokenCredentials};
#[cfg(feature = "pkcs12")]
pub use pkcs12::rsa_key_from_pkcs12;
pub use profiles::ServiceProfile;
#[cfg(feature = "middleware")]
pub use reqwest_ext::OAuth1Middleware;
pub use reqwest_ext::RequestBuilderExt;
pub use sigil_core::{RsaPrivateKey, SignatureMethod};
pub use signer::{BodyHash, Consumer, Placement, SignedParts, Signer, Token};
pub use transport::{HttpClientBuilder, explain_transport};
