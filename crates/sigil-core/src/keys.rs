//! Secrets and keys. Their `Debug` output never shows key material.

use std::fmt;

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use subtle::ConstantTimeEq;
use x509_cert::der::{DecodePem, Encode};

use crate::error::KeyError;

/// A shared secret (consumer secret or token secret). `Debug` prints a
/// placeholder; equality is constant-time; the memory is wiped when it is
/// dropped.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl zeroize::ZeroizeOnDrop for Secret {}

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for signing or storing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// An RSA private key for the RSA-SHA* methods.
///
/// RSA-SHA256 and RSA-SHA512 sign through ring, whose private-key operation
/// runs in constant time; RSA-SHA1 (which ring does not sign) and keys ring
/// refuses (shorter than 2048 bits) sign through the `rsa` crate, which is
/// exposed to timing attacks (RUSTSEC-2023-0071; SECURITY.md says who is
/// affected).
#[derive(Clone)]
pub struct RsaPrivateKey {
    pub(crate) key: rsa::PrivateKey,
    pub(crate) constant_time: Option<std::sync::Arc<ring::signature::RsaKeyPair>>,
}

impl RsaPrivateKey {
    fn new(key: rsa::PrivateKey) -> Self {
        use rsa::pkcs8::EncodePrivateKey;
        let constant_time = key
            .to_pkcs8_der()
            .ok()
            .and_then(|der| ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes()).ok())
            .map(std::sync::Arc::new);
        Self { key, constant_time }
    }

    /// Reads a PEM private key in PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8
    /// (`PRIVATE KEY`) form.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        rsa::PrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| rsa::PrivateKey::from_pkcs8_pem(pem))
            .map(Self::new)
            .map_err(|_| KeyError::InvalidPrivateKey)
    }

    /// Reads a DER private key in PKCS#8 or PKCS#1 form (what a PKCS#12
    /// file holds, once decrypted).
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        rsa::PrivateKey::from_pkcs8_der(der)
            .or_else(|_| rsa::PrivateKey::from_pkcs1_der(der))
            .map(Self::new)
            .map_err(|_| KeyError::InvalidPrivateKey)
    }

    /// Whether RSA-SHA256 and RSA-SHA512 sign in constant time with this
    /// key (ring accepts it).
    pub fn signs_in_constant_time(&self) -> bool {
        self.constant_time.is_some()
    }

    /// The matching public key.
    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey(self.key.to_public_key())
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaPrivateKey(<redacted>)")
    }
}

/// An RSA public key, to verify RSA-SHA* signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey(pub(crate) rsa::PublicKey);

impl RsaPublicKey {
    /// Reads a PEM public key: SubjectPublicKeyInfo (`PUBLIC KEY`), PKCS#1
    /// (`RSA PUBLIC KEY`), or the key inside an X.509 `CERTIFICATE`.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if let Ok(key) = rsa::PublicKey::from_public_key_pem(pem) {
            return Ok(Self(key));
        }
        if let Ok(key) = rsa::PublicKey::from_pkcs1_pem(pem) {
            return Ok(Self(key));
        }
        let cert = x509_cert::Certificate::from_pem(pem).map_err(|_| KeyError::InvalidPublicKey)?;
        let spki_der = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|_| KeyError::InvalidPublicKey)?;
        rsa::PublicKey::from_public_key_der(&spki_der)
            .map(Self)
            .map_err(|_| KeyError::InvalidPublicKey)
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaPublicKey(..)")
    }
}

/// What a request is signed with.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum SigningKey<'a> {
    /// The consumer secret and the token secret (empty when there is no
    /// token), for HMAC-SHA* and PLAINTEXT.
    Shared {
        /// The consumer (client) secret.
        consumer_secret: &'a Secret,
        /// The token secret, if the request carries a token.
        token_secret: Option<&'a Secret>,
    },
    /// The consumer's RSA private key, for RSA-SHA*.
    Rsa(&'a RsaPrivateKey),
    /// The shared secrets made ready once for one HMAC method (signs
    /// only with that method).
    Hmac(&'a crate::signature::HmacKey),
}

/// What a request's signature is checked against.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum VerifyingKey<'a> {
    /// The consumer secret and the token secret (empty when there is no
    /// token), for HMAC-SHA* and PLAINTEXT.
    Shared {
        /// The consumer (client) secret.
        consumer_secret: &'a Secret,
        /// The token secret, if the request carries a token.
        token_secret: Option<&'a Secret>,
    },
    /// The consumer's RSA public key, for RSA-SHA*.
    Rsa(&'a RsaPublicKey),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        let key = SigningKey::Shared {
            consumer_secret: &s,
            token_secret: Some(&s),
        };
        assert!(!format!("{key:?}").contains("hunter2"));
    }

    #[test]
    fn garbage_pem_is_an_error() {
        assert_eq!(
            RsaPrivateKey::from_pem("not a key").unwrap_err(),
            KeyError::InvalidPrivateKey
        );
        assert_eq!(
            RsaPublicKey::from_pem(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            )
            .unwrap_err(),
            KeyError::InvalidPublicKey
        );
    }
}
