//! Cookies, sessions and CSRF tokens.
//!
//! A signed-in visitor carries a random session id in an HTTP-only,
//! SameSite=Lax cookie (`Secure` and `__Host-` prefixed when the public URL
//! is https); the database keeps only its hash and the session's CSRF
//! token, which every form of that session echoes. A signed-out visitor's
//! forms (sign in, sign up) use a double-submit token: a random cookie
//! whose value the form repeats. The id is new at every sign-in, so a
//! session planted before sign-in is worthless after it.

use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

/// The cookie names, which depend on whether cookies are `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct CookieNames {
    /// The session cookie.
    pub session: &'static str,
    /// The signed-out visitor's form token.
    pub form: &'static str,
    secure: bool,
}

impl CookieNames {
    /// The names for a site served over https (`secure`) or plain http.
    pub fn new(secure: bool) -> Self {
        if secure {
            Self {
                session: "__Host-sigil_session",
                form: "__Host-sigil_form",
                secure,
            }
        } else {
            Self {
                session: "sigil_session",
                form: "sigil_form",
                secure,
            }
        }
    }

    /// A `Set-Cookie` value that stores `value` under `name` for `max_age`
    /// seconds.
    pub fn set(&self, name: &str, value: &str, max_age: u64) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        ))
        .ok()
    }

    /// A `Set-Cookie` value that removes `name`.
    pub fn clear(&self, name: &str) -> Option<HeaderValue> {
        self.set(name, "", 0)
    }
}

/// Session ids, CSRF tokens and form tokens: 32 random bytes, hex.
pub const TOKEN_LEN: usize = 64;

/// The value of cookie `name`, if it looks like one of ours (64 hex
/// digits); anything else is ignored, never parsed further.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .filter(|v| is_token(v))
}

/// Whether `value` has the shape of a token we issue.
pub fn is_token(value: &str) -> bool {
    value.len() == TOKEN_LEN && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares a submitted token with the expected one in constant time.
pub fn tokens_match(submitted: Option<&str>, expected: &str) -> bool {
    match submitted {
        Some(s) if s.len() == expected.len() => bool::from(s.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn cookies_are_found_by_name_and_shape() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; sigil_session={A}; sigil_form=short"))
                .unwrap(),
        );
        assert_eq!(cookie(&headers, "sigil_session"), Some(A));
        assert_eq!(cookie(&headers, "sigil_form"), None, "not our shape");
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn secure_cookies_are_host_prefixed() {
        let names = CookieNames::new(true);
        assert_eq!(names.session, "__Host-sigil_session");
        let set = names.set(names.session, A, 60).unwrap();
        let set = set.to_str().unwrap();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.ends_with("; Secure")
        );
        let plain = CookieNames::new(false);
        let set = plain.set(plain.session, A, 60).unwrap();
        assert!(!set.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn tokens_must_match_exactly() {
        assert!(tokens_match(Some(A), A));
        assert!(!tokens_match(Some(&A[1..]), A));
        assert!(!tokens_match(None, A));
        assert!(!tokens_match(Some(&A.replace('0', "1")), A));
    }
}
