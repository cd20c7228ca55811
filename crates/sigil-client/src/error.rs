//! Client errors. A refusal carries what the server said.

/// Why a request could not be signed or was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request could not be signed.
    #[error("cannot sign: {0}")]
    Sign(String),
    /// The signature method needs a key the consumer does not have.
    #[error("the signature method needs a key this consumer lacks")]
    MissingKey,
    /// Body placement needs a form-encoded body.
    #[error("protocol parameters can go in the body only with a form body")]
    BodyPlacementNeedsForm,
    /// A streaming body cannot be signed.
    #[error("a streaming body cannot be signed; buffer it first")]
    StreamingBody,
    /// The operating system's random source failed.
    #[error("random source failed")]
    Random,
    /// The HTTP transport failed.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server's TLS certificate did not verify.
    #[error(
        "the TLS certificate of {url} did not verify ({detail}); if the server uses a private CA, trust it with --cacert FILE or SSL_CERT_FILE (HttpClientBuilder::add_root_file in the library)"
    )]
    Untrusted {
        /// The URL asked for.
        url: String,
        /// What the TLS library said.
        detail: String,
    },
    /// A private key could not be read (a PKCS#12 file with a wrong
    /// password, no key, or a key that is not RSA).
    #[error("key: {0}")]
    Key(String),
    /// A root certificate given to trust could not be read.
    #[error("root certificate: {0}")]
    Certificate(String),
    /// The server refused, with its status and what it said.
    #[error("{status}: {}", .problem.as_deref().or(.message.as_deref()).unwrap_or("refused"))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// `oauth_problem` from a form-encoded body (Problem Reporting).
        problem: Option<String>,
        /// `oauth_problem_advice`, or the message of an X/Twitter-style JSON
        /// error (`{"errors":[{"message":...}]}`), or the start of the body.
        message: Option<String>,
    },
    /// The answer was not what the protocol says (missing `oauth_token`,
    /// `oauth_callback_confirmed` not `true`...).
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl ClientError {
    /// Reads a refusal body: Problem Reporting form fields, or X's JSON.
    pub fn refused(status: u16, body: &[u8]) -> Self {
        let form = sigil_core::encoding::form_decode(body).unwrap_or_default();
        let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let problem = field("oauth_problem");
        let mut message = field("oauth_problem_advice");
        if let (None, Ok(json)) = (&message, serde_json::from_slice::<serde_json::Value>(body)) {
            message = json
                .pointer("/errors/0/message")
                .or_else(|| json.get("error"))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
        }
        if problem.is_none() && message.is_none() {
            let text = String::from_utf8_lossy(body);
            let short: String = text.chars().take(200).collect();
            if !short.trim().is_empty() {
                message = Some(short);
            }
        }
        Self::Refused {
            status,
            problem,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_problem_reporting_and_x_errors() {
        let e = ClientError::refused(
            401,
            b"oauth_problem=nonce_used&oauth_problem_advice=nonce%20already%20used",
        );
        assert_eq!(e.to_string(), "401: nonce_used");
        assert!(
            matches!(e, ClientError::Refused { message: Some(ref m), .. } if m == "nonce already used")
        );
        let x = ClientError::refused(
            401,
            br#"{"errors":[{"code":32,"message":"Could not authenticate you."}]}"#,
        );
        assert_eq!(x.to_string(), "401: Could not authenticate you.");
    }
}
