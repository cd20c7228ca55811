//! A request as OAuth sees it: parameter collection (RFC 5849 §3.4.1.3),
//! the signature base string (§3.4.1.1), and the two entry points that client
//! and server share: [`sign`] and [`ParsedRequest::verify`].

use std::borrow::Cow;

use crate::encoding::{
    BaseBuf, Component, Encoded, canonical_as_is, encode_bytes_into, encode_into,
    encode_twice_bytes_into, find_any, push_canonical_twice, split_pairs,
};
use crate::error::{ParseError, SignError, VerifyError};
use crate::keys::{SigningKey, VerifyingKey};
use crate::method::SignatureMethod;
use crate::params::{
    AuthorizationHeader, EncodedSlots, Field, Limits, OAuthParams, Std, is_oauth_scheme,
    render_header, render_header_encoded,
};
use crate::signature::{body_hash_matches, compute_signature, verify_base_bytes};
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

/// Whether a `Content-Type` value names the form type without being it: a
/// near-form type (`application/x-www-form-urlencoded-foo`), a list
/// (`application/x-www-form-urlencoded,text/plain`). A verifier that leaves
/// such a body out of the signature while a framework parses it as a form
/// (axum's `Form` tests a prefix) lets anyone in the middle swap it, so a
/// signed request with one is refused.
///
/// ```
/// use sigil_core::is_ambiguous_form_content_type as ambiguous;
/// assert!(ambiguous("application/x-www-form-urlencoded-foo"));
/// assert!(ambiguous("application/x-www-form-urlencoded,text/plain"));
/// assert!(ambiguous("text/plain, application/x-www-form-urlencoded"));
/// assert!(!ambiguous("application/x-www-form-urlencoded; charset=utf-8"));
/// assert!(!ambiguous("application/json"));
/// ```
pub fn is_ambiguous_form_content_type(content_type: &str) -> bool {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    let names_form = content_type
        .as_bytes()
        .windows(FORM.len())
        .any(|w| w.eq_ignore_ascii_case(FORM));
    names_form && (content_type.contains(',') || !is_form_content_type(content_type))
}

/// Whether a `Content-Type` value is `application/x-www-form-urlencoded`,
/// with or without parameters such as `; charset=utf-8`.
pub fn is_form_content_type(content_type: &str) -> bool {
    let media = match find_any(content_type.as_bytes(), [b';']) {
        Some(i) => content_type.get(..i).unwrap_or(content_type),
        None => content_type,
    };
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
        self.name.decoded()
    }

    /// The value, decoded once.
    pub fn value(&self) -> &str {
        self.value.decoded()
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
    /// The canonical encoding of signed standard parameters whose value came
    /// from the request (see [`EncodedSlots`]).
    encoded: EncodedSlots<'a>,
    /// Bytes of input that may enter the base string (URL, header, form
    /// body, and protocol values added when signing): sizes its buffer.
    input_len: usize,
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
        let mut parsed = ParsedRequest {
            method: request.method,
            uri,
            realm: None,
            oauth: OAuthParams::default(),
            location: None,
            params: Vec::new(),
            body: request.body,
            form_body: false,
            encoded: EncodedSlots::default(),
            input_len: request.url.len(),
        };
        if let Some(value) = request.authorization
            && is_oauth_scheme(value)
        {
            AuthorizationHeader::parse_into(
                value,
                limits,
                &mut parsed.realm,
                &mut parsed.oauth,
                Some(&mut parsed.encoded),
            )?;
            parsed.input_len += value.len();
            if !parsed.oauth.is_empty() {
                parsed.location = Some(ParamLocation::Header);
            }
        }
        let mut budget = limits.max_params.saturating_sub(parsed.oauth.len());
        if let Some(query) = parsed.uri.query() {
            parsed.collect(query, ParamLocation::Query, &mut budget)?;
        }
        if request.has_form_body() {
            parsed.form_body = true;
            parsed.input_len += request.body.len();
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
            if name.is_protocol() {
                match self.location {
                    Some(seen) if seen != location => return Err(ParseError::MultipleLocations),
                    _ => self.location = Some(location),
                }
                let encoded = value.encoded.clone();
                let name = name.into_decoded();
                let field = Field::of(&name);
                self.oauth.set_field(field, &name, value.into_decoded())?;
                if let Field::Std(std) = field
                    && let Some(slot) = self.encoded.get_mut(std as usize)
                {
                    *slot = Some(encoded);
                }
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

    /// Hands `sink` every parameter that enters the base string, as (encoded
    /// name, encoded value), sorted per RFC 5849 §3.4.1.3.2.
    ///
    /// The signed standard parameters are visited in the (fixed) order of
    /// their names and merged with the others, sorted here: only the query,
    /// body and extra parameters need sorting.
    fn for_each_sorted(&self, sink: &mut impl Sink) {
        // Extras are rare: encoded here, kept alive for the merge.
        let extras: Vec<(Encoded<'_>, Encoded<'_>)> = self
            .oauth
            .extras
            .iter()
            .map(|(name, value)| (Encoded::of(name), Encoded::of(value)))
            .collect();
        let pairs = self
            .params
            .iter()
            .map(|p| (&p.name.encoded, &p.value.encoded))
            .chain(extras.iter().map(|(n, v)| (n, v)))
            .map(|(n, v)| (n.text.as_ref(), n.plain, v.text.as_ref(), v.plain));
        const INLINE: usize = 8;
        let count = self.params.len() + extras.len();
        let mut inline: [Other<'_>; INLINE] = [("", true, "", true); INLINE];
        let mut spilled = Vec::new();
        let others: &mut [Other<'_>] = if count <= INLINE {
            for (slot, pair) in inline.iter_mut().zip(pairs) {
                *slot = pair;
            }
            inline.get_mut(..count).unwrap_or_default()
        } else {
            spilled.extend(pairs);
            &mut spilled
        };
        others.sort_unstable();
        merge_sorted(
            others,
            |std| {
                let value = self.oauth.std_value(std)?;
                Some(match self.encoded.get(std as usize) {
                    Some(Some(encoded)) => StdText::Encoded(&encoded.text, encoded.plain),
                    _ => StdText::Decoded(value),
                })
            },
            sink,
        );
    }

    /// The normalised parameter string of RFC 5849 §3.4.1.3.2.
    pub fn normalized_params(&self) -> String {
        let mut sink = NormalizedSink(String::with_capacity(self.base_string_capacity()));
        self.for_each_sorted(&mut sink);
        sink.0
    }

    /// A capacity that holds the usual base string without growing.
    fn base_string_capacity(&self) -> usize {
        self.method.len() + self.input_len + self.input_len / 2 + 32
    }

    /// Writes the signature base string of RFC 5849 §3.4.1.1 (ASCII).
    fn write_base_string(&self, out: &mut BaseBuf) {
        write_base_string_head(out, self.method, &self.uri);
        // The normalised string holds only unreserved bytes, `%`, `=` and
        // `&`, so encoding it a second time is done on the fly.
        self.for_each_sorted(&mut BaseSink { out, first: true });
    }

    /// The signature base string of RFC 5849 §3.4.1.1.
    pub fn base_string(&self) -> String {
        let mut out = BaseBuf::new();
        self.write_base_string(&mut out);
        // Every byte written is ASCII: unreserved characters and escapes.
        String::from_utf8(out.finish().to_vec()).unwrap_or_default()
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
        let mut base = BaseBuf::new();
        if method != SignatureMethod::Plaintext {
            self.write_base_string(&mut base);
        }
        verify_base_bytes(method, base.finish(), signature, key)?;
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

/// The base string up to its parameters: the method in upper case, `&`, the
/// encoded base string URI, `&`.
fn write_base_string_head(out: &mut BaseBuf, method: &str, uri: &BaseUri<'_>) {
    if method.bytes().any(|b| b.is_ascii_lowercase()) {
        for b in method.bytes() {
            out.push(b.to_ascii_uppercase());
        }
    } else {
        out.put(method.as_bytes());
    }
    out.push(b'&');
    encode_bytes_into(out, uri.scheme().as_bytes());
    out.put(b"%3A%2F%2F");
    encode_bytes_into(out, uri.host().as_bytes());
    if let Some(port) = uri.port() {
        out.put(b"%3A");
        push_decimal(out, port);
    }
    encode_bytes_into(out, uri.path().as_bytes());
    out.push(b'&');
}

/// A parameter other than the signed standard ones as it enters the
/// normalised string: (encoded name, name has no `%`, encoded value, value
/// has no `%`). The flags follow from the text, so sorting the tuples sorts
/// by name, then value.
type Other<'s> = (&'s str, bool, &'s str, bool);

/// A signed standard parameter's value as [`merge_sorted`] gets it.
enum StdText<'s> {
    /// Its canonical encoding and whether that holds no `%`.
    Encoded(&'s str, bool),
    /// The decoded value, encoded while written.
    Decoded(&'s str),
}

/// Hands `sink` the sorted `others` merged with the signed standard
/// parameters that `std_text` has, per RFC 5849 §3.4.1.3.2. The standard
/// parameters come in the (fixed) order of their names; only the others
/// needed sorting.
fn merge_sorted<'s>(
    others: &[Other<'s>],
    std_text: impl Fn(Std) -> Option<StdText<'s>>,
    sink: &mut impl Sink,
) {
    // Every standard name starts with `oauth_`: the sorted others fall into
    // those before all of them, those starting with `oauth_` (only extras)
    // that interleave with them, and those after all of them.
    let before = others
        .iter()
        .take_while(|o| o.0.as_bytes() < b"oauth_".as_slice())
        .count();
    let (head, rest) = others.split_at(before);
    let middle_len = rest
        .iter()
        .take_while(|o| o.0.starts_with("oauth_"))
        .count();
    let (middle, tail) = rest.split_at(middle_len);
    for &(n, n_plain, v, v_plain) in head {
        sink.other(n, n_plain, v, v_plain);
    }
    let mut middle = middle.iter().peekable();
    for std in Std::SORTED {
        let Some(text) = std_text(std) else {
            continue;
        };
        // No other parameter has a standard name: names never tie here.
        while let Some(&&(n, n_plain, v, v_plain)) = middle.peek() {
            if n > std.name() {
                break;
            }
            sink.other(n, n_plain, v, v_plain);
            middle.next();
        }
        match text {
            StdText::Encoded(text, plain) => sink.std(std, text, plain),
            StdText::Decoded(value) => sink.std_decoded(std, value),
        }
    }
    for &(n, n_plain, v, v_plain) in middle.chain(tail) {
        sink.other(n, n_plain, v, v_plain);
    }
}

/// What [`ParsedRequest::for_each_sorted`] hands each parameter of the
/// normalised string to, in order. Small methods, inlined at each call.
trait Sink {
    /// A signed standard parameter with its canonical encoding and whether
    /// that holds no `%`.
    fn std(&mut self, std: Std, text: &str, plain: bool);
    /// A signed standard parameter with only its decoded value at hand.
    fn std_decoded(&mut self, std: Std, value: &str);
    /// Any other parameter: (encoded name, no `%` in it, encoded value, no
    /// `%` in it).
    fn other(&mut self, name: &str, name_plain: bool, value: &str, value_plain: bool);
}

/// Writes the parameters encoded once more, joined by `%26`, into a base
/// string.
struct BaseSink<'b> {
    out: &'b mut BaseBuf,
    first: bool,
}

impl BaseSink<'_> {
    #[inline(always)]
    fn sep(&mut self) -> &'static [u8] {
        let sep: &'static [u8] = if self.first { b"" } else { b"%26" };
        self.first = false;
        sep
    }
}

impl Sink for BaseSink<'_> {
    #[inline(always)]
    fn std(&mut self, std: Std, text: &str, plain: bool) {
        let sep = self.sep();
        self.out.put(std_prefix(std, sep));
        push_canonical_twice(self.out, text, plain);
    }

    #[inline(always)]
    fn std_decoded(&mut self, std: Std, value: &str) {
        let sep = self.sep();
        self.out.put(std_prefix(std, sep));
        encode_twice_bytes_into(self.out, value.as_bytes());
    }

    #[inline(always)]
    fn other(&mut self, name: &str, name_plain: bool, value: &str, value_plain: bool) {
        let sep = self.sep();
        self.out.put(sep);
        push_canonical_twice(self.out, name, name_plain);
        self.out.put(b"%3D");
        push_canonical_twice(self.out, value, value_plain);
    }
}

/// Writes the normalised parameter string itself.
struct NormalizedSink(String);

impl NormalizedSink {
    fn pair(&mut self, name: &str, value: impl FnOnce(&mut String)) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(name);
        self.0.push('=');
        value(&mut self.0);
    }
}

impl Sink for NormalizedSink {
    fn std(&mut self, std: Std, text: &str, _: bool) {
        self.pair(std.name(), |out| out.push_str(text));
    }

    fn std_decoded(&mut self, std: Std, value: &str) {
        self.pair(std.name(), |out| encode_into(out, value));
    }

    fn other(&mut self, name: &str, _: bool, value: &str, _: bool) {
        self.pair(name, |out| out.push_str(value));
    }
}

/// `%26oauth_name%3D` (the separator, the name and `=`, encoded for the
/// base string), or the same without the leading `%26` when `sep` is empty.
fn std_prefix(std: Std, sep: &[u8]) -> &'static [u8] {
    let full: &'static [u8] = match std {
        Std::BodyHash => b"%26oauth_body_hash%3D",
        Std::Callback => b"%26oauth_callback%3D",
        Std::ConsumerKey => b"%26oauth_consumer_key%3D",
        Std::Nonce => b"%26oauth_nonce%3D",
        Std::SignatureMethod => b"%26oauth_signature_method%3D",
        Std::Timestamp => b"%26oauth_timestamp%3D",
        Std::Token => b"%26oauth_token%3D",
        Std::Verifier => b"%26oauth_verifier%3D",
        Std::Version => b"%26oauth_version%3D",
    };
    if sep.is_empty() {
        full.get(3..).unwrap_or(full)
    } else {
        full
    }
}

/// Appends a port number in decimal.
fn push_decimal(out: &mut BaseBuf, n: u16) {
    let mut digits = [0u8; 5];
    let mut len = 0;
    let mut n = n;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put(digits.get(5 - len..).unwrap_or_default());
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
        render_header(realm, &self.oauth)
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
    ParsedRequest::signing(request, oauth, |parsed, method| {
        // PLAINTEXT signs nothing, but the base string is still worth showing.
        let base_string = parsed.base_string();
        let signature = compute_signature(method, base_string.as_bytes(), key)?;
        let mut oauth = std::mem::take(&mut parsed.oauth);
        oauth.signature = Some(Cow::Owned(signature.into_text()));
        Ok(Signed { oauth, base_string })
    })
}

/// Signs a request as [`sign`] does and returns only its `Authorization`
/// header value, the same as `sign(..)?.authorization_header(realm)`: the
/// base string stays in a stack buffer instead of becoming a `String`.
///
/// ```
/// use std::borrow::Cow;
/// use sigil_core::*;
/// let cs = Secret::new("kd94hf93k423kf44");
/// let ts = Secret::new("pfkkdhi9sl3r4s00");
/// let key = HmacKey::new(SignatureMethod::HmacSha1, &cs, Some(&ts))?;
/// let oauth = OAuthParams {
///     consumer_key: Some(Cow::Borrowed("dpf43f3p2l4k3l03")),
///     token: Some(Cow::Borrowed("nnch734d00sl2jdk")),
///     signature_method: Some(SignatureMethod::HmacSha1),
///     timestamp: Some(Cow::Borrowed("137131202")),
///     nonce: Some(Cow::Borrowed("chapoH")),
///     ..OAuthParams::default()
/// };
/// let request = Request::new("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original");
/// let header = sign_authorization_header(&request, &oauth, &SigningKey::Hmac(&key), Some("Photos"))?;
/// assert!(header.starts_with(r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03""#));
/// assert!(header.ends_with(r#"oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D""#));
/// # Ok::<(), SignError>(())
/// ```
pub fn sign_authorization_header(
    request: &Request<'_>,
    oauth: &OAuthParams<'_>,
    key: &SigningKey<'_>,
    realm: Option<&str>,
) -> Result<String, SignError> {
    if let Some(header) = sign_header_direct(request, oauth, key, realm) {
        return header;
    }
    ParsedRequest::signing(request, oauth, |parsed, method| {
        encode_protocol_values(&mut parsed.encoded, oauth);
        let mut base = BaseBuf::new();
        if method != SignatureMethod::Plaintext {
            parsed.write_base_string(&mut base);
        }
        let signature = compute_signature(method, base.finish(), key)?;
        Ok(render_header_encoded(
            realm,
            &parsed.oauth,
            &parsed.encoded,
            Some(&signature),
        ))
    })
}

/// Query and body parameters [`sign_header_direct`] collects at most.
const DIRECT_MAX: usize = 8;

/// [`sign_authorization_header`] for the usual request, without a
/// [`ParsedRequest`]: signing needs only the canonical encoding of each query
/// and body parameter (never its decoded form, its location, or the server's
/// checks), so the parameters are collected as they stand into an array on
/// the stack and merged with the caller's protocol values while the base
/// string is written.
///
/// `None` when the request is not of that kind: a component that is not
/// canonical as it stands (`+` for a space, `%7E`, a malformed escape), a
/// protocol parameter in the query or body, extra protocol parameters, more
/// than [`DIRECT_MAX`] parameters, or anything the general path reports as
/// an error. The general path signs those, with the same result (a property
/// test holds the two to it).
fn sign_header_direct(
    request: &Request<'_>,
    oauth: &OAuthParams<'_>,
    key: &SigningKey<'_>,
    realm: Option<&str>,
) -> Option<Result<String, SignError>> {
    let method = oauth.signature_method?;
    if !oauth.extras.is_empty() {
        return None;
    }
    let uri = BaseUri::parse(request.url).ok()?;
    let form = request.has_form_body();
    if form && oauth.body_hash.is_some() {
        return None;
    }
    let body = if form {
        Some(std::str::from_utf8(request.body).ok()?)
    } else {
        None
    };
    let mut others: [Other<'_>; DIRECT_MAX] = [("", true, "", true); DIRECT_MAX];
    let mut count = 0;
    for text in uri.query().into_iter().chain(body) {
        for (name, value) in split_pairs(text) {
            // A canonical name that decodes to `oauth_*` shows it as is.
            if name.starts_with("oauth_") {
                return None;
            }
            let slot = others.get_mut(count)?;
            *slot = (name, canonical_as_is(name)?, value, canonical_as_is(value)?);
            count += 1;
        }
    }
    let others = others.get_mut(..count)?;
    others.sort_unstable();
    let mut encoded = EncodedSlots::default();
    encode_protocol_values(&mut encoded, oauth);
    let mut base = BaseBuf::new();
    if method != SignatureMethod::Plaintext {
        write_base_string_head(&mut base, request.method, &uri);
        merge_sorted(
            others,
            |std| match encoded.get(std as usize) {
                Some(Some(e)) => Some(StdText::Encoded(&e.text, e.plain)),
                _ => None,
            },
            &mut BaseSink {
                out: &mut base,
                first: true,
            },
        );
    }
    Some(
        compute_signature(method, base.finish(), key)
            .map(|signature| render_header_encoded(realm, oauth, &encoded, Some(&signature))),
    )
}

impl<'a> ParsedRequest<'a> {
    /// Runs `then` on what signing starts from: the request's query and
    /// form-body parameters collected exactly as a server will (no limits:
    /// the caller built the request), with `oauth` merged in, and its
    /// method. (A continuation, not a return value: the request is large
    /// and stays where it was built.)
    fn signing<'o: 'a, R>(
        request: &Request<'a>,
        oauth: &'a OAuthParams<'o>,
        then: impl FnOnce(&mut Self, SignatureMethod) -> Result<R, SignError>,
    ) -> Result<R, SignError> {
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
        parsed.oauth.merge_unsigned(oauth)?;
        oauth.for_each(|_, value| parsed.input_len += value.len() + 24);
        parsed.oauth.signature = None;
        then(&mut parsed, method)
    }
}

/// Works out the encoding of each of `oauth`'s standard values that `slots`
/// does not hold yet, once, for the base string and the header both. (Only
/// worth it when both are written in one go: encoding while writing is
/// cheaper for one.)
fn encode_protocol_values<'a>(slots: &mut EncodedSlots<'a>, oauth: &'a OAuthParams<'_>) {
    for std in Std::SORTED {
        if let (Some(slot @ None), Some(value)) =
            (slots.get_mut(std as usize), oauth.std_value(std))
        {
            *slot = Some(Encoded::of(value));
        }
    }
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
    use crate::encoding::encode;
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
    fn the_direct_signer_takes_the_usual_request_and_leaves_the_rest() {
        let cs = Secret::new("kd94hf93k423kf44");
        let ts = Secret::new("pfkkdhi9sl3r4s00");
        let key = SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: Some(&ts),
        };
        let oauth = OAuthParams {
            consumer_key: Some(Cow::Borrowed("dpf43f3p2l4k3l03")),
            token: Some(Cow::Borrowed("nnch734d00sl2jdk")),
            signature_method: Some(SignatureMethod::HmacSha1),
            timestamp: Some(Cow::Borrowed("137131202")),
            nonce: Some(Cow::Borrowed("chapoH")),
            callback: Some(Cow::Borrowed("https://cb.example/?a=b c")),
            ..OAuthParams::default()
        };
        let form = "application/x-www-form-urlencoded";
        let many = format!("http://h.example/p?{}", "a=1&".repeat(DIRECT_MAX + 1));
        let cases: [(Request<'_>, bool); 9] = [
            (
                Request::new(
                    "get",
                    "http://Photos.example.NET:80/photos?file=vacation.jpg&size=original&z&=x",
                ),
                true,
            ),
            (
                Request::new("POST", "https://h.example/x?q=%2Fx").with_body(form, b"b=%20%25&a=1"),
                true,
            ),
            // Not canonical as they stand: decoded and encoded again (or,
            // for escapes of non-ASCII bytes, checked for UTF-8).
            (Request::new("GET", "http://h.example/?q=a+b"), false),
            (
                Request::new("GET", "https://h.example/x?q=%E2%9C%93"),
                false,
            ),
            (Request::new("GET", "http://h.example/?q=%7e"), false),
            // A protocol parameter outside `oauth`, too many parameters,
            // a body that is not UTF-8, a malformed escape.
            (
                Request::new("GET", "http://h.example/?oauth_verifier=v"),
                false,
            ),
            (Request::new("GET", &many), false),
            (
                Request::new("POST", "http://h.example/").with_body(form, b"a=\xff"),
                false,
            ),
            (Request::new("GET", "http://h.example/?q=%zz"), false),
        ];
        for (request, direct) in cases {
            let general = sign(&request, &oauth, &key).map(|s| s.authorization_header(Some("R")));
            let taken = sign_header_direct(&request, &oauth, &key, Some("R"));
            assert_eq!(taken.is_some(), direct, "{}", request.url);
            if let Some(header) = taken {
                assert_eq!(header, general, "{}", request.url);
            }
            assert_eq!(
                sign_authorization_header(&request, &oauth, &key, Some("R")),
                general,
                "{}",
                request.url
            );
        }
        // Extras go the general way too.
        let mut with_extra = oauth.clone();
        with_extra.set("xoauth_x", Cow::Borrowed("1")).unwrap();
        assert!(
            sign_header_direct(&Request::new("GET", "http://h/"), &with_extra, &key, None)
                .is_none()
        );
    }

    #[test]
    fn base_string_matches_its_parts() {
        // The base string is written through a stack buffer that spills
        // past 1 KiB; the normalised parameters through a plain String.
        let long_value = "a%20b%2Fc~d".repeat(150);
        let long_name = "n".repeat(1500);
        let mut checked = 0;
        let query = format!("q={long_value}&{long_name}=%25&Z=&z=%7e");
        let header = "OAuth realm=\"r\", oauth_consumer_key=\"k%2Bey\", oauth_nonce=\"n\", \
                      oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1\", \
                      xoauth_extra=\"a%2fb\", oauth_signature=\"s\"";
        for url in [
            format!("http://Example.COM:8080/p%20q/r?{query}#frag"),
            "https://a.b/".to_owned(),
            format!("https://a.b/{}?x=1", "seg/".repeat(300)),
        ] {
            for body in [&b""[..], b"b=%E2%9C%93&oauth_zz=1", b"c2&a3=2+q"] {
                let request = Request::new("post", &url)
                    .with_authorization(header)
                    .with_body("application/x-www-form-urlencoded", body);
                let parsed = match ParsedRequest::parse(&request, &Limits::DEFAULT) {
                    Ok(parsed) => parsed,
                    // oauth_* in the body as well as the header.
                    Err(e) => {
                        assert_eq!(e, ParseError::MultipleLocations);
                        continue;
                    }
                };
                let expected = format!(
                    "POST&{}&{}",
                    encode(&parsed.uri().to_string()),
                    encode(&parsed.normalized_params())
                );
                assert_eq!(parsed.base_string(), expected);
                checked += 1;
            }
        }
        assert_eq!(checked, 6);
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
