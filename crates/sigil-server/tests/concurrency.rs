//! Concurrent exchanges of one request token and verifier: exactly one
//! access token is issued.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::*;

async fn race(n: usize) {
    let w = world();
    let spec = Spec::new("/oauth/request_token").oauth("oauth_callback", CALLBACK);
    let issued = w.provider.request_token(&spec.sign().http()).await.unwrap();
    let token = issued.credential.token.clone();
    let secret = issued.credential.secret.expose().to_owned();
    let approval = w.provider.approve(&token, "erin").await.unwrap();
    // Every contender signs its own request (its own nonce), all valid.
    let wires: Vec<Wire> = (0..n)
        .map(|_| {
            Spec::new("/oauth/access_token")
                .token(&token, &secret)
                .oauth("oauth_verifier", &approval.verifier)
                .sign()
        })
        .collect();
    let provider = Arc::new(w.provider);
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut handles = Vec::new();
    for wire in wires {
        let provider = provider.clone();
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            provider.access_token_response(&wire.http()).await
        }));
    }
    let mut ok = 0;
    for handle in handles {
        let response = handle.await.unwrap();
        match response.status {
            200 => ok += 1,
            401 => {
                let fields = response.form_fields();
                let problem = &fields.iter().find(|(k, _)| k == "oauth_problem").unwrap().1;
                assert!(
                    problem == "token_used" || problem == "token_rejected",
                    "{problem}"
                );
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 1, "{n} contenders");
    assert_eq!(w.store.token_count(), 1);
    assert_eq!(w.store.temporary_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_exchanges_issue_one_token() {
    for _ in 0..20 {
        race(2).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_exchanges_issue_one_token() {
    for _ in 0..5 {
        race(16).await;
    }
}
