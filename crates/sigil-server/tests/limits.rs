//! The per-client nonce budget: signed requests beyond
//! `Policy::max_nonces_per_client` in one timestamp window get 429
//! `too_many_requests` and store nothing; the next window starts afresh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::atomic::Ordering;

use common::*;
use sigil_server::Policy;

fn policy(limit: u64) -> Policy {
    Policy {
        public_base_url: Some(BASE.to_owned()),
        max_nonces_per_client: Some(limit),
        ..Policy::default()
    }
}

#[tokio::test]
async fn nonces_per_client_per_window_are_limited() {
    let w = world_with(policy(3));
    let request_token = || Spec::new("/oauth/request_token").oauth("oauth_callback", CALLBACK);
    for _ in 0..3 {
        let response = w
            .provider
            .request_token_response(&request_token().sign().http())
            .await;
        assert_eq!(response.status, 200);
    }
    let before = w.snapshot();
    let response = w
        .provider
        .request_token_response(&request_token().sign().http())
        .await;
    assert_eq!(response.status, 429);
    assert!(
        response
            .form_fields()
            .iter()
            .any(|(n, v)| n == "oauth_problem" && v == "too_many_requests"),
        "{:?}",
        response.form_fields()
    );
    assert_eq!(w.snapshot(), before, "a refused request stores nothing");

    // Another client has a budget of its own.
    let other = Spec::new("/oauth/request_token")
        .oauth("oauth_callback", CALLBACK)
        .method(sigil_core::SignatureMethod::RsaSha1);
    let response = w
        .provider
        .request_token_response(&other.sign().http())
        .await;
    assert_eq!(response.status, 200);

    // The next window: allowed again.
    let window = w.provider.policy().timestamp_window;
    w.clock.0.fetch_add(window, Ordering::SeqCst);
    let mut spec = request_token();
    spec.timestamp = w.clock.0.load(Ordering::SeqCst).to_string();
    let response = w.provider.request_token_response(&spec.sign().http()).await;
    assert_eq!(response.status, 200);
}
