//! One conformance suite, run against every backend: MemoryStore, SQLite
//! (a temporary file), PostgreSQL, and Redis + PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::sync::Arc;

use sigil_core::{Secret, SignatureMethod};
use sigil_server::{AccessToken, Client, NonceKey, StoreError, TemporaryCredential};
use support::*;

const NOW: u64 = 1_700_000_000;

fn client(key: &str) -> Client {
    let mut c = Client::new(key, format!("{key}-secret"), format!("App {key}"));
    c.description = "Prints photos".into();
    c.website = Some("https://printer.example".into());
    c.callbacks = vec![
        "https://printer.example/cb".into(),
        "https://printer.example/cb2".into(),
    ];
    c.default_realms = vec!["photos".into()];
    c.allowed_realms = vec!["photos".into(), "email".into()];
    c.signature_methods = vec![SignatureMethod::HmacSha1, SignatureMethod::RsaSha256];
    c.allow_oob = true;
    c.owner = Some("alice".into());
    c.created_at = NOW;
    c
}

fn temporary(token: &str, expires_at: u64) -> TemporaryCredential {
    TemporaryCredential {
        token: token.into(),
        secret: Secret::new(format!("{token}-secret")),
        client_key: "c1".into(),
        callback: "https://printer.example/cb?state=x".into(),
        realms: vec!["photos".into(), "email".into()],
        created_at: NOW,
        expires_at,
        verifier: None,
        user: None,
    }
}

fn access(token: &str, user: &str, client_key: &str, created_at: u64) -> AccessToken {
    AccessToken {
        token: token.into(),
        secret: Secret::new(format!("{token}-secret")),
        client_key: client_key.into(),
        user: user.into(),
        realms: vec!["photos".into()],
        created_at,
    }
}

async fn clients(b: &Backend) {
    b.insert_client(client("c1")).await;
    let mut rsa = client("c-rsa");
    rsa.secret = None;
    let pem = include_str!("../../sigil-core/tests/data/test-rsa-public.pem");
    rsa.rsa_public_key = Some(sigil_core::RsaPublicKey::from_pem(pem).unwrap());
    rsa.rsa_public_key_pem = Some(pem.to_owned());
    rsa.enabled = false;
    b.insert_client(rsa).await;

    let got = b.stores.clients.client("c1").await.unwrap().expect(b.name);
    assert_eq!(got.secret, Some(Secret::new("c1-secret")), "{}", b.name);
    assert_eq!(got.name, "App c1");
    assert_eq!(got.description, "Prints photos");
    assert_eq!(got.website.as_deref(), Some("https://printer.example"));
    assert_eq!(got.callbacks.len(), 2);
    assert_eq!(got.default_realms, vec!["photos".to_owned()]);
    assert_eq!(
        got.allowed_realms,
        vec!["photos".to_owned(), "email".to_owned()]
    );
    assert_eq!(
        got.signature_methods,
        vec![SignatureMethod::HmacSha1, SignatureMethod::RsaSha256]
    );
    assert!(got.allow_oob && !got.allow_xauth && got.enabled);
    assert_eq!(got.owner.as_deref(), Some("alice"));
    let rsa = b.stores.clients.client("c-rsa").await.unwrap().unwrap();
    assert!(
        rsa.secret.is_none() && rsa.rsa_public_key.is_some() && !rsa.enabled,
        "{}",
        b.name
    );
    assert!(b.stores.clients.client("nobody").await.unwrap().is_none());
    if let Some(sql) = &b.sql {
        assert_eq!(
            sql.insert_client(&client("c1")).await,
            Err(StoreError::Duplicate)
        );
        assert_eq!(sql.list_clients(Some("alice")).await.unwrap().len(), 2);
        assert!(
            sql.set_client_secret("c1", &Secret::new("rotated"))
                .await
                .unwrap()
        );
        let rotated = b.stores.clients.client("c1").await.unwrap().unwrap();
        assert_eq!(rotated.secret, Some(Secret::new("rotated")));
        assert!(
            sql.set_client_secret("c1", &Secret::new("c1-secret"))
                .await
                .unwrap()
        );
    }
}

async fn temporary_credentials(b: &Backend) {
    let t = &b.stores.temporary;
    t.create_temporary(temporary("rt1", NOW + 600))
        .await
        .unwrap();
    assert_eq!(
        t.create_temporary(temporary("rt1", NOW + 600)).await,
        Err(StoreError::Duplicate),
        "{}",
        b.name
    );
    let got = t.temporary("rt1").await.unwrap().expect(b.name);
    assert_eq!(got.secret, Secret::new("rt1-secret"));
    assert_eq!(got.callback, "https://printer.example/cb?state=x");
    assert_eq!(got.realms, vec!["photos".to_owned(), "email".to_owned()]);
    assert!(!got.is_approved());
    // Not approved: nothing to consume.
    assert!(
        t.consume_temporary("rt1", "v1", NOW)
            .await
            .unwrap()
            .is_none()
    );
    // Approve once.
    let approved = t
        .approve_temporary("rt1", "alice", "v1", NOW)
        .await
        .unwrap()
        .expect(b.name);
    assert_eq!(
        (approved.user.as_deref(), approved.verifier.as_deref()),
        (Some("alice"), Some("v1"))
    );
    assert!(
        t.approve_temporary("rt1", "mallory", "v2", NOW)
            .await
            .unwrap()
            .is_none(),
        "{}",
        b.name
    );
    // Wrong verifier consumes nothing; the right one consumes once.
    assert!(
        t.consume_temporary("rt1", "v2", NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert!(t.temporary("rt1").await.unwrap().is_some());
    let consumed = t
        .consume_temporary("rt1", "v1", NOW)
        .await
        .unwrap()
        .expect(b.name);
    assert_eq!(consumed.user.as_deref(), Some("alice"));
    assert!(
        t.consume_temporary("rt1", "v1", NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert!(t.temporary("rt1").await.unwrap().is_none());

    // Expired: neither approvable nor consumable.
    t.create_temporary(temporary("rt2", NOW + 10))
        .await
        .unwrap();
    assert!(
        t.approve_temporary("rt2", "alice", "v", NOW + 10)
            .await
            .unwrap()
            .is_none()
    );
    let mut approved_then_expired = temporary("rt3", NOW + 10);
    approved_then_expired.user = Some("alice".into());
    approved_then_expired.verifier = Some("v3".into());
    t.create_temporary(approved_then_expired).await.unwrap();
    assert!(
        t.consume_temporary("rt3", "v3", NOW + 11)
            .await
            .unwrap()
            .is_none()
    );
    // Deny deletes.
    t.create_temporary(temporary("rt4", NOW + 600))
        .await
        .unwrap();
    assert!(t.delete_temporary("rt4").await.unwrap());
    assert!(!t.delete_temporary("rt4").await.unwrap());
    // Purge (Redis expires keys by itself; SQL and memory sweep).
    let purged = t.purge_temporary(NOW + 20).await.unwrap();
    if b.redis.is_none() {
        assert_eq!(purged, 2, "{}", b.name);
        assert!(t.temporary("rt2").await.unwrap().is_none());
    }
}

async fn single_use_under_contention(b: &Backend) {
    for round in 0..3 {
        let token = format!("race{round}");
        let t = b.stores.temporary.clone();
        t.create_temporary(temporary(&token, NOW + 600))
            .await
            .unwrap();
        t.approve_temporary(&token, "bob", "vv", NOW)
            .await
            .unwrap()
            .unwrap();
        let mut handles = Vec::new();
        for _ in 0..16 {
            let t = t.clone();
            let token = token.clone();
            handles.push(tokio::spawn(async move {
                t.consume_temporary(&token, "vv", NOW)
                    .await
                    .unwrap()
                    .is_some()
            }));
        }
        let mut winners = 0;
        for h in handles {
            winners += usize::from(h.await.unwrap());
        }
        assert_eq!(winners, 1, "{}: {winners} consumers won", b.name);
    }
}

async fn access_tokens(b: &Backend) {
    let s = &b.stores.tokens;
    s.create_token(access("at2", "alice", "c1", NOW + 5))
        .await
        .unwrap();
    s.create_token(access("at1", "alice", "c1", NOW))
        .await
        .unwrap();
    s.create_token(access("at3", "alice", "c2", NOW + 9))
        .await
        .unwrap();
    s.create_token(access("at4", "bob", "c1", NOW))
        .await
        .unwrap();
    assert_eq!(
        s.create_token(access("at1", "x", "y", 0)).await,
        Err(StoreError::Duplicate)
    );
    let got = s.token("at1").await.unwrap().expect(b.name);
    assert_eq!(got.secret, Secret::new("at1-secret"));
    assert_eq!(
        (got.user.as_str(), got.client_key.as_str()),
        ("alice", "c1")
    );
    assert_eq!(got.realms, vec!["photos".to_owned()]);
    let listed: Vec<String> = s
        .tokens_for_user("alice")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.token)
        .collect();
    assert_eq!(listed, vec!["at1", "at2", "at3"], "{}", b.name);
    assert!(s.revoke_token("at3").await.unwrap());
    assert!(!s.revoke_token("at3").await.unwrap());
    assert_eq!(s.revoke_tokens("alice", "c1").await.unwrap(), 2);
    assert!(s.token("at1").await.unwrap().is_none());
    assert!(s.token("at4").await.unwrap().is_some());
}

async fn nonces(b: &Backend) {
    let n = &b.stores.nonces;
    let key = |nonce: &str, token: Option<&str>, ts: u64| NonceKey {
        client_key: "c1".into(),
        token: token.map(str::to_owned),
        timestamp: ts,
        nonce: nonce.into(),
    };
    assert!(
        n.check_and_record(&key("a", None, NOW), NOW, NOW + 600)
            .await
            .unwrap(),
        "{}",
        b.name
    );
    assert!(
        !n.check_and_record(&key("a", None, NOW), NOW + 1, NOW + 601)
            .await
            .unwrap(),
        "{}",
        b.name
    );
    // Another token, timestamp or client is another nonce.
    assert!(
        n.check_and_record(&key("a", Some("t"), NOW), NOW, NOW + 600)
            .await
            .unwrap()
    );
    assert!(
        n.check_and_record(&key("a", None, NOW + 1), NOW, NOW + 600)
            .await
            .unwrap()
    );
    // Characters that could confuse a key layout stay distinct.
    assert!(
        n.check_and_record(&key("x:y", Some("z"), NOW), NOW, NOW + 600)
            .await
            .unwrap()
    );
    assert!(
        n.check_and_record(&key("x", Some("y:z"), NOW), NOW, NOW + 600)
            .await
            .unwrap()
    );
    // After expiry the memory may forget it (SQL and memory by sweeping;
    // Redis by key expiry, tested with real time below).
    if b.redis.is_none() {
        assert!(
            n.check_and_record(&key("short", None, NOW), NOW, NOW + 5)
                .await
                .unwrap()
        );
        assert!(
            !n.check_and_record(&key("short", None, NOW), NOW + 4, NOW + 604)
                .await
                .unwrap()
        );
        assert!(
            n.check_and_record(&key("short", None, NOW), NOW + 5, NOW + 605)
                .await
                .unwrap(),
            "{}",
            b.name
        );
        let purged = n.purge_nonces(NOW + 10_000).await.unwrap();
        assert!(purged >= 5, "{}: purged {purged}", b.name);
        // Kept long after its timestamp: no sweep may take it early.
        let long = key("long", None, NOW - 5_000);
        assert!(n.check_and_record(&long, NOW, NOW + 20_000).await.unwrap());
        n.purge_nonces(NOW + 10_000).await.unwrap();
        assert!(
            !n.check_and_record(&long, NOW + 10_001, NOW + 10_601)
                .await
                .unwrap(),
            "{}: swept before it expired",
            b.name
        );
        n.purge_nonces(NOW + 20_000).await.unwrap();
        assert!(
            n.check_and_record(&long, NOW + 20_001, NOW + 20_601)
                .await
                .unwrap(),
            "{}: not swept once expired",
            b.name
        );
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            n.check_and_record(&key("ttl", None, now), now, now + 1)
                .await
                .unwrap()
        );
        assert!(
            !n.check_and_record(&key("ttl", None, now), now, now + 1)
                .await
                .unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert!(
            n.check_and_record(&key("ttl", None, now), now + 2, now + 3)
                .await
                .unwrap()
        );
    }
}

async fn sealing(b: &Backend) {
    let Some(sql) = &b.sql else { return };
    // Secrets are not in the database in the clear.
    let stored = sql.stored_client_secret("c1").await.unwrap().unwrap();
    assert!(stored.starts_with("sealed:v1:"), "{}: {stored}", b.name);
    assert!(!stored.contains("c1-secret"));
    // Opened with another key: refused, not garbage.
    let wrong = sigil_store::SqlStore::connect(
        &b.url(),
        sigil_store::SqlOptions {
            schema: b.pg_schema.clone(),
            sealer: sigil_store::Sealer::new(&[1u8; 32]),
            ..sigil_store::SqlOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        sigil_server::ClientStore::client(&wrong, "c1").await,
        Err(StoreError::Corrupt(_))
    ));
    wrong.close().await;
}

async fn restart(b: &mut Backend) {
    let nonce = NonceKey {
        client_key: "c1".into(),
        token: None,
        timestamp: NOW,
        nonce: "before-restart".into(),
    };
    assert!(
        b.stores
            .nonces
            .check_and_record(&nonce, NOW, NOW + 600)
            .await
            .unwrap()
    );
    if !b.reopen().await {
        return;
    }
    assert!(
        !b.stores
            .nonces
            .check_and_record(&nonce, NOW + 1, NOW + 601)
            .await
            .unwrap(),
        "{}: a nonce recorded before the restart is forgotten",
        b.name
    );
    let got = b
        .stores
        .clients
        .client("c1")
        .await
        .unwrap()
        .expect("client survives restart");
    assert_eq!(got.secret, Some(Secret::new("c1-secret")));
    assert!(
        b.stores.tokens.token("at4").await.unwrap().is_some(),
        "{}",
        b.name
    );
}

/// Web sessions (SQL backends): looked up by the cookie's value, stored
/// only as a hash, gone when deleted, expired or swept.
async fn web_sessions(b: &Backend) {
    let Some(sql) = &b.sql else {
        return;
    };
    sql.create_session("cookie-value-1", "alice", "csrf-1", 1_000, 2_000)
        .await
        .unwrap();
    sql.create_session("cookie-value-2", "bob", "csrf-2", 1_000, 1_500)
        .await
        .unwrap();
    let live = sql.session("cookie-value-1", 1_100).await.unwrap().unwrap();
    assert_eq!(
        (live.user.as_str(), live.csrf.as_str()),
        ("alice", "csrf-1")
    );
    assert_eq!(live.expires_at, 2_000);
    assert!(
        sql.session("cookie-value-3", 1_100)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        sql.session("cookie-value-2", 1_500)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(sql.delete_session("cookie-value-1").await.unwrap());
    assert!(!sql.delete_session("cookie-value-1").await.unwrap());
    assert!(
        sql.session("cookie-value-1", 1_100)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        sql.sweep(1_600).await.unwrap() >= 1,
        "the expired session is swept"
    );
}

/// Concurrent requests with one nonce: exactly one is fresh; with distinct
/// nonces: all are (the SQL stores group concurrent nonces into one
/// statement, so this is where a batch mixes replays and fresh ones).
async fn nonces_under_contention(b: &Backend) {
    let key = |nonce: String| NonceKey {
        client_key: "c1".into(),
        token: Some("at-contended".into()),
        timestamp: NOW,
        nonce,
    };
    let same = (0..32).map(|_| {
        let n = b.stores.nonces.clone();
        tokio::spawn(async move {
            n.check_and_record(&key("same".into()), NOW, NOW + 600)
                .await
                .unwrap()
        })
    });
    let mut fresh = 0;
    for task in same.collect::<Vec<_>>() {
        fresh += usize::from(task.await.unwrap());
    }
    assert_eq!(fresh, 1, "{}: one of 32 equal nonces is fresh", b.name);
    let distinct = (0..200).map(|i| {
        let n = b.stores.nonces.clone();
        tokio::spawn(async move {
            n.check_and_record(&key(format!("n{i}")), NOW, NOW + 600)
                .await
                .unwrap()
        })
    });
    for task in distinct.collect::<Vec<_>>() {
        assert!(task.await.unwrap(), "{}: a distinct nonce is fresh", b.name);
    }
}

/// SQL backends: every change to a client or token raises the generation
/// (caches depend on it), a change in another process is seen by
/// `refresh_generation`, and a write that changes nothing raises nothing.
async fn generations(b: &Backend) {
    use sigil_server::{Generation, TokenStore};
    let Some(sql) = &b.sql else {
        return;
    };
    let other = sigil_store::SqlStore::connect(&b.url(), b.options())
        .await
        .unwrap();
    let g = sql.generation();
    assert!(!sql.revoke_token("no-such-token").await.unwrap());
    assert!(
        !sql.set_client_enabled("no-such-client", false)
            .await
            .unwrap()
    );
    assert_eq!(sql.generation(), g, "{}: nothing changed", b.name);
    assert!(!other.refresh_generation().await.unwrap());

    sql.create_token(access("at-gen", "erin", "c1", NOW))
        .await
        .unwrap();
    assert_eq!(
        sql.generation(),
        g,
        "{}: a new token changes nothing cached",
        b.name
    );
    let before = other.generation();
    assert!(sql.revoke_token("at-gen").await.unwrap());
    assert!(sql.generation() > g, "{}: revocation", b.name);
    assert!(other.refresh_generation().await.unwrap(), "{}", b.name);
    assert!(other.generation() > before);
    assert!(!other.refresh_generation().await.unwrap());

    for change in 0..3 {
        let g = sql.generation();
        match change {
            0 => assert!(sql.set_client_enabled("c1", true).await.unwrap()),
            1 => assert!(
                sql.set_client_secret("c1", &Secret::new("c1-secret"))
                    .await
                    .unwrap()
            ),
            _ => assert!(sql.update_client(&client("c1")).await.unwrap()),
        }
        assert!(sql.generation() > g, "{}: change {change}", b.name);
        assert!(other.refresh_generation().await.unwrap(), "{}", b.name);
    }
    other.close().await;
}

async fn run(mut b: Backend) {
    clients(&b).await;
    web_sessions(&b).await;
    temporary_credentials(&b).await;
    single_use_under_contention(&b).await;
    access_tokens(&b).await;
    nonces(&b).await;
    nonces_under_contention(&b).await;
    generations(&b).await;
    sealing(&b).await;
    restart(&mut b).await;
    b.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_memory() {
    run(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_sqlite() {
    run(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_postgres() {
    if !services() {
        eprintln!("skipped: PostgreSQL tests run under ./test.sh (SIGIL_SERVICE_TESTS=1)");
        return;
    }
    run(postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_redis_postgres() {
    if !services() {
        eprintln!(
            "skipped: Redis and PostgreSQL tests run under ./test.sh (SIGIL_SERVICE_TESTS=1)"
        );
        return;
    }
    run(redis_postgres().await).await;
}

#[tokio::test]
async fn users_have_argon2id_passwords() {
    let b = sqlite().await;
    let sql: &Arc<sigil_store::SqlStore> = b.sql.as_ref().unwrap();
    sql.create_user("alice", "correct horse").await.unwrap();
    assert_eq!(
        sql.create_user("alice", "x").await,
        Err(StoreError::Duplicate)
    );
    assert!(sql.check_password("alice", "correct horse").await.unwrap());
    assert!(!sql.check_password("alice", "wrong").await.unwrap());
    assert!(!sql.check_password("nobody", "correct horse").await.unwrap());
    assert!(sql.user_exists("alice").await.unwrap());
    b.cleanup().await;
}
