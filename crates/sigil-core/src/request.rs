//! A request as OAuth sees it: parameter collection (RFC 5849 §3.4.1.3),
//! the signature base string (§3.4.1.1), and the two entry points that client
//! and server share: [`sign`] and [`ParsedRequest::verify`].

use std::borrow::Cow;

use crate::encoding::{Component, encode, encode_bytes_into, encode_canonical_into, split_pairs};
use crate::error::{ParseError, SignError, VerifyError};
use crate::keys::{SigningKey, VerifyingKey};
use crate::method::SignatureMethod;
use crate::params::{AuthorizationHeader, Limits, OAuthParams, is_oauth_scheme};
use crate::signature::{body_hash_matches, sign_base_string, verify_base_bytes};
use crate::uri::BaseUri;

/// An HTTP request as far as OAuth is concerned: nothing is owned, nothing is
/// read from the network.
#[derive(Clone, Copy, Debug, Default)]
pub struct Request<'a> {
    /// The HTTP method (`GET`, `POST`, ...).
    pub method: &'a str,
    /// The absolute URL the client used, query included.
    pub url: &'a str,
    /// The value of the `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The value of the `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The body bytes (empty when there is none).
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// A request with no header and no body.
    pub fn new(method: &'a str, url: &'a str) -> Self {
        Self {
            method,
            url,
            ..Self::default()
        }
    }

    /// The same request with an `Authorization` header.
    pub fn with_authorization(mut self, value: &'a str) -> Self {
        self.authorization = Some(value);
        self
    }

    /// The same request with a body of the given content type.
    pub fn with_body(mut self, content_type: &'a str, body: &'a [u8]) -> Self {
        self.content_type = Some(content_type);
        self.body = body;
        self
    }

    /// Whether the body is `application/x-www-form-urlencoded` (a charset or
    /// other media-type parameter may follow).
    pub fn has_form_body(&self) -> bool {
        self.content_type.is_some_and(is_form_content_type)
    }
}

/// Whether a `Content-Type` value is `application/x-www-form-urlencoded`,
/// with or without parameters such as `; charset=utf-8`.
pub fn is_form_content_type(content_type: &str) -> bool {
    let media = content_type
        .split_once(';')
        .map_or(content_type, |(media, _)| media);
    media
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// Where the protocol parameters travelled (RFC 5849 §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamLocation {
    /// The `Authorization` header (§3.5.1).
    Header,
    /// The form-encoded body (§3.5.2).
    Body,
    /// The URL query (§3.5.3).
    Query,
}

impl ParamLocation {
    /// `header`, `body` or `query`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Body => "body",
            Self::Query => "query",
        }
    }
}

/// One request parameter that is not a protocol parameter: from the query
/// or the form body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    name: Component<'a>,
    value: Component<'a>,
    location: ParamLocation,
}

impl Param<'_> {
    /// The name, decoded once.
    pub fn name(&self) -> &str {
        &self.name.decoded
    }

    /// The value, decoded once.
    pub fn value(&self) -> &str {
        &self.value.decoded
    }

    /// Where it came from (query or body).
    pub fn location(&self) -> ParamLocation {
        self.location
    }
}

/// A request read as OAuth 1.0a: the base string URI, the typed protocol
/// parameters, where they travelled, and every other parameter.
#[derive(Clone, Debug)]
pub struct ParsedRequest<'a> {
    method: &'a str,
    uri: BaseUri<'a>,
    realm: Option<Cow<'a, str>>,
    oauth: OAuthParams<'a>,
    location: Option<ParamLocation>,
    params: Vec<Param<'a>>,
    body: &'a [u8],
    form_body: bool,
}

impl<'a> ParsedRequest<'a> {
    /// Reads a request: the URL, the `Authorization` header when it uses the
    /// `OAuth` scheme (any other scheme is not ours and is ignored), the
    /// query, and the body when it is form-encoded.
    ///
    /// Each value is percent-decoded exactly once. A protocol parameter that
    /// appears twice, or protocol parameters in more than one location, are
    /// errors; so is anything over `limits`.
    pub fn parse(request: &Request<'a>, limits: &Limits) -> Result<Self, ParseError> {
        if request.body.len() > limits.max_body_len {
            return Err(ParseError::BodyTooLarge);
        }
        let uri = BaseUri::parse(request.url)?;
        let header = match request.authorization {
            Some(value) if is_oauth_scheme(value) => {
                Some(AuthorizationHeader::parse(value, limits)?)
            }
            _ => None,
        };
        let mut parsed = match header {
            Some(h) => {
                let location = (!h.params.is_empty()).then_some(ParamLocation::Header);
                ParsedRequest {
                    method: request.method,
                    uri,
                    realm: h.realm,
                    oauth: h.params,
                    location,
                    params: Vec::new(),
                    body: request.body,
                    form_body: false,
                }
            }
            None => ParsedRequest {
                method: request.method,
                uri,
                realm: None,
                oauth: OAuthParams::default(),
                location: None,
                params: Vec::new(),
                body: request.body,
                form_body: false,
            },
        };
        let mut budget = limits.max_params.saturating_sub(parsed.oauth.len());
        if let Some(query) = parsed.uri.query() {
            parsed.collect(query, ParamLocation::Query, &mut budget)?;
        }
        if request.has_form_body() {
            parsed.form_body = true;
            let text = std::str::from_utf8(request.body).map_err(|_| ParseError::InvalidUtf8)?;
            parsed.collect(text, ParamLocation::Body, &mut budget)?;
        }
        Ok(parsed)
    }

    fn collect(
        &mut self,
        text: &'a str,
        location: ParamLocation,
        budget: &mut usize,
    ) -> Result<(), ParseError> {
        for (raw_name, raw_value) in split_pairs(text) {
            *budget = budget.checked_sub(1).ok_or(ParseError::TooManyParameters)?;
            let name = Component::from_raw(raw_name, true)?;
            let value = Component::from_raw(raw_value, true)?;
            if name.decoded.starts_with("oauth_") {
                match self.location {
                    Some(seen) if seen != location => return Err(ParseError::MultipleLocations),
                    _ => self.location = Some(location),
                }
                self.oauth.set(&name.decoded, value.decoded)?;
            } else {
                self.params.push(Param {
                    name,
                    value,
                    location,
                });
            }
        }
        Ok(())
    }

    /// The HTTP method as sent.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The base string URI and the raw query.
    pub fn uri(&self) -> &BaseUri<'a> {
        &self.uri
    }

    /// The `realm` of the Authorization header, if any.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The protocol parameters.
    pub fn oauth(&self) -> &OAuthParams<'a> {
        &self.oauth
    }

    /// Where the protocol parameters travelled; `None` when there were none.
    pub fn location(&self) -> Option<ParamLocation> {
        self.location
    }

    /// The query and form-body parameters that are not protocol parameters,
    /// in the order received, repeated names kept.
    pub fn params(&self) -> &[Param<'a>] {
        &self.params
    }

    /// The body bytes.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Whether the body was form-encoded (and so entered the signature).
    pub fn has_form_body(&self) -> bool {
        self.form_body
    }

    /// Every parameter that enters the base string, as (encoded name, encoded
    /// value), sorted per RFC 5849 §3.4.1.3.2.
    fn sorted_encoded(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> =
            Vec::with_capacity(self.params.len() + 10);
        pairs.extend(self.params.iter().map(|p| {
            (
                Cow::Borrowed(p.name.encoded.as_ref()),
                Cow::Borrowed(p.value.encoded.as_ref()),
            )
        }));
        // Protocol parameter names are unreserved by construction, except
        // extras read from a query or body.
        self.oauth.for_each_signed(|name, value| {
            pairs.push((Cow::Borrowed(name), encode(value)));
        });
        for (name, value) in &self.oauth.extras {
            pairs.push((encode(name), encode(value)));
        }
        pairs.sort_unstable();
        pairs
    }

    /// The normalised parameter string of RFC 5849 §3.4.1.3.2.
    pub fn normalized_params(&self) -> String {
        let mut out = String::with_capacity(256);
        for (i, (name, value)) in self.sorted_encoded().iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
        out
    }

    /// Writes the signature base string of RFC 5849 §3.4.1.1 as bytes.
    fn write_base_string(&self, out: &mut Vec<u8>) {
        if self.method.bytes().any(|b| b.is_ascii_lowercase()) {
            out.extend(self.method.bytes().map(|b| b.to_ascii_uppercase()));
        } else {
            out.extend_from_slice(self.method.as_bytes());
        }
        out.push(b'&');
        encode_bytes_into(out, self.uri.scheme().as_bytes());
        out.extend_from_slice(b"%3A%2F%2F");
        encode_bytes_into(out, self.uri.host().as_bytes());
        if let Some(port) = self.uri.port() {
            out.extend_from_slice(b"%3A");
            out.extend_from_slice(port.to_string().as_bytes());
        }
        encode_bytes_into(out, self.uri.path().as_bytes());
        out.push(b'&');
        // The normalised string holds only unreserved bytes, `%`, `=` and
        // `&`, so encoding it a second time is done on the fly.
        for (i, (name, value)) in self.sorted_encoded().iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"%26");
            }
            encode_canonical_into(out, name.as_bytes());
            out.extend_from_slice(b"%3D");
            encode_canonical_into(out, value.as_bytes());
        }
    }

    /// The signature base string of RFC 5849 §3.4.1.1.
    pub fn base_string(&self) -> String {
        let mut out = Vec::with_capacity(512);
        self.write_base_string(&mut out);
        // Every byte written is ASCII: unreserved characters and escapes.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Checks the signature (and `oauth_body_hash`, when present) with `key`.
    /// The comparison is constant-time. This checks the signature only: the
    /// timestamp, the nonce and the credentials are the server's business.
    pub fn verify(&self, key: &VerifyingKey<'_>) -> Result<(), VerifyError> {
        let method = self
            .oauth
            .signature_method
            .ok_or(VerifyError::MissingSignatureMethod)?;
        let signature = self
            .oauth
            .signature
            .as_deref()
            .ok_or(VerifyError::MissingSignature)?;
        let mut base = Vec::new();
        if method != SignatureMethod::Plaintext {
            base.reserve(512);
            self.write_base_string(&mut base);
        }
        verify_base_bytes(method, &base, signature, key)?;
        if let Some(sent) = self.oauth.body_hash.as_deref() {
            if self.form_body {
                return Err(VerifyError::BodyHashWithFormBody);
            }
            if method.digest().is_none() {
                return Err(VerifyError::BodyHashNotApplicable);
            }
            if !body_hash_matches(method, self.body, sent) {
                return Err(VerifyError::BodyHashMismatch);
            }
        }
        Ok(())
    }
}

/// A signed request: the protocol parameters with `oauth_signature`, and
/// the base string that was signed. Values borrow from what was signed; see
/// [`Signed::into_owned`].
#[derive(Clone, Debug)]
pub struct Signed<'a> {
    /// The protocol parameters, signature included.
    pub oauth: OAuthParams<'a>,
    /// The signature base string that was signed.
    pub base_string: String,
}

impl Signed<'_> {
    /// Copies every borrowed value.
    pub fn into_owned(self) -> Signed<'static> {
        Signed {
            oauth: self.oauth.into_owned(),
            base_string: self.base_string,
        }
    }

    /// The normalised parameter string inside the base string (its last
    /// part, decoded once: it holds no raw `&`).
    pub fn normalized_params(&self) -> String {
        let encoded = self
            .base_string
            .rsplit_once('&')
            .map_or("", |(_, params)| params);
        crate::encoding::decode(encoded)
            .map(Cow::into_owned)
            .unwrap_or_default()
    }

    /// The signature, before percent-encoding for transport.
    pub fn signature(&self) -> &str {
        self.oauth.signature.as_deref().unwrap_or("")
    }

    /// The `Authorization` header value (RFC 5849 §3.5.1).
    pub fn authorization_header(&self, realm: Option<&str>) -> String {
        AuthorizationHeader {
            realm: realm.map(Cow::Borrowed),
            params: self.oauth.clone(),
        }
        .render()
    }

    /// The protocol parameters as `name=value&...`, to append to a query
    /// (§3.5.3) or a form body (§3.5.2).
    pub fn form_params(&self) -> String {
        self.oauth.to_form()
    }

    /// `url` with the protocol parameters appended to its query (before any
    /// fragment).
    pub fn url_with_params(&self, url: &str) -> String {
        let (before, fragment) = match url.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (url, None),
        };
        let sep = if before.contains('?') {
            if before.ends_with('?') || before.ends_with('&') {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        let mut out = format!("{before}{sep}{}", self.form_params());
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
        out
    }

    /// A form body with the protocol parameters appended.
    pub fn body_with_params(&self, body: &[u8]) -> Vec<u8> {
        let mut out = body.to_vec();
        if !out.is_empty() && !out.ends_with(b"&") {
            out.push(b'&');
        }
        out.extend_from_slice(self.form_params().as_bytes());
        out
    }
}

/// Signs a request: collects its query and form-body parameters exactly as a
/// server will, adds `oauth` (which must not carry a signature; its
/// `signature_method` chooses the method), builds the base string and signs
/// it. The request's `Authorization` header, if any, is ignored.
///
/// Protocol parameters already in the URL or the form body (an
/// `oauth_callback` put there by hand, say) count as part of `oauth`; one set
/// in both places is an error.
///
/// ```
/// use std::borrow::Cow;
/// use sigil_core::{OAuthParams, Request, Secret, SignatureMethod, SigningKey, sign};
/// let cs = Secret::new("kd94hf93k423kf44");
/// let ts = Secret::new("pfkkdhi9sl3r4s00");
/// let oauth = OAuthParams {
///     consumer_key: Some(Cow::Borrowed("dpf43f3p2l4k3l03")),
///     token: Some(Cow::Borrowed("nnch734d00sl2jdk")),
///     signature_method: Some(SignatureMethod::HmacSha1),
///     timestamp: Some(Cow::Borrowed("137131202")),
///     nonce: Some(Cow::Borrowed("chapoH")),
///     ..OAuthParams::default()
/// };
/// let request = Request::new("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original");
/// let key = SigningKey::Shared { consumer_secret: &cs, token_secret: Some(&ts) };
/// let signed = sign(&request, &oauth, &key).unwrap();
/// assert_eq!(signed.signature(), "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
/// ```
pub fn sign<'a>(
    request: &Request<'a>,
    oauth: &'a OAuthParams<'_>,
    key: &SigningKey<'_>,
) -> Result<Signed<'a>, SignError> {
    let unsigned = Request {
        authorization: None,
        ..*request
    };
    let mut parsed = ParsedRequest::parse(
        &unsigned,
        &Limits {
            max_header_len: usize::MAX,
            max_params: usize::MAX,
            max_body_len: usize::MAX,
        },
    )?;
    let method = oauth
        .signature_method
        .ok_or(SignError::Parse(ParseError::UnsupportedSignatureMethod))?;
    if oauth.body_hash.is_some() && parsed.form_body {
        return Err(SignError::BodyHashWithFormBody);
    }
    for (name, value) in oauth.iter().filter(|(n, _)| *n != "oauth_signature") {
        if name == "oauth_signature_method" {
            if parsed.oauth.signature_method.is_some() {
                return Err(ParseError::DuplicateParameter(name.to_owned()).into());
            }
            parsed.oauth.signature_method = Some(method);
        } else {
            parsed.oauth.set(name, Cow::Borrowed(value))?;
        }
    }
    parsed.oauth.signature = None;
    // PLAINTEXT signs nothing, but the base string is still worth showing.
    let base_string = parsed.base_string();
    let signature = sign_base_string(method, &base_string, key)?;
    let mut signed_oauth = parsed.oauth;
    signed_oauth.signature = Some(Cow::Owned(signature));
    Ok(Signed {
        oauth: signed_oauth,
        base_string,
    })
}

/// Parses and verifies a request in one step (for a server that already
/// knows the key).
pub fn verify<'a>(
    request: &Request<'a>,
    key: &VerifyingKey<'_>,
    limits: &Limits,
) -> Result<ParsedRequest<'a>, crate::Error> {
    let parsed = ParsedRequest::parse(request, limits)?;
    parsed.verify(key)?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Secret;

    #[test]
    fn rfc5849_section_3_4_1_1_base_string() {
        let request = Request::new("POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b")
            .with_authorization(
                "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\", oauth_token=\"kkk9d7dh3k39sjv7\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"137131201\", oauth_nonce=\"7d8f3e4a\", oauth_signature=\"djosJKDKJSD8743243%2Fjdk33klY%3D\"",
            )
            .with_body("application/x-www-form-urlencoded", b"c2&a3=2+q");
        let parsed = ParsedRequest::parse(&request, &Limits::DEFAULT).unwrap();
        assert_eq!(parsed.location(), Some(ParamLocation::Header));
        assert_eq!(parsed.realm(), Some("Example"));
        assert_eq!(
            parsed.base_string(),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
        assert_eq!(
            parsed.normalized_params(),
            "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7"
        );
    }

    #[test]
    fn locations_are_exclusive_and_duplicates_refused() {
        let both = Request::new("GET", "http://a.b/?oauth_nonce=1")
            .with_authorization("OAuth oauth_consumer_key=\"k\"");
        assert_eq!(
            ParsedRequest::parse(&both, &Limits::DEFAULT).unwrap_err(),
            ParseError::MultipleLocations
        );
        let dup = Request::new("GET", "http://a.b/?oauth_nonce=1&oauth_nonce=2");
        assert_eq!(
            ParsedRequest::parse(&dup, &Limits::DEFAULT).unwrap_err(),
            ParseError::DuplicateParameter("oauth_nonce".into())
        );
        let body_and_query = Request::new("POST", "http://a.b/?oauth_nonce=1")
            .with_body("application/x-www-form-urlencoded", b"oauth_token=2");
        assert_eq!(
            ParsedRequest::parse(&body_and_query, &Limits::DEFAULT).unwrap_err(),
            ParseError::MultipleLocations
        );
        // Repeated ordinary parameters are kept.
        let repeated = Request::new("GET", "http://a.b/?a=1&a=1&a=");
        let parsed = ParsedRequest::parse(&repeated, &Limits::DEFAULT).unwrap();
        assert_eq!(parsed.params().len(), 3);
    }

    #[test]
    fn non_form_bodies_do_not_enter_the_signature() {
        let json = Request::new("POST", "http://a.b/").with_body("application/json", b"a=b");
        let parsed = ParsedRequest::parse(&json, &Limits::DEFAULT).unwrap();
        assert!(parsed.params().is_empty());
        let charset = Request::new("POST", "http://a.b/")
            .with_body("Application/X-WWW-Form-Urlencoded; charset=UTF-8", b"a=b");
        let parsed = ParsedRequest::parse(&charset, &Limits::DEFAULT).unwrap();
        assert_eq!(parsed.params().len(), 1);
    }

    #[test]
    fn other_schemes_are_ignored_not_errors() {
        let basic = Request::new("GET", "http://a.b/").with_authorization("Basic Zm9vOmJhcg==");
        let parsed = ParsedRequest::parse(&basic, &Limits::DEFAULT).unwrap();
        assert_eq!(parsed.location(), None);
        let cs = Secret::new("x");
        assert_eq!(
            parsed
                .verify(&VerifyingKey::Shared {
                    consumer_secret: &cs,
                    token_secret: None
                })
                .unwrap_err(),
            VerifyError::MissingSignatureMethod
        );
    }

    #[test]
    fn parameter_budget_is_enforced() {
        let limits = Limits {
            max_params: 3,
            ..Limits::DEFAULT
        };
        let many = Request::new("GET", "http://a.b/?a=1&b=2&c=3&d=4");
        assert_eq!(
            ParsedRequest::parse(&many, &limits).unwrap_err(),
            ParseError::TooManyParameters
        );
        let big = vec![b'a'; 2 * 1024 * 1024];
        let body = Request::new("POST", "http://a.b/").with_body("text/plain", &big);
        assert_eq!(
            ParsedRequest::parse(&body, &Limits::DEFAULT).unwrap_err(),
            ParseError::BodyTooLarge
        );
    }

    #[test]
    fn query_placement_url() {
        let signed = Signed {
            oauth: OAuthParams {
                nonce: Some("n".into()),
                ..OAuthParams::default()
            },
            base_string: String::new(),
        };
        assert_eq!(
            signed.url_with_params("http://a/b"),
            "http://a/b?oauth_nonce=n"
        );
        assert_eq!(
            signed.url_with_params("http://a/b?x=1#f"),
            "http://a/b?x=1&oauth_nonce=n#f"
        );
        assert_eq!(signed.body_with_params(b"a=1"), b"a=1&oauth_nonce=n");
    }
}
