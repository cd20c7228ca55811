//! Connecting test stores: SQLite in a temporary directory, PostgreSQL in a
//! schema of its own, Redis under a key prefix of its own; each cleaned up
//! by `Backend::cleanup`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use sigil_server::{Client, MemoryStore, NonceKey, NonceStore, StoreError, Stores};
use sigil_store::{RedisStore, Sealer, SqlOptions, SqlStore};

/// Whether the service tests are on (./test.sh sets SIGIL_SERVICE_TESTS=1).
/// When on, a service that cannot be reached fails the test.
pub fn services() -> bool {
    std::env::var_os("SIGIL_SERVICE_TESTS").is_some()
}

pub fn postgres_url() -> String {
    std::env::var("SIGIL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn redis_url() -> String {
    std::env::var("SIGIL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", sigil_core::random_hex::<6>().unwrap())
}

/// One backend under test and how to reach its admin side.
pub struct Backend {
    pub name: &'static str,
    pub stores: Stores,
    pub memory: Option<Arc<MemoryStore>>,
    pub sql: Option<Arc<SqlStore>>,
    pub redis: Option<RedisStore>,
    pub sqlite_dir: Option<tempfile::TempDir>,
    pub pg_schema: Option<String>,
    pub sealer: Sealer,
}

impl Backend {
    pub async fn insert_client(&self, client: Client) {
        if let Some(m) = &self.memory {
            m.insert_client(client).unwrap();
        } else if let Some(s) = &self.sql {
            s.insert_client(&client).await.unwrap();
        }
    }

    /// Closes and reopens the durable part (restart); `false` for memory.
    pub async fn reopen(&mut self) -> bool {
        let Some(sql) = self.sql.take() else {
            return false;
        };
        // `close` waits for every connection to come back to the pool: one
        // kept by a background task would hang a graceful shutdown.
        tokio::time::timeout(std::time::Duration::from_secs(10), sql.close())
            .await
            .unwrap_or_else(|_| panic!("{}: close did not finish", self.name));
        // A closed store answers no nonce and records none.
        let late = NonceKey {
            client_key: "c1".into(),
            token: None,
            timestamp: 1_000,
            nonce: "after-close".into(),
        };
        let sql_nonces = self.redis.is_none();
        if sql_nonces {
            let refused = sql.check_and_record(&late, 1_000, 1_600).await;
            assert!(
                matches!(refused, Err(StoreError::Unavailable(_))),
                "{}: a closed store answered {refused:?}",
                self.name
            );
        }
        let reopened = Arc::new(
            SqlStore::connect(&self.url(), self.options())
                .await
                .expect("reopen"),
        );
        if sql_nonces {
            assert!(
                reopened
                    .check_and_record(&late, 1_000, 1_600)
                    .await
                    .unwrap(),
                "{}: the closed store recorded a nonce",
                self.name
            );
        }
        self.stores.clients = reopened.clone();
        self.stores.tokens = reopened.clone();
        if self.redis.is_none() {
            self.stores.temporary = reopened.clone();
            self.stores.nonces = reopened.clone();
        }
        self.sql = Some(reopened);
        true
    }

    pub fn url(&self) -> String {
        match &self.sqlite_dir {
            Some(dir) => format!("sqlite://{}", dir.path().join("sigil.db").display()),
            None => postgres_url(),
        }
    }

    pub fn options(&self) -> SqlOptions {
        SqlOptions {
            schema: self.pg_schema.clone(),
            sealer: self.sealer.clone(),
            ..SqlOptions::default()
        }
    }

    pub async fn cleanup(self) {
        if let Some(redis) = &self.redis {
            redis.clear().await.unwrap();
        }
        if let Some(sql) = &self.sql {
            sql.close().await;
        }
        if let Some(schema) = &self.pg_schema {
            drop_schema(schema).await;
        }
    }
}

pub async fn drop_schema(schema: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&postgres_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

pub fn sealer() -> Sealer {
    Sealer::new(&[42u8; 32])
}

pub fn memory() -> Backend {
    let store = Arc::new(MemoryStore::new());
    Backend {
        name: "memory",
        stores: Stores::single(store.clone()),
        memory: Some(store),
        sql: None,
        redis: None,
        sqlite_dir: None,
        pg_schema: None,
        sealer: Sealer::none(),
    }
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sigil.db").display());
    let options = SqlOptions {
        sealer: sealer(),
        ..SqlOptions::default()
    };
    let store = Arc::new(SqlStore::connect(&url, options).await.unwrap());
    Backend {
        name: "sqlite",
        stores: Stores::single(store.clone()),
        memory: None,
        sql: Some(store),
        redis: None,
        sqlite_dir: Some(dir),
        pg_schema: None,
        sealer: sealer(),
    }
}

pub async fn postgres_in(schema: &str) -> Arc<SqlStore> {
    let options = SqlOptions {
        schema: Some(schema.to_owned()),
        sealer: sealer(),
        ..SqlOptions::default()
    };
    Arc::new(
        SqlStore::connect(&postgres_url(), options)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {}: {e}", postgres_url())),
    )
}

pub async fn redis_with(prefix: &str) -> RedisStore {
    RedisStore::connect(&redis_url(), prefix, sealer())
        .await
        .unwrap_or_else(|e| panic!("Redis at {}: {e}", redis_url()))
}

pub async fn postgres() -> Backend {
    let schema = unique("sigil_test");
    let store = postgres_in(&schema).await;
    Backend {
        name: "postgres",
        stores: Stores::single(store.clone()),
        memory: None,
        sql: Some(store),
        redis: None,
        sqlite_dir: None,
        pg_schema: Some(schema),
        sealer: sealer(),
    }
}

pub async fn redis_postgres() -> Backend {
    let schema = unique("sigil_test");
    let store = postgres_in(&schema).await;
    let redis = redis_with(&format!("{}:", unique("sigiltest"))).await;
    let redis_arc = Arc::new(redis.clone());
    Backend {
        name: "redis+postgres",
        stores: Stores {
            clients: store.clone(),
            tokens: store.clone(),
            temporary: redis_arc.clone(),
            nonces: redis_arc,
        },
        memory: None,
        sql: Some(store),
        redis: Some(redis),
        sqlite_dir: None,
        pg_schema: Some(schema),
        sealer: sealer(),
    }
}
