//! Error types. Messages are short and stable, and never carry a secret or a
//! signature.

use thiserror::Error;

/// Why a request (its URL, Authorization header, query or body) could not be
/// read as an OAuth 1.0a request.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// The request URL is not an absolute `scheme://host/path` URL.
    #[error("invalid request URL: {0}")]
    InvalidUrl(&'static str),
    /// A `%` not followed by two hex digits.
    #[error("bad percent-encoding")]
    BadPercentEncoding,
    /// A decoded name or value is not UTF-8.
    #[error("parameter is not UTF-8")]
    InvalidUtf8,
    /// The Authorization header is longer than the configured limit.
    #[error("authorization header too long")]
    HeaderTooLong,
    /// The Authorization header does not follow RFC 5849 §3.5.1.
    #[error("malformed authorization header: {0}")]
    MalformedHeader(&'static str),
    /// The Authorization header carries a parameter that is neither `realm`
    /// nor a protocol (`oauth_*`, `xoauth_*`) parameter.
    #[error("unexpected parameter in authorization header")]
    UnexpectedHeaderParameter,
    /// More parameters than the configured limit.
    #[error("too many parameters")]
    TooManyParameters,
    /// The body is larger than the configured limit.
    #[error("body too large")]
    BodyTooLarge,
    /// A protocol parameter appears more than once.
    #[error("duplicate protocol parameter {0}")]
    DuplicateParameter(String),
    /// Protocol parameters travelled in more than one place (header, query,
    /// body).
    #[error("protocol parameters in more than one location")]
    MultipleLocations,
    /// `oauth_signature_method` names no method Sigil knows.
    #[error("unsupported signature method")]
    UnsupportedSignatureMethod,
}

/// Why a signature could not be made.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SignError {
    /// The key does not fit the signature method (an RSA key for HMAC, or
    /// shared secrets for RSA).
    #[error("key does not match the signature method")]
    KeyMismatch,
    /// The RSA operation failed.
    #[error("RSA signing failed")]
    Rsa,
    /// A body hash was set for a form-encoded body, which the OAuth Body Hash
    /// extension forbids.
    #[error("oauth_body_hash is not allowed with a form-encoded body")]
    BodyHashWithFormBody,
    /// Protocol parameters cannot go into the body of a request whose body is
    /// not form-encoded.
    #[error("protocol parameters can go in the body only for a form-encoded body")]
    BodyPlacementNeedsForm,
    /// The request itself could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Why a request failed verification.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    /// `oauth_signature` is missing.
    #[error("missing oauth_signature")]
    MissingSignature,
    /// `oauth_signature_method` is missing.
    #[error("missing oauth_signature_method")]
    MissingSignatureMethod,
    /// The key does not fit the signature method.
    #[error("key does not match the signature method")]
    KeyMismatch,
    /// The signature does not match.
    #[error("invalid signature")]
    InvalidSignature,
    /// `oauth_body_hash` was sent with a form-encoded body.
    #[error("oauth_body_hash is not allowed with a form-encoded body")]
    BodyHashWithFormBody,
    /// `oauth_body_hash` was sent with a method that has no body hash
    /// algorithm (PLAINTEXT).
    #[error("oauth_body_hash is not defined for this signature method")]
    BodyHashNotApplicable,
    /// `oauth_body_hash` does not match the body.
    #[error("body hash does not match")]
    BodyHashMismatch,
}

/// Why a key could not be loaded.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    /// The PEM text is not an RSA private key in PKCS#1 or PKCS#8 form.
    #[error("not an RSA private key (PKCS#1 or PKCS#8 PEM)")]
    InvalidPrivateKey,
    /// The PEM text is not an RSA public key (SPKI or PKCS#1) or an X.509
    /// certificate carrying one.
    #[error("not an RSA public key or certificate (PEM)")]
    InvalidPublicKey,
}
