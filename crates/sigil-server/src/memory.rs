//! An in-memory implementation of every store, for tests, examples and
//! single-process providers that can lose their state on restart.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use subtle::ConstantTimeEq;

use crate::model::{AccessToken, Client, TemporaryCredential};
use crate::store::{
    ClientStore, NonceKey, NonceStore, StoreError, TemporaryCredentialStore, TokenStore,
};

#[derive(Default)]
struct Inner {
    clients: HashMap<String, Client>,
    temporary: HashMap<String, TemporaryCredential>,
    tokens: HashMap<String, AccessToken>,
    nonces: HashMap<NonceKey, u64>,
    next_nonce_purge: u64,
}

/// Every store in memory behind one mutex. Each operation holds the lock
/// for its whole read-check-write, so single use is atomic: of two
/// concurrent exchanges of one verifier, exactly one wins.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

/// How often (seconds) `check_and_record` sweeps expired nonces.
const NONCE_SWEEP_INTERVAL: u64 = 30;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a panic while holding it; the data may be
        // half-written, so report the store as unavailable.
        self.inner
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store poisoned".into()))
    }

    /// Registers (or replaces) a client.
    pub fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        self.lock()?.clients.insert(client.key.clone(), client);
        Ok(())
    }

    /// How many nonces are remembered.
    pub fn nonce_count(&self) -> usize {
        self.lock().map_or(0, |inner| inner.nonces.len())
    }

    /// How many temporary credentials exist.
    pub fn temporary_count(&self) -> usize {
        self.lock().map_or(0, |inner| inner.temporary.len())
    }

    /// How many temporary credentials are approved.
    pub fn approved_count(&self) -> usize {
        self.lock().map_or(0, |inner| {
            inner.temporary.values().filter(|t| t.is_approved()).count()
        })
    }

    /// How many access tokens exist.
    pub fn token_count(&self) -> usize {
        self.lock().map_or(0, |inner| inner.tokens.len())
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore { .. }")
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn client(&self, key: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.lock()?.clients.get(key).cloned())
    }
}

#[async_trait]
impl TemporaryCredentialStore for MemoryStore {
    async fn create_temporary(&self, credential: TemporaryCredential) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.temporary.contains_key(&credential.token) {
            return Err(StoreError::Duplicate);
        }
        inner.temporary.insert(credential.token.clone(), credential);
        Ok(())
    }

    async fn temporary(&self, token: &str) -> Result<Option<TemporaryCredential>, StoreError> {
        Ok(self.lock()?.temporary.get(token).cloned())
    }

    async fn approve_temporary(
        &self,
        token: &str,
        user: &str,
        verifier: &str,
        now: u64,
    ) -> Result<Option<TemporaryCredential>, StoreError> {
        let mut inner = self.lock()?;
        match inner.temporary.get_mut(token) {
            Some(t) if !t.is_expired(now) && !t.is_approved() => {
                t.user = Some(user.to_owned());
                t.verifier = Some(verifier.to_owned());
                Ok(Some(t.clone()))
            }
            _ => Ok(None),
        }
    }

    async fn consume_temporary(
        &self,
        token: &str,
        verifier: &str,
        now: u64,
    ) -> Result<Option<TemporaryCredential>, StoreError> {
        let mut inner = self.lock()?;
        let matches = inner.temporary.get(token).is_some_and(|t| {
            !t.is_expired(now)
                && t.user.is_some()
                && t.verifier
                    .as_deref()
                    .is_some_and(|v| bool::from(v.as_bytes().ct_eq(verifier.as_bytes())))
        });
        Ok(if matches {
            inner.temporary.remove(token)
        } else {
            None
        })
    }

    async fn delete_temporary(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.lock()?.temporary.remove(token).is_some())
    }

    async fn purge_temporary(&self, now: u64) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let before = inner.temporary.len();
        inner.temporary.retain(|_, t| !t.is_expired(now));
        Ok((before - inner.temporary.len()) as u64)
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn create_token(&self, token: AccessToken) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.tokens.contains_key(&token.token) {
            return Err(StoreError::Duplicate);
        }
        inner.tokens.insert(token.token.clone(), token);
        Ok(())
    }

    async fn token(&self, token: &str) -> Result<Option<AccessToken>, StoreError> {
        Ok(self.lock()?.tokens.get(token).cloned())
    }

    async fn revoke_token(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.lock()?.tokens.remove(token).is_some())
    }

    async fn revoke_tokens(&self, user: &str, client_key: &str) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let before = inner.tokens.len();
        inner
            .tokens
            .retain(|_, t| !(t.user == user && t.client_key == client_key));
        Ok((before - inner.tokens.len()) as u64)
    }

    async fn tokens_for_user(&self, user: &str) -> Result<Vec<AccessToken>, StoreError> {
        let inner = self.lock()?;
        let mut tokens: Vec<AccessToken> = inner
            .tokens
            .values()
            .filter(|t| t.user == user)
            .cloned()
            .collect();
        tokens.sort_by(|a, b| (a.created_at, &a.token).cmp(&(b.created_at, &b.token)));
        Ok(tokens)
    }
}

#[async_trait]
impl NonceStore for MemoryStore {
    async fn check_and_record(
        &self,
        key: &NonceKey,
        now: u64,
        expires_at: u64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        if now >= inner.next_nonce_purge {
            inner.nonces.retain(|_, expiry| *expiry > now);
            inner.next_nonce_purge = now + NONCE_SWEEP_INTERVAL;
        }
        match inner.nonces.get(key) {
            Some(expiry) if *expiry > now => Ok(false),
            _ => {
                inner.nonces.insert(key.clone(), expires_at);
                Ok(true)
            }
        }
    }

    async fn purge_nonces(&self, now: u64) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let before = inner.nonces.len();
        inner.nonces.retain(|_, expiry| *expiry > now);
        Ok((before - inner.nonces.len()) as u64)
    }
}
