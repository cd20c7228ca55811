//! A nonce store for one process that keeps only a keyed 64-bit hash of
//! each nonce, in two generations: memory stays proportional to the request
//! rate times the nonce lifetime, and forgetting is a swap, not a sweep.
//! Backed by a durable store, it stays replay-safe across restarts: see
//! [`MemoryNonceStore::backed_by`].

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
/// On its own it does not survive a restart and is not shared between
/// instances. [`MemoryNonceStore::backed_by`] makes it safe across restarts
/// (as `sigil serve --memory-nonces` uses it).
pub struct MemoryNonceStore {
    lifetime: u64,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
    backing: Option<Backing>,
}

/// Seconds a timestamp may run ahead of the clock and still be remembered
/// in memory alone; one stamped further ahead is recorded durably too.
pub const MEMORY_ONLY_AHEAD: u64 = 2;

/// See [`MemoryNonceStore::backed_by`].
struct Backing {
    /// Where nonces that memory alone cannot answer for are recorded.
    durable: Arc<dyn NonceStore>,
    /// Requests stamped at or before this may have been recorded durably
    /// before this process started: they are checked there too.
    durable_through: u64,
    /// The highest timestamp that may be remembered in memory alone (its
    /// durable record is the caller's to write first).
    lease: AtomicU64,
    /// The highest timestamp remembered in memory alone so far.
    highest_memory_only: AtomicU64,
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
            backing: None,
        }
    }

    /// A store that remembers in memory alone only what a restart cannot
    /// replay, and records the rest in `durable` too, so that it stays
    /// replay-safe across restarts without a durable write per request.
    ///
    /// A nonce is remembered in memory alone only if its timestamp is at most
    /// [`MEMORY_ONLY_AHEAD`] seconds ahead of the clock and at most the *lease*:
    /// a timestamp recorded durably beforehand (the process keeps raising it,
    /// a few seconds at a time, with [`MemoryNonceStore::extend_lease`]). Every
    /// other nonce (a client whose clock runs ahead, or the lease not renewed in
    /// time) goes to the durable store as well. After a restart, whatever
    /// remains durably recorded is a bound on every timestamp that was
    /// remembered in memory alone: the lease, after a crash, or
    /// [`MemoryNonceStore::highest_memory_only`], written at a clean stop.
    /// Refusing timestamps up to it ([`crate::Policy::timestamps_from`]) leaves
    /// nothing from before the restart to replay except durably recorded
    /// nonces, and requests stamped at or before `durable_through` (the newest
    /// timestamp in the durable store at start) are checked there.
    ///
    /// `lease` must be recorded durably already.
    pub fn backed_by(
        lifetime: u64,
        durable: Arc<dyn NonceStore>,
        durable_through: u64,
        lease: u64,
    ) -> Self {
        Self {
            backing: Some(Backing {
                durable,
                durable_through,
                lease: AtomicU64::new(lease),
                highest_memory_only: AtomicU64::new(0),
            }),
            ..Self::new(lifetime)
        }
    }

    /// Raises the lease to `lease`, once that is recorded durably.
    pub fn extend_lease(&self, lease: u64) {
        if let Some(backing) = &self.backing {
            backing.lease.fetch_max(lease, Ordering::AcqRel);
        }
    }

    /// The highest timestamp remembered in memory alone (0 if none): what to
    /// record durably at a clean stop, in place of the lease.
    pub fn highest_memory_only(&self) -> u64 {
        self.backing
            .as_ref()
            .map_or(0, |b| b.highest_memory_only.load(Ordering::Acquire))
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
        expires_at: u64,
    ) -> Result<bool, StoreError> {
        let memory_only = match &self.backing {
            None => true,
            Some(b) => {
                let limit = now
                    .saturating_add(MEMORY_ONLY_AHEAD)
                    .min(b.lease.load(Ordering::Acquire));
                let memory_only = key.timestamp <= limit && key.timestamp > b.durable_through;
                if !memory_only && !b.durable.check_and_record(key, now, expires_at).await? {
                    return Ok(false);
                }
                memory_only
            }
        };
        let fresh = self.remember(key, now)?;
        if fresh
            && memory_only
            && let Some(b) = &self.backing
        {
            b.highest_memory_only
                .fetch_max(key.timestamp, Ordering::AcqRel);
        }
        Ok(fresh)
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

impl MemoryNonceStore {
    /// Records `key` in memory: `true` when it was not remembered.
    fn remember(&self, key: &NonceKey, now: u64) -> Result<bool, StoreError> {
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

    #[test]
    fn backed_it_keeps_in_memory_alone_only_what_a_restart_can_refuse() {
        block_on(async {
            let durable = Arc::new(crate::MemoryStore::new());
            let at = |nonce: &str, timestamp: u64| NonceKey {
                timestamp,
                ..key(nonce)
            };
            let in_durable = |k: NonceKey| {
                let durable = durable.clone();
                async move { !durable.check_and_record(&k, 1000, 1600).await.unwrap() }
            };
            let store = MemoryNonceStore::backed_by(600, durable.clone(), 0, 1010);
            // Close to the clock and under the lease: memory alone.
            assert!(
                store
                    .check_and_record(&at("a", 1001), 1000, 1600)
                    .await
                    .unwrap()
            );
            assert_eq!(store.highest_memory_only(), 1001);
            assert!(!in_durable(at("a", 1001)).await);
            // Further ahead of the clock than MEMORY_ONLY_AHEAD: durably too.
            assert!(
                store
                    .check_and_record(&at("b", 1100), 1000, 1600)
                    .await
                    .unwrap()
            );
            assert!(in_durable(at("b", 1100)).await);
            // Past the lease: durably too, until the lease is extended.
            assert!(
                store
                    .check_and_record(&at("c", 1011), 1010, 1610)
                    .await
                    .unwrap()
            );
            assert!(in_durable(at("c", 1011)).await);
            store.extend_lease(1030);
            assert!(
                store
                    .check_and_record(&at("d", 1012), 1011, 1611)
                    .await
                    .unwrap()
            );
            assert!(!in_durable(at("d", 1012)).await);
            assert_eq!(store.highest_memory_only(), 1012);
            // Replays are refused whichever way the nonce was kept.
            for (nonce, ts) in [("a", 1001), ("b", 1100), ("c", 1011), ("d", 1012)] {
                assert!(
                    !store
                        .check_and_record(&at(nonce, ts), 1015, 1615)
                        .await
                        .unwrap(),
                    "{nonce}"
                );
            }
            // After a restart, what the durable store holds is still refused
            // (memory-only ones are the timestamp floor's job).
            let restarted = MemoryNonceStore::backed_by(600, durable.clone(), 1100, 1040);
            assert!(
                !restarted
                    .check_and_record(&at("b", 1100), 1020, 1620)
                    .await
                    .unwrap()
            );
            assert!(
                restarted
                    .check_and_record(&at("e", 1020), 1020, 1620)
                    .await
                    .unwrap()
            );
        });
    }
}
