//! An in-process cache of clients and access tokens in front of slower
//! stores, so that a protected request costs no store round trip for them.
//!
//! Staleness is bounded by a *generation*: a number the backing store
//! changes whenever a client or token is changed or removed (see
//! [`Generation`]). Every entry remembers the generation read *before* the
//! store was asked, so a change that lands while an entry is being loaded
//! still invalidates it. Revocations made through the cache itself take
//! effect at once whatever the backing store does.
//!
//! Only positive answers are cached: an unknown key or token asks the store
//! every time, so a new registration is seen at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::model::{AccessToken, Client};
use crate::store::{ClientStore, StoreError, TokenStore};

/// Where a cache learns that stored clients or tokens changed.
pub trait Generation: Send + Sync {
    /// A number that changes (grows) after any client or access token is
    /// changed or removed. Called on every cached lookup: it must be cheap.
    fn generation(&self) -> u64;
}

/// No outside changes: only revocations through the cache invalidate it.
/// Right for a store that nothing else writes to.
#[derive(Debug, Default)]
pub struct NoOutsideChanges;

impl Generation for NoOutsideChanges {
    fn generation(&self) -> u64 {
        0
    }
}

/// Cached values with the generation they were loaded under.
struct Entries<T> {
    map: RwLock<HashMap<String, (u64, T)>>,
}

impl<T: Clone> Entries<T> {
    fn new() -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &str, generation: u64) -> Option<T> {
        let map = self.map.read().ok()?;
        match map.get(key) {
            Some((seen, value)) if *seen == generation => Some(value.clone()),
            _ => None,
        }
    }

    fn put(&self, key: &str, generation: u64, value: &T, capacity: usize) {
        let Ok(mut map) = self.map.write() else {
            return;
        };
        if map.len() >= capacity && !map.contains_key(key) {
            // Entries of an older generation are dead weight; past that,
            // start over rather than track recency on every hit.
            map.retain(|_, (seen, _)| *seen == generation);
            if map.len() >= capacity {
                map.clear();
            }
        }
        map.insert(key.to_owned(), (generation, value.clone()));
    }

    fn len(&self) -> usize {
        self.map.read().map_or(0, |m| m.len())
    }
}

/// Clients and access tokens cached in front of a [`ClientStore`] and a
/// [`TokenStore`]; it is both itself, so it drops into [`crate::Stores`].
///
/// ```
/// use std::sync::Arc;
/// use sigil_server::{CredentialCache, MemoryStore, NoOutsideChanges, Stores, Client};
///
/// let store = Arc::new(MemoryStore::new());
/// store.insert_client(Client::new("key", "secret", "App")).unwrap();
/// let cache = Arc::new(CredentialCache::new(
///     store.clone(),
///     store.clone(),
///     Arc::new(NoOutsideChanges),
///     10_000,
/// ));
/// let stores = Stores { clients: cache.clone(), tokens: cache, ..Stores::single(store) };
/// # let _ = stores;
/// ```
pub struct CredentialCache {
    clients: Arc<dyn ClientStore>,
    tokens: Arc<dyn TokenStore>,
    generation: Arc<dyn Generation>,
    /// Revocations through this cache.
    revocations: AtomicU64,
    capacity: usize,
    cached_clients: Entries<Client>,
    cached_tokens: Entries<AccessToken>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("clients", &self.cached_clients.len())
            .field("tokens", &self.cached_tokens.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// A cache over `clients` and `tokens`, invalidated whenever
    /// `generation` changes, holding at most `capacity` entries of each kind.
    pub fn new(
        clients: Arc<dyn ClientStore>,
        tokens: Arc<dyn TokenStore>,
        generation: Arc<dyn Generation>,
        capacity: usize,
    ) -> Self {
        Self {
            clients,
            tokens,
            generation,
            revocations: AtomicU64::new(0),
            capacity: capacity.max(1),
            cached_clients: Entries::new(),
            cached_tokens: Entries::new(),
        }
    }

    /// The generation entries must carry to be used. Both parts only grow,
    /// so their sum changes whenever either does.
    fn current(&self) -> u64 {
        self.generation
            .generation()
            .wrapping_add(self.revocations.load(Ordering::Acquire))
    }

    /// Forgets everything cached (the next lookups ask the stores).
    pub fn invalidate(&self) {
        self.revocations.fetch_add(1, Ordering::AcqRel);
    }

    /// How many clients and tokens are cached now (including stale ones not
    /// yet replaced).
    pub fn len(&self) -> (usize, usize) {
        (self.cached_clients.len(), self.cached_tokens.len())
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

#[async_trait]
impl ClientStore for CredentialCache {
    async fn client(&self, key: &str) -> Result<Option<Client>, StoreError> {
        let generation = self.current();
        if let Some(client) = self.cached_clients.get(key, generation) {
            return Ok(Some(client));
        }
        let client = self.clients.client(key).await?;
        if let Some(c) = &client {
            self.cached_clients.put(key, generation, c, self.capacity);
        }
        Ok(client)
    }
}

#[async_trait]
impl TokenStore for CredentialCache {
    async fn create_token(&self, token: AccessToken) -> Result<(), StoreError> {
        self.tokens.create_token(token).await
    }

    async fn token(&self, token: &str) -> Result<Option<AccessToken>, StoreError> {
        let generation = self.current();
        if let Some(found) = self.cached_tokens.get(token, generation) {
            return Ok(Some(found));
        }
        let found = self.tokens.token(token).await?;
        if let Some(t) = &found {
            self.cached_tokens.put(token, generation, t, self.capacity);
        }
        Ok(found)
    }

    async fn revoke_token(&self, token: &str) -> Result<bool, StoreError> {
        let result = self.tokens.revoke_token(token).await;
        // After the store changed (or failed half-way): a load that raced
        // with it carries the old generation.
        self.invalidate();
        result
    }

    async fn revoke_tokens(&self, user: &str, client_key: &str) -> Result<u64, StoreError> {
        let result = self.tokens.revoke_tokens(user, client_key).await;
        self.invalidate();
        result
    }

    async fn tokens_for_user(&self, user: &str) -> Result<Vec<AccessToken>, StoreError> {
        self.tokens.tokens_for_user(user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    struct Counter(AtomicU64);
    impl Generation for Counter {
        fn generation(&self) -> u64 {
            self.0.load(Ordering::Acquire)
        }
    }

    fn token(value: &str) -> AccessToken {
        AccessToken {
            token: value.into(),
            secret: sigil_core::Secret::new("s"),
            client_key: "c".into(),
            user: "u".into(),
            realms: Vec::new(),
            created_at: 0,
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn serves_from_memory_until_the_generation_moves() {
        block_on(async {
            let store = Arc::new(MemoryStore::new());
            store.insert_client(Client::new("c", "one", "App")).unwrap();
            let generation = Arc::new(Counter(AtomicU64::new(0)));
            let cache = CredentialCache::new(store.clone(), store.clone(), generation.clone(), 8);
            assert_eq!(
                cache.client("c").await.unwrap().unwrap().secret,
                Some(sigil_core::Secret::new("one"))
            );
            // Changed behind the cache's back: still the cached value...
            store.insert_client(Client::new("c", "two", "App")).unwrap();
            assert_eq!(
                cache.client("c").await.unwrap().unwrap().secret,
                Some(sigil_core::Secret::new("one"))
            );
            // ...until the store says something changed.
            generation.0.fetch_add(1, Ordering::AcqRel);
            assert_eq!(
                cache.client("c").await.unwrap().unwrap().secret,
                Some(sigil_core::Secret::new("two"))
            );
            assert!(cache.client("nobody").await.unwrap().is_none());
        });
    }

    #[test]
    fn revocation_through_the_cache_is_immediate() {
        block_on(async {
            let store = Arc::new(MemoryStore::new());
            let cache =
                CredentialCache::new(store.clone(), store.clone(), Arc::new(NoOutsideChanges), 8);
            cache.create_token(token("t1")).await.unwrap();
            assert!(cache.token("t1").await.unwrap().is_some());
            assert!(cache.revoke_token("t1").await.unwrap());
            assert!(cache.token("t1").await.unwrap().is_none());
            cache.create_token(token("t2")).await.unwrap();
            assert!(cache.token("t2").await.unwrap().is_some());
            assert_eq!(cache.revoke_tokens("u", "c").await.unwrap(), 1);
            assert!(cache.token("t2").await.unwrap().is_none());
        });
    }

    #[test]
    fn stays_within_capacity() {
        block_on(async {
            let store = Arc::new(MemoryStore::new());
            let cache =
                CredentialCache::new(store.clone(), store.clone(), Arc::new(NoOutsideChanges), 4);
            for i in 0..20 {
                let t = format!("t{i}");
                cache.create_token(token(&t)).await.unwrap();
                assert!(cache.token(&t).await.unwrap().is_some());
                assert!(cache.len().1 <= 4);
            }
        });
    }
}
