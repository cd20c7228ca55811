//! Signing outgoing requests: credentials and configuration as types, one
//! signer for `http::Request`, `reqwest::Request` and plain parts.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use sigil_core::{
    Clock, HmacKey, OAuthParams, Request, RsaPrivateKey, Secret, SignatureMethod, SigningKey,
    SystemClock, body_hash, generate_nonce, is_form_content_type, sign, sign_authorization_header,
};

use crate::error::ClientError;

/// The client's own credentials: a key and either a shared secret or an RSA
/// private key.
#[derive(Clone)]
pub struct Consumer {
    /// The consumer key.
    pub key: String,
    /// The consumer secret (HMAC-SHA*, PLAINTEXT).
    pub secret: Option<Secret>,
    /// The RSA private key (RSA-SHA*).
    pub rsa_key: Option<RsaPrivateKey>,
}

impl Consumer {
    /// A consumer with a shared secret.
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: Some(Secret::new(secret)),
            rsa_key: None,
        }
    }

    /// A consumer that signs with an RSA private key.
    pub fn rsa(key: impl Into<String>, private_key: RsaPrivateKey) -> Self {
        Self {
            key: key.into(),
            secret: None,
            rsa_key: Some(private_key),
        }
    }
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("key", &self.key)
            .field("secret", &self.secret)
            .field("rsa_key", &self.rsa_key)
            .finish()
    }
}

/// Token credentials (temporary or access): a token and its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub token: String,
    /// Its secret (`Debug` is redacted).
    pub secret: Secret,
}

impl Token {
    /// A token and its secret.
    pub fn new(token: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            secret: Secret::new(secret),
        }
    }
}

/// Where the protocol parameters go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// The `Authorization` header (RFC 5849 §3.5.1). The default.
    #[default]
    Header,
    /// The URL query (§3.5.3), as WooCommerce over https wants.
    Query,
    /// The form body (§3.5.2); only for form bodies.
    Body,
}

/// When to add `oauth_body_hash` (OAuth Request Body Hash extension).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyHash {
    /// For every request signed with RSA-SHA256 that has no form body,
    /// an empty body included (the hash of nothing): what Mastercard
    /// requires, a GET included.
    #[default]
    Auto,
    /// For every non-form body (LTI 1.1 outcomes).
    Always,
    /// Never.
    Never,
}

/// A request after signing: what to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedParts {
    /// The URL to send to (with the protocol parameters for query placement).
    pub url: String,
    /// The `Authorization` header value, for header placement.
    pub authorization: Option<String>,
    /// The body to send (with the protocol parameters for body placement).
    pub body: Vec<u8>,
    /// The `Content-Type` to send, when the signer set one.
    pub content_type: Option<String>,
    /// The base string that was signed (for debugging a rejection).
    pub base_string: String,
}

/// A request to sign, as parts.
#[derive(Clone, Copy)]
struct RequestParts<'a> {
    method: &'a str,
    url: &'a str,
    content_type: Option<&'a str>,
    body: &'a [u8],
}

/// Whether a signature's caller wants the base string too.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    WithBaseString,
    HeaderOnly,
}

/// Signs requests for one consumer (and optionally one token).
#[derive(Clone)]
pub struct Signer {
    consumer: Consumer,
    token: Option<Token>,
    method: SignatureMethod,
    placement: Placement,
    realm: Option<String>,
    body_hash: BodyHash,
    version: bool,
    extra: Vec<(String, String)>,
    clock: Arc<dyn Clock>,
    /// The HMAC key of `consumer` and `token` made ready for `method`, when
    /// that is an HMAC method: each signature then hashes only its base
    /// string.
    prepared: Option<HmacKey>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("consumer", &self.consumer)
            .field("token", &self.token)
            .field("method", &self.method)
            .field("placement", &self.placement)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with HMAC-SHA1 in the header (the common case).
    pub fn new(consumer: Consumer) -> Self {
        let method = if consumer.rsa_key.is_some() && consumer.secret.is_none() {
            SignatureMethod::RsaSha1
        } else {
            SignatureMethod::HmacSha1
        };
        Self {
            consumer,
            token: None,
            method,
            placement: Placement::Header,
            realm: None,
            body_hash: BodyHash::Auto,
            version: true,
            extra: Vec::new(),
            clock: Arc::new(SystemClock),
            prepared: None,
        }
        .prepared()
    }

    /// With token credentials.
    pub fn token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self.prepared()
    }

    /// Without token credentials.
    pub fn without_token(mut self) -> Self {
        self.token = None;
        self.prepared()
    }

    /// With a signature method.
    pub fn method(mut self, method: SignatureMethod) -> Self {
        self.method = method;
        self.prepared()
    }

    /// Prepares the HMAC key again after the credentials or the method
    /// changed (none for PLAINTEXT, RSA, or a consumer without a secret).
    fn prepared(mut self) -> Self {
        self.prepared = self.consumer.secret.as_ref().and_then(|secret| {
            HmacKey::new(self.method, secret, self.token.as_ref().map(|t| &t.secret)).ok()
        });
        self
    }

    /// With a placement.
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// With a realm in the header (NetSuite's account id, say).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// With a body hash rule.
    pub fn body_hash(mut self, rule: BodyHash) -> Self {
        self.body_hash = rule;
        self
    }

    /// Whether to send `oauth_version=1.0` (default yes).
    pub fn version(mut self, send: bool) -> Self {
        self.version = send;
        self
    }

    /// With another protocol parameter (`oauth_callback`, `oauth_verifier`,
    /// `xoauth_*`...).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// With a clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The consumer.
    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// Signs a request given as parts; `nonce` and `timestamp` default to
    /// fresh ones.
    pub fn sign_parts(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<SignedParts, ClientError> {
        let nonce = generate_nonce().map_err(|_| ClientError::Random)?;
        let timestamp = self.clock.now_unix().to_string();
        self.sign_with(method, url, content_type, body, &nonce, &timestamp)
    }

    /// Signs with a fresh nonce and timestamp for a caller that sends the
    /// request and never shows the base string: header placement goes
    /// through the header-only signer.
    fn sign_fresh(&self, request: RequestParts<'_>) -> Result<SignedParts, ClientError> {
        let nonce = generate_nonce().map_err(|_| ClientError::Random)?;
        let timestamp = self.clock.now_unix().to_string();
        self.sign_as(
            request,
            &nonce,
            &timestamp,
            self.placement,
            Output::HeaderOnly,
        )
    }

    /// Signs with a given nonce and timestamp (reproducible signatures).
    pub fn sign_with(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: &[u8],
        nonce: &str,
        timestamp: &str,
    ) -> Result<SignedParts, ClientError> {
        let parts = RequestParts {
            method,
            url,
            content_type,
            body,
        };
        self.sign_as(
            parts,
            nonce,
            timestamp,
            self.placement,
            Output::WithBaseString,
        )
    }

    /// The `Authorization` header value for a request, with a fresh nonce
    /// and timestamp, whatever this signer's placement: what
    /// [`Signer::sign_parts`] gives with header placement, without the base
    /// string, which it never builds as a string of its own: for the usual
    /// request, sigil-core's header-only signer (`BENCHMARKS.md`).
    /// [`Signer::sign_http`] and [`Signer::sign_reqwest`] sign this way too.
    pub fn authorization_header(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<String, ClientError> {
        let nonce = generate_nonce().map_err(|_| ClientError::Random)?;
        let timestamp = self.clock.now_unix().to_string();
        let parts = RequestParts {
            method,
            url,
            content_type,
            body,
        };
        let signed = self.sign_as(
            parts,
            &nonce,
            &timestamp,
            Placement::Header,
            Output::HeaderOnly,
        )?;
        signed
            .authorization
            .ok_or_else(|| ClientError::Sign("no header was made".into()))
    }

    /// Signs `request` for `placement`; with [`Output::HeaderOnly`] and
    /// header placement, through sigil-core's header-only signer (the base
    /// string is left empty).
    fn sign_as(
        &self,
        request: RequestParts<'_>,
        nonce: &str,
        timestamp: &str,
        placement: Placement,
        output: Output,
    ) -> Result<SignedParts, ClientError> {
        let RequestParts {
            method,
            url,
            content_type,
            body,
        } = request;
        let is_form = content_type.is_some_and(is_form_content_type);
        let (content_type, is_form) = match (placement, content_type) {
            (Placement::Body, None) if body.is_empty() => {
                (Some("application/x-www-form-urlencoded"), true)
            }
            (Placement::Body, _) if !is_form => return Err(ClientError::BodyPlacementNeedsForm),
            _ => (content_type, is_form),
        };
        let mut oauth = OAuthParams {
            consumer_key: Some(Cow::Borrowed(&self.consumer.key)),
            // An empty token sends no oauth_token but still signs with its
            // secret (oauthlib allows a secret without a token).
            token: self
                .token
                .as_ref()
                .filter(|t| !t.token.is_empty())
                .map(|t| Cow::Borrowed(t.token.as_str())),
            signature_method: Some(self.method),
            timestamp: Some(Cow::Borrowed(timestamp)),
            nonce: Some(Cow::Borrowed(nonce)),
            version: self.version.then_some(Cow::Borrowed("1.0")),
            ..OAuthParams::default()
        };
        for (name, value) in &self.extra {
            oauth
                .set(name, Cow::Borrowed(value))
                .map_err(|e| ClientError::Sign(e.to_string()))?;
        }
        let want_hash = !is_form
            && match self.body_hash {
                BodyHash::Always => true,
                BodyHash::Never => false,
                BodyHash::Auto => self.method == SignatureMethod::RsaSha256,
            };
        let hash = if want_hash {
            body_hash(self.method, body)
        } else {
            None
        };
        if let Some(hash) = &hash {
            oauth
                .set("oauth_body_hash", Cow::Borrowed(hash))
                .map_err(|e| ClientError::Sign(e.to_string()))?;
        }
        let request = Request {
            method,
            url,
            authorization: None,
            content_type,
            body,
        };
        let empty = Secret::default();
        let key = if let Some(prepared) = &self.prepared {
            SigningKey::Hmac(prepared)
        } else if self.method.is_rsa() {
            SigningKey::Rsa(
                self.consumer
                    .rsa_key
                    .as_ref()
                    .ok_or(ClientError::MissingKey)?,
            )
        } else {
            SigningKey::Shared {
                consumer_secret: self.consumer.secret.as_ref().unwrap_or(&empty),
                token_secret: self.token.as_ref().map(|t| &t.secret),
            }
        };
        if output == Output::HeaderOnly && placement == Placement::Header {
            let header = sign_authorization_header(&request, &oauth, &key, self.realm.as_deref())
                .map_err(|e| ClientError::Sign(e.to_string()))?;
            return Ok(SignedParts {
                url: url.to_owned(),
                authorization: Some(header),
                body: body.to_vec(),
                content_type: content_type.map(str::to_owned),
                base_string: String::new(),
            });
        }
        let signed = sign(&request, &oauth, &key).map_err(|e| ClientError::Sign(e.to_string()))?;
        let mut out = SignedParts {
            url: url.to_owned(),
            authorization: None,
            body: body.to_vec(),
            content_type: content_type.map(str::to_owned),
            base_string: signed.base_string.clone(),
        };
        match placement {
            Placement::Header => {
                out.authorization = Some(signed.authorization_header(self.realm.as_deref()));
            }
            Placement::Query => out.url = signed.url_with_params(url),
            Placement::Body => out.body = signed.body_with_params(body),
        }
        Ok(out)
    }

    /// Signs an `http::Request`, reading the body (a form body is signed; a
    /// non-form body is hashed when the body-hash rule says so).
    pub fn sign_http<B: AsRef<[u8]>>(
        &self,
        request: http::Request<B>,
    ) -> Result<http::Request<Vec<u8>>, ClientError> {
        let (mut parts, body) = request.into_parts();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let uri = parts.uri.to_string();
        let signed = self.sign_fresh(RequestParts {
            method: parts.method.as_str(),
            url: &uri,
            content_type: content_type.as_deref(),
            body: body.as_ref(),
        })?;
        parts.uri = signed
            .url
            .parse()
            .map_err(|_| ClientError::Sign("signed URL is not a valid URI".into()))?;
        if let Some(auth) = signed.authorization {
            parts.headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&auth)
                    .map_err(|_| ClientError::Sign("header value".into()))?,
            );
        }
        if let (Some(ct), None) = (&signed.content_type, &content_type) {
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_str(ct)
                    .map_err(|_| ClientError::Sign("header value".into()))?,
            );
        }
        Ok(http::Request::from_parts(parts, signed.body))
    }

    /// Signs a built `reqwest::Request` (its body must be in memory, not a
    /// stream).
    pub fn sign_reqwest(
        &self,
        mut request: reqwest::Request,
    ) -> Result<reqwest::Request, ClientError> {
        let body = match request.body() {
            Some(b) => Some(b.as_bytes().ok_or(ClientError::StreamingBody)?),
            None => None,
        };
        let signed =
            self.sign_for_reqwest(request.method(), request.url(), request.headers(), body)?;
        let (url, body) = signed.apply(request.headers_mut());
        *request.url_mut() = url;
        if let Some(body) = body {
            *request.body_mut() = Some(reqwest::Body::from(body));
        }
        Ok(request)
    }

    /// Signs a built `reqwest::blocking::Request` (its body must be in
    /// memory, not a reader).
    #[cfg(feature = "blocking")]
    pub fn sign_blocking(
        &self,
        mut request: reqwest::blocking::Request,
    ) -> Result<reqwest::blocking::Request, ClientError> {
        let body = match request.body() {
            Some(b) => Some(b.as_bytes().ok_or(ClientError::StreamingBody)?),
            None => None,
        };
        let signed =
            self.sign_for_reqwest(request.method(), request.url(), request.headers(), body)?;
        let (url, body) = signed.apply(request.headers_mut());
        *request.url_mut() = url;
        if let Some(body) = body {
            *request.body_mut() = Some(reqwest::blocking::Body::from(body));
        }
        Ok(request)
    }

    /// What both reqwest flavours share: the signature of a request seen
    /// through its parts, as what to change in it.
    fn sign_for_reqwest(
        &self,
        method: &reqwest::Method,
        url: &reqwest::Url,
        headers: &reqwest::header::HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<ReqwestChanges, ClientError> {
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let signed = self.sign_fresh(RequestParts {
            method: method.as_str(),
            url: url.as_str(),
            content_type,
            body: body.unwrap_or_default(),
        })?;
        let header = |value: &str| {
            reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| ClientError::Sign("header value".into()))
        };
        Ok(ReqwestChanges {
            url: reqwest::Url::parse(&signed.url)
                .map_err(|_| ClientError::Sign("signed URL is not a valid URL".into()))?,
            authorization: signed.authorization.as_deref().map(header).transpose()?,
            // Only where the request had none (body placement on an empty body).
            content_type: match (&signed.content_type, content_type) {
                (Some(ct), None) => Some(header(ct)?),
                _ => None,
            },
            body: (body.is_some() || !signed.body.is_empty()).then_some(signed.body),
        })
    }
}

/// What signing changes in a reqwest request.
struct ReqwestChanges {
    url: reqwest::Url,
    authorization: Option<reqwest::header::HeaderValue>,
    content_type: Option<reqwest::header::HeaderValue>,
    /// The body to send; `None`: the request keeps having none.
    body: Option<Vec<u8>>,
}

impl ReqwestChanges {
    /// Sets the headers; returns the URL and the body to set.
    fn apply(self, headers: &mut reqwest::header::HeaderMap) -> (reqwest::Url, Option<Vec<u8>>) {
        if let Some(value) = self.authorization {
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(value) = self.content_type {
            headers.insert(reqwest::header::CONTENT_TYPE, value);
        }
        (self.url, self.body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Signers that cover what the header-only path must carry over: each
    /// HMAC method (prepared keys), PLAINTEXT, a realm, extra parameters, a
    /// token with an empty key, a body hash.
    fn signers() -> Vec<Signer> {
        let base = Signer::new(Consumer::new("dpf43f3p2l4k3l03", "kd94hf93k423kf44"))
            .token(Token::new("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00"));
        vec![
            base.clone(),
            base.clone()
                .method(SignatureMethod::HmacSha256)
                .realm("Photos"),
            base.clone().method(SignatureMethod::HmacSha512),
            base.clone().method(SignatureMethod::Plaintext),
            base.clone().param("oauth_callback", "oob"),
            base.clone().body_hash(BodyHash::Always),
            base.clone().version(false),
            Signer::new(Consumer::new("key", "secret")).token(Token::new("", "only-a-secret")),
        ]
    }

    /// Mastercard's rule: `oauth_body_hash` on every RSA-SHA256 request, a
    /// GET with no body included (the SHA-256 of nothing); not for other
    /// methods unless asked, and never beside a form body.
    #[test]
    fn auto_body_hash_covers_empty_bodies_for_rsa_sha256() {
        const EMPTY_SHA256: &str =
            "oauth_body_hash=\"47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D\"";
        let key = RsaPrivateKey::from_pem(include_str!(
            "../../sigil-core/tests/data/test-rsa-pkcs1.pem"
        ))
        .unwrap();
        let rsa = Signer::new(Consumer::rsa("mc-key", key)).method(SignatureMethod::RsaSha256);
        let get = rsa
            .authorization_header("GET", "https://sandbox.api.mastercard.com/x", None, b"")
            .unwrap();
        assert!(get.contains(EMPTY_SHA256), "{get}");
        let post = rsa
            .authorization_header(
                "POST",
                "https://sandbox.api.mastercard.com/x",
                Some("application/json"),
                b"{}",
            )
            .unwrap();
        assert!(
            post.contains("oauth_body_hash=") && !post.contains(EMPTY_SHA256),
            "{post}"
        );
        let form = rsa
            .authorization_header(
                "POST",
                "https://example.com/x",
                Some("application/x-www-form-urlencoded"),
                b"a=b",
            )
            .unwrap();
        assert!(!form.contains("oauth_body_hash"), "{form}");
        let hmac = Signer::new(Consumer::new("k", "s"))
            .authorization_header("GET", "https://example.com/x", None, b"")
            .unwrap();
        assert!(!hmac.contains("oauth_body_hash"), "{hmac}");
    }

    #[test]
    fn header_only_signs_as_sign_with_does() {
        let requests: [(&str, &str, Option<&str>, &[u8]); 4] = [
            (
                "GET",
                "http://photos.example.net/photos?file=vacation.jpg&size=original",
                None,
                b"",
            ),
            (
                "POST",
                "https://api.example.com/1/statuses?include_entities=true",
                Some("application/x-www-form-urlencoded"),
                b"status=Hello%20Ladies%20%2b%20Gentlemen",
            ),
            (
                "PUT",
                "http://example.com:8080/a%20b?x=%7e&y=+",
                Some("application/json"),
                b"{\"a\":1}",
            ),
            ("GET", "http://example.com/?a=1&a=2&b=&oauth_x=3", None, b""),
        ];
        for signer in signers() {
            for (method, url, content_type, body) in requests {
                let parts = RequestParts {
                    method,
                    url,
                    content_type,
                    body,
                };
                let full = signer
                    .sign_as(
                        parts,
                        "n0nce",
                        "1318622958",
                        Placement::Header,
                        Output::WithBaseString,
                    )
                    .unwrap();
                let fast = signer
                    .sign_as(
                        parts,
                        "n0nce",
                        "1318622958",
                        Placement::Header,
                        Output::HeaderOnly,
                    )
                    .unwrap();
                assert!(full.authorization.is_some());
                assert_eq!(fast.authorization, full.authorization, "{method} {url}");
                assert_eq!(
                    (&fast.url, &fast.body, &fast.content_type),
                    (&full.url, &full.body, &full.content_type)
                );
            }
        }
    }

    #[test]
    fn authorization_header_is_a_fresh_header_signature() {
        let signer = signers()
            .remove(1)
            .placement(Placement::Query)
            .clock(Arc::new(sigil_core::FixedClock(1_318_622_958)));
        let url = "http://photos.example.net/photos?size=original";
        let header = signer.authorization_header("GET", url, None, b"").unwrap();
        let nonce = header
            .split(", ")
            .find_map(|field| field.strip_prefix("oauth_nonce=\""))
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap();
        let expected = signer
            .sign_as(
                RequestParts {
                    method: "GET",
                    url,
                    content_type: None,
                    body: b"",
                },
                nonce,
                "1318622958",
                Placement::Header,
                Output::WithBaseString,
            )
            .unwrap();
        assert_eq!(Some(header), expected.authorization);
        // Whatever the signer's placement, and a fresh nonce each time.
        assert_ne!(
            signer.authorization_header("GET", url, None, b"").unwrap(),
            expected.authorization.unwrap()
        );
    }
}
