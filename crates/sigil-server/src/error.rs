//! OAuth errors: the RFC status, a Problem Reporting name, and a short,
//! stable reason. Never a secret, never the expected signature.

use std::fmt;

use crate::http::HttpResponse;

/// The `oauth_problem` values of the OAuth Problem Reporting extension that
/// Sigil reports, plus `temporarily_unavailable` for a failed store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Problem {
    /// A required parameter is missing.
    ParameterAbsent,
    /// A parameter is malformed, duplicated, misplaced or not allowed.
    ParameterRejected,
    /// The signature method is unknown or not allowed.
    SignatureMethodRejected,
    /// The timestamp is outside the accepted window.
    TimestampRefused,
    /// The nonce was used before.
    NonceUsed,
    /// The signature does not match.
    SignatureInvalid,
    /// The consumer key is unknown.
    ConsumerKeyUnknown,
    /// The consumer key is known but disabled.
    ConsumerKeyRejected,
    /// The token is unknown, of the wrong kind, or belongs to another client.
    TokenRejected,
    /// The token has expired.
    TokenExpired,
    /// The token was already used.
    TokenUsed,
    /// The verifier is wrong or the token was not approved.
    VerifierInvalid,
    /// `oauth_version` is not `1.0`.
    VersionRejected,
    /// The request asks for something the client or token may not have.
    PermissionDenied,
    /// The request was not made over TLS where the policy requires it.
    TlsRequired,
    /// The body is larger than the limit.
    BodyTooLarge,
    /// 429: the client sent more signed requests in this timestamp window
    /// than the policy allows (a Sigil extension, like
    /// `temporarily_unavailable`).
    TooManyRequests,
    /// A store failed; nothing was decided. Try again.
    TemporarilyUnavailable,
}

impl Problem {
    /// The `oauth_problem` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ParameterAbsent => "parameter_absent",
            Self::ParameterRejected => "parameter_rejected",
            Self::SignatureMethodRejected => "signature_method_rejected",
            Self::TimestampRefused => "timestamp_refused",
            Self::NonceUsed => "nonce_used",
            Self::SignatureInvalid => "signature_invalid",
            Self::ConsumerKeyUnknown => "consumer_key_unknown",
            Self::ConsumerKeyRejected => "consumer_key_rejected",
            Self::TokenRejected => "token_rejected",
            Self::TokenExpired => "token_expired",
            Self::TokenUsed => "token_used",
            Self::VerifierInvalid => "verifier_invalid",
            Self::VersionRejected => "version_rejected",
            Self::PermissionDenied => "permission_denied",
            Self::TlsRequired => "tls_required",
            Self::BodyTooLarge => "body_too_large",
            Self::TooManyRequests => "too_many_requests",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused request: what to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// The HTTP status: 400, 401, 403, 413 or 503.
    pub status: u16,
    /// The problem.
    pub problem: Problem,
    /// A short, stable reason a client developer can act on
    /// (`oauth_problem_advice`).
    pub advice: &'static str,
    /// For `parameter_absent`: the missing parameters.
    pub parameters_absent: Vec<&'static str>,
    /// For `timestamp_refused`: the accepted range (`oauth_acceptable_timestamps`).
    pub acceptable_timestamps: Option<(u64, u64)>,
}

impl OAuthError {
    /// An error with a status, a problem and advice.
    pub fn new(status: u16, problem: Problem, advice: &'static str) -> Self {
        Self {
            status,
            problem,
            advice,
            parameters_absent: Vec::new(),
            acceptable_timestamps: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(problem: Problem, advice: &'static str) -> Self {
        Self::new(400, problem, advice)
    }

    /// 401 Unauthorized.
    pub fn unauthorized(problem: Problem, advice: &'static str) -> Self {
        Self::new(401, problem, advice)
    }

    /// 503: a store failed.
    pub fn unavailable() -> Self {
        Self::new(
            503,
            Problem::TemporarilyUnavailable,
            "storage unavailable, try again",
        )
    }

    /// The answer: a form-encoded body with `oauth_problem` and
    /// `oauth_problem_advice` (plus `oauth_parameters_absent` or
    /// `oauth_acceptable_timestamps`), and `WWW-Authenticate` on a 401.
    pub fn to_response(&self, realm: &str) -> HttpResponse {
        let mut pairs: Vec<(&str, String)> = vec![
            ("oauth_problem", self.problem.as_str().to_owned()),
            ("oauth_problem_advice", self.advice.to_owned()),
        ];
        if !self.parameters_absent.is_empty() {
            pairs.push(("oauth_parameters_absent", self.parameters_absent.join("&")));
        }
        if let Some((low, high)) = self.acceptable_timestamps {
            pairs.push(("oauth_acceptable_timestamps", format!("{low}-{high}")));
        }
        let body = sigil_core::encoding::form_encode(pairs.iter().map(|(n, v)| (*n, v.as_str())));
        let mut response = HttpResponse::form(self.status, body);
        if self.status == 401 {
            let realm: String = realm
                .chars()
                .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
                .collect();
            response
                .headers
                .push(("WWW-Authenticate", format!("OAuth realm=\"{realm}\"")));
        }
        response
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.problem, self.advice)
    }
}

impl std::error::Error for OAuthError {}
