//! Password hashes: argon2id (RFC 9106) with a random salt, in the PHC
//! string format. Hashing and checking run on the blocking pool.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sigil_server::StoreError;

fn argon2() -> Argon2<'static> {
    // argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane): the
    // OWASP minimum for argon2id.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// The argon2id hash of `password`.
pub fn hash(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| StoreError::Unavailable("password hashing failed".into()))
}

/// A hash of a random password, checked against when the user does not
/// exist, so that the answer takes as long either way.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("no user has this password").unwrap_or_default())
}

/// Whether `password` matches `stored` (`None`: no such user, still
/// costing one argon2id check).
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool, StoreError> {
    let password = password.to_owned();
    let exists = stored.is_some();
    let stored = stored.map_or_else(|| dummy_hash().to_owned(), str::to_owned);
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|_| StoreError::Unavailable("password check failed".into()))?;
    Ok(exists && matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_check() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(&h)).await.unwrap());
        assert!(!verify("wrong", Some(&h)).await.unwrap());
        assert!(!verify("correct horse", None).await.unwrap());
        assert!(!verify("x", Some("not a hash")).await.unwrap());
    }
}
