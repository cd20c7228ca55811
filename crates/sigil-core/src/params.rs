//! The protocol parameters as a typed value, and the Authorization header.

use std::borrow::Cow;

use crate::encoding::{decode, encode_into};
use crate::error::ParseError;
use crate::method::SignatureMethod;

/// Bounds on what a parser reads. Everything from the network is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest Authorization header accepted, in bytes.
    pub max_header_len: usize,
    /// The most parameters accepted in one request (header, query and body
    /// together).
    pub max_params: usize,
    /// The longest body accepted, in bytes.
    pub max_body_len: usize,
}

impl Limits {
    /// Defaults: an 8 KiB header, 256 parameters, a 1 MiB body.
    pub const DEFAULT: Limits = Limits {
        max_header_len: 8 * 1024,
        max_params: 256,
        max_body_len: 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The protocol parameters of a request (RFC 5849 §3.1), decoded once and
/// typed. Values borrow from the request where no decoding was needed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OAuthParams<'a> {
    /// `oauth_consumer_key`.
    pub consumer_key: Option<Cow<'a, str>>,
    /// `oauth_token`.
    pub token: Option<Cow<'a, str>>,
    /// `oauth_signature_method`.
    pub signature_method: Option<SignatureMethod>,
    /// `oauth_signature`, decoded once (base64 for HMAC and RSA).
    pub signature: Option<Cow<'a, str>>,
    /// `oauth_timestamp`, as sent (the server checks its format).
    pub timestamp: Option<Cow<'a, str>>,
    /// `oauth_nonce`.
    pub nonce: Option<Cow<'a, str>>,
    /// `oauth_version`, as sent (the server accepts only `1.0`).
    pub version: Option<Cow<'a, str>>,
    /// `oauth_callback` (a URL or `oob`).
    pub callback: Option<Cow<'a, str>>,
    /// `oauth_verifier`.
    pub verifier: Option<Cow<'a, str>>,
    /// `oauth_body_hash` (OAuth Request Body Hash extension).
    pub body_hash: Option<Cow<'a, str>>,
    /// Any other `oauth_*` or `xoauth_*` parameter, in the order received.
    pub extras: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> OAuthParams<'a> {
    /// Sets the parameter `name` from its decoded `value`. A name seen before
    /// is [`ParseError::DuplicateParameter`]; an unknown signature method is
    /// [`ParseError::UnsupportedSignatureMethod`].
    pub fn set(&mut self, name: &str, value: Cow<'a, str>) -> Result<(), ParseError> {
        let slot = match name {
            "oauth_consumer_key" => &mut self.consumer_key,
            "oauth_token" => &mut self.token,
            "oauth_signature" => &mut self.signature,
            "oauth_timestamp" => &mut self.timestamp,
            "oauth_nonce" => &mut self.nonce,
            "oauth_version" => &mut self.version,
            "oauth_callback" => &mut self.callback,
            "oauth_verifier" => &mut self.verifier,
            "oauth_body_hash" => &mut self.body_hash,
            "oauth_signature_method" => {
                if self.signature_method.is_some() {
                    return Err(ParseError::DuplicateParameter(name.to_owned()));
                }
                self.signature_method = Some(value.parse()?);
                return Ok(());
            }
            _ => {
                if self.extras.iter().any(|(n, _)| n == name) {
                    return Err(ParseError::DuplicateParameter(name.to_owned()));
                }
                self.extras.push((Cow::Owned(name.to_owned()), value));
                return Ok(());
            }
        };
        if slot.is_some() {
            return Err(ParseError::DuplicateParameter(name.to_owned()));
        }
        *slot = Some(value);
        Ok(())
    }

    /// Every parameter present, as `(name, decoded value)`, in a fixed order
    /// with `oauth_signature` last.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let fixed = [
            ("oauth_consumer_key", self.consumer_key.as_deref()),
            ("oauth_token", self.token.as_deref()),
            (
                "oauth_signature_method",
                self.signature_method.map(SignatureMethod::as_str),
            ),
            ("oauth_timestamp", self.timestamp.as_deref()),
            ("oauth_nonce", self.nonce.as_deref()),
            ("oauth_version", self.version.as_deref()),
            ("oauth_callback", self.callback.as_deref()),
            ("oauth_verifier", self.verifier.as_deref()),
            ("oauth_body_hash", self.body_hash.as_deref()),
        ];
        fixed
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v)))
            .chain(self.extras.iter().map(|(n, v)| (n.as_ref(), v.as_ref())))
            .chain(self.signature.as_deref().map(|s| ("oauth_signature", s)))
    }

    /// Calls `f` with each standard parameter present except
    /// `oauth_signature` (extras are left to the caller). Written out rather
    /// than chained: this is on the verification hot path.
    pub(crate) fn for_each_signed<'s>(&'s self, mut f: impl FnMut(&'static str, &'s str)) {
        if let Some(v) = &self.consumer_key {
            f("oauth_consumer_key", v);
        }
        if let Some(v) = &self.token {
            f("oauth_token", v);
        }
        if let Some(m) = self.signature_method {
            f("oauth_signature_method", m.as_str());
        }
        if let Some(v) = &self.timestamp {
            f("oauth_timestamp", v);
        }
        if let Some(v) = &self.nonce {
            f("oauth_nonce", v);
        }
        if let Some(v) = &self.version {
            f("oauth_version", v);
        }
        if let Some(v) = &self.callback {
            f("oauth_callback", v);
        }
        if let Some(v) = &self.verifier {
            f("oauth_verifier", v);
        }
        if let Some(v) = &self.body_hash {
            f("oauth_body_hash", v);
        }
    }

    /// How many parameters are present.
    pub fn len(&self) -> usize {
        let mut n = self.extras.len() + usize::from(self.signature.is_some());
        self.for_each_signed(|_, _| n += 1);
        n
    }

    /// Whether no parameter is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The timestamp as seconds since the Unix epoch, if it is a plain
    /// decimal number (RFC 5849 §3.3: a positive integer).
    pub fn timestamp_secs(&self) -> Option<u64> {
        let ts = self.timestamp.as_deref()?;
        if ts.is_empty() || ts.len() > 19 || !ts.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        ts.parse().ok()
    }

    /// Copies every borrowed value, detaching the parameters from the request.
    pub fn into_owned(self) -> OAuthParams<'static> {
        fn own(v: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
            v.map(|v| Cow::Owned(v.into_owned()))
        }
        OAuthParams {
            consumer_key: own(self.consumer_key),
            token: own(self.token),
            signature_method: self.signature_method,
            signature: own(self.signature),
            timestamp: own(self.timestamp),
            nonce: own(self.nonce),
            version: own(self.version),
            callback: own(self.callback),
            verifier: own(self.verifier),
            body_hash: own(self.body_hash),
            extras: self
                .extras
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }

    /// The parameters as an `application/x-www-form-urlencoded` string
    /// (RFC 5849 §3.5.2 and §3.5.3), signature included.
    pub fn to_form(&self) -> String {
        let mut out = String::with_capacity(256);
        for (name, value) in self.iter() {
            if !out.is_empty() {
                out.push('&');
            }
            encode_into(&mut out, name);
            out.push('=');
            encode_into(&mut out, value);
        }
        out
    }
}

/// A parsed `Authorization: OAuth ...` header (RFC 5849 §3.5.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationHeader<'a> {
    /// The `realm`, which never enters the base string. It is a plain
    /// quoted-string (RFC 2617), not percent-encoded.
    pub realm: Option<Cow<'a, str>>,
    /// The protocol parameters.
    pub params: OAuthParams<'a>,
}

/// Whether `value` uses the `OAuth` authentication scheme (case-insensitive).
pub fn is_oauth_scheme(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= 5
        && bytes
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"OAuth"))
        && bytes.get(5).is_none_or(|&b| b == b' ' || b == b'\t')
}

/// Bytes allowed inside a quoted header value: printable ASCII,
/// but not `"` or a backslash.
#[allow(clippy::indexing_slicing)] // i < 128 by the loop bound
const QUOTED_TEXT: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        table[i] = b >= 0x20 && b != 0x7f && b != b'"' && b != b'\\';
        i += 1;
    }
    table
};

#[inline]
#[allow(clippy::indexing_slicing)] // a u8 always indexes a [_; 256]
fn is_quoted_text(b: u8) -> bool {
    QUOTED_TEXT[usize::from(b)]
}

/// A small cursor over header bytes that cannot read past the end.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }
}

impl<'a> AuthorizationHeader<'a> {
    /// Parses a header value strictly: scheme `OAuth` (any case), then
    /// `name="value"` pairs separated by commas with optional spaces. Values
    /// are percent-decoded exactly once; `realm` is kept apart; a repeated
    /// parameter, an unquoted value, a name other than `realm`, `oauth_*` or
    /// `xoauth_*`, or a header over the length or parameter limit is an error.
    ///
    /// ```
    /// use sigil_core::{AuthorizationHeader, Limits, SignatureMethod};
    /// let h = AuthorizationHeader::parse(
    ///     r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_signature_method="HMAC-SHA1", oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready""#,
    ///     &Limits::DEFAULT,
    /// ).unwrap();
    /// assert_eq!(h.realm.as_deref(), Some("Photos"));
    /// assert_eq!(h.params.signature_method, Some(SignatureMethod::HmacSha1));
    /// assert_eq!(h.params.callback.as_deref(), Some("http://printer.example.com/ready"));
    /// ```
    pub fn parse(value: &'a str, limits: &Limits) -> Result<Self, ParseError> {
        if value.len() > limits.max_header_len {
            return Err(ParseError::HeaderTooLong);
        }
        if !value.is_ascii() {
            return Err(ParseError::MalformedHeader("non-ASCII byte"));
        }
        if !is_oauth_scheme(value) {
            return Err(ParseError::MalformedHeader("not the OAuth scheme"));
        }
        let mut cur = Cursor {
            text: value,
            pos: 5,
        };
        let mut header = AuthorizationHeader::default();
        let mut count = 0usize;
        let mut first = true;
        loop {
            cur.skip_ows();
            if cur.peek().is_none() {
                break;
            }
            if !first {
                if !cur.eat(b',') {
                    return Err(ParseError::MalformedHeader("expected a comma"));
                }
                cur.skip_ows();
            }
            first = false;
            let name = cur.take_while(crate::encoding::is_unreserved);
            if name.is_empty() {
                return Err(ParseError::MalformedHeader("expected a parameter name"));
            }
            if !cur.eat(b'=') {
                return Err(ParseError::MalformedHeader("expected ="));
            }
            if !cur.eat(b'"') {
                return Err(ParseError::MalformedHeader("value must be quoted"));
            }
            count += 1;
            if count > limits.max_params {
                return Err(ParseError::TooManyParameters);
            }
            if name == "realm" {
                if header.realm.is_some() {
                    return Err(ParseError::DuplicateParameter("realm".to_owned()));
                }
                header.realm = Some(read_quoted_string(&mut cur)?);
                continue;
            }
            let raw = cur.take_while(is_quoted_text);
            if !cur.eat(b'"') {
                return Err(ParseError::MalformedHeader("unterminated or invalid value"));
            }
            if !(name.starts_with("oauth_") || name.starts_with("xoauth_")) {
                return Err(ParseError::UnexpectedHeaderParameter);
            }
            header.params.set(name, decode(raw)?)?;
        }
        Ok(header)
    }

    /// Copies every borrowed value, detaching the header from the request.
    pub fn into_owned(self) -> AuthorizationHeader<'static> {
        AuthorizationHeader {
            realm: self.realm.map(|r| Cow::Owned(r.into_owned())),
            params: self.params.into_owned(),
        }
    }

    /// Renders the header value: `OAuth realm="...", oauth_...="..."`, every
    /// protocol value percent-encoded per RFC 5849 §3.6.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(320);
        out.push_str("OAuth ");
        let mut first = true;
        if let Some(realm) = &self.realm {
            out.push_str("realm=\"");
            for c in realm.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
            first = false;
        }
        for (name, value) in self.params.iter() {
            if !first {
                out.push_str(", ");
            }
            first = false;
            encode_into(&mut out, name);
            out.push_str("=\"");
            encode_into(&mut out, value);
            out.push('"');
        }
        out
    }
}

/// Reads an RFC 2616 quoted-string body after its opening quote: printable
/// characters, `\x` quoted pairs, up to the closing quote.
fn read_quoted_string<'a>(cur: &mut Cursor<'a>) -> Result<Cow<'a, str>, ParseError> {
    let start = cur.pos;
    let plain = cur.take_while(is_quoted_text);
    if cur.eat(b'"') {
        return Ok(Cow::Borrowed(plain));
    }
    // Slow path: quoted pairs.
    cur.pos = start;
    let mut out = String::new();
    loop {
        match cur.peek() {
            Some(b'"') => {
                cur.pos += 1;
                return Ok(Cow::Owned(out));
            }
            Some(b'\\') => {
                cur.pos += 1;
                match cur.peek() {
                    Some(b) if !b.is_ascii_control() => {
                        out.push(char::from(b));
                        cur.pos += 1;
                    }
                    _ => return Err(ParseError::MalformedHeader("bad quoted pair")),
                }
            }
            Some(b) if !b.is_ascii_control() => {
                out.push(char::from(b));
                cur.pos += 1;
            }
            _ => return Err(ParseError::MalformedHeader("unterminated or invalid value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<AuthorizationHeader<'_>, ParseError> {
        AuthorizationHeader::parse(v, &Limits::DEFAULT)
    }

    #[test]
    fn parses_the_rfc_example() {
        let h = parse(
            "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\",oauth_token=\"kkk9d7dh3k39sjv7\",\toauth_signature=\"djosJKDKJSD8743243%2Fjdk33klY%3D\"",
        )
        .unwrap();
        assert_eq!(h.realm.as_deref(), Some("Example"));
        assert_eq!(h.params.consumer_key.as_deref(), Some("9djdj82h48djs9d2"));
        assert_eq!(h.params.token.as_deref(), Some("kkk9d7dh3k39sjv7"));
        assert_eq!(
            h.params.signature.as_deref(),
            Some("djosJKDKJSD8743243/jdk33klY=")
        );
    }

    #[test]
    fn scheme_is_case_insensitive_and_others_are_refused() {
        assert!(parse("oauth oauth_nonce=\"a\"").is_ok());
        assert!(parse("OAUTH").is_ok());
        assert_eq!(
            parse("Basic dXNlcjpwYXNz").unwrap_err(),
            ParseError::MalformedHeader("not the OAuth scheme")
        );
        assert!(parse("OAuthx a=\"b\"").is_err());
    }

    #[test]
    fn strictness() {
        let cases = [
            (
                "OAuth oauth_nonce=a",
                ParseError::MalformedHeader("value must be quoted"),
            ),
            (
                "OAuth oauth_nonce=\"a",
                ParseError::MalformedHeader("unterminated or invalid value"),
            ),
            (
                "OAuth oauth_nonce=\"a\" oauth_token=\"b\"",
                ParseError::MalformedHeader("expected a comma"),
            ),
            (
                "OAuth oauth_nonce=\"a\",",
                ParseError::MalformedHeader("expected a parameter name"),
            ),
            (
                "OAuth oauth_nonce=\"a\", oauth_nonce=\"b\"",
                ParseError::DuplicateParameter("oauth_nonce".into()),
            ),
            (
                "OAuth realm=\"a\", realm=\"b\"",
                ParseError::DuplicateParameter("realm".into()),
            ),
            ("OAuth foo=\"a\"", ParseError::UnexpectedHeaderParameter),
            ("OAuth oauth_nonce=\"%zz\"", ParseError::BadPercentEncoding),
            (
                "OAuth oauth_signature_method=\"MD5\"",
                ParseError::UnsupportedSignatureMethod,
            ),
            (
                "OAuth oauth_nonce=\"\u{e9}\"",
                ParseError::MalformedHeader("non-ASCII byte"),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input).unwrap_err(), expected, "{input}");
        }
    }

    #[test]
    fn bounded() {
        let long = format!("OAuth oauth_nonce=\"{}\"", "a".repeat(9000));
        assert_eq!(parse(&long).unwrap_err(), ParseError::HeaderTooLong);
        let limits = Limits {
            max_params: 2,
            ..Limits::DEFAULT
        };
        assert_eq!(
            AuthorizationHeader::parse(
                "OAuth a_x=\"1\", oauth_a=\"1\", oauth_b=\"2\", oauth_c=\"3\"",
                &limits
            )
            .unwrap_err(),
            ParseError::UnexpectedHeaderParameter
        );
        assert_eq!(
            AuthorizationHeader::parse(
                "OAuth oauth_a=\"1\", oauth_b=\"2\", oauth_c=\"3\"",
                &limits
            )
            .unwrap_err(),
            ParseError::TooManyParameters
        );
    }

    #[test]
    fn realm_quoted_pairs_round_trip() {
        let h = parse(r#"OAuth realm="a \"b\" \\c""#).unwrap();
        assert_eq!(h.realm.as_deref(), Some(r#"a "b" \c"#));
        assert_eq!(parse(&h.render()).unwrap(), h);
    }
}
