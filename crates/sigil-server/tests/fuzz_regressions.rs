//! Requests the `provider` and `http_front` fuzz targets (see
//! `fuzz/README.md`) stopped on, sent here byte for byte. Both were the
//! harness's mistake, not the engine's; these tests pin the engine's
//! behaviour that the harness had to learn.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use sigil_core::{FixedClock, Secret, SignatureMethod};
use sigil_server::{
    AccessToken, Client, HttpRequest, MemoryStore, Policy, Problem, Provider, Stores, TokenStore,
};

/// The fuzz targets' provider: `client` / `client-secret`, the access token
/// `access-token` / `access-secret`, the clock at 1700000000.
async fn fuzz_world() -> (Arc<MemoryStore>, Provider) {
    let store = Arc::new(MemoryStore::new());
    // Every method, PLAINTEXT too (an empty list leaves it out).
    let mut client = Client::new("client", "client-secret", "Fuzz client");
    client.signature_methods = SignatureMethod::ALL.to_vec();
    store.insert_client(client).unwrap();
    store
        .create_token(AccessToken {
            token: "access-token".into(),
            secret: Secret::new("access-secret"),
            client_key: "client".into(),
            user: "jane".into(),
            realms: vec!["photos".into()],
            created_at: 1_700_000_000,
        })
        .await
        .unwrap();
    let provider = Provider::new(
        Stores::single(store.clone()),
        Policy {
            public_base_url: Some("https://provider.example".into()),
            ..Policy::default()
        },
    )
    .unwrap()
    .with_clock(Arc::new(FixedClock(1_700_000_000)));
    (store, provider)
}

/// `provider` target, crash-b85e82c243f806263479d68ddecda8bdbebd51b6: a
/// correctly signed (HMAC-SHA1) protected-resource request that also
/// carries an `oauth_verifier` that is not printable ASCII. The engine
/// checks the format of a verifier wherever one is sent and refuses with
/// 400 `parameter_rejected` before any lookup, recording nothing.
#[tokio::test]
async fn malformed_verifier_on_a_resource_request_is_a_400() {
    let (store, provider) = fuzz_world().await;
    let header = r#"OAuth oauth_consumer_key="client", oauth_token="access-token", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1700000000", oauth_nonce="n", oauth_verifier="%C7%B83456789", oauth_signature="BrhEFNICUAROs57Wlpanm0JIPfA%3D""#;
    let target = "/_________________________!_____________________________________";
    let request = HttpRequest::new("GET", target).authorization(header);
    let err = provider.verify_resource(&request, &[]).await.unwrap_err();
    assert_eq!(err.status, 400);
    assert_eq!(err.problem, Problem::ParameterRejected);
    assert_eq!(store.nonce_count(), 0);
}

/// `http_front` target, crash-c2e27237f16a1bd18b0641dc6d5ab25bae75ac59: a
/// PLAINTEXT request to a protected resource, changed after signing by an
/// added query parameter, was accepted. That is PLAINTEXT as RFC 5849
/// §3.4.4 defines it: the signature is the two secrets and covers nothing
/// of the request, which only TLS protects (`plaintext_requires_tls`, on by
/// default). Both the request as signed and the changed one verify.
#[tokio::test]
async fn plaintext_covers_no_request_content() {
    let header = r#"OAuth oauth_consumer_key="client", oauth_token="access-token", oauth_signature_method="PLAINTEXT", oauth_timestamp="1700000000", oauth_nonce="n", oauth_version="1.0", oauth_signature="client-secret%26access-secret""#;
    for target in ["/api/me?p0%01%00%00=", "/api/me?p0%01%00%00=&p%25%25=%25"] {
        let (_, provider) = fuzz_world().await;
        let request = HttpRequest::new("GET", target).authorization(header);
        let grant = provider.verify_resource(&request, &[]).await.unwrap();
        assert_eq!(grant.client_key, "client");
        // The nonce still stops the same request twice.
        let replay = provider.verify_resource(&request, &[]).await.unwrap_err();
        assert_eq!(replay.status, 401);
        assert_eq!(replay.problem, Problem::NonceUsed);
    }
}
