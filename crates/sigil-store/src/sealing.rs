//! The database's secrets and the key that seals them: a start with a
//! missing or wrong key is refused, secrets an older build stored in the
//! clear are sealed, and a new key re-seals everything in one transaction.

use sigil_server::StoreError;
use sqlx::{Executor, Row};

use crate::seal::Sealer;
use crate::sql::db_err;
use crate::sql::{Backend, SqlStore, one_at_a_time};

/// The tables that hold sealed secrets, each with the column that binds a
/// sealed value to its row (the associated data).
const SEALED_COLUMNS: [(&str, &str); 3] = [
    ("clients", "client_key"),
    ("access_tokens", "token"),
    ("temporary_credentials", "token"),
];

/// The fixed text sealed as the `seal_check` setting.
const CHECK_TEXT: &str = "sigil seal check";
const CHECK_CONTEXT: &str = "sigil:seal_check";

/// Why the key given does not fit the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The database's secrets are sealed and no key was given.
    #[error(
        "this database's secrets are sealed and no seal key was given: pass --seal-key / SIGIL_SEAL_KEY, or the key file it was sealed with (--seal-key-file)"
    )]
    KeyMissing,
    /// The key given is not the one the secrets were sealed with.
    #[error(
        "the seal key given does not open this database's secrets (they were sealed with another key): give the key it was sealed with"
    )]
    WrongKey,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`SqlStore::check_seal`] found and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealReport {
    /// Secrets found stored in the clear (by an older build, or without a
    /// key) and sealed now.
    pub sealed_now: u64,
}

impl SqlStore {
    /// Checks, before serving, that this store's key opens the database's
    /// secrets: refused with [`SealError::KeyMissing`] when they are sealed
    /// and no key was given, [`SealError::WrongKey`] when another key
    /// sealed them. With a key, it then seals every secret still stored in
    /// the clear and records the key's check value. One transaction, one
    /// server at a time, so two servers starting with different keys cannot
    /// both record theirs.
    pub async fn check_seal(&self) -> Result<SealReport, SealError> {
        let sealed_now = self.check_and_reseal(None).await?;
        Ok(SealReport { sealed_now })
    }

    /// Re-seals every stored secret under `new` (opened with this store's
    /// key, which must be the database's), in one transaction, and records
    /// `new`'s check value. Every server on the database must be stopped
    /// first and restarted with the new key: one still running keeps
    /// sealing with the old one. Returns how many secrets were re-sealed.
    pub async fn rotate_seal_key(&self, new: &Sealer) -> Result<u64, SealError> {
        if !new.is_sealing() || !self.sealer.is_sealing() {
            return Err(SealError::KeyMissing);
        }
        self.check_and_reseal(Some(new)).await
    }

    /// The check, then the re-sealing: to `new` (every secret), or without
    /// one to this store's key (the secrets in the clear only).
    async fn check_and_reseal(&self, new: Option<&Sealer>) -> Result<u64, SealError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if self.backend == Backend::Postgres {
            // Serialised with the migrations and the serving claim.
            one_at_a_time(&mut tx, "SELECT pg_advisory_xact_lock(5849)").await?;
        } else {
            // A write first: SQLite's write lock now (waiting for another
            // starting server), not at an upgrade that would fail.
            tx.execute("UPDATE sigil_settings SET value = value WHERE name = 'seal_check'")
                .await
                .map_err(db_err)?;
        }
        let check: Option<String> =
            sqlx::query_scalar("SELECT value FROM sigil_settings WHERE name = 'seal_check'")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let sample = match check {
            Some(value) => Some((CHECK_CONTEXT.to_owned(), value)),
            None => any_sealed_secret(&mut tx).await?,
        };
        if let Some((context, stored)) = sample {
            if !self.sealer.is_sealing() {
                return Err(SealError::KeyMissing);
            }
            if self.sealer.open(&stored, &context).is_err() {
                return Err(SealError::WrongKey);
            }
        }
        if !self.sealer.is_sealing() {
            return Ok(0);
        }
        let (target, filter) = match new {
            Some(new) => (new, "secret IS NOT NULL"),
            None => (&self.sealer, "secret LIKE 'plain:%'"),
        };
        let mut count = 0;
        for (table, key) in SEALED_COLUMNS {
            // Table, column and filter are the constants above.
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {key}, secret FROM {table} WHERE {filter}"
            )))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            for row in rows {
                let row_key: String = row.try_get(0).map_err(db_err)?;
                let stored: String = row.try_get(1).map_err(db_err)?;
                let secret = self.sealer.open(&stored, &row_key)?;
                let sealed = target.seal(&secret, &row_key)?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET secret = $1 WHERE {key} = $2"
                )))
                .bind(sealed)
                .bind(row_key)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                count += 1;
            }
        }
        let check = target.seal(CHECK_TEXT, CHECK_CONTEXT)?;
        sqlx::query("DELETE FROM sigil_settings WHERE name = 'seal_check'")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO sigil_settings (name, value) VALUES ('seal_check', $1)")
            .bind(check)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(count)
    }
}

/// One sealed secret and its row key, if any is stored.
async fn any_sealed_secret(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<Option<(String, String)>, StoreError> {
    for (table, key) in SEALED_COLUMNS {
        // Table and column names are the constants above.
        let sql = format!("SELECT {key}, secret FROM {table} WHERE secret LIKE 'sealed:%' LIMIT 1");
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?
        {
            return Ok(Some((
                row.try_get(0).map_err(db_err)?,
                row.try_get(1).map_err(db_err)?,
            )));
        }
    }
    Ok(None)
}
