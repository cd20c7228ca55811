//! # sigil-server
//!
//! The OAuth 1.0a provider engine: what oauthlib's endpoints and
//! `RequestValidator` (or Flask-OAuthlib's `OAuth1Provider`) do for Python,
//! framework-agnostic and without their holes. Endpoints take method, URL,
//! headers and body, and answer status, headers and body (or a verified
//! [`Grant`]); storage is behind four small async traits ([`ClientStore`],
//! [`TemporaryCredentialStore`], [`TokenStore`], [`NonceStore`]), with
//! [`MemoryStore`] here for tests and examples.
//!
//! A minimal provider and one whole three-legged flow:
//!
//! ```
//! use std::borrow::Cow;
//! use std::sync::Arc;
//! use sigil_core::{OAuthParams, Request, Secret, SignatureMethod, SigningKey, generate_nonce, sign};
//! use sigil_server::{Client, HttpRequest, MemoryStore, Policy, Provider, Stores};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = Arc::new(MemoryStore::new());
//! let mut client = Client::new("printer", "printer-secret", "Printer");
//! client.callbacks.push("https://printer.example/ready".into());
//! store.insert_client(client)?;
//! let provider = Provider::new(
//!     Stores::single(store),
//!     Policy { public_base_url: Some("https://photos.example".into()), ..Policy::default() },
//! )?;
//!
//! // The client signs (here with sigil-core directly).
//! let now = provider.now().to_string();
//! let sign_header = |url: &str, token: Option<(&str, &Secret)>, extra: &[(&str, &str)]| {
//!     let nonce = generate_nonce().unwrap();
//!     let mut oauth = OAuthParams {
//!         consumer_key: Some(Cow::Borrowed("printer")),
//!         token: token.map(|(t, _)| Cow::Owned(t.to_owned())),
//!         signature_method: Some(SignatureMethod::HmacSha1),
//!         timestamp: Some(Cow::Owned(now.clone())),
//!         nonce: Some(Cow::Owned(nonce)),
//!         ..OAuthParams::default()
//!     };
//!     for (n, v) in extra {
//!         oauth.set(n, Cow::Owned(v.to_string())).unwrap();
//!     }
//!     let cs = Secret::new("printer-secret");
//!     let key = SigningKey::Shared { consumer_secret: &cs, token_secret: token.map(|(_, s)| s) };
//!     sign(&Request::new("POST", url), &oauth, &key).unwrap().authorization_header(None)
//! };
//!
//! // 1. Temporary credentials.
//! let h = sign_header("https://photos.example/initiate", None,
//!     &[("oauth_callback", "https://printer.example/ready")]);
//! let issued = provider.request_token(&HttpRequest::new("POST", "/initiate").authorization(&h)).await?;
//! let request_token = issued.credential.token.clone();
//! let request_secret = issued.credential.secret.clone();
//!
//! // 2. The resource owner approves (your consent page calls this).
//! let approval = provider.approve(&request_token, "jane").await?;
//! assert!(approval.redirect.unwrap().starts_with("https://printer.example/ready?oauth_token="));
//!
//! // 3. Token credentials.
//! let h = sign_header("https://photos.example/token", Some((&request_token, &request_secret)),
//!     &[("oauth_verifier", &approval.verifier)]);
//! let access = provider.access_token(&HttpRequest::new("POST", "/token").authorization(&h)).await?;
//!
//! // 4. A protected resource.
//! let secret = access.token.secret.clone();
//! let h = sign_header("https://photos.example/photos", Some((&access.token.token, &secret)), &[]);
//! let grant = provider.verify_resource(&HttpRequest::new("POST", "/photos").authorization(&h), &[]).await?;
//! assert_eq!(grant.user.as_deref(), Some("jane"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod cache;
mod callback;
mod error;
mod http;
mod memory;
mod model;
mod nonce_memory;
mod policy;
mod provider;
mod store;

pub use cache::{CredentialCache, Generation, NoOutsideChanges};
pub use callback::{CallbackError, CallbackUrl, UrlPart};
pub use error::{OAuthError, Problem};
pub use http::{HttpRequest, HttpResponse};
pub use memory::MemoryStore;
pub use model::{AccessToken, Client, Grant, TemporaryCredential};
pub use nonce_memory::{MEMORY_ONLY_AHEAD, MemoryNonceStore};
pub use policy::{CallbackRule, Policy, PolicyError};
pub use provider::{
    Approval, Denial, IssuedAccess, IssuedTemporary, PasswordVerifier, PendingAuthorization,
    Provider,
};
pub use store::{
    ClientStore, NonceKey, NonceStore, StoreError, Stores, TemporaryCredentialStore, TokenStore,
};
