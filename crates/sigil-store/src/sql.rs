//! SQLite and PostgreSQL through sqlx, one schema and one set of queries
//! (`$N` placeholders, `RETURNING`, `ON CONFLICT` work in both). Queries
//! are checked at run time, so a build needs no database.
//!
//! Single use is atomic in the database: approving is a conditional
//! `UPDATE ... RETURNING`, consuming a conditional `DELETE ... RETURNING`,
//! recording a nonce an `INSERT ... ON CONFLICT DO UPDATE ... WHERE
//! expired` that says whether it was fresh. One writer groups concurrent
//! nonces into one transaction: on a SQLite file a thread with a rusqlite
//! connection of its own, elsewhere a task on the pool (see
//! `nonce_writer.rs`).
//!
//! Every change or removal of a client or token also raises a shared
//! counter (`sigil_generation`) in the same transaction, so caches in this
//! process and in others know to drop what they hold (see [`Generation`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sigil_core::{RsaPublicKey, Secret, SignatureMethod};
use sigil_server::{
    AccessToken, Client, ClientStore, Generation, NonceKey, NonceStore, PasswordVerifier,
    StoreError, TemporaryCredential, TemporaryCredentialStore, TokenStore,
};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

mod maintenance;

pub use maintenance::BackupError;

use crate::nonce_writer::NonceWriter;
use crate::passwords;
use crate::seal::Sealer;

/// The embedded migrations, applied in order at start.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_sessions.sql")),
    (3, include_str!("../migrations/0003_generation.sql")),
    (4, include_str!("../migrations/0004_nonces_by_time.sql")),
    (5, include_str!("../migrations/0005_settings.sql")),
];

/// On PostgreSQL: takes the transaction-scoped advisory lock of `lock` (a
/// `SELECT pg_advisory_xact_lock(..)` with a constant key), read committed
/// whatever the server's default, so that what the transaction reads after
/// it includes the last holder's commit (under repeatable read the snapshot
/// would be taken before the lock is granted). The lock is per database:
/// instances in other schemas of it wait on each other, briefly.
pub(crate) async fn one_at_a_time(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    lock: &'static str,
) -> Result<(), StoreError> {
    tx.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
        .map_err(db_err)?;
    tx.execute(lock).await.map_err(db_err)?;
    Ok(())
}

/// Seconds after its last renewal that a server's presence (see
/// [`SqlStore::claim_serving`]) counts as a stopped or crashed server's:
/// two renewals missed, at one every 5 s, and some slack.
pub const PRESENCE_STALE_AFTER: u64 = 12;

/// What [`SqlStore::claim_serving`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServingClaim {
    /// Recorded. `memory_through`: the bound on memory-only timestamps
    /// that a server with nonces in memory recorded before this claim (a
    /// starting server refuses timestamps up to it), if one ever ran.
    Granted {
        /// See [`ServingClaim::Granted`].
        memory_through: Option<u64>,
    },
    /// Nothing recorded; what stood in the way, as read.
    Blocked {
        /// The lease of another server with nonces in memory, in force.
        memory_lease: Option<u64>,
        /// For a server with nonces in memory: the latest renewal among
        /// the other servers' fresh presences.
        newest_presence: Option<u64>,
    },
}

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (a file; the embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Options for [`SqlStore::connect`].
#[derive(Clone, Debug)]
pub struct SqlOptions {
    /// Pool size. Default 8 (PostgreSQL) or 4 (SQLite, which has one writer).
    pub max_connections: Option<u32>,
    /// PostgreSQL only: the schema to use (created if missing). Tests use
    /// one schema each.
    pub schema: Option<String>,
    /// Sealing of secrets at rest.
    pub sealer: Sealer,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            schema: None,
            sealer: Sealer::none(),
        }
    }
}

pub(crate) fn db_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
        _ => StoreError::Unavailable(err.to_string()),
    }
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn join(list: &[String], sep: &str) -> String {
    list.join(sep)
}

fn split(text: &str, sep: char) -> Vec<String> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_valid_schema_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Clients, temporary credentials, access tokens, nonces and users in
/// SQLite or PostgreSQL.
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) sealer: Sealer,
    /// Nonces go through one writer that records many per transaction.
    nonces: NonceWriter,
    /// See [`NonceHold`].
    nonce_hold: Arc<NonceHold>,
    /// Raised after every change to a client or token that this process
    /// makes, and when [`SqlStore::refresh_generation`] sees another
    /// process's change.
    epoch: AtomicU64,
    /// The `sigil_generation` value last read.
    shared_generation: AtomicU64,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .field("sealer", &self.sealer)
            .finish_non_exhaustive()
    }
}

// Column lists as macros, so that every query stays a string literal.
macro_rules! temporary_columns {
    () => {
        "token, secret, client_key, callback, realms, created_at, expires_at, verifier, user_name"
    };
}
macro_rules! token_columns {
    () => {
        "token, secret, client_key, user_name, realms, created_at"
    };
}
macro_rules! client_columns {
    () => {
        "client_key, secret, rsa_public_key, name, description, website, callbacks, default_realms, allowed_realms, signature_methods, allow_oob, allow_xauth, enabled, owner, created_at"
    };
}

impl SqlStore {
    /// Connects (`sqlite://path` or `postgres://...`), creating a SQLite file
    /// if missing, and applies the migrations.
    pub async fn connect(url: &str, options: SqlOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Unavailable(
                "database URL must start with sqlite:// or postgres://".into(),
            ));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') && !url.contains(":memory:") => {
                format!("{url}?mode=rwc")
            }
            _ => url.to_owned(),
        };
        if let Some(path) = sqlite_file(&url, backend)? {
            private_file(&path)?;
        }
        let connect: AnyConnectOptions = url.parse().map_err(db_err)?;
        let schema = match (&options.schema, backend) {
            (Some(s), Backend::Postgres) if is_valid_schema_name(s) => Some(s.clone()),
            (Some(_), Backend::Postgres) => {
                return Err(StoreError::Unavailable("invalid schema name".into()));
            }
            _ => None,
        };
        if let Some(schema) = &schema {
            // Create the schema with a one-off connection, before the pool
            // points every connection at it.
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect_with(connect.clone())
                .await
                .map_err(db_err)?;
            // The name was checked: lower-case letters, digits, underscores.
            pool.execute(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}"
            )))
            .await
            .map_err(db_err)?;
            pool.close().await;
        }
        let max = options.max_connections.unwrap_or(match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        });
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(5))
            // No ping before every acquire: it doubled the round trips of
            // every query (a hop to SQLite's worker thread, a network round
            // trip to PostgreSQL). A dead connection fails its query
            // instead (503 for that request) and the pool replaces it.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                let schema = schema.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            // WAL: readers never block the writer. NORMAL
                            // sync is durable across process crashes.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 5000").await?;
                            // A checkpoint every 10,000 pages (40 MB of
                            // log) instead of 1,000: most of its cost is two
                            // fsyncs, and every commit waiting behind it
                            // waits for them (p99 4 ms -> 0.9 ms under
                            // load; BENCHMARKS.md).
                            conn.execute("PRAGMA wal_autocheckpoint = 10000").await?;
                        }
                        Backend::Postgres => {
                            if let Some(schema) = schema {
                                conn.execute(sqlx::AssertSqlSafe(format!(
                                    "SET search_path TO {schema}"
                                )))
                                .await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await
            .map_err(db_err)?;
        let nonce_hold = Arc::new(NonceHold::new(0));
        let nonces = match sqlite_file(&url, backend)? {
            Some(path) => NonceWriter::start_sqlite_file(path, nonce_hold.clone()).await?,
            None => NonceWriter::start(pool.clone(), nonce_hold.clone()),
        };
        let store = Self {
            nonces,
            nonce_hold,
            pool,
            backend,
            sealer: options.sealer,
            epoch: AtomicU64::new(0),
            shared_generation: AtomicU64::new(0),
        };
        store.migrate().await?;
        store.refresh_generation().await?;
        let hold = store.nonce_state("hold").await?;
        store.nonce_hold.store(hold.unwrap_or(0), Ordering::Release);
        Ok(store)
    }

    /// Reads the shared change counter; when another process changed a
    /// client or token since the last read, raises this store's
    /// [`Generation`] so caches drop what they hold. Returns whether it
    /// moved. When the database cannot be read it raises the generation
    /// anyway, so caches ask the database (and fail) instead of answering
    /// from memory. `sigil serve` calls it a few times a second.
    pub async fn refresh_generation(&self) -> Result<bool, StoreError> {
        let value: i64 = match sqlx::query_scalar("SELECT value FROM sigil_generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await
        {
            Ok(value) => value,
            Err(err) => {
                // Unable to tell whether anything changed: caches must
                // not go on answering from memory.
                self.epoch.fetch_add(1, Ordering::AcqRel);
                return Err(db_err(err));
            }
        };
        let value = to_u64(value);
        let moved = self.shared_generation.swap(value, Ordering::AcqRel) != value;
        if moved {
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        Ok(moved)
    }

    /// Runs one changing statement and, when it changed a row, raises the
    /// shared counter in the same transaction, then this process's epoch
    /// (after the commit: a cache load racing with the change then carries
    /// the old epoch).
    async fn change<'q>(
        &self,
        statements: Vec<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let mut affected = 0;
        let mut last = 0;
        for statement in statements {
            last = statement
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            affected += last;
        }
        if affected > 0 {
            sqlx::query("UPDATE sigil_generation SET value = value + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        if affected > 0 {
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        Ok(last)
    }

    /// The database behind the store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Stops the nonce writer and closes the pool (waits for connections in
    /// use).
    pub async fn close(&self) {
        self.nonces.close().await;
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS sigil_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await
            .map_err(db_err)?;
        let known = MIGRATIONS
            .iter()
            .map(|(version, _)| *version)
            .max()
            .unwrap_or(0);
        for (version, sql) in MIGRATIONS {
            let mut tx = self.pool.begin().await.map_err(db_err)?;
            if self.backend == Backend::Postgres {
                // Two instances starting together migrate one at a time.
                one_at_a_time(&mut tx, "SELECT pg_advisory_xact_lock(5849)").await?;
            }
            // Checked under the lock, so that a newer Sigil migrating at the
            // same moment is seen.
            let found: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM sigil_migrations")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if let Some(found) = found
                && found > known
            {
                return Err(StoreError::SchemaTooNew { found, known });
            }
            let applied = sqlx::query("SELECT version FROM sigil_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            if applied.is_some() {
                continue;
            }
            for statement in split_statements(&dialect(sql, self.backend)) {
                // Statements of the embedded migrations, not input.
                tx.execute(sqlx::AssertSqlSafe(statement))
                    .await
                    .map_err(db_err)?;
            }
            sqlx::query("INSERT INTO sigil_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(to_i64(unix_now()))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
        }
        Ok(())
    }

    fn client_from_row(&self, row: &AnyRow) -> Result<Client, StoreError> {
        let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
        let key: String = row.try_get("client_key").map_err(get)?;
        let secret: Option<String> = row.try_get("secret").map_err(get)?;
        let secret = match secret {
            Some(s) => Some(Secret::new(self.sealer.open(&s, &key)?)),
            None => None,
        };
        let pem: Option<String> = row.try_get("rsa_public_key").map_err(get)?;
        let rsa_public_key = match &pem {
            Some(p) => Some(
                RsaPublicKey::from_pem(p)
                    .map_err(|_| StoreError::Corrupt("stored RSA key unreadable".into()))?,
            ),
            None => None,
        };
        let methods: String = row.try_get("signature_methods").map_err(get)?;
        Ok(Client {
            secret,
            rsa_public_key,
            rsa_public_key_pem: pem,
            name: row.try_get("name").map_err(get)?,
            description: row.try_get("description").map_err(get)?,
            website: row.try_get("website").map_err(get)?,
            callbacks: split(&row.try_get::<String, _>("callbacks").map_err(get)?, '\n'),
            default_realms: split(
                &row.try_get::<String, _>("default_realms").map_err(get)?,
                ' ',
            ),
            allowed_realms: split(
                &row.try_get::<String, _>("allowed_realms").map_err(get)?,
                ' ',
            ),
            signature_methods: split(&methods, ',')
                .iter()
                .filter_map(|m| m.parse::<SignatureMethod>().ok())
                .collect(),
            allow_oob: row.try_get::<i64, _>("allow_oob").map_err(get)? != 0,
            allow_xauth: row.try_get::<i64, _>("allow_xauth").map_err(get)? != 0,
            enabled: row.try_get::<i64, _>("enabled").map_err(get)? != 0,
            owner: row.try_get("owner").map_err(get)?,
            created_at: to_u64(row.try_get("created_at").map_err(get)?),
            key,
        })
    }

    fn temporary_from_row(&self, row: &AnyRow) -> Result<TemporaryCredential, StoreError> {
        let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
        let token: String = row.try_get("token").map_err(get)?;
        let secret: String = row.try_get("secret").map_err(get)?;
        Ok(TemporaryCredential {
            secret: Secret::new(self.sealer.open(&secret, &token)?),
            client_key: row.try_get("client_key").map_err(get)?,
            callback: row.try_get("callback").map_err(get)?,
            realms: split(&row.try_get::<String, _>("realms").map_err(get)?, ' '),
            created_at: to_u64(row.try_get("created_at").map_err(get)?),
            expires_at: to_u64(row.try_get("expires_at").map_err(get)?),
            verifier: row.try_get("verifier").map_err(get)?,
            user: row.try_get("user_name").map_err(get)?,
            token,
        })
    }

    fn token_from_row(&self, row: &AnyRow) -> Result<AccessToken, StoreError> {
        let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
        let token: String = row.try_get("token").map_err(get)?;
        let secret: String = row.try_get("secret").map_err(get)?;
        Ok(AccessToken {
            secret: Secret::new(self.sealer.open(&secret, &token)?),
            client_key: row.try_get("client_key").map_err(get)?,
            user: row.try_get("user_name").map_err(get)?,
            realms: split(&row.try_get::<String, _>("realms").map_err(get)?, ' '),
            created_at: to_u64(row.try_get("created_at").map_err(get)?),
            token,
        })
    }

    /// The stored forms of a client's secret (sealed) and method list.
    fn client_secret_and_methods(
        &self,
        client: &Client,
    ) -> Result<(Option<String>, String), StoreError> {
        let secret = match &client.secret {
            Some(s) => Some(self.sealer.seal(s.expose(), &client.key)?),
            None => None,
        };
        let methods: Vec<&str> = client
            .signature_methods
            .iter()
            .map(|m| m.as_str())
            .collect();
        Ok((secret, methods.join(",")))
    }

    /// Registers a client. A taken key is [`StoreError::Duplicate`].
    pub async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let (secret, methods) = self.client_secret_and_methods(client)?;
        sqlx::query(concat!(
            "INSERT INTO clients (",
            client_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&client.key)
        .bind(secret)
        .bind(&client.rsa_public_key_pem)
        .bind(&client.name)
        .bind(&client.description)
        .bind(&client.website)
        .bind(join(&client.callbacks, "\n"))
        .bind(join(&client.default_realms, " "))
        .bind(join(&client.allowed_realms, " "))
        .bind(methods)
        .bind(i64::from(client.allow_oob))
        .bind(i64::from(client.allow_xauth))
        .bind(i64::from(client.enabled))
        .bind(&client.owner)
        .bind(to_i64(client.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Replaces a client's registration (same key). Returns whether it
    /// existed.
    pub async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        let (secret, methods) = self.client_secret_and_methods(client)?;
        let done = sqlx::query(
            "UPDATE clients SET secret = $1, rsa_public_key = $2, name = $3, description = $4, website = $5, callbacks = $6, default_realms = $7, allowed_realms = $8, signature_methods = $9, allow_oob = $10, allow_xauth = $11, enabled = $12, owner = $13 WHERE client_key = $14",
        )
        .bind(secret)
        .bind(&client.rsa_public_key_pem)
        .bind(&client.name)
        .bind(&client.description)
        .bind(&client.website)
        .bind(join(&client.callbacks, "\n"))
        .bind(join(&client.default_realms, " "))
        .bind(join(&client.allowed_realms, " "))
        .bind(methods)
        .bind(i64::from(client.allow_oob))
        .bind(i64::from(client.allow_xauth))
        .bind(i64::from(client.enabled))
        .bind(&client.owner)
        .bind(&client.key);
        Ok(self.change(vec![done]).await? == 1)
    }

    /// Every client, or those registered by `owner`, oldest first.
    pub async fn list_clients(&self, owner: Option<&str>) -> Result<Vec<Client>, StoreError> {
        let rows = match owner {
            Some(owner) => {
                sqlx::query(concat!(
                    "SELECT ",
                    client_columns!(),
                    " FROM clients WHERE owner = $1 ORDER BY created_at, client_key"
                ))
                .bind(owner)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    client_columns!(),
                    " FROM clients ORDER BY created_at, client_key"
                ))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db_err)?;
        rows.iter().map(|r| self.client_from_row(r)).collect()
    }

    /// Enables or disables a client. Returns whether it exists.
    pub async fn set_client_enabled(&self, key: &str, enabled: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE clients SET enabled = $1 WHERE client_key = $2")
            .bind(i64::from(enabled))
            .bind(key);
        Ok(self.change(vec![done]).await? == 1)
    }

    /// Replaces a client's secret. Returns whether it exists.
    pub async fn set_client_secret(&self, key: &str, secret: &Secret) -> Result<bool, StoreError> {
        let sealed = self.sealer.seal(secret.expose(), key)?;
        let done = sqlx::query("UPDATE clients SET secret = $1 WHERE client_key = $2")
            .bind(sealed)
            .bind(key);
        Ok(self.change(vec![done]).await? == 1)
    }

    /// Deletes a client and every token issued to it. Returns whether it
    /// existed.
    pub async fn delete_client(&self, key: &str) -> Result<bool, StoreError> {
        let deleted = self
            .change(vec![
                sqlx::query("DELETE FROM access_tokens WHERE client_key = $1").bind(key),
                sqlx::query("DELETE FROM temporary_credentials WHERE client_key = $1").bind(key),
                // Last: its count is the answer.
                sqlx::query("DELETE FROM clients WHERE client_key = $1").bind(key),
            ])
            .await?;
        Ok(deleted == 1)
    }

    /// Every access token, oldest first.
    pub async fn all_tokens(&self) -> Result<Vec<AccessToken>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM access_tokens ORDER BY created_at, token"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.token_from_row(r)).collect()
    }

    /// The client secret exactly as stored (sealed or marked plain), to
    /// audit that secrets are sealed at rest.
    pub async fn stored_client_secret(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT secret FROM clients WHERE client_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => r.try_get("secret").map_err(db_err),
            None => Ok(None),
        }
    }

    async fn nonce_state(&self, name: &str) -> Result<Option<i64>, StoreError> {
        sqlx::query("SELECT value FROM nonce_state WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|row| row.try_get::<i64, _>(0))
            .transpose()
            .map_err(db_err)
    }

    /// The newest timestamp among the stored nonces (0 when there are none).
    pub async fn newest_nonce_timestamp(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(ts), 0) FROM nonces")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(to_u64(row.try_get::<i64, _>(0).map_err(db_err)?))
    }

    /// The bound recorded for the timestamps a memory nonce store kept in
    /// memory alone (see `sigil_server::MemoryNonceStore::backed_by`), if
    /// one ever ran on this database.
    pub async fn memory_nonces_through(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.nonce_state("memory_through").await?.map(to_u64))
    }

    /// Records `through` as that bound (durably, before it is relied on).
    pub async fn set_memory_nonces_through(&self, through: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO nonce_state (name, value) VALUES ('memory_through', $1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(to_i64(through))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Claims this database for a server (`instance`: an id of its own,
    /// random per start), in one serialized transaction, so that two
    /// servers starting at the same moment see each other. A server with
    /// nonces in memory (`memory_lease`: the bound on the timestamps it
    /// will keep in memory alone) must be the only server: it is blocked by
    /// any other fresh presence, and by a lease of another one still in
    /// force. Any other server is blocked only by that lease, since the
    /// nonces under it are in that server's memory alone. A granted claim
    /// records this server's presence (and the lease); a blocked one
    /// records nothing. A server renews its claim every few seconds; a
    /// presence not renewed for [`PRESENCE_STALE_AFTER`] seconds is a
    /// stopped or crashed server's and is deleted here.
    pub async fn claim_serving(
        &self,
        instance: i64,
        memory_lease: Option<u64>,
        now: u64,
    ) -> Result<ServingClaim, StoreError> {
        let me = format!("serving:{instance}");
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if self.backend == Backend::Postgres {
            one_at_a_time(&mut tx, "SELECT pg_advisory_xact_lock(5850)").await?;
        }
        // A write first: on SQLite it takes the write lock now, so that a
        // second claim waits here instead of reading what this one changes.
        sqlx::query("DELETE FROM nonce_state WHERE name LIKE 'serving:%' AND value < $1")
            .bind(to_i64(now.saturating_sub(PRESENCE_STALE_AFTER)))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let state = |name: &'static str| {
            sqlx::query_scalar::<_, i64>("SELECT value FROM nonce_state WHERE name = $1").bind(name)
        };
        let recorded = state("memory_through")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .map(to_u64);
        let owner = state("memory_owner")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        // A lease recorded by a Sigil that kept no owner is another's too.
        let foreign_lease = recorded.filter(|&through| through >= now && owner != Some(instance));
        let others: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(value) FROM nonce_state WHERE name LIKE 'serving:%' AND name <> $1",
        )
        .bind(&me)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let others = others.map(to_u64).filter(|_| memory_lease.is_some());
        if foreign_lease.is_some() || others.is_some() {
            return Ok(ServingClaim::Blocked {
                memory_lease: foreign_lease,
                newest_presence: others,
            });
        }
        let upsert = "INSERT INTO nonce_state (name, value) VALUES ($1, $2) \
                      ON CONFLICT (name) DO UPDATE SET value = excluded.value";
        sqlx::query(upsert)
            .bind(&me)
            .bind(to_i64(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(lease) = memory_lease {
            // Never lowered: a bound recorded before was relied on.
            let lease = lease.max(recorded.unwrap_or(0));
            for (name, value) in [
                ("memory_through", to_i64(lease)),
                ("memory_owner", instance),
            ] {
                sqlx::query(upsert)
                    .bind(name)
                    .bind(value)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(ServingClaim::Granted {
            memory_through: recorded,
        })
    }

    /// At a clean stop of the server with nonces in memory `instance`: the
    /// recorded bound shrinks from its lease to `through`, what it really
    /// kept in memory alone, so that the next server may start at once.
    /// Only while the lease is still this instance's (never over another
    /// server's); `false` when it was not.
    pub async fn release_memory_lease(
        &self,
        instance: i64,
        through: u64,
    ) -> Result<bool, StoreError> {
        let released = sqlx::query(
            "UPDATE nonce_state SET value = $1 WHERE name = 'memory_through' AND EXISTS \
             (SELECT 1 FROM nonce_state WHERE name = 'memory_owner' AND value = $2)",
        )
        .bind(to_i64(through))
        .bind(instance)
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(released == 1)
    }

    /// Removes this server's presence (a clean stop), so that a server with
    /// nonces in memory may start at once.
    pub async fn leave_serving(&self, instance: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM nonce_state WHERE name = $1")
            .bind(format!("serving:{instance}"))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// How many nonces are stored (expired ones included until swept).
    pub async fn nonce_rows(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM nonces")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(to_u64(row.try_get("n").map_err(db_err)?))
    }

    /// Creates a user with an argon2id hash of `password`. A taken name is
    /// [`StoreError::Duplicate`].
    pub async fn create_user(&self, name: &str, password: &str) -> Result<(), StoreError> {
        let hash = passwords::hash(password)?;
        sqlx::query("INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(hash)
            .bind(to_i64(unix_now()))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Whether a user exists.
    pub async fn user_exists(&self, name: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT name FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.is_some())
    }

    /// Checks a password against the stored argon2id hash. An unknown user
    /// costs the same as a wrong password.
    pub async fn check_password(&self, name: &str, password: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let hash: Option<String> = match row {
            Some(r) => Some(r.try_get("password_hash").map_err(db_err)?),
            None => None,
        };
        passwords::verify(password, hash.as_deref()).await
    }

    /// Starts a web session for `user`: `id` is the random value the
    /// cookie carries (only its hash is stored), `csrf` the token its forms
    /// must echo.
    pub async fn create_session(
        &self,
        id: &str,
        user: &str,
        csrf: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session_hash(id))
        .bind(user)
        .bind(csrf)
        .bind(to_i64(now))
        .bind(to_i64(expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// The live session whose cookie value is `id`.
    pub async fn session(&self, id: &str, now: u64) -> Result<Option<WebSession>, StoreError> {
        let row = sqlx::query(
            "SELECT user_name, csrf, created_at, expires_at FROM web_sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(session_hash(id))
        .bind(to_i64(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
        Ok(Some(WebSession {
            user: row.try_get("user_name").map_err(get)?,
            csrf: row.try_get("csrf").map_err(get)?,
            created_at: to_u64(row.try_get("created_at").map_err(get)?),
            expires_at: to_u64(row.try_get("expires_at").map_err(get)?),
        }))
    }

    /// Ends the session whose cookie value is `id`.
    pub async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(session_hash(id))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes expired nonces, temporary credentials and web sessions;
    /// returns how many rows went.
    pub async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        sweep_expired(&mut conn, now, self.nonce_hold.load(Ordering::Acquire)).await
    }
}

/// The nonce table has one index, its timestamp-first key: a second one on
/// `expires_at` would be written by every insert too (on SQLite, a second
/// page in every commit). Sweeps find expired nonces through the key
/// instead: a nonce expires at most `hold` seconds after its timestamp, the
/// most `expires_at - ts` ever recorded (kept as `hold` in `nonce_state` and
/// raised by the nonce writer), so every row with `ts <= now - hold` is a
/// candidate, a range at the front of the key. It is only a hint: a sweep
/// deletes a row only if `expires_at <= now` as well, so a hold that is too
/// small makes a sweep look at more rows, never delete a live one. It never
/// goes down: after a shorter nonce lifetime is configured, rows are still
/// kept for the longest (lifetime + timestamp window) ever used.
pub(crate) type NonceHold = AtomicI64;

/// Raises the recorded hold to `seconds` (never lowers it).
pub(crate) async fn raise_hold(
    conn: &mut sqlx::AnyConnection,
    seconds: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE nonce_state SET value = $1 WHERE name = 'hold' AND value < $1")
        .bind(seconds)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A sweep's delete of expired nonces: `$1` is now minus the hold (see
/// [`NonceHold`]), `$2` now. `$N` is a parameter to SQLite as well, so the
/// nonce writer thread runs the same text through rusqlite.
pub(crate) const DELETE_EXPIRED_NONCES: &str =
    "DELETE FROM nonces WHERE ts <= $1 AND expires_at <= $2";

/// A sweep's other deletes, each with `$1` now.
pub(crate) const DELETE_EXPIRED_OTHERS: [&str; 2] = [
    "DELETE FROM temporary_credentials WHERE expires_at <= $1",
    "DELETE FROM web_sessions WHERE expires_at <= $1",
];

/// Deletes expired nonces (see [`NonceHold`]).
async fn delete_expired_nonces(
    conn: &mut sqlx::AnyConnection,
    now: u64,
    hold: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(DELETE_EXPIRED_NONCES)
        .bind(to_i64(now).saturating_sub(hold))
        .bind(to_i64(now))
        .execute(conn)
        .await
        .map_err(db_err)?
        .rows_affected())
}

/// Deletes expired nonces (see [`NonceHold`]), temporary credentials and
/// web sessions.
pub(crate) async fn sweep_expired(
    conn: &mut sqlx::AnyConnection,
    now: u64,
    hold: i64,
) -> Result<u64, StoreError> {
    let mut deleted = delete_expired_nonces(conn, now, hold).await?;
    for statement in DELETE_EXPIRED_OTHERS {
        deleted += sqlx::query(statement)
            .bind(to_i64(now))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?
            .rows_affected();
    }
    Ok(deleted)
}

/// A signed-in web session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSession {
    /// Who is signed in.
    pub user: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// Unix time of sign-in.
    pub created_at: u64,
    /// Unix time the session ends.
    pub expires_at: u64,
}

/// The stored form of a session id: SHA-256, hex.
fn session_hash(id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A migration for `backend`: on SQLite, every `/* sqlite: TEXT */` becomes
/// TEXT; PostgreSQL reads it as the comment it is.
fn dialect(sql: &str, backend: Backend) -> String {
    const OPEN: &str = "/* sqlite: ";
    if backend != Backend::Sqlite {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some((before, after)) = rest.split_once(OPEN) {
        let Some((text, after)) = after.split_once("*/") else {
            break;
        };
        out.push_str(before);
        out.push_str(text.trim_end());
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Splits a migration into statements (the migrations hold no `;` inside
/// strings or comments).
fn split_statements(sql: &str) -> Vec<String> {
    sql.split(';')
        .map(|chunk| {
            chunk
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| !s.trim().is_empty())
        .collect()
}

/// The file behind a SQLite URL, when the nonce writer thread may open it
/// on its own; `None` for PostgreSQL, for an in-memory database (which
/// only the pool's connections can see), and for a URL with options other
/// than `mode=rw`/`rwc` (read-only, immutable, another VFS: the writer
/// would not open the file the way the pool does), which keep the pool
/// writer.
/// The SQLite database file of `url`, if it names one.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    let url = if url.contains('?') {
        url.to_owned()
    } else {
        format!("{url}?mode=rwc")
    };
    sqlite_file(&url, Backend::Sqlite).ok().flatten()
}

/// Creates a missing database file readable by its owner alone, before
/// SQLite does (its `-wal` and `-shm` files take the database file's mode);
/// warns about an existing one that others can read.
fn private_file(path: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::metadata(path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{:o}", meta.permissions().mode() & 0o777),
                        "the database file is readable by other users; chmod 600 it (and its -wal and -shm files)"
                    );
                }
            }
            Err(_) => {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                {
                    Ok(_) => {}
                    // Created at the same moment by another process.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        return Err(StoreError::Unavailable(format!(
                            "cannot create the database file: {e}"
                        )));
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn sqlite_file(url: &str, backend: Backend) -> Result<Option<std::path::PathBuf>, StoreError> {
    if backend != Backend::Sqlite {
        return Ok(None);
    }
    let plain_options = url.split_once('?').is_none_or(|(_, query)| {
        query
            .split('&')
            .all(|option| matches!(option, "mode=rw" | "mode=rwc"))
    });
    if !plain_options {
        return Ok(None);
    }
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(db_err)?;
    let path = options.get_filename();
    let in_memory = path.as_os_str().is_empty()
        || path
            .to_str()
            .is_some_and(|p| p.contains(":memory:") || p.starts_with("file:"));
    Ok((!in_memory).then(|| path.to_owned()))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Generation for SqlStore {
    fn generation(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn client(&self, key: &str) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients WHERE client_key = $1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.client_from_row(&r)).transpose()
    }
}

#[async_trait]
impl TemporaryCredentialStore for SqlStore {
    async fn create_temporary(&self, credential: TemporaryCredential) -> Result<(), StoreError> {
        let secret = self
            .sealer
            .seal(credential.secret.expose(), &credential.token)?;
        sqlx::query(concat!(
            "INSERT INTO temporary_credentials (",
            temporary_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&credential.token)
        .bind(secret)
        .bind(&credential.client_key)
        .bind(&credential.callback)
        .bind(join(&credential.realms, " "))
        .bind(to_i64(credential.created_at))
        .bind(to_i64(credential.expires_at))
        .bind(&credential.verifier)
        .bind(&credential.user)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn temporary(&self, token: &str) -> Result<Option<TemporaryCredential>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            temporary_columns!(),
            " FROM temporary_credentials WHERE token = $1"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.temporary_from_row(&r)).transpose()
    }

    async fn approve_temporary(
        &self,
        token: &str,
        user: &str,
        verifier: &str,
        now: u64,
    ) -> Result<Option<TemporaryCredential>, StoreError> {
        let row = sqlx::query(concat!(
            "UPDATE temporary_credentials SET user_name = $1, verifier = $2 \
             WHERE token = $3 AND expires_at > $4 AND verifier IS NULL \
             RETURNING ",
            temporary_columns!(),
            ""
        ))
        .bind(user)
        .bind(verifier)
        .bind(token)
        .bind(to_i64(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.temporary_from_row(&r)).transpose()
    }

    async fn consume_temporary(
        &self,
        token: &str,
        verifier: &str,
        now: u64,
    ) -> Result<Option<TemporaryCredential>, StoreError> {
        let row = sqlx::query(concat!(
            "DELETE FROM temporary_credentials \
             WHERE token = $1 AND verifier = $2 AND user_name IS NOT NULL AND expires_at > $3 \
             RETURNING ",
            temporary_columns!(),
            ""
        ))
        .bind(token)
        .bind(verifier)
        .bind(to_i64(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.temporary_from_row(&r)).transpose()
    }

    async fn delete_temporary(&self, token: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM temporary_credentials WHERE token = $1")
            .bind(token)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn purge_temporary(&self, now: u64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM temporary_credentials WHERE expires_at <= $1")
            .bind(to_i64(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn create_token(&self, token: AccessToken) -> Result<(), StoreError> {
        let secret = self.sealer.seal(token.secret.expose(), &token.token)?;
        sqlx::query(concat!(
            "INSERT INTO access_tokens (",
            token_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&token.token)
        .bind(secret)
        .bind(&token.client_key)
        .bind(&token.user)
        .bind(join(&token.realms, " "))
        .bind(to_i64(token.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn token(&self, token: &str) -> Result<Option<AccessToken>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM access_tokens WHERE token = $1"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| self.token_from_row(&r)).transpose()
    }

    async fn revoke_token(&self, token: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE token = $1").bind(token);
        Ok(self.change(vec![done]).await? > 0)
    }

    async fn revoke_tokens(&self, user: &str, client_key: &str) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM access_tokens WHERE user_name = $1 AND client_key = $2")
                .bind(user)
                .bind(client_key);
        self.change(vec![done]).await
    }

    async fn tokens_for_user(&self, user: &str) -> Result<Vec<AccessToken>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM access_tokens WHERE user_name = $1 ORDER BY created_at, token"
        ))
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| self.token_from_row(r)).collect()
    }
}

#[async_trait]
impl NonceStore for SqlStore {
    async fn check_and_record(
        &self,
        key: &NonceKey,
        now: u64,
        expires_at: u64,
    ) -> Result<bool, StoreError> {
        self.nonces.record(key, now, expires_at).await
    }

    async fn purge_nonces(&self, now: u64) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        delete_expired_nonces(&mut conn, now, self.nonce_hold.load(Ordering::Acquire)).await
    }
}

#[async_trait]
impl PasswordVerifier for SqlStore {
    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .check_password(username, password)
            .await?
            .then(|| username.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonce_thread_opens_plain_sqlite_files_only() {
        let file = |url| sqlite_file(url, Backend::Sqlite).unwrap();
        assert_eq!(file("sqlite://a.db?mode=rwc"), Some("a.db".into()));
        assert_eq!(file("sqlite:///tmp/x/a.db"), Some("/tmp/x/a.db".into()));
        assert_eq!(file("sqlite://a.db?mode=rw"), Some("a.db".into()));
        for pool_only in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
            "sqlite://a.db?mode=memory",
            "sqlite://a.db?mode=ro",
            "sqlite://a.db?immutable=true",
            "sqlite://a.db?mode=rwc&vfs=unix-dotfile",
        ] {
            assert_eq!(file(pool_only), None, "{pool_only}");
        }
        assert_eq!(
            sqlite_file("postgres://h/db", Backend::Postgres).unwrap(),
            None
        );
    }

    #[test]
    fn sqlite_only_text_is_unwrapped_for_sqlite_alone() {
        let sql = "CREATE TABLE t (a INT PRIMARY KEY) /* sqlite: WITHOUT ROWID */;";
        assert_eq!(
            dialect(sql, Backend::Sqlite),
            "CREATE TABLE t (a INT PRIMARY KEY) WITHOUT ROWID;"
        );
        assert_eq!(dialect(sql, Backend::Postgres), sql);
        // An unclosed marker is left as it is (and fails loudly in the database).
        assert_eq!(dialect("x /* sqlite: y", Backend::Sqlite), "x /* sqlite: y");
    }
}
