//! How long a refusal takes, by cause: a bad signature from a known
//! client, an unknown consumer key, an unknown token. The provider runs the
//! same steps for all three (a dummy secret stands in for what is missing),
//! so the medians should be the same within noise. Figures for SECURITY.md:
//!
//! ```sh
//! cargo run --release -p sigil-server --example rejection_timing -- 100000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sigil_core::{Secret, SignatureMethod, generate_nonce};
use sigil_server::{
    AccessToken, Client, HttpRequest, MemoryStore, Policy, Provider, Stores, TokenStore,
};

fn header(key: &str, token: &str, timestamp: u64) -> String {
    format!(
        "OAuth oauth_consumer_key=\"{key}\", oauth_token=\"{token}\", oauth_signature_method=\"HMAC-SHA1\", \
         oauth_timestamp=\"{timestamp}\", oauth_nonce=\"{}\", oauth_version=\"1.0\", \
         oauth_signature=\"tnnArxj06cWHq44gCs1OSKk%2FjLY%3D\"",
        generate_nonce().unwrap()
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().unwrap());
    let store = Arc::new(MemoryStore::new());
    let mut client = Client::new("known-client", "known-secret", "Timing");
    client.signature_methods = vec![SignatureMethod::HmacSha1];
    store.insert_client(client).unwrap();
    store
        .create_token(AccessToken {
            token: "known-token".into(),
            secret: Secret::new("known-token-secret"),
            client_key: "known-client".into(),
            user: "alice".into(),
            realms: Vec::new(),
            created_at: 0,
        })
        .await
        .unwrap();
    let policy = Policy {
        public_base_url: Some("https://provider.example".into()),
        ..Policy::default()
    };
    let provider = Provider::new(Stores::single(store), policy).unwrap();

    let cases = [
        (
            "bad signature, known client and token",
            "known-client",
            "known-token",
            "signature_invalid",
        ),
        (
            "unknown consumer key",
            "unknown-client",
            "known-token",
            "consumer_key_unknown",
        ),
        (
            "unknown token",
            "known-client",
            "unknown-token",
            "token_rejected",
        ),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(n); cases.len()];
    // Interleaved, so that drift in the machine's speed hits every case alike.
    for _ in 0..n {
        for (i, (_, key, token, problem)) in cases.iter().enumerate() {
            let now = provider.now();
            let authorization = header(key, token, now);
            let request = HttpRequest {
                method: "GET",
                target: "/api/me",
                authorization: Some(authorization.as_bytes()),
                content_type: None,
                body: b"",
            };
            let started = Instant::now();
            let outcome = provider.verify_resource(&request, &[]).await;
            times[i].push(started.elapsed());
            let error = outcome.expect_err("every case is a refusal");
            assert_eq!(error.problem.as_str(), *problem);
        }
    }
    println!("{n} refusals per case, interleaved, in-process (MemoryStore), this machine:");
    println!("| cause | median | p10 | p90 |");
    println!("|---|---|---|---|");
    for ((name, ..), samples) in cases.iter().zip(times.iter_mut()) {
        samples.sort();
        println!(
            "| {name} | {:.2} µs | {:.2} µs | {:.2} µs |",
            percentile(samples, 0.5).as_secs_f64() * 1e6,
            percentile(samples, 0.1).as_secs_f64() * 1e6,
            percentile(samples, 0.9).as_secs_f64() * 1e6,
        );
    }
}
