//! A nonce store for one process that keeps only a keyed 64-bit hash of
//! each nonce, in two generations: memory stays proportional to the request
//! rate times the nonce lifetime, and forgetting is a swap, not a sweep.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::store::{NonceKey, NonceStore, StoreError};

/// Shards, so that concurrent requests rarely wait on one lock and a
/// table's growth copies a sixteenth of the entries.
const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    /// Hashes recorded since the last rotation.
    current: HashSet<u64>,
    /// Hashes recorded in the period before.
    previous: HashSet<u64>,
    /// When `current` began (store clock, seconds).
    started: u64,
}

/// Replay memory in this process's RAM.
///
/// A nonce is remembered for at least `lifetime` seconds and at most twice
/// that: each shard keeps the current and the previous period and drops
/// the older one when a period of `lifetime` ends. Each nonce costs about
/// 16 bytes. Two different nonces whose keyed hashes collide make the
/// second look like a replay (refused, never accepted); with SipHash keyed
/// at random per process, an attacker cannot aim for that.
///
/// What it does not do: survive a restart or be shared between instances.
/// After a restart it remembers nothing, so pair it with
/// [`crate::Policy::timestamps_from`] set to the start time (as
/// `sigil serve --memory-nonces` does): requests signed before the restart
/// are then refused rather than replayable.
pub struct MemoryNonceStore {
    lifetime: u64,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
}

impl std::fmt::Debug for MemoryNonceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryNonceStore")
            .field("lifetime", &self.lifetime)
            .field("remembered", &self.len())
            .finish_non_exhaustive()
    }
}

impl MemoryNonceStore {
    /// A store remembering each nonce for at least `lifetime` seconds (the
    /// policy's `nonce_lifetime`).
    pub fn new(lifetime: u64) -> Self {
        Self {
            lifetime: lifetime.max(1),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    /// How many nonces are remembered now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok())
            .map(|s| s.current.len() + s.previous.len())
            .sum()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn rotate(&self, shard: &mut Shard, now: u64) {
        if now >= shard.started.saturating_add(self.lifetime) {
            // Entries of `current` are at most one period old: keep them one
            // more. A gap of two periods or more forgets everything.
            shard.previous = if now >= shard.started.saturating_add(2 * self.lifetime) {
                HashSet::new()
            } else {
                std::mem::take(&mut shard.current)
            };
            shard.current = HashSet::new();
            shard.started = now;
        }
    }
}

#[async_trait]
impl NonceStore for MemoryNonceStore {
    async fn check_and_record(
        &self,
        key: &NonceKey,
        now: u64,
        _expires_at: u64,
    ) -> Result<bool, StoreError> {
        let hash = self.hasher.hash_one(key);
        let index = usize::try_from(hash % SHARDS as u64).unwrap_or(0);
        let mut shard = self
            .shards
            .get(index)
            .ok_or_else(|| StoreError::Unavailable("nonce shard".into()))?
            .lock()
            .map_err(|_| StoreError::Unavailable("nonce store poisoned".into()))?;
        self.rotate(&mut shard, now);
        if shard.previous.contains(&hash) {
            return Ok(false);
        }
        Ok(shard.current.insert(hash))
    }

    async fn purge_nonces(&self, now: u64) -> Result<u64, StoreError> {
        let mut purged = 0;
        for shard in &self.shards {
            let mut shard = shard
                .lock()
                .map_err(|_| StoreError::Unavailable("nonce store poisoned".into()))?;
            let before = shard.current.len() + shard.previous.len();
            self.rotate(&mut shard, now);
            purged += before - (shard.current.len() + shard.previous.len());
        }
        Ok(purged as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(nonce: &str) -> NonceKey {
        NonceKey {
            client_key: "c".into(),
            token: None,
            timestamp: 1000,
            nonce: nonce.into(),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn remembers_for_at_least_the_lifetime_then_forgets() {
        block_on(async {
            let store = MemoryNonceStore::new(600);
            assert!(store.check_and_record(&key("a"), 1000, 0).await.unwrap());
            assert!(!store.check_and_record(&key("a"), 1000, 0).await.unwrap());
            // Still remembered at every moment of the lifetime, across a
            // rotation in between.
            for now in [1001, 1599, 1600, 1601, 2199] {
                assert!(
                    !store.check_and_record(&key("a"), now, 0).await.unwrap(),
                    "{now}"
                );
            }
            // Two periods on, it is gone (and the timestamp window has
            // long refused it).
            store.purge_nonces(3400).await.unwrap();
            assert!(store.is_empty());
            assert!(store.check_and_record(&key("a"), 3400, 0).await.unwrap());
        });
    }

    #[test]
    fn nonce_token_and_timestamp_all_count() {
        block_on(async {
            let store = MemoryNonceStore::new(600);
            let mut k = key("a");
            assert!(store.check_and_record(&k, 1000, 0).await.unwrap());
            k.token = Some("t".into());
            assert!(store.check_and_record(&k, 1000, 0).await.unwrap());
            k.timestamp = 1001;
            assert!(store.check_and_record(&k, 1000, 0).await.unwrap());
            k.client_key = "d".into();
            assert!(store.check_and_record(&k, 1000, 0).await.unwrap());
            assert_eq!(store.len(), 4);
        });
    }
}
