//! Storage traits, one concern each. The engine never touches a database:
//! it calls these. Every single-use operation is atomic in the
//! implementation, not a read followed by a write in the engine.

use std::sync::Arc;

use async_trait::async_trait;

use crate::model::{AccessToken, Client, TemporaryCredential};

/// A storage failure. The message is for logs, never for clients: the
/// engine answers 503 without it.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record with the same key exists.
    #[error("duplicate key")]
    Duplicate,
    /// Stored data could not be read back (corrupt, or sealed with another
    /// key).
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
    /// The database was migrated by a newer Sigil: this build would miss
    /// what the newer schema keeps (nonces moved to a new layout, say), so
    /// it refuses to run on it.
    #[error(
        "database schema version {found} is newer than this build knows ({known}): run the newer sigil"
    )]
    SchemaTooNew {
        /// The newest migration recorded in the database.
        found: i64,
        /// The newest migration this build has.
        known: i64,
    },
}

/// Registered clients.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// The client with this consumer key.
    async fn client(&self, key: &str) -> Result<Option<Client>, StoreError>;
}

/// Temporary credentials (request tokens).
#[async_trait]
pub trait TemporaryCredentialStore: Send + Sync {
    /// Stores newly issued temporary credentials.
    async fn create_temporary(&self, credential: TemporaryCredential) -> Result<(), StoreError>;

    /// The temporary credentials with this token, expired or not.
    async fn temporary(&self, token: &str) -> Result<Option<TemporaryCredential>, StoreError>;

    /// Records the resource owner's approval, atomically: only a credential
    /// that exists, is not expired at `now` and is not yet approved is
    /// changed. Returns the approved credential, or `None` when nothing
    /// matched.
    async fn approve_temporary(
        &self,
        token: &str,
        user: &str,
        verifier: &str,
        now: u64,
    ) -> Result<Option<TemporaryCredential>, StoreError>;

    /// Consumes approved credentials for exchange, atomically and once: the
    /// credential is removed only if it is approved with exactly this
    /// `verifier` and not expired at `now`; of any number of concurrent
    /// callers, one gets it.
    async fn consume_temporary(
        &self,
        token: &str,
        verifier: &str,
        now: u64,
    ) -> Result<Option<TemporaryCredential>, StoreError>;

    /// Removes the credential (the resource owner denied). Returns whether it
    /// existed.
    async fn delete_temporary(&self, token: &str) -> Result<bool, StoreError>;

    /// Removes every credential expired at `now`; returns how many.
    async fn purge_temporary(&self, now: u64) -> Result<u64, StoreError>;
}

/// Token credentials (access tokens).
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a newly issued access token. It must be durable when this
    /// returns: the client receives it next.
    async fn create_token(&self, token: AccessToken) -> Result<(), StoreError>;

    /// The access token with this value.
    async fn token(&self, token: &str) -> Result<Option<AccessToken>, StoreError>;

    /// Revokes one token; returns whether it existed.
    async fn revoke_token(&self, token: &str) -> Result<bool, StoreError>;

    /// Revokes every token `user` granted to `client_key`; returns how many.
    async fn revoke_tokens(&self, user: &str, client_key: &str) -> Result<u64, StoreError>;

    /// Every token `user` granted, oldest first.
    async fn tokens_for_user(&self, user: &str) -> Result<Vec<AccessToken>, StoreError>;
}

/// What identifies a nonce (RFC 5849 §3.3: unique per timestamp, client
/// and token).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NonceKey {
    /// The consumer key.
    pub client_key: String,
    /// The token, if the request carried one.
    pub token: Option<String>,
    /// The request's timestamp.
    pub timestamp: u64,
    /// The nonce.
    pub nonce: String,
}

/// Nonces seen, for replay protection.
#[async_trait]
pub trait NonceStore: Send + Sync {
    /// Records `key` if it was not seen before, atomically, keeping it until
    /// `expires_at`. Returns `true` when it was fresh, `false` for a replay.
    async fn check_and_record(
        &self,
        key: &NonceKey,
        now: u64,
        expires_at: u64,
    ) -> Result<bool, StoreError>;

    /// Removes every nonce expired at `now`; returns how many.
    async fn purge_nonces(&self, now: u64) -> Result<u64, StoreError>;
}

/// The four stores a provider uses. They may be one backend or several
/// (SQL for clients and tokens, Redis for nonces and temporary credentials).
#[derive(Clone)]
pub struct Stores {
    /// Registered clients.
    pub clients: Arc<dyn ClientStore>,
    /// Temporary credentials.
    pub temporary: Arc<dyn TemporaryCredentialStore>,
    /// Access tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Nonces.
    pub nonces: Arc<dyn NonceStore>,
}

impl Stores {
    /// All four concerns from one backend.
    pub fn single<S>(store: Arc<S>) -> Self
    where
        S: ClientStore + TemporaryCredentialStore + TokenStore + NonceStore + 'static,
    {
        Self {
            clients: store.clone(),
            temporary: store.clone(),
            tokens: store.clone(),
            nonces: store,
        }
    }
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores { .. }")
    }
}
