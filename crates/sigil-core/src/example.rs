//! The reference request used by the benchmarks and the allocation test: the
//! status update from X's (Twitter's) developer documentation, "Creating a
//! signature": 7 protocol parameters, 1 query and 1 form parameter.

#![doc(hidden)]

use std::borrow::Cow;

use crate::{OAuthParams, Secret, SignatureMethod};

/// The request URL.
pub const URL: &str = "https://api.twitter.com/1.1/statuses/update.json?include_entities=true";
/// The form body.
pub const BODY: &[u8] =
    b"status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21";
/// The body's content type.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// The signature X's documentation gives for HMAC-SHA1.
pub const HMAC_SHA1_SIGNATURE: &str = "hCtSmYh+iHYCEqBWrE7C7hYmtUk=";

/// The consumer secret and token secret of the example.
pub fn secrets() -> (Secret, Secret) {
    (
        Secret::new("kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"),
        Secret::new("LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"),
    )
}

/// The example's protocol parameters (without a signature) for `method`.
pub fn oauth(method: SignatureMethod) -> OAuthParams<'static> {
    OAuthParams {
        consumer_key: Some(Cow::Borrowed("xvz1evFS4wEEPTGEFPHBog")),
        token: Some(Cow::Borrowed(
            "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        )),
        signature_method: Some(method),
        timestamp: Some(Cow::Borrowed("1318622958")),
        nonce: Some(Cow::Borrowed("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg")),
        version: Some(Cow::Borrowed("1.0")),
        ..OAuthParams::default()
    }
}
