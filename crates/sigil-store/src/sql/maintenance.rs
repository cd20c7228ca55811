//! What an operator runs beside the protocol: readiness and online backup.

use std::path::Path;

use sigil_server::StoreError;

use super::{Backend, SqlStore, db_err};

/// Why [`SqlStore::backup_into`] wrote no copy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The store is on PostgreSQL, which its own tools back up.
    #[error("online backup copies SQLite databases; back up PostgreSQL with pg_dump")]
    NotSqlite,
    /// SQLite takes the target's name as text.
    #[error("the backup's path is not valid UTF-8")]
    PathNotUtf8,
    /// The target exists; a backup never overwrites a file.
    #[error("the backup file exists already")]
    Exists,
    /// The target could not be created.
    #[error("cannot create the backup file: {0}")]
    Create(std::io::Error),
    /// The database failed while copying.
    #[error(transparent)]
    Store(StoreError),
}

impl SqlStore {
    /// One round trip to the database (`SELECT 1`): `Ok` when it answers.
    /// Waits at most the pool's acquire timeout for a connection; a caller
    /// that must answer quickly (a readiness probe) bounds it further.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_err)
    }

    /// The newest migration applied to the database (connecting applies
    /// the ones this build has, so after [`SqlStore::connect`] it is this
    /// build's).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM sigil_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(found.unwrap_or(0))
    }

    /// Writes a consistent copy of a SQLite database to `path`, a file that
    /// must not exist yet, while other connections and processes go on
    /// reading and writing (`VACUUM INTO`: one read transaction, so the copy
    /// is the database as of one moment, compacted). Secrets stay sealed in
    /// the copy: it opens with the same seal key.
    ///
    /// PostgreSQL is backed up with its own tools (`pg_dump`), so this
    /// refuses it.
    pub async fn backup_into(&self, path: &Path) -> Result<(), BackupError> {
        if self.backend != Backend::Sqlite {
            return Err(BackupError::NotSqlite);
        }
        let target = path.to_str().ok_or(BackupError::PathNotUtf8)?;
        // The copy holds what the database holds (password hashes, tokens),
        // so it is made private before anything is in it. VACUUM INTO
        // writes into an empty file; `create_new` refuses an existing one,
        // so that a typo never overwrites something.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BackupError::Exists);
            }
            Err(err) => return Err(BackupError::Create(err)),
        }
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await;
        match copied {
            Ok(_) => Ok(()),
            Err(err) => {
                // Leave no half-written copy behind.
                let _ = std::fs::remove_file(path);
                Err(BackupError::Store(db_err(err)))
            }
        }
    }
}
