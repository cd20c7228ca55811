//! What the provider keeps: clients, temporary credentials, token
//! credentials, and the grant a verified request carries.

use sigil_core::{RsaPublicKey, Secret, SignatureMethod};

/// A registered client (consumer).
#[derive(Clone, Debug)]
pub struct Client {
    /// The consumer key, public.
    pub key: String,
    /// The consumer secret, for HMAC-SHA* and PLAINTEXT. `None` for a client
    /// that signs only with RSA.
    pub secret: Option<Secret>,
    /// The RSA public key, for RSA-SHA*.
    pub rsa_public_key: Option<RsaPublicKey>,
    /// The same key as PEM text, as registered (kept for storage and display).
    pub rsa_public_key_pem: Option<String>,
    /// The application's name, shown on the consent page.
    pub name: String,
    /// A short description, shown on the consent page.
    pub description: String,
    /// The application's website.
    pub website: Option<String>,
    /// Callback URLs the client may use (see [`crate::CallbackRule`]).
    pub callbacks: Vec<String>,
    /// Realms granted when a request asks for none.
    pub default_realms: Vec<String>,
    /// Realms the client may ask for; empty means any realm the provider
    /// knows.
    pub allowed_realms: Vec<String>,
    /// Signature methods the client may use (within the policy's). Empty
    /// means those its keys sign with: the HMAC methods with a secret, the
    /// RSA methods with an RSA key; PLAINTEXT only when listed.
    pub signature_methods: Vec<SignatureMethod>,
    /// Whether the client may use the `oob` (PIN) callback.
    pub allow_oob: bool,
    /// Whether the client may use xAuth (username and password at the token
    /// endpoint).
    pub allow_xauth: bool,
    /// A disabled client is refused everywhere.
    pub enabled: bool,
    /// The user who registered the client, if it was registered in the web UI.
    pub owner: Option<String>,
    /// Unix time of registration.
    pub created_at: u64,
}

impl Client {
    /// A client with a shared secret, enabled, with no callbacks or realms.
    pub fn new(key: impl Into<String>, secret: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: Some(Secret::new(secret)),
            rsa_public_key: None,
            rsa_public_key_pem: None,
            name: name.into(),
            description: String::new(),
            website: None,
            callbacks: Vec::new(),
            default_realms: Vec::new(),
            allowed_realms: Vec::new(),
            signature_methods: Vec::new(),
            allow_oob: false,
            allow_xauth: false,
            enabled: true,
            owner: None,
            created_at: 0,
        }
    }
}

/// Temporary credentials (a request token), from issue to exchange.
#[derive(Clone, Debug)]
pub struct TemporaryCredential {
    /// The request token.
    pub token: String,
    /// Its secret.
    pub secret: Secret,
    /// The client it was issued to.
    pub client_key: String,
    /// The callback bound at issue time (OAuth 1.0a): a URL or `oob`.
    pub callback: String,
    /// The realms requested (or the client's defaults).
    pub realms: Vec<String>,
    /// Unix time of issue.
    pub created_at: u64,
    /// Unix time after which it can no longer be approved or exchanged.
    pub expires_at: u64,
    /// Set when the resource owner approved: the verifier.
    pub verifier: Option<String>,
    /// Set when the resource owner approved: who approved.
    pub user: Option<String>,
}

impl TemporaryCredential {
    /// Whether the resource owner has approved it.
    pub fn is_approved(&self) -> bool {
        self.verifier.is_some() && self.user.is_some()
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}

/// Token credentials (an access token).
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The access token.
    pub token: String,
    /// Its secret.
    pub secret: Secret,
    /// The client it was issued to.
    pub client_key: String,
    /// The resource owner who approved it.
    pub user: String,
    /// The realms it grants.
    pub realms: Vec<String>,
    /// Unix time of issue.
    pub created_at: u64,
}

/// What a verified request to a protected resource carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The client's consumer key.
    pub client_key: String,
    /// The resource owner, or `None` for a signature-only (two-legged)
    /// request.
    pub user: Option<String>,
    /// The realms the token grants (or the client's defaults, two-legged).
    pub realms: Vec<String>,
    /// The access token used, if any.
    pub token: Option<String>,
}

impl Grant {
    /// Whether the grant covers every realm in `required`.
    pub fn has_realms(&self, required: &[&str]) -> bool {
        required
            .iter()
            .all(|r| self.realms.iter().any(|have| have == r))
    }
}
