//! The protocol parameters as a typed value, and the Authorization header.

use std::borrow::Cow;

use crate::encoding::{
    Encoded, all_quoted_text, decode, decode_with_encoding, encode_into, find_any,
    unreserved_prefix,
};
use crate::error::ParseError;
use crate::method::SignatureMethod;
use crate::signature::Signature;

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

/// The signed standard protocol parameters, in the byte order of their
/// names: the order they take in the normalised parameter string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Std {
    BodyHash,
    Callback,
    ConsumerKey,
    Nonce,
    SignatureMethod,
    Timestamp,
    Token,
    Verifier,
    Version,
}

impl Std {
    /// Every signed standard parameter, sorted by name.
    pub(crate) const SORTED: [Std; 9] = [
        Std::BodyHash,
        Std::Callback,
        Std::ConsumerKey,
        Std::Nonce,
        Std::SignatureMethod,
        Std::Timestamp,
        Std::Token,
        Std::Verifier,
        Std::Version,
    ];

    /// Every signed standard parameter in the order of
    /// [`OAuthParams::iter`], which a rendered header follows.
    pub(crate) const IN_HEADER_ORDER: [Std; 9] = [
        Std::ConsumerKey,
        Std::Token,
        Std::SignatureMethod,
        Std::Timestamp,
        Std::Nonce,
        Std::Version,
        Std::Callback,
        Std::Verifier,
        Std::BodyHash,
    ];

    /// The parameter name.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Std::BodyHash => "oauth_body_hash",
            Std::Callback => "oauth_callback",
            Std::ConsumerKey => "oauth_consumer_key",
            Std::Nonce => "oauth_nonce",
            Std::SignatureMethod => "oauth_signature_method",
            Std::Timestamp => "oauth_timestamp",
            Std::Token => "oauth_token",
            Std::Verifier => "oauth_verifier",
            Std::Version => "oauth_version",
        }
    }
}

/// Where a protocol parameter goes in [`OAuthParams`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    /// A signed standard parameter.
    Std(Std),
    /// `oauth_signature`.
    Signature,
    /// Any other name.
    Extra,
}

impl Field {
    /// The field of a parameter name.
    #[inline]
    pub(crate) fn of(name: &str) -> Field {
        let Some(short) = name.strip_prefix("oauth_") else {
            return Field::Extra;
        };
        Field::Std(match short {
            "consumer_key" => Std::ConsumerKey,
            "token" => Std::Token,
            "signature" => return Field::Signature,
            "signature_method" => Std::SignatureMethod,
            "timestamp" => Std::Timestamp,
            "nonce" => Std::Nonce,
            "version" => Std::Version,
            "callback" => Std::Callback,
            "verifier" => Std::Verifier,
            "body_hash" => Std::BodyHash,
            _ => return Field::Extra,
        })
    }
}

/// The canonical encoding of each signed standard parameter's value, where
/// the parser already knows it (indexed by [`Std`]); `None` means "encode the
/// decoded value".
pub(crate) type EncodedSlots<'a> = [Option<Encoded<'a>>; 9];

impl<'a> OAuthParams<'a> {
    /// Sets the parameter `name` from its decoded `value`. A name seen before
    /// is [`ParseError::DuplicateParameter`]; an unknown signature method is
    /// [`ParseError::UnsupportedSignatureMethod`].
    pub fn set(&mut self, name: &str, value: Cow<'a, str>) -> Result<(), ParseError> {
        self.set_field(Field::of(name), name, value)
    }

    /// [`OAuthParams::set`] with the field already looked up.
    #[inline]
    pub(crate) fn set_field(
        &mut self,
        field: Field,
        name: &str,
        value: Cow<'a, str>,
    ) -> Result<(), ParseError> {
        let slot = match field {
            Field::Std(Std::SignatureMethod) => {
                if self.signature_method.is_some() {
                    return Err(ParseError::DuplicateParameter(name.to_owned()));
                }
                self.signature_method = Some(value.parse()?);
                return Ok(());
            }
            Field::Std(std) => match self.std_slot_mut(std) {
                Some(slot) => slot,
                None => return Ok(()),
            },
            Field::Signature => &mut self.signature,
            Field::Extra => {
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

    /// The slot of a string-valued signed parameter (`None` for the
    /// signature method, which is typed).
    fn std_slot_mut(&mut self, std: Std) -> Option<&mut Option<Cow<'a, str>>> {
        Some(match std {
            Std::BodyHash => &mut self.body_hash,
            Std::Callback => &mut self.callback,
            Std::ConsumerKey => &mut self.consumer_key,
            Std::Nonce => &mut self.nonce,
            Std::SignatureMethod => return None,
            Std::Timestamp => &mut self.timestamp,
            Std::Token => &mut self.token,
            Std::Verifier => &mut self.verifier,
            Std::Version => &mut self.version,
        })
    }

    /// The decoded value of a signed parameter, if present.
    #[inline]
    pub(crate) fn std_value(&self, std: Std) -> Option<&str> {
        match std {
            Std::BodyHash => self.body_hash.as_deref(),
            Std::Callback => self.callback.as_deref(),
            Std::ConsumerKey => self.consumer_key.as_deref(),
            Std::Nonce => self.nonce.as_deref(),
            Std::SignatureMethod => self.signature_method.map(SignatureMethod::as_str),
            Std::Timestamp => self.timestamp.as_deref(),
            Std::Token => self.token.as_deref(),
            Std::Verifier => self.verifier.as_deref(),
            Std::Version => self.version.as_deref(),
        }
    }

    /// Adds every parameter of `other` (but its signature) as [`set`] would,
    /// in the order of [`OAuthParams::iter`], borrowing the values.
    ///
    /// [`set`]: OAuthParams::set
    pub(crate) fn merge_unsigned<'o: 'a>(
        &mut self,
        other: &'a OAuthParams<'o>,
    ) -> Result<(), ParseError> {
        for std in Std::IN_HEADER_ORDER {
            if std == Std::SignatureMethod {
                if let Some(method) = other.signature_method {
                    if self.signature_method.is_some() {
                        return Err(ParseError::DuplicateParameter(std.name().to_owned()));
                    }
                    self.signature_method = Some(method);
                }
                continue;
            }
            if let Some(value) = other.std_value(std) {
                self.set_field(Field::Std(std), std.name(), Cow::Borrowed(value))?;
            }
        }
        for (name, value) in &other.extras {
            self.set(name, Cow::Borrowed(value))?;
        }
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

    /// Calls `f` with every parameter present, in the order of
    /// [`OAuthParams::iter`].
    pub(crate) fn for_each<'s>(&'s self, mut f: impl FnMut(&'s str, &'s str)) {
        // Not `&mut f`: the closure narrows the `&'static str` names.
        #[allow(clippy::redundant_closure)]
        self.for_each_signed(|name, value| f(name, value));
        for (name, value) in &self.extras {
            f(name, value);
        }
        if let Some(signature) = &self.signature {
            f("oauth_signature", signature);
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
        let mut capacity = 0;
        self.for_each(|name, value| capacity += name.len() + value.len() + value.len() / 4 + 2);
        let mut out = String::with_capacity(capacity);
        self.for_each(|name, value| {
            if !out.is_empty() {
                out.push('&');
            }
            encode_into(&mut out, name);
            out.push('=');
            encode_into(&mut out, value);
        });
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
#[inline]
fn is_quoted_text(b: u8) -> bool {
    matches!(b, 0x20..=0x7e) && b != b'"' && b != b'\\'
}

/// Recognises a standard protocol parameter name followed by `=` at the
/// start of `rest` (which is then exactly what reading an unreserved name
/// would give).
#[inline]
fn known_name(rest: &[u8]) -> Option<(&'static str, Field)> {
    // Constant patterns: each comparison is a few word compares.
    macro_rules! name {
        ($name:literal, $field:expr) => {
            if rest.starts_with(concat!($name, "=").as_bytes()) {
                return Some(($name, $field));
            }
        };
    }
    let tail = rest.strip_prefix(b"oauth_")?;
    match tail.first()? {
        b'c' => {
            name!("oauth_consumer_key", Field::Std(Std::ConsumerKey));
            name!("oauth_callback", Field::Std(Std::Callback));
        }
        b't' => {
            name!("oauth_token", Field::Std(Std::Token));
            name!("oauth_timestamp", Field::Std(Std::Timestamp));
        }
        b's' => {
            name!("oauth_signature", Field::Signature);
            name!("oauth_signature_method", Field::Std(Std::SignatureMethod));
        }
        b'n' => name!("oauth_nonce", Field::Std(Std::Nonce)),
        b'v' => {
            name!("oauth_version", Field::Std(Std::Version));
            name!("oauth_verifier", Field::Std(Std::Verifier));
        }
        b'b' => name!("oauth_body_hash", Field::Std(Std::BodyHash)),
        _ => {}
    }
    None
}

/// Whether a header parameter name is a protocol parameter (`oauth_*` or
/// `xoauth_*`).
#[inline]
fn is_protocol_name(name: &str) -> bool {
    name.starts_with("oauth_") || name.starts_with("xoauth_")
}

/// A small cursor over header bytes that cannot read past the end.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline]
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    #[inline]
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Takes the longest run of unreserved bytes.
    #[inline]
    fn take_unreserved(&mut self) -> &'a str {
        let start = self.pos;
        let rest = self.text.as_bytes().get(start..).unwrap_or_default();
        self.pos += unreserved_prefix(rest);
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// The bytes not read yet.
    #[inline]
    fn rest(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.pos..).unwrap_or_default()
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
        let mut header = AuthorizationHeader::default();
        Self::parse_into(value, limits, &mut header.realm, &mut header.params, None)?;
        Ok(header)
    }

    /// [`AuthorizationHeader::parse`] into `realm` and `params` (which start
    /// empty), also recording in `encoded` the canonical encoding of each
    /// signed standard parameter (for the base string: most values arrive
    /// canonical and are used as they are).
    pub(crate) fn parse_into(
        value: &'a str,
        limits: &Limits,
        realm: &mut Option<Cow<'a, str>>,
        params: &mut OAuthParams<'a>,
        mut encoded: Option<&mut EncodedSlots<'a>>,
    ) -> Result<(), ParseError> {
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
            // The standard names are recognised whole (with their `=`).
            let (name, known) = match known_name(cur.rest()) {
                Some((name, field)) => {
                    cur.pos += name.len();
                    (name, Some(field))
                }
                None => (cur.take_unreserved(), None),
            };
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
            if known.is_none() && name == "realm" {
                if realm.is_some() {
                    return Err(ParseError::DuplicateParameter("realm".to_owned()));
                }
                *realm = Some(read_quoted_string(&mut cur)?);
                continue;
            }
            // The usual value is unreserved bytes up to the closing quote:
            // it is its own decoded and canonical form.
            // The value runs to the next `"`; it must be quoted text (no
            // quoted pairs in protocol values).
            let start = cur.pos;
            let rest = cur.rest();
            let (len, plain) = match find_any(rest, [b'"']) {
                Some(q) => match rest.get(..q) {
                    Some(v) if unreserved_prefix(v) == q => (q, true),
                    Some(v) if all_quoted_text(v) => (q, false),
                    _ => return Err(ParseError::MalformedHeader("unterminated or invalid value")),
                },
                None => return Err(ParseError::MalformedHeader("unterminated or invalid value")),
            };
            let raw = cur.text.get(start..start + len).unwrap_or("");
            // Past the value and its closing quote.
            cur.pos += len + 1;
            if known.is_none() && !is_protocol_name(name) {
                return Err(ParseError::UnexpectedHeaderParameter);
            }
            let (decoded, encoded_value) = if plain {
                (Cow::Borrowed(raw), Encoded::unreserved(raw))
            } else if known == Some(Field::Signature) {
                // Never in the base string: decoding is all it needs.
                (decode(raw)?, Encoded::unreserved(""))
            } else {
                decode_with_encoding(raw, false)?
            };
            let field = known.unwrap_or_else(|| Field::of(name));
            params.set_field(field, name, decoded)?;
            if let (Some(slots), Field::Std(std)) = (encoded.as_deref_mut(), field)
                && let Some(slot) = slots.get_mut(std as usize)
            {
                *slot = Some(encoded_value);
            }
        }
        Ok(())
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
        render_header(self.realm.as_deref(), &self.params)
    }
}

/// [`AuthorizationHeader::render`] over borrowed parts.
pub(crate) fn render_header(realm: Option<&str>, params: &OAuthParams<'_>) -> String {
    render_header_encoded(realm, params, &EncodedSlots::default(), None)
}

/// [`render_header`] with the encodings of standard values already worked
/// out where `encoded` has them, and `signature`, when given, in place of
/// the one in `params` (the signer has both at hand).
pub(crate) fn render_header_encoded(
    realm: Option<&str>,
    params: &OAuthParams<'_>,
    encoded: &EncodedSlots<'_>,
    signature: Option<&Signature>,
) -> String {
    // Room for every name and value plus the usual escapes, so that the
    // common header is written without growing.
    let mut capacity = 8 + realm.map_or(0, |r| r.len() + 12);
    params.for_each(|name, value| capacity += name.len() + value.len() + value.len() / 4 + 8);
    if signature.is_some() {
        // SHA-512's MAC, in base64 with escapes to spare.
        capacity += 128;
    }
    let mut out = String::with_capacity(capacity);
    out.push_str("OAuth ");
    let mut first = true;
    if let Some(realm) = realm {
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
    let mut param = |name: &str, name_unreserved: bool, value: &str, value_encoded: bool| {
        if !first {
            out.push_str(", ");
        }
        first = false;
        if name_unreserved {
            out.push_str(name);
        } else {
            encode_into(&mut out, name);
        }
        out.push_str("=\"");
        if value_encoded {
            out.push_str(value);
        } else {
            encode_into(&mut out, value);
        }
        out.push('"');
    };
    // The standard names are unreserved; extras are encoded.
    for std in Std::IN_HEADER_ORDER {
        match (encoded.get(std as usize), params.std_value(std)) {
            (Some(Some(known)), Some(_)) => param(std.name(), true, &known.text, true),
            (_, Some(value)) => param(std.name(), true, value, false),
            (_, None) => {}
        }
    }
    for (name, value) in &params.extras {
        param(name, false, value, false);
    }
    match (signature, &params.signature) {
        (Some(computed), _) => {
            out.push_str(if first { "" } else { ", " });
            out.push_str("oauth_signature=\"");
            computed.encode_into(&mut out);
            out.push('"');
        }
        (None, Some(signature)) => param("oauth_signature", true, signature, false),
        (None, None) => {}
    }
    out
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
