//! Callback URLs judged as a browser will follow them.
//!
//! The verifier is handed to whatever host the browser goes to after
//! approval, so a callback is parsed with the WHATWG URL standard (the `url`
//! crate), the parser browsers use, and compared on that parse. Input that
//! a raw reading and the WHATWG reading could disagree about is refused
//! outright rather than normalised: `http://evil.example\@127.0.0.1/cb` reads
//! as host 127.0.0.1 to a naive parser but as evil.example to every browser
//! (WHATWG treats `\` as `/` in http(s) URLs).

use std::fmt;

use url::{Host, Url};

/// Why a callback URL was refused. Each reason is short, stable and says
/// what to change; none repeats the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// Not an absolute `http://` or `https://` URL.
    NotWeb,
    /// Longer than [`CallbackUrl::MAX_LEN`].
    TooLong,
    /// Holds a byte outside printable ASCII (a space, a control character,
    /// non-ASCII text): browsers strip or re-encode such bytes.
    NotPrintable,
    /// Holds a backslash, which browsers read as `/` in http(s) URLs.
    Backslash,
    /// Carries user information (`user:pw@`), which can hide the real host.
    UserInfo,
    /// Carries a fragment, which the redirect could not append to.
    Fragment,
    /// The WHATWG parser refuses it.
    Unparseable,
    /// A browser would read a different scheme, host, port or path than
    /// was written (an IPv4 address in another notation, dot segments,
    /// characters a browser escapes): write the URL as the browser reads it.
    Changed(UrlPart),
    /// The callback is not one registered for this client.
    NotRegistered,
}

/// The part of a URL that a browser would read differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlPart {
    /// The host (another IPv4 notation, a percent-encoded host name).
    Host,
    /// The port (leading zeros, a sign).
    Port,
    /// The path (dot segments, characters a browser escapes).
    Path,
    /// The query (characters a browser escapes).
    Query,
}

impl CallbackError {
    /// The reason, for a Problem Reporting `oauth_problem_advice`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotWeb => "callback must be an absolute http:// or https:// URL",
            Self::TooLong => "callback is longer than 2000 characters",
            Self::NotPrintable => {
                "callback must be printable ASCII without spaces or control characters (percent-encode them)"
            }
            Self::Backslash => "callback must not contain a backslash (browsers read it as '/')",
            Self::UserInfo => {
                "callback must not contain user information (user@ or user:password@)"
            }
            Self::Fragment => "callback must not contain a #fragment",
            Self::Unparseable => "callback is not a URL a browser would follow",
            Self::Changed(UrlPart::Host) => {
                "callback's host is read differently by browsers (another notation for the address?); write it in its normal form"
            }
            Self::Changed(UrlPart::Port) => {
                "callback's port is read differently by browsers; write it in its normal form"
            }
            Self::Changed(UrlPart::Path) => {
                "callback's path is read differently by browsers (dot segments, characters a browser escapes); write it percent-encoded in its normal form"
            }
            Self::Changed(UrlPart::Query) => {
                "callback's query is read differently by browsers; percent-encode it"
            }
            Self::NotRegistered => "callback not registered for this client",
        }
    }
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for CallbackError {}

/// A callback URL that a browser reads exactly as written: http(s), a host,
/// no user information, no backslash, no fragment, printable ASCII, and a
/// scheme, host, port and path that the WHATWG parse leaves as they were.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackUrl {
    url: Url,
}

impl fmt::Debug for CallbackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CallbackUrl")
            .field(&self.url.as_str())
            .finish()
    }
}

impl fmt::Display for CallbackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

impl CallbackUrl {
    /// The longest callback accepted, in bytes.
    pub const MAX_LEN: usize = 2000;

    /// Parses `input` as a browser would and refuses it unless the browser's
    /// reading is the one written.
    ///
    /// ```
    /// use sigil_server::{CallbackError, CallbackUrl};
    /// let cb = CallbackUrl::parse("http://127.0.0.1:9/cb?state=1").unwrap();
    /// assert_eq!(cb.authority(), "127.0.0.1:9");
    /// assert_eq!(
    ///     CallbackUrl::parse("http://evil.example\\@127.0.0.1:9/cb"),
    ///     Err(CallbackError::Backslash)
    /// );
    /// assert_eq!(
    ///     CallbackUrl::parse("http://user:pw@127.0.0.1:9/cb"),
    ///     Err(CallbackError::UserInfo)
    /// );
    /// ```
    pub fn parse(input: &str) -> Result<Self, CallbackError> {
        if input.len() > Self::MAX_LEN {
            return Err(CallbackError::TooLong);
        }
        if !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CallbackError::NotPrintable);
        }
        if input.contains('\\') {
            return Err(CallbackError::Backslash);
        }
        let lower_head = input.get(..8).unwrap_or(input).to_ascii_lowercase();
        if !(lower_head.starts_with("http://") || lower_head.starts_with("https://")) {
            return Err(CallbackError::NotWeb);
        }
        if input.contains('#') {
            return Err(CallbackError::Fragment);
        }
        let url = Url::parse(input).map_err(|_| CallbackError::Unparseable)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(CallbackError::UserInfo);
        }
        // The raw reading: everything after "scheme://" up to the first
        // `/` or `?` is the authority; a browser must see the same.
        let after_scheme = input.split_once("://").map_or("", |(_, rest)| rest);
        let authority_end = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
        let (authority, rest) = after_scheme.split_at(authority_end);
        if authority.contains('@') {
            return Err(CallbackError::UserInfo);
        }
        let (raw_host, raw_port) = split_authority(authority);
        let host = url.host_str().ok_or(CallbackError::Unparseable)?;
        if !raw_host.eq_ignore_ascii_case(host) {
            return Err(CallbackError::Changed(UrlPart::Host));
        }
        let default = if url.scheme() == "https" { 443 } else { 80 };
        let raw_port = match raw_port {
            None => None,
            Some(text) => match text.parse::<u16>() {
                Ok(port) if text.bytes().all(|b| b.is_ascii_digit()) => {
                    (port != default).then_some(port)
                }
                _ => return Err(CallbackError::Changed(UrlPart::Port)),
            },
        };
        if raw_port != url.port() {
            return Err(CallbackError::Changed(UrlPart::Port));
        }
        let raw_path = rest
            .find('?')
            .map_or(rest, |end| rest.get(..end).unwrap_or(rest));
        let raw_path = if raw_path.is_empty() { "/" } else { raw_path };
        if raw_path != url.path() {
            return Err(CallbackError::Changed(UrlPart::Path));
        }
        let raw_query = rest.split_once('?').map(|(_, q)| q);
        if raw_query.filter(|q| !q.is_empty()) != url.query().filter(|q| !q.is_empty()) {
            return Err(CallbackError::Changed(UrlPart::Query));
        }
        Ok(Self { url })
    }

    /// The URL as browsers serialise it.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `host` or `host:port` (port only when not the scheme's default), as
    /// a browser reads it: what the consent page names.
    pub fn authority(&self) -> String {
        match (self.url.host_str(), self.url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        }
    }

    /// Whether the host is a loopback address (`127.0.0.0/8`, `::1`) or
    /// `localhost`.
    pub fn is_loopback(&self) -> bool {
        match self.url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
    }

    /// Scheme, host, port and path equal (the query aside).
    fn same_endpoint(&self, other: &Self) -> bool {
        self.same_origin(other) && self.url.path() == other.url.path()
    }

    fn same_origin(&self, other: &Self) -> bool {
        self.url.scheme() == other.url.scheme()
            && self.url.host() == other.url.host()
            && self.url.port() == other.url.port()
    }

    /// Whether this callback may be used where `registered` was registered,
    /// under `rule`. A registered loopback callback matches any port (RFC
    /// 8252 §7.3's rule for native apps), same scheme, host and path.
    pub fn matches(&self, registered: &Self, rule: crate::CallbackRule) -> bool {
        let loopback = registered.is_loopback()
            && self.is_loopback()
            && self.url.scheme() == registered.url.scheme()
            && self.url.host() == registered.url.host()
            && self.url.path() == registered.url.path();
        if loopback {
            return true;
        }
        match rule {
            crate::CallbackRule::Exact => {
                (self.same_endpoint(registered) && registered.url.query().is_none())
                    || self.url.as_str() == registered.url.as_str()
            }
            crate::CallbackRule::Prefix => {
                let (asked, reg) = (self.url.path(), registered.url.path());
                self.same_origin(registered)
                    && asked.strip_prefix(reg).is_some_and(|rest| {
                        reg.ends_with('/') || rest.is_empty() || rest.starts_with('/')
                    })
                    && (registered.url.query().is_none()
                        || self.url.query() == registered.url.query())
            }
        }
    }
}

/// Splits `host[:port]` (an IPv6 literal keeps its brackets).
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => {
                let (host, rest) = authority.split_at(end + 1);
                (host, rest.strip_prefix(':'))
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CallbackRule;

    fn parse(s: &str) -> Result<CallbackUrl, CallbackError> {
        CallbackUrl::parse(s)
    }

    #[test]
    fn confusing_callbacks_are_refused_with_a_reason() {
        use CallbackError::*;
        let cases: &[(&str, CallbackError)] = &[
            ("http://evil.example\\@127.0.0.1:9/cb", Backslash),
            ("http://user:pw@127.0.0.1:9/cb", UserInfo),
            ("http://user@127.0.0.1:9/cb", UserInfo),
            ("http://@127.0.0.1:9/cb", UserInfo),
            ("http://127.0.0.1:9/c b", NotPrintable),
            ("http://127.0.0.1:9/c\tb", NotPrintable),
            ("http://127.0.0.1:9/cb\n", NotPrintable),
            ("http://ex\u{e4}mple.com/cb", NotPrintable),
            ("javascript:alert(1)", NotWeb),
            ("ftp://a.example/cb", NotWeb),
            ("//a.example/cb", NotWeb),
            ("https://a.example/cb#x", Fragment),
            ("http://127.1:9/cb", Changed(UrlPart::Host)),
            ("http://0x7f.0.0.1/cb", Changed(UrlPart::Host)),
            ("http://2130706433/cb", Changed(UrlPart::Host)),
            ("http://a.example%2eevil.example/cb", Changed(UrlPart::Host)),
            ("http://a.example:+80/cb", Unparseable),
            ("http://a.example/a/../cb", Changed(UrlPart::Path)),
            ("http://a.example/%2e%2e/cb", Changed(UrlPart::Path)),
            ("http://a.example/cb\"x", Changed(UrlPart::Path)),
            ("http://a.example/cb?<x>", Changed(UrlPart::Query)),
            ("http:/a.example/cb", NotWeb),
            ("http:a.example/cb", NotWeb),
            ("http://[::1/cb", Unparseable),
            ("http://a.example:99999/cb", Unparseable),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).as_ref().err(), Some(want), "{input}");
        }
    }

    #[test]
    fn ordinary_callbacks_are_kept_as_written() {
        for input in [
            "https://app.example/cb",
            "https://app.example:8443/cb?state=a%20b&x=1",
            "http://127.0.0.1:53124/callback",
            "http://[::1]:9/cb",
            "http://localhost/cb",
            "HTTPS://APP.example/cb",
        ] {
            let cb = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert!(cb.as_str().eq_ignore_ascii_case(input) || cb.as_str() == format!("{input}/"));
        }
        assert_eq!(
            parse("https://app.example")
                .map(|c| c.to_string())
                .ok()
                .as_deref(),
            Some("https://app.example/")
        );
        assert_eq!(
            parse("https://app.example:443/x")
                .map(|c| c.authority())
                .ok()
                .as_deref(),
            Some("app.example")
        );
        assert_eq!(
            parse("http://[::1]:9/cb")
                .map(|c| c.authority())
                .ok()
                .as_deref(),
            Some("[::1]:9")
        );
    }

    #[test]
    fn matching_rules() {
        let reg = |s: &str| parse(s).expect("registered");
        let ok = |asked: &str, registered: &str, rule| {
            parse(asked).is_ok_and(|a| a.matches(&reg(registered), rule))
        };
        let exact = CallbackRule::Exact;
        assert!(ok(
            "https://app.example/cb",
            "https://app.example/cb",
            exact
        ));
        assert!(ok(
            "https://app.example/cb?state=1",
            "https://app.example/cb",
            exact
        ));
        assert!(ok(
            "https://app.example:443/cb",
            "https://app.example/cb",
            exact
        ));
        assert!(!ok(
            "https://app.example/cb/x",
            "https://app.example/cb",
            exact
        ));
        assert!(!ok(
            "https://app.example/cbx",
            "https://app.example/cb",
            exact
        ));
        assert!(!ok(
            "http://app.example/cb",
            "https://app.example/cb",
            exact
        ));
        assert!(!ok(
            "https://app.example:8443/cb",
            "https://app.example/cb",
            exact
        ));
        assert!(!ok(
            "https://app.example/cb?y=2",
            "https://app.example/cb?x=1",
            exact
        ));
        assert!(ok(
            "https://app.example/cb?x=1",
            "https://app.example/cb?x=1",
            exact
        ));
        assert!(ok(
            "http://127.0.0.1:53124/cb?s=1",
            "http://127.0.0.1/cb",
            exact
        ));
        assert!(!ok(
            "http://127.0.0.1:53124/other",
            "http://127.0.0.1/cb",
            exact
        ));
        assert!(!ok(
            "http://127.0.0.2:53124/cb",
            "http://127.0.0.1/cb",
            exact
        ));
        assert!(!ok(
            "http://localhost:53124/cb",
            "http://127.0.0.1/cb",
            exact
        ));
        let prefix = CallbackRule::Prefix;
        assert!(ok(
            "https://app.example/cb/x",
            "https://app.example/cb",
            prefix
        ));
        assert!(ok(
            "https://app.example/cb?s=1",
            "https://app.example/cb",
            prefix
        ));
        assert!(!ok(
            "https://app.example/cbx",
            "https://app.example/cb",
            prefix
        ));
        assert!(!ok(
            "https://app.example.evil.example/cb",
            "https://app.example/cb",
            prefix
        ));
        assert!(ok(
            "https://app.example/cb/x",
            "https://app.example/cb/",
            prefix
        ));
    }
}
