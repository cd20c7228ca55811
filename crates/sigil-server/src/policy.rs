//! What the provider accepts, with every default written down.

use std::ops::RangeInclusive;

use sigil_core::{Limits, SignatureMethod};

use crate::callback::{CallbackError, CallbackUrl};

/// How a requested `oauth_callback` must match one of the client's
/// registered callback URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackRule {
    /// Scheme, host, port and path equal a registered URL exactly; the
    /// request may add a query (state the client wants back). The default.
    Exact,
    /// The callback starts with a registered URL, at a boundary: the next
    /// character after the registered prefix is the end, `/`, `?` or `#`
    /// (or the registered URL itself ends with `/`). So a registered
    /// `https://app.example/cb` allows `https://app.example/cb/done` but not
    /// `https://app.example/cb.evil.example`.
    Prefix,
}

/// Provider policy. [`Policy::default`] is safe for production behind TLS.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Accepted clock skew, seconds, in the past and in the future.
    /// Default 300.
    pub timestamp_window: u64,
    /// How long a nonce is remembered, seconds. It must cover the timestamp
    /// window on both sides, or a request could be replayed once its nonce is
    /// forgotten; [`Policy::validate`] refuses a shorter one. Default 600
    /// (twice the window: a request stamped `window` seconds in the future
    /// stays acceptable until `2 × window` from now).
    pub nonce_lifetime: u64,
    /// Signature methods accepted. Default: all seven.
    pub signature_methods: Vec<SignatureMethod>,
    /// Whether PLAINTEXT needs https (it sends the secrets). Default `true`;
    /// a loopback URL counts as secure.
    pub plaintext_requires_tls: bool,
    /// Whether every OAuth request needs https. Default `true`; a loopback
    /// URL counts as secure.
    pub require_tls: bool,
    /// The public base URL (scheme, host, optional port, optional path
    /// prefix) clients use. The signature base string is built from it and
    /// the request's path, never from the `Host` header. `None`: the front
    /// end must pass absolute URLs.
    pub public_base_url: Option<String>,
    /// Accepted length of consumer keys, tokens and verifiers. Default
    /// 1..=256. Every value must be printable ASCII without spaces.
    pub key_length: RangeInclusive<usize>,
    /// Accepted nonce length. Default 1..=128, so that the RFC's own examples
    /// (`wIjqoS`, 6 characters) pass. Printable ASCII without spaces.
    pub nonce_length: RangeInclusive<usize>,
    /// How long temporary credentials live, seconds. Default 600.
    pub temporary_lifetime: u64,
    /// Whether `oob` callbacks are allowed at all (each client must also
    /// allow them). Default `true`.
    pub allow_oob: bool,
    /// How callbacks must match the registered ones. Default
    /// [`CallbackRule::Exact`].
    pub callback_rule: CallbackRule,
    /// Realms the provider knows; requests for others are refused. Empty:
    /// any realm a client is allowed.
    pub realms: Vec<String>,
    /// The realm named in `WWW-Authenticate` on 401 answers.
    pub www_authenticate_realm: String,
    /// Parser bounds: header length, parameter count, body size.
    pub limits: Limits,
    /// Signed requests (so nonces) accepted per client in each timestamp
    /// window, counted per process; beyond it, 429 `too_many_requests` and
    /// no nonce is stored. Bounds what one client can put in the nonce
    /// store. Default `None`: no limit.
    pub max_nonces_per_client: Option<u64>,
    /// Requests stamped earlier than this Unix time are refused, whatever
    /// the window says. Set it past every timestamp whose nonce only a
    /// previous process remembered (see `MemoryNonceStore::backed_by`), so
    /// that a request captured before a restart cannot be replayed after
    /// it. Default `None`.
    pub timestamps_from: Option<u64>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            timestamp_window: 300,
            nonce_lifetime: 600,
            signature_methods: SignatureMethod::ALL.to_vec(),
            plaintext_requires_tls: true,
            require_tls: true,
            public_base_url: None,
            key_length: 1..=256,
            nonce_length: 1..=128,
            temporary_lifetime: 600,
            allow_oob: true,
            callback_rule: CallbackRule::Exact,
            realms: Vec::new(),
            www_authenticate_realm: "sigil".to_owned(),
            limits: Limits::DEFAULT,
            max_nonces_per_client: None,
            timestamps_from: None,
        }
    }
}

/// A policy that would leave a hole.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// The nonce memory is shorter than the span in which a timestamp stays
    /// acceptable, so a request could be replayed after its nonce is
    /// forgotten.
    #[error("nonce_lifetime ({nonce}s) must be at least twice timestamp_window ({window}s)")]
    NonceLifetimeTooShort {
        /// The configured nonce lifetime.
        nonce: u64,
        /// The configured timestamp window.
        window: u64,
    },
    /// No signature method is allowed.
    #[error("no signature method allowed")]
    NoSignatureMethod,
    /// The public base URL is not an absolute http(s) URL.
    #[error("public base URL must be an absolute http or https URL without query")]
    BadPublicUrl,
}

impl Policy {
    /// Checks the policy for holes: nonce memory shorter than twice the
    /// timestamp window, no method allowed, a malformed public URL.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.nonce_lifetime < self.timestamp_window.saturating_mul(2) {
            return Err(PolicyError::NonceLifetimeTooShort {
                nonce: self.nonce_lifetime,
                window: self.timestamp_window,
            });
        }
        if self.signature_methods.is_empty() {
            return Err(PolicyError::NoSignatureMethod);
        }
        if let Some(url) = &self.public_base_url {
            let ok = (url.starts_with("http://") || url.starts_with("https://"))
                && !url.contains('?')
                && !url.contains('#')
                && sigil_core::BaseUri::parse(url).is_ok();
            if !ok {
                return Err(PolicyError::BadPublicUrl);
            }
        }
        Ok(())
    }

    /// Checks `callback` against the client's `registered` callbacks under
    /// this policy's rule, on the WHATWG parse a browser makes of both
    /// (see [`CallbackUrl`]). `oob` is handled apart. Registered entries
    /// that do not parse match nothing.
    pub fn check_callback(
        &self,
        callback: &str,
        registered: &[String],
    ) -> Result<CallbackUrl, CallbackError> {
        let asked = CallbackUrl::parse(callback)?;
        let allowed = registered.iter().any(|r| {
            CallbackUrl::parse(r).is_ok_and(|reg| asked.matches(&reg, self.callback_rule))
        });
        if allowed {
            Ok(asked)
        } else {
            Err(CallbackError::NotRegistered)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid_and_short_nonce_memory_is_not() {
        assert_eq!(Policy::default().validate(), Ok(()));
        let flask_like = Policy {
            timestamp_window: 600,
            nonce_lifetime: 60,
            ..Policy::default()
        };
        assert!(matches!(
            flask_like.validate(),
            Err(PolicyError::NonceLifetimeTooShort { .. })
        ));
    }

    #[test]
    fn callback_rules() {
        let registered = vec!["https://app.example/cb".to_owned()];
        let exact = Policy::default();
        let allowed = |p: &Policy, cb: &str, reg: &[String]| p.check_callback(cb, reg).is_ok();
        assert!(allowed(&exact, "https://app.example/cb", &registered));
        assert!(allowed(
            &exact,
            "https://app.example/cb?state=1",
            &registered
        ));
        assert!(!allowed(&exact, "https://app.example/cb/x", &registered));
        assert!(!allowed(&exact, "https://evil.example/cb", &registered));
        assert_eq!(
            exact.check_callback("javascript:alert(1)", &registered),
            Err(CallbackError::NotWeb)
        );
        let loopback = vec!["http://127.0.0.1:9/cb".to_owned()];
        assert!(allowed(&exact, "http://127.0.0.1:53124/cb?s=1", &loopback));
        assert_eq!(
            exact.check_callback("http://evil.example\\@127.0.0.1:9/cb", &loopback),
            Err(CallbackError::Backslash)
        );
        assert_eq!(
            exact.check_callback("http://user:pw@127.0.0.1:9/cb", &loopback),
            Err(CallbackError::UserInfo)
        );
        let prefix = Policy {
            callback_rule: CallbackRule::Prefix,
            ..Policy::default()
        };
        assert!(allowed(&prefix, "https://app.example/cb/x", &registered));
        assert!(!allowed(
            &prefix,
            "https://app.example/cb.evil.example/",
            &registered
        ));
    }
}
