//! The signature methods: the one place that knows the list.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;

/// An OAuth 1.0a signature method (RFC 5849 §3.4 and the SHA-2 variants that
/// services use in practice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignatureMethod {
    /// `HMAC-SHA1` (RFC 5849 §3.4.2).
    HmacSha1,
    /// `HMAC-SHA256` (NetSuite, WooCommerce).
    HmacSha256,
    /// `HMAC-SHA512`.
    HmacSha512,
    /// `RSA-SHA1`, RSASSA-PKCS1-v1_5 (RFC 5849 §3.4.3).
    RsaSha1,
    /// `RSA-SHA256`, RSASSA-PKCS1-v1_5.
    RsaSha256,
    /// `RSA-SHA512`, RSASSA-PKCS1-v1_5.
    RsaSha512,
    /// `PLAINTEXT` (RFC 5849 §3.4.4): the shared secrets, unhashed.
    Plaintext,
}

/// The digest behind a signature method, also used for `oauth_body_hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl SignatureMethod {
    /// Every method, in a stable order.
    pub const ALL: [SignatureMethod; 7] = [
        Self::HmacSha1,
        Self::HmacSha256,
        Self::HmacSha512,
        Self::RsaSha1,
        Self::RsaSha256,
        Self::RsaSha512,
        Self::Plaintext,
    ];

    /// The name as it appears in `oauth_signature_method`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HMAC-SHA1",
            Self::HmacSha256 => "HMAC-SHA256",
            Self::HmacSha512 => "HMAC-SHA512",
            Self::RsaSha1 => "RSA-SHA1",
            Self::RsaSha256 => "RSA-SHA256",
            Self::RsaSha512 => "RSA-SHA512",
            Self::Plaintext => "PLAINTEXT",
        }
    }

    /// Whether the method signs with an RSA key pair.
    pub const fn is_rsa(self) -> bool {
        matches!(self, Self::RsaSha1 | Self::RsaSha256 | Self::RsaSha512)
    }

    /// Whether the method is HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512.
    pub const fn is_hmac(self) -> bool {
        matches!(self, Self::HmacSha1 | Self::HmacSha256 | Self::HmacSha512)
    }

    /// Whether the method uses the shared secrets (HMAC or PLAINTEXT).
    pub const fn uses_shared_secrets(self) -> bool {
        !self.is_rsa()
    }

    /// The digest the method uses; `None` for PLAINTEXT, which has none (and so
    /// no body hash).
    pub const fn digest(self) -> Option<DigestAlgorithm> {
        match self {
            Self::HmacSha1 | Self::RsaSha1 => Some(DigestAlgorithm::Sha1),
            Self::HmacSha256 | Self::RsaSha256 => Some(DigestAlgorithm::Sha256),
            Self::HmacSha512 | Self::RsaSha512 => Some(DigestAlgorithm::Sha512),
            Self::Plaintext => None,
        }
    }
}

impl FromStr for SignatureMethod {
    type Err = ParseError;

    /// Parses a method name exactly as registered (names are case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or(ParseError::UnsupportedSignatureMethod)
    }
}

impl fmt::Display for SignatureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_an_error() {
        for m in SignatureMethod::ALL {
            assert_eq!(m.as_str().parse::<SignatureMethod>(), Ok(m));
        }
        assert_eq!(
            "hmac-sha1".parse::<SignatureMethod>(),
            Err(ParseError::UnsupportedSignatureMethod)
        );
        assert_eq!(
            "RSA-MD5".parse::<SignatureMethod>(),
            Err(ParseError::UnsupportedSignatureMethod)
        );
    }
}
