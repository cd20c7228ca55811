//! Claims on a database by the servers that use it (`SqlStore::claim_serving`):
//! a server with nonces in memory only alone, the others beside each other,
//! stale claims of stopped servers cleared, and two claims at the same
//! moment serialized.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use sigil_store::{PRESENCE_STALE_AFTER, ServingClaim, SqlOptions, SqlStore};

const NOW: u64 = 1_700_000_000;
const DURABLE: i64 = 11;
const MEMORY: i64 = 22;
const OTHER_MEMORY: i64 = 33;

fn granted(memory_through: Option<u64>) -> ServingClaim {
    ServingClaim::Granted { memory_through }
}

fn blocked(memory_lease: Option<u64>, newest_presence: Option<u64>) -> ServingClaim {
    ServingClaim::Blocked {
        memory_lease,
        newest_presence,
    }
}

async fn claims(store: &SqlStore) {
    let claim = |instance, lease, now| store.claim_serving(instance, lease, now);
    // Servers without memory nonces run side by side.
    assert_eq!(claim(DURABLE, None, NOW).await.unwrap(), granted(None));
    assert_eq!(claim(44, None, NOW + 1).await.unwrap(), granted(None));
    store.leave_serving(44).await.unwrap();
    // One with memory nonces is refused beside a fresh presence, and
    // nothing of it is recorded.
    assert_eq!(
        claim(MEMORY, Some(NOW + 12), NOW + 2).await.unwrap(),
        blocked(None, Some(NOW))
    );
    assert_eq!(store.memory_nonces_through().await.unwrap(), None);
    // Renewed, the presence still blocks; gone stale, it is cleared.
    assert_eq!(claim(DURABLE, None, NOW + 5).await.unwrap(), granted(None));
    let stale = NOW + 5 + PRESENCE_STALE_AFTER + 1;
    assert_eq!(
        claim(MEMORY, Some(NOW + 12), stale - 1).await.unwrap(),
        blocked(None, Some(NOW + 5))
    );
    let lease = stale + 12;
    assert_eq!(
        claim(MEMORY, Some(lease), stale).await.unwrap(),
        granted(None)
    );
    assert_eq!(store.memory_nonces_through().await.unwrap(), Some(lease));
    // The stale server's renewal is refused now (it must stop).
    assert_eq!(
        claim(DURABLE, None, stale).await.unwrap(),
        blocked(Some(lease), None)
    );

    // While the lease is in force, no other server gets in, of either kind.
    assert_eq!(
        claim(DURABLE, None, stale + 1).await.unwrap(),
        blocked(Some(lease), None)
    );
    assert_eq!(
        claim(OTHER_MEMORY, Some(stale + 13), stale + 1)
            .await
            .unwrap(),
        blocked(Some(lease), Some(stale))
    );
    // Its own renewal does, and never lowers the lease.
    assert_eq!(
        claim(MEMORY, Some(lease - 5), stale + 2).await.unwrap(),
        granted(Some(lease))
    );
    assert_eq!(store.memory_nonces_through().await.unwrap(), Some(lease));
    // A clean stop: the presence goes and the bound shrinks; once it is
    // past, the next server gets in and learns the bound.
    store.leave_serving(MEMORY).await.unwrap();
    assert!(!store.release_memory_lease(OTHER_MEMORY, 0).await.unwrap());
    assert_eq!(store.memory_nonces_through().await.unwrap(), Some(lease));
    assert!(store.release_memory_lease(MEMORY, stale + 3).await.unwrap());
    assert_eq!(
        claim(DURABLE, None, stale + 3).await.unwrap(),
        blocked(Some(stale + 3), None)
    );
    assert_eq!(
        claim(DURABLE, None, stale + 4).await.unwrap(),
        granted(Some(stale + 3))
    );
}

/// Two servers with memory nonces claiming at the same moment through
/// different connections: exactly one gets in.
async fn one_of_two(first: Arc<SqlStore>, second: Arc<SqlStore>) {
    let (a, b) = tokio::join!(
        first.claim_serving(MEMORY, Some(NOW + 12), NOW),
        second.claim_serving(OTHER_MEMORY, Some(NOW + 12), NOW),
    );
    let granted = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|claim| matches!(claim, ServingClaim::Granted { .. }))
        .count();
    assert_eq!(granted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sigil.db").display());
    let store = SqlStore::connect(&url, SqlOptions::default())
        .await
        .unwrap();
    claims(&store).await;
    store.close().await;
    for round in 0..5 {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("race{round}.db")).display()
        );
        let first = Arc::new(
            SqlStore::connect(&url, SqlOptions::default())
                .await
                .unwrap(),
        );
        let second = Arc::new(
            SqlStore::connect(&url, SqlOptions::default())
                .await
                .unwrap(),
        );
        one_of_two(first, second).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_on_postgres() {
    if !support::services() {
        return;
    }
    let schema = support::unique("sigil_serving");
    let store = support::postgres_in(&schema).await;
    claims(&store).await;
    store.leave_serving(DURABLE).await.unwrap();
    for _ in 0..5 {
        store.leave_serving(MEMORY).await.unwrap();
        store.leave_serving(OTHER_MEMORY).await.unwrap();
        store.set_memory_nonces_through(0).await.unwrap();
        let second = support::postgres_in(&schema).await;
        one_of_two(store.clone(), second).await;
    }
    support::drop_schema(&schema).await;
}
