//! The base string URI of RFC 5849 §3.4.1.2.
//!
//! Parsed by hand on purpose: general URL libraries normalise the path
//! (dot segments, escaping), and the base string needs it exactly as sent.

use std::borrow::Cow;
use std::fmt;

use crate::encoding::find_any;
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
    if matches!(s, "https" | "http") {
        Cow::Borrowed(s)
    } else if s.bytes().any(|b| b.is_ascii_uppercase()) {
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
        let bytes = url.as_bytes();
        if !all_graphic(bytes) {
            return Err(ParseError::InvalidUrl("URL must be printable ASCII"));
        }
        // The scheme ends at the first "://". A first `:` that does not start
        // it leaves a `:` in the scheme (or there is no "://" at all).
        let colon = find_any(bytes, [b':']);
        let Some((scheme, rest)) = colon
            .filter(|&i| bytes.get(i + 1..i + 3) == Some(b"//"))
            .and_then(|i| Some((url.get(..i)?, url.get(i + 3..)?)))
        else {
            return Err(if url.contains("://") {
                ParseError::InvalidUrl("bad scheme")
            } else {
                ParseError::InvalidUrl("URL must be absolute")
            });
        };
        let mut scheme_bytes = scheme.bytes();
        let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(ParseError::InvalidUrl("bad scheme"));
        }
        // Authority up to the first `/`, `?` or `#`; the path up to `?` or
        // `#`; the query up to `#`; the fragment is dropped.
        let rest_bytes = rest.as_bytes();
        let authority_end = find_any(rest_bytes, [b'/', b'?', b'#']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at_checked(authority_end).unwrap_or((rest, ""));
        let path_end = find_any(after.as_bytes(), [b'?', b'#']).unwrap_or(after.len());
        let (path, after) = after.split_at_checked(path_end).unwrap_or((after, ""));
        let query = after.strip_prefix('?').map(|q| {
            let end = find_any(q.as_bytes(), [b'#']).unwrap_or(q.len());
            q.get(..end).unwrap_or(q)
        });
        // The usual authority is a lower-case host name alone: one pass.
        if !authority.is_empty() && authority.bytes().all(|b| PLAIN_HOST_BYTES.contains(b)) {
            let scheme = lower(scheme);
            return Ok(Self {
                scheme,
                host: Cow::Borrowed(authority),
                port: None,
                path: if path.is_empty() { "/" } else { path },
                query,
            });
        }
        let authority = match authority.as_bytes().iter().rposition(|&b| b == b'@') {
            Some(i) => authority.get(i + 1..).unwrap_or(""),
            None => authority,
        };
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

/// Whether every byte is printable ASCII (`!` to `~`), eight bytes per step.
fn all_graphic(bytes: &[u8]) -> bool {
    const LOW: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // For bytes below 0x80 no per-byte sum below carries into the next byte:
    // `b + 0x5f` has its high bit set exactly when `b >= 0x21`, and `b + 1`
    // exactly when `b == 0x7f`.
    let graphic = |w: u64| {
        w & HIGH == 0
            && w.wrapping_add(0x5f * LOW) & HIGH == HIGH
            && w.wrapping_add(LOW) & HIGH == 0
    };
    let (chunks, tail) = bytes.as_chunks::<8>();
    chunks.iter().all(|c| graphic(u64::from_le_bytes(*c)))
        && match bytes.last_chunk::<8>() {
            Some(last) => tail.is_empty() || graphic(u64::from_le_bytes(*last)),
            None => tail.iter().all(u8::is_ascii_graphic),
        }
}

/// The bytes of a registered name or IPv4 address: ASCII letters and digits,
/// `-`, `.`, `_`, `~` and `%` (escapes), as a 128-bit set.
struct ByteSet(u128);

impl ByteSet {
    const fn of(bytes: &[u8]) -> Self {
        let mut set = 0u128;
        let mut rest = bytes;
        while let [b, tail @ ..] = rest {
            set |= 1 << *b;
            rest = tail;
        }
        Self(set)
    }

    #[inline]
    fn contains(&self, b: u8) -> bool {
        b < 128 && (self.0 >> b) & 1 == 1
    }
}

/// [`HOST_BYTES`] without upper-case letters: a host made of these needs no
/// lower-casing (and holds no userinfo, port or IPv6 literal).
const PLAIN_HOST_BYTES: ByteSet = ByteSet::of(b"abcdefghijklmnopqrstuvwxyz0123456789-._~%");

const HOST_BYTES: ByteSet =
    ByteSet::of(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%");

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
        match authority.as_bytes().iter().rposition(|&b| b == b':') {
            Some(i) => (
                authority.get(..i).unwrap_or(""),
                Some(authority.get(i + 1..).unwrap_or("")),
            ),
            None => (authority, None),
        }
    };
    let host_ok =
        !host.is_empty() && (host.starts_with('[') || host.bytes().all(|b| HOST_BYTES.contains(b)));
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
