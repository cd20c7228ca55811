//! Two provider engines sharing PostgreSQL and Redis, as two instances
//! behind one load balancer: a request accepted by one is a replay to the
//! other, and a verifier consumed on one cannot be used on the other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../sigil-server/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::Arc;

use common::{BASE, CALLBACK, Spec, TestClock, hmac_client, now};
use sigil_server::{Policy, Provider, Stores};
use support::*;

async fn instance(
    schema: &str,
    prefix: &str,
) -> (
    Provider,
    Arc<sigil_store::SqlStore>,
    sigil_store::RedisStore,
) {
    let sql = postgres_in(schema).await;
    let redis = redis_with(prefix).await;
    let shared = Arc::new(redis.clone());
    let stores = Stores {
        clients: sql.clone(),
        tokens: sql.clone(),
        temporary: shared.clone(),
        nonces: shared,
    };
    let provider = Provider::new(
        stores,
        Policy {
            public_base_url: Some(BASE.into()),
            ..Policy::default()
        },
    )
    .unwrap()
    .with_clock(Arc::new(TestClock(now().into())));
    (provider, sql, redis)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_replay_protection_and_single_use() {
    if !services() {
        eprintln!(
            "skipped: Redis and PostgreSQL tests run under ./test.sh (SIGIL_SERVICE_TESTS=1)"
        );
        return;
    }
    let schema = unique("sigil_test");
    let prefix = format!("{}:", unique("sigiltest"));
    let (a, sql_a, redis_a) = instance(&schema, &prefix).await;
    let (b, sql_b, _redis_b) = instance(&schema, &prefix).await;
    sql_a
        .insert_client(&hmac_client("client", "client-secret"))
        .await
        .unwrap();

    // Request token on A, approval on B.
    let spec = Spec::new("/oauth/request_token").oauth("oauth_callback", CALLBACK);
    let issued = a.request_token(&spec.sign().http()).await.unwrap();
    let token = issued.credential.token.clone();
    let secret = issued.credential.secret.expose().to_owned();
    let approval = b.approve(&token, "alice").await.unwrap();

    // Exchange on A; the same verifier on B (a fresh, valid signature) fails.
    let exchange = || {
        Spec::new("/oauth/access_token")
            .token(&token, &secret)
            .oauth("oauth_verifier", &approval.verifier)
            .sign()
    };
    let access = a.access_token(&exchange().http()).await.unwrap();
    let again = b.access_token(&exchange().http()).await.unwrap_err();
    assert_eq!(
        (again.status, again.problem.as_str()),
        (401, "token_rejected")
    );

    // A resource request accepted by B is a replay to A.
    let wire = Spec::new("/api/me")
        .token(&access.token.token, access.token.secret.expose())
        .sign();
    let grant = b.verify_resource(&wire.http(), &[]).await.unwrap();
    assert_eq!(grant.user.as_deref(), Some("alice"));
    let replay = a.verify_resource(&wire.http(), &[]).await.unwrap_err();
    assert_eq!(
        (replay.status, replay.problem.as_str()),
        (401, "nonce_used")
    );
    let replay = b.verify_resource(&wire.http(), &[]).await.unwrap_err();
    assert_eq!(replay.problem.as_str(), "nonce_used");

    redis_a.clear().await.unwrap();
    sql_a.close().await;
    sql_b.close().await;
    drop_schema(&schema).await;
}
