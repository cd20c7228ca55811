//! Sealing secrets at rest. HMAC verification needs client and token
//! secrets in the clear, so they cannot be hashed; with a server key they
//! are stored encrypted (AES-256-GCM, a fresh 96-bit nonce per value, the
//! row's key as associated data so a sealed value cannot be moved to
//! another row). A copy of the database alone then gives no usable
//! credentials.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use sigil_server::StoreError;

const SEALED_PREFIX: &str = "sealed:v1:";
const PLAIN_PREFIX: &str = "plain:";

/// Seals and opens stored secrets. Without a key, secrets are stored as
/// they are (marked as such); a sealed value cannot be opened without the
/// key.
#[derive(Clone, Default)]
pub struct Sealer {
    cipher: Option<Aes256Gcm>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("sealing", &self.cipher.is_some())
            .finish()
    }
}

/// Why a sealing key was refused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("the sealing key must be 32 bytes, given as 64 hex characters or base64")]
pub struct SealKeyError;

impl Sealer {
    /// No sealing: secrets are stored in the clear.
    pub fn none() -> Self {
        Self { cipher: None }
    }

    /// Seals with a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new_from_slice(key).ok(),
        }
    }

    /// Reads a key given as 64 hex characters or as base64 of 32 bytes.
    pub fn from_config(text: &str) -> Result<Self, SealKeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| {
                    text.get(i * 2..i * 2 + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or(SealKeyError)
                })
                .collect::<Result<Vec<u8>, _>>()?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| SealKeyError)?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealKeyError)?;
        Ok(Self::new(&key))
    }

    /// A new random key, as 64 hex characters (what [`Sealer::from_config`]
    /// reads).
    pub fn generate_key() -> Result<String, StoreError> {
        let mut key = [0u8; 32];
        getrandom(&mut key)?;
        let hex = key.iter().map(|b| format!("{b:02x}")).collect();
        key.fill(0);
        Ok(hex)
    }

    /// Whether values are sealed.
    pub fn is_sealing(&self) -> bool {
        self.cipher.is_some()
    }

    /// The stored form of `secret`, bound to `context` (the row's key).
    pub fn seal(&self, secret: &str, context: &str) -> Result<String, StoreError> {
        let Some(cipher) = &self.cipher else {
            return Ok(format!("{PLAIN_PREFIX}{secret}"));
        };
        let mut nonce = [0u8; 12];
        getrandom(&mut nonce)?;
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Corrupt("sealing failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", B64.encode(blob)))
    }

    /// The secret from its stored form.
    pub fn open(&self, stored: &str, context: &str) -> Result<String, StoreError> {
        if let Some(plain) = stored.strip_prefix(PLAIN_PREFIX) {
            return Ok(plain.to_owned());
        }
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            return Err(StoreError::Corrupt("unknown secret encoding".into()));
        };
        let Some(cipher) = &self.cipher else {
            return Err(StoreError::Corrupt(
                "secret is sealed but no sealing key is configured".into(),
            ));
        };
        let blob = B64
            .decode(encoded)
            .map_err(|_| StoreError::Corrupt("bad sealed secret".into()))?;
        if blob.len() < 12 {
            return Err(StoreError::Corrupt("bad sealed secret".into()));
        }
        let (nonce, sealed) = blob.split_at(12);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Corrupt("sealed secret does not open with this key".into()))?;
        String::from_utf8(plain).map_err(|_| StoreError::Corrupt("bad sealed secret".into()))
    }
}

fn getrandom(buf: &mut [u8]) -> Result<(), StoreError> {
    use aes_gcm::aead::rand_core::RngCore;
    aes_gcm::aead::OsRng
        .try_fill_bytes(buf)
        .map_err(|_| StoreError::Unavailable("random source failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let sealer = Sealer::new(&[7u8; 32]);
        let stored = sealer.seal("s3cret", "client-1").unwrap();
        assert!(stored.starts_with(SEALED_PREFIX));
        assert!(!stored.contains("s3cret"));
        assert_eq!(sealer.open(&stored, "client-1").unwrap(), "s3cret");
        // Moved to another row, or opened with another key: refused.
        assert!(sealer.open(&stored, "client-2").is_err());
        assert!(Sealer::new(&[8u8; 32]).open(&stored, "client-1").is_err());
        assert!(Sealer::none().open(&stored, "client-1").is_err());
        // Two seals of one secret differ (fresh nonce).
        assert_ne!(stored, sealer.seal("s3cret", "client-1").unwrap());
    }

    #[test]
    fn keys_from_config() {
        assert!(Sealer::from_config(&"ab".repeat(32)).unwrap().is_sealing());
        assert!(Sealer::from_config("c2hvcnQ=").is_err());
        let plain = Sealer::none();
        assert_eq!(
            plain.open(&plain.seal("x", "k").unwrap(), "k").unwrap(),
            "x"
        );
    }
}
