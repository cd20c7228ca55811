//! The nonce table cannot grow without bound: under a steady stream of
//! requests over simulated time, rows stay within rate × (nonce lifetime +
//! sweep interval). The full-size run (1 million requests over 10 minutes)
//! is `cargo run --release -p sigil-store --example nonce_bound`; the figures
//! are in BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use sigil_server::{NonceKey, NonceStore};
use support::*;

#[tokio::test]
async fn sqlite_nonce_rows_stay_bounded() {
    let b = sqlite().await;
    let sql = b.sql.clone().unwrap();
    let start = 1_700_000_000u64;
    let (requests, seconds) = (30_000u64, 600u64);
    let rate = requests / seconds; // 50 per simulated second
    let lifetime = 600;
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
            sql.check_and_record(&key, now, now + lifetime)
                .await
                .unwrap()
        );
        if i % 1000 == 0 {
            peak = peak.max(sql.nonce_rows().await.unwrap());
        }
    }
    let bound = rate * (lifetime + 30);
    assert!(peak <= bound, "peak {peak} rows > bound {bound}");
    // Time moves on past every lifetime: one more request sweeps them all.
    let later = start + seconds + lifetime + 31;
    let key = NonceKey {
        client_key: "c".into(),
        token: None,
        timestamp: later,
        nonce: "last".into(),
    };
    assert!(
        sql.check_and_record(&key, later, later + lifetime)
            .await
            .unwrap()
    );
    assert_eq!(sql.nonce_rows().await.unwrap(), 1);
    b.cleanup().await;
}
