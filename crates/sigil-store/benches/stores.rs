//! The hot path of each backend: nonce check-and-record and access-token
//! lookup. `cargo bench -p sigil-store --bench stores`; PostgreSQL and Redis
//! are included when SIGIL_SERVICE_TESTS=1 (URLs from SIGIL_TEST_POSTGRES_URL
//! and SIGIL_TEST_REDIS_URL, defaults 127.0.0.1).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use sigil_core::Secret;
use sigil_server::{AccessToken, MemoryStore, NonceKey, NonceStore, TokenStore};
use sigil_store::{RedisStore, Sealer, SqlOptions, SqlStore};

const NOW: u64 = 1_700_000_000;

fn bench_backend(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    nonces: Arc<dyn NonceStore>,
    tokens: Option<Arc<dyn TokenStore>>,
) {
    let counter = AtomicU64::new(0);
    c.bench_function(&format!("nonce_check_and_record/{name}"), |b| {
        b.to_async(rt).iter(|| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let nonces = nonces.clone();
            async move {
                let key = NonceKey {
                    client_key: "bench".into(),
                    token: Some("token".into()),
                    timestamp: NOW,
                    nonce: format!("n{n}"),
                };
                assert!(nonces.check_and_record(&key, NOW, NOW + 600).await.unwrap());
            }
        })
    });
    if let Some(tokens) = tokens {
        rt.block_on(tokens.create_token(AccessToken {
            token: "bench-token".into(),
            secret: Secret::new("bench-secret"),
            client_key: "bench".into(),
            user: "alice".into(),
            realms: vec!["photos".into()],
            created_at: NOW,
        }))
        .unwrap();
        c.bench_function(&format!("token_lookup/{name}"), |b| {
            b.to_async(rt).iter(|| {
                let tokens = tokens.clone();
                async move { assert!(tokens.token("bench-token").await.unwrap().is_some()) }
            })
        });
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let memory = Arc::new(MemoryStore::new());
    bench_backend(c, &rt, "memory", memory.clone(), Some(memory));

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let options = SqlOptions {
        sealer: Sealer::new(&[9u8; 32]),
        ..SqlOptions::default()
    };
    let sqlite = Arc::new(rt.block_on(SqlStore::connect(&url, options)).unwrap());
    bench_backend(c, &rt, "sqlite", sqlite.clone(), Some(sqlite));

    if std::env::var_os("SIGIL_SERVICE_TESTS").is_some() {
        let pg_url = std::env::var("SIGIL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("sigil_bench_{}", sigil_core::random_hex::<4>().unwrap());
        let options = SqlOptions {
            schema: Some(schema.clone()),
            sealer: Sealer::new(&[9u8; 32]),
            ..SqlOptions::default()
        };
        let pg = Arc::new(rt.block_on(SqlStore::connect(&pg_url, options)).unwrap());
        bench_backend(c, &rt, "postgres", pg.clone(), Some(pg.clone()));
        let redis_url = std::env::var("SIGIL_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let prefix = format!("sigilbench{}:", sigil_core::random_hex::<4>().unwrap());
        let redis = rt
            .block_on(RedisStore::connect(&redis_url, &prefix, Sealer::none()))
            .unwrap();
        bench_backend(c, &rt, "redis", Arc::new(redis.clone()), None);
        rt.block_on(async {
            redis.clear().await.unwrap();
            pg.close().await;
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&pg_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&pool)
                .await
                .unwrap();
        });
    }
}

criterion_group!(stores, benches);
criterion_main!(stores);
