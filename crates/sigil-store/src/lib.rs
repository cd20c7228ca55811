//! # sigil-store
//!
//! Durable stores behind sigil-server's four storage traits:
//! [`SqlStore`] on SQLite (the embedded default: a file, WAL mode, no server)
//! or PostgreSQL, with migrations applied at start; [`RedisStore`] for
//! nonces and temporary credentials (expiring keys), so that several provider
//! instances share one replay protection. Secrets can be sealed at rest with
//! a server key ([`Sealer`]); user passwords are argon2id hashes.
//!
//! ```
//! use std::sync::Arc;
//! use sigil_server::{Client, ClientStore, Stores};
//! use sigil_store::{SqlOptions, SqlStore};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}", dir.path().join("sigil.db").display());
//! let store = Arc::new(SqlStore::connect(&url, SqlOptions::default()).await?);
//! store.insert_client(&Client::new("key", "secret", "Printer")).await?;
//! let stores = Stores::single(store.clone());
//! assert_eq!(stores.clients.client("key").await?.unwrap().name, "Printer");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod nonce_writer;
mod passwords;
mod redis_store;
mod seal;
mod sealing;
mod sql;

pub use passwords::{hash as hash_password, verify as verify_password};
pub use redis_store::RedisStore;
pub use seal::{SealKeyError, Sealer};
pub use sealing::{SealError, SealReport};
pub use sql::{
    Backend, BackupError, PRESENCE_STALE_AFTER, ServingClaim, SqlOptions, SqlStore, WebSession,
    sqlite_path,
};
