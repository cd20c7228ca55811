//! Upgrading a database written by an older Sigil: a SQLite file at
//! migration 3, with a recorded nonce, opened by this version (which moves
//! nonces to a new table in migration 4). The nonce must still count as
//! used: an upgrade must not open a replay window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigil_server::{NonceKey, NonceStore};
use sigil_store::{SqlOptions, SqlStore};
use sqlx::{Connection, Executor};

const NOW: u64 = 1_700_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_recorded_before_the_upgrade_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    // What migrations 1 to 3 left, as an older Sigil wrote it.
    let mut old = sqlx::SqliteConnection::connect(&url).await.unwrap();
    old.execute(
        "CREATE TABLE sigil_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    for (version, sql) in [
        (1, include_str!("../migrations/0001_initial.sql")),
        (2, include_str!("../migrations/0002_sessions.sql")),
        (3, include_str!("../migrations/0003_generation.sql")),
    ] {
        for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
            old.execute(statement).await.unwrap();
        }
        sqlx::query("INSERT INTO sigil_migrations (version, applied_at) VALUES (?, 0)")
            .bind(version)
            .execute(&mut old)
            .await
            .unwrap();
    }
    old.execute(
        "INSERT INTO nonces (client_key, token, ts, nonce, expires_at) \
         VALUES ('c1', '', 1700000000, 'used-before', 1700000600)",
    )
    .await
    .unwrap();
    old.close().await.unwrap();

    let store = SqlStore::connect(&url, SqlOptions::default())
        .await
        .unwrap();
    let key = |nonce: &str| NonceKey {
        client_key: "c1".into(),
        token: None,
        timestamp: NOW,
        nonce: nonce.into(),
    };
    assert!(
        !store
            .check_and_record(&key("used-before"), NOW + 1, NOW + 601)
            .await
            .unwrap(),
        "a nonce recorded before the upgrade was forgotten"
    );
    assert!(
        store
            .check_and_record(&key("new"), NOW + 1, NOW + 601)
            .await
            .unwrap()
    );
    assert_eq!(store.nonce_rows().await.unwrap(), 2);
    store.close().await;
}

/// A database a newer Sigil migrated (a migration this build does not have)
/// is refused at start, not run on: this build would not see what the newer
/// schema keeps. No migration of this build is applied to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_sigil_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("newer.db").display()
    );
    let store = SqlStore::connect(&url, SqlOptions::default())
        .await
        .unwrap();
    store.close().await;
    let mut newer = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let known: i64 = sqlx::query_scalar("SELECT MAX(version) FROM sigil_migrations")
        .fetch_one(&mut newer)
        .await
        .unwrap();
    sqlx::query("INSERT INTO sigil_migrations (version, applied_at) VALUES (?, 0)")
        .bind(known + 1)
        .execute(&mut newer)
        .await
        .unwrap();
    newer.close().await.unwrap();

    let refused = SqlStore::connect(&url, SqlOptions::default()).await;
    assert_eq!(
        refused.err(),
        Some(sigil_server::StoreError::SchemaTooNew {
            found: known + 1,
            known
        })
    );
    // The same build opens its own databases as before.
    let fresh = format!("sqlite://{}?mode=rwc", dir.path().join("own.db").display());
    for _ in 0..2 {
        SqlStore::connect(&fresh, SqlOptions::default())
            .await
            .unwrap()
            .close()
            .await;
    }
}
