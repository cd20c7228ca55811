//! The base string URI of RFC 5849 §3.4.1.2.
//!
//! Parsed by hand on purpose: general URL libraries normalise the path
//! (dot segments, escaping), and the base string needs it exactly as sent.

use std::borrow::Cow;
use std::fmt;

use crate::error::ParseError;

/// A request URL split into what the signature base string needs and the
/// query it carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUri<'a> {
    scheme: Cow<'a, str>,
    host: Cow<'a, str>,
    port: Option<u16>,
    path: &'a str,
    query: Option<&'a str>,
}

fn lower<'a>(s: &'a str) -> Cow<'a, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

impl<'a> BaseUri<'a> {
    /// Parses an absolute `scheme://authority/path?query#fragment` URL.
    ///
    /// Scheme and host are lower-cased, the default port (80 for http, 443
    /// for https) is dropped, an empty path becomes `/`, user information,
    /// query and fragment are left out of the base string URI.
    ///
    /// ```
    /// use sigil_core::BaseUri;
    /// let uri = BaseUri::parse("HTTP://EXAMPLE.COM:80/r%20v/X?id=123").unwrap();
    /// assert_eq!(uri.to_string(), "http://example.com/r%20v/X");
    /// assert_eq!(uri.query(), Some("id=123"));
    /// let uri = BaseUri::parse("https://www.example.net:8080/?q=1").unwrap();
    /// assert_eq!(uri.to_string(), "https://www.example.net:8080/");
    /// ```
    pub fn parse(url: &'a str) -> Result<Self, ParseError> {
        if url.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(ParseError::InvalidUrl("URL must be printable ASCII"));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or(ParseError::InvalidUrl("URL must be absolute"))?;
        let mut scheme_bytes = scheme.bytes();
        let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(ParseError::InvalidUrl("bad scheme"));
        }
        // Drop the fragment, then split off the query.
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (rest, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = authority
            .rsplit_once('@')
            .map_or(authority, |(_userinfo, hostport)| hostport);
        let (host, port) = split_host_port(authority)?;
        let scheme = lower(scheme);
        let port = match (scheme.as_ref(), port) {
            ("http", Some(80)) | ("https", Some(443)) => None,
            (_, port) => port,
        };
        Ok(Self {
            scheme,
            host: lower(host),
            port,
            path: if path.is_empty() { "/" } else { path },
            query,
        })
    }

    /// The lower-cased scheme.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The lower-cased host (an IPv6 literal keeps its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, when it is not the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path exactly as sent (`/` when it was empty).
    pub fn path(&self) -> &str {
        self.path
    }

    /// The raw query string (without `?`), if any.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// Whether the host is a loopback name or address (`localhost`,
    /// `127.0.0.0/8`, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        let host = self.host.as_ref();
        host == "localhost"
            || host.ends_with(".localhost")
            || host == "[::1]"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), ParseError> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority
            .find(']')
            .ok_or(ParseError::InvalidUrl("unclosed IPv6 literal"))?;
        let (host, after) = authority.split_at(end + 1);
        let inner = host.get(1..host.len() - 1).unwrap_or("");
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(ParseError::InvalidUrl("bad IPv6 literal"));
        }
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(ParseError::InvalidUrl("bad authority")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && (host.starts_with('[')
            || host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%')
            }));
    if !host_ok {
        return Err(ParseError::InvalidUrl("bad host"));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(
            p.parse::<u16>()
                .map_err(|_| ParseError::InvalidUrl("bad port"))?,
        ),
        Some(_) => return Err(ParseError::InvalidUrl("bad port")),
    };
    Ok((host, port))
}

impl fmt::Display for BaseUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        f.write_str("://")?;
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        f.write_str(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> String {
        BaseUri::parse(url).unwrap().to_string()
    }

    #[test]
    fn rfc5849_section_3_4_1_2_examples() {
        assert_eq!(
            base("http://EXAMPLE.COM:80/r%20v/X?id=123"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            base("https://www.example.net:8080/?q=1"),
            "https://www.example.net:8080/"
        );
    }

    #[test]
    fn ports_paths_and_hosts() {
        assert_eq!(base("https://a.b:443"), "https://a.b/");
        assert_eq!(base("https://a.b:80/x"), "https://a.b:80/x");
        assert_eq!(base("http://a.b:443/x"), "http://a.b:443/x");
        assert_eq!(base("http://a.b:/x"), "http://a.b/x");
        assert_eq!(base("http://[::1]:8080/x#frag"), "http://[::1]:8080/x");
        assert_eq!(base("http://[FE80::1]/"), "http://[fe80::1]/");
        assert_eq!(base("http://user:pw@a.b/p/../q"), "http://a.b/p/../q");
        assert_eq!(base("http://a.b/%7Efoo"), "http://a.b/%7Efoo");
    }

    #[test]
    fn rejects_what_is_not_an_absolute_url() {
        for bad in [
            "/relative",
            "http://",
            "http://a b/",
            "http://a.b:99999/",
            "http://a.b:8x/",
            "http://[::1/",
            "1http://a.b/",
            "http://h\u{e9}/",
        ] {
            assert!(BaseUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_detection() {
        assert!(
            BaseUri::parse("http://127.0.0.1:8080/")
                .unwrap()
                .is_loopback()
        );
        assert!(BaseUri::parse("http://localhost/").unwrap().is_loopback());
        assert!(BaseUri::parse("http://[::1]/").unwrap().is_loopback());
        assert!(!BaseUri::parse("http://example.com/").unwrap().is_loopback());
    }
}
