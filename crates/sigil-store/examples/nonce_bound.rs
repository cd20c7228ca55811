//! 1 million nonce check-and-records on SQLite over 10 minutes of simulated
//! time (about 1,667 per second), printing the peak row count against the
//! bound rate × (lifetime + sweep interval). Run:
//! `cargo run --release -p sigil-store --example nonce_bound`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigil_server::{NonceKey, NonceStore};
use sigil_store::{SqlOptions, SqlStore};

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nonces.db").display());
    let store = SqlStore::connect(&url, SqlOptions::default())
        .await
        .unwrap();
    let (requests, seconds, lifetime) = (1_000_000u64, 600u64, 600u64);
    let start = 1_700_000_000u64;
    let began = std::time::Instant::now();
    let mut peak = 0;
    for i in 0..requests {
        let now = start + i * seconds / requests;
        let key = NonceKey {
            client_key: "c".into(),
            token: None,
            timestamp: now,
            nonce: format!("n{i}"),
        };
        assert!(
            store
                .check_and_record(&key, now, now + lifetime)
                .await
                .unwrap()
        );
        if i % 10_000 == 0 {
            peak = peak.max(store.nonce_rows().await.unwrap());
        }
    }
    let rate = requests / seconds;
    println!(
        "{requests} requests over {seconds} s simulated ({rate}/s): peak {peak} rows, bound {} rows, {:.1} s wall",
        rate * (lifetime + 30),
        began.elapsed().as_secs_f64()
    );
}
