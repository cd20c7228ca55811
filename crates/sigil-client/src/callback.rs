//! Reading the callback: the URL the resource owner's browser arrived at
//! after the authorization page (RFC 5849 §2.2). It must name the request
//! token this client holds; it carries the verifier, or says the resource
//! owner said no.

use crate::flow::TemporaryCredentials;

/// Why a callback gives no verifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The resource owner (or the service) declined: `error=access_denied`
    /// (with `error_description` when given), or X's `denied=TOKEN`.
    #[error("authorization denied ({error}{})", .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        /// The service's reason code (`access_denied`, `denied`...).
        error: String,
        /// The service's description, when it gave one.
        description: Option<String>,
    },
    /// `oauth_token` is missing or not this client's request token: the
    /// callback belongs to another attempt (or someone else's).
    #[error("the callback is not for this request token")]
    WrongToken,
    /// The token matches but there is no `oauth_verifier`.
    #[error("the callback carries no oauth_verifier")]
    NoVerifier,
    /// Not a URL, or a parameter given twice.
    #[error("the callback is malformed: {0}")]
    Malformed(&'static str),
}

impl TemporaryCredentials {
    /// The verifier from the URL the browser arrived at: an absolute URL
    /// (`http://127.0.0.1:8080/callback?oauth_token=…&oauth_verifier=…`)
    /// or the request target a local listener saw (`/callback?…`). The
    /// query is read as a browser would send it (the WHATWG URL parse, then
    /// form decoding); `oauth_token` must be this request token.
    ///
    /// ```
    /// use sigil_client::{CallbackError, TemporaryCredentials, Token};
    ///
    /// let temporary = TemporaryCredentials { token: Token::new("hh5s93j4hdidpola", "hdhd0244k9j7ao03"), extra: vec![] };
    /// let verifier = temporary.verifier_from_callback(
    ///     "http://printer.example.com/ready?oauth_token=hh5s93j4hdidpola&oauth_verifier=hfdp7dh39dks9884",
    /// )?;
    /// assert_eq!(verifier, "hfdp7dh39dks9884");
    /// assert!(matches!(
    ///     temporary.verifier_from_callback("/ready?error=access_denied"),
    ///     Err(CallbackError::Denied { .. })
    /// ));
    /// # Ok::<(), CallbackError>(())
    /// ```
    pub fn verifier_from_callback(&self, arrived: &str) -> Result<String, CallbackError> {
        // A request target is resolved against a placeholder origin: only
        // its query matters.
        let url = if arrived.starts_with('/') {
            url::Url::parse("http://callback.invalid").and_then(|base| base.join(arrived))
        } else {
            url::Url::parse(arrived)
        }
        .map_err(|_| CallbackError::Malformed("not a URL"))?;
        let mut token = None;
        let mut verifier = None;
        let mut error = None;
        let mut description = None;
        let mut denied = None;
        for (name, value) in url.query_pairs() {
            let slot = match name.as_ref() {
                "oauth_token" => &mut token,
                "oauth_verifier" => &mut verifier,
                "error" => &mut error,
                "error_description" => &mut description,
                "denied" => &mut denied,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(CallbackError::Malformed("a parameter given twice"));
            }
        }
        // A callback naming another request token is someone else's, a
        // denial included.
        if token.as_deref().is_some_and(|t| t != self.token.token) {
            return Err(CallbackError::WrongToken);
        }
        if let Some(error) = error {
            return Err(CallbackError::Denied { error, description });
        }
        if let Some(denied) = denied {
            return if denied == self.token.token {
                Err(CallbackError::Denied {
                    error: "denied".to_owned(),
                    description,
                })
            } else {
                Err(CallbackError::WrongToken)
            };
        }
        if token.as_deref() != Some(self.token.token.as_str()) {
            return Err(CallbackError::WrongToken);
        }
        verifier
            .filter(|v| !v.is_empty())
            .ok_or(CallbackError::NoVerifier)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::signer::Token;

    fn temporary() -> TemporaryCredentials {
        TemporaryCredentials {
            token: Token::new("tok en", "secret"),
            extra: Vec::new(),
        }
    }

    #[test]
    fn verifier_when_the_token_matches() {
        let t = temporary();
        assert_eq!(
            t.verifier_from_callback("/callback?oauth_token=tok+en&oauth_verifier=v%2F1")
                .unwrap(),
            "v/1"
        );
        assert_eq!(
            t.verifier_from_callback(
                "http://127.0.0.1:9/cb?x=1&oauth_token=tok%20en&oauth_verifier=abc#frag"
            )
            .unwrap(),
            "abc"
        );
    }

    #[test]
    fn another_token_is_refused() {
        let t = temporary();
        for url in [
            "/cb?oauth_token=other&oauth_verifier=abc",
            "/cb?oauth_verifier=abc",
            "/cb?oauth_token=tok%2520en&oauth_verifier=abc",
            "/cb?denied=other",
            "/cb?oauth_token=other&error=access_denied",
        ] {
            assert_eq!(
                t.verifier_from_callback(url),
                Err(CallbackError::WrongToken),
                "{url}"
            );
        }
    }

    #[test]
    fn denial_is_typed() {
        let t = temporary();
        assert_eq!(
            t.verifier_from_callback("/cb?error=access_denied&error_description=no+thanks"),
            Err(CallbackError::Denied {
                error: "access_denied".into(),
                description: Some("no thanks".into())
            })
        );
        assert_eq!(
            t.verifier_from_callback("/cb?denied=tok+en"),
            Err(CallbackError::Denied {
                error: "denied".into(),
                description: None
            })
        );
    }

    #[test]
    fn malformed_and_missing() {
        let t = temporary();
        assert_eq!(
            t.verifier_from_callback("/cb?oauth_token=tok+en"),
            Err(CallbackError::NoVerifier)
        );
        assert_eq!(
            t.verifier_from_callback("/cb?oauth_token=tok+en&oauth_verifier="),
            Err(CallbackError::NoVerifier)
        );
        assert!(matches!(
            t.verifier_from_callback("/cb?oauth_token=tok+en&oauth_verifier=a&oauth_verifier=b"),
            Err(CallbackError::Malformed(_))
        ));
        assert!(matches!(
            t.verifier_from_callback("not a url"),
            Err(CallbackError::Malformed(_))
        ));
    }
}
