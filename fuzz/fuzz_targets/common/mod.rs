//! Shared by the `provider` and `http_front` targets: an in-memory provider
//! with known clients and tokens, and requests built from fuzz input that are
//! signed by sigil-core's own signer and then (maybe) changed in one field.
//!
//! A [`Spec`] is turned into a [`Plain`] request (decoded values only), signed
//! with [`sign`], optionally mutated in one field, and rendered to the wire in
//! one of three placements and three percent-encoding styles. [`Semantic`] is
//! what the signature covers, computed here independently of the library: a
//! mutation that changes it must never verify.
#![allow(dead_code)]

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use sigil_core::{
    FixedClock, OAuthParams, Request, RsaPrivateKey, RsaPublicKey, Secret, SignatureMethod,
    SigningKey, body_hash, is_form_content_type, sign,
};
use sigil_server::{
    AccessToken, Client, MemoryStore, Policy, Provider, Stores, TemporaryCredential,
    TemporaryCredentialStore, TokenStore,
};

pub const BASE: &str = "https://provider.example";
pub const NOW: u64 = 1_700_000_000;
pub const CALLBACK: &str = "https://client.example/callback";
pub const CLIENT_KEY: &str = "client";
pub const CLIENT_SECRET: &str = "client-secret";
pub const RSA_CLIENT_KEY: &str = "rsa-client";
pub const VERIFIER: &str = "verifier-1";
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The tokens in the store: (token, secret, client, kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Access,
    Approved,
    Pending,
}

pub const TOKENS: [(&str, &str, &str, Kind); 5] = [
    ("access-token", "access-secret", CLIENT_KEY, Kind::Access),
    ("rsa-access-token", "rsa-access-secret", RSA_CLIENT_KEY, Kind::Access),
    ("request-token", "request-secret", CLIENT_KEY, Kind::Approved),
    ("pending-token", "pending-secret", CLIENT_KEY, Kind::Pending),
    ("rsa-request-token", "rsa-request-secret", RSA_CLIENT_KEY, Kind::Approved),
];

pub fn rsa_private() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        RsaPrivateKey::from_pem(include_str!(
            "../../keys/fuzz-rsa-1024.pem"
        ))
        .expect("test key parses")
    })
}

fn rsa_public() -> &'static RsaPublicKey {
    static KEY: OnceLock<RsaPublicKey> = OnceLock::new();
    KEY.get_or_init(|| {
        RsaPublicKey::from_pem(include_str!(
            "../../keys/fuzz-rsa-1024-public.pem"
        ))
        .expect("test key parses")
    })
}

/// One current-thread runtime per fuzzing thread.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
    }
    RT.with(|rt| rt.block_on(future))
}

/// A fresh store and provider (so every input runs alone and reproducibly):
/// two clients, and the tokens of [`TOKENS`].
pub async fn world() -> (Arc<MemoryStore>, Arc<Provider>) {
    let store = Arc::new(MemoryStore::new());
    let mut client = Client::new(CLIENT_KEY, CLIENT_SECRET, "Fuzz client");
    client.callbacks.push(CALLBACK.to_owned());
    client.allowed_realms = vec!["photos".into(), "email".into()];
    client.default_realms = vec!["photos".into()];
    client.allow_oob = true;
    // Every method, PLAINTEXT too (an empty list leaves it out).
    client.signature_methods = sigil_core::SignatureMethod::ALL.to_vec();
    let mut rsa = client.clone();
    rsa.key = RSA_CLIENT_KEY.to_owned();
    rsa.secret = None;
    rsa.rsa_public_key = Some(rsa_public().clone());
    store.insert_client(client).expect("insert");
    store.insert_client(rsa).expect("insert");
    for (token, secret, client, kind) in TOKENS {
        match kind {
            Kind::Access => store
                .create_token(AccessToken {
                    token: token.to_owned(),
                    secret: Secret::new(secret),
                    client_key: client.to_owned(),
                    user: "jane".to_owned(),
                    realms: vec!["photos".to_owned()],
                    created_at: NOW,
                })
                .await
                .expect("token"),
            Kind::Approved | Kind::Pending => {
                store
                    .create_temporary(TemporaryCredential {
                        token: token.to_owned(),
                        secret: Secret::new(secret),
                        client_key: client.to_owned(),
                        callback: CALLBACK.to_owned(),
                        realms: vec!["photos".to_owned()],
                        created_at: NOW,
                        expires_at: NOW + 600,
                        verifier: None,
                        user: None,
                    })
                    .await
                    .expect("temporary");
                if kind == Kind::Approved {
                    store
                        .approve_temporary(token, "jane", VERIFIER, NOW)
                        .await
                        .expect("approve");
                }
            }
        }
    }
    let provider = Provider::new(
        Stores::single(store.clone()),
        Policy {
            public_base_url: Some(BASE.to_owned()),
            ..Policy::default()
        },
    )
    .expect("policy")
    .with_clock(Arc::new(FixedClock(NOW)));
    (store, Arc::new(provider))
}

/// Which endpoint a request goes to.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Resource,
    RequestToken,
    AccessToken,
}

#[derive(Arbitrary, Clone, Debug)]
pub enum MethodChoice {
    Get,
    Post,
    Put,
    Delete,
    LowerPost,
    Other(String),
}

impl MethodChoice {
    fn text(&self) -> String {
        match self {
            Self::Get => "GET".into(),
            Self::Post => "POST".into(),
            Self::Put => "PUT".into(),
            Self::Delete => "DELETE".into(),
            Self::LowerPost => "post".into(),
            Self::Other(s) if s.is_empty() => "GET".into(),
            Self::Other(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Clone, Debug)]
pub enum Consumer {
    Client,
    RsaClient,
    Unknown(String),
}

#[derive(Arbitrary, Clone, Debug)]
pub enum TokenChoice {
    /// One of [`TOKENS`] (index modulo their count). First, so that an
    /// exhausted input reads a valid protected-resource request.
    Known(u8),
    None,
    Empty,
    Other(String),
}

#[derive(Arbitrary, Clone, Debug)]
pub enum VerifierChoice {
    None,
    Correct,
    Other(String),
}

#[derive(Arbitrary, Clone, Debug)]
pub enum CallbackChoice {
    None,
    Registered,
    WithState(String),
    Oob,
    Other(String),
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    Header,
    Query,
    Body,
}

/// How values are percent-encoded on the wire: all decode the same.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Canonical,
    AllEscaped,
    LowerHex,
}

#[derive(Arbitrary, Clone, Debug)]
pub enum RawType {
    None,
    Json,
    Text,
    Xml,
    Other(String),
}

impl RawType {
    fn text(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Json => Some("application/json".into()),
            Self::Text => Some("text/plain; charset=utf-8".into()),
            Self::Xml => Some("application/xml".into()),
            // A form type would make the raw body a form: not this case.
            Self::Other(s) if is_form_content_type(s) => Some("text/plain".into()),
            Self::Other(s) => Some(s.clone()),
        }
    }
}

#[derive(Arbitrary, Clone, Debug)]
pub enum BodySpec {
    None,
    Form(Vec<(String, String)>),
    Raw {
        content_type: RawType,
        bytes: Vec<u8>,
        hash: bool,
    },
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthField {
    ConsumerKey,
    Token,
    SignatureMethod,
    Timestamp,
    Nonce,
    Version,
    Callback,
    Verifier,
    BodyHash,
}

/// One change to a signed request.
#[derive(Arbitrary, Clone, Debug)]
pub enum Mutation {
    Method(MethodChoice),
    Path(String),
    QueryAdd(String, String),
    QueryRemove(u8),
    QueryName(u8, String),
    QueryValue(u8, String),
    FormAdd(String, String),
    FormRemove(u8),
    FormValue(u8, String),
    RawBody(Vec<u8>),
    /// The form body's type becomes a non-form type.
    ContentType(RawType),
    /// Sets (or, with `None`, removes) one protocol parameter.
    OAuth(OAuthField, Option<String>),
    /// Another of the known tokens.
    Token(u8),
    Signature(String),
    SignatureBit(u16, u8),
}

/// A request as the fuzzer describes it.
#[derive(Arbitrary, Clone, Debug)]
pub struct Spec {
    pub endpoint: Endpoint,
    pub method: MethodChoice,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: BodySpec,
    pub placement: Placement,
    pub style: Style,
    pub realm: Option<String>,
    pub consumer: Consumer,
    pub token: TokenChoice,
    pub signature_method: u8,
    pub timestamp_offset: i16,
    pub nonce: String,
    pub version: bool,
    pub verifier: VerifierChoice,
    pub callback: CallbackChoice,
    /// Realms the protected resource requires: 0 none, 1 `photos`, 2 `email`.
    pub required_realm: u8,
    pub mutation: Option<Mutation>,
}

/// The protocol parameters, decoded, in a fixed order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OAuthValues {
    pub consumer_key: Option<String>,
    pub token: Option<String>,
    pub signature_method: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub version: Option<String>,
    pub callback: Option<String>,
    pub verifier: Option<String>,
    pub body_hash: Option<String>,
    pub signature: Option<String>,
}

impl OAuthValues {
    fn slot(&mut self, field: OAuthField) -> &mut Option<String> {
        match field {
            OAuthField::ConsumerKey => &mut self.consumer_key,
            OAuthField::Token => &mut self.token,
            OAuthField::SignatureMethod => &mut self.signature_method,
            OAuthField::Timestamp => &mut self.timestamp,
            OAuthField::Nonce => &mut self.nonce,
            OAuthField::Version => &mut self.version,
            OAuthField::Callback => &mut self.callback,
            OAuthField::Verifier => &mut self.verifier,
            OAuthField::BodyHash => &mut self.body_hash,
        }
    }

    /// (name, value) of every parameter present, signature included.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("oauth_consumer_key", &self.consumer_key),
            ("oauth_token", &self.token),
            ("oauth_signature_method", &self.signature_method),
            ("oauth_timestamp", &self.timestamp),
            ("oauth_nonce", &self.nonce),
            ("oauth_version", &self.version),
            ("oauth_callback", &self.callback),
            ("oauth_verifier", &self.verifier),
            ("oauth_body_hash", &self.body_hash),
            ("oauth_signature", &self.signature),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.as_deref().map(|v| (n, v)))
        .collect()
    }
}

/// A request with decoded values only, ready to render.
#[derive(Clone, Debug)]
pub struct Plain {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Whether the body is a form (`form`) or raw bytes (`raw_body`).
    pub form_mode: bool,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
    pub raw_body: Vec<u8>,
    pub placement: Placement,
    pub style: Style,
    pub realm: Option<String>,
    pub oauth: OAuthValues,
}

/// What the signature covers, computed without the library: the method
/// (upper-cased), the path as sent, the multiset of query and form-body
/// parameters, every protocol parameter (the signature too), and the raw
/// body when a body hash is sent. The realm, the placement and the encoding
/// style are not covered.
#[derive(Debug, PartialEq, Eq)]
pub struct Semantic {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    oauth: OAuthValues,
    hashed_body: Option<Vec<u8>>,
}

/// Non-protocol parameter names: never `oauth_`, never empty.
fn pname(s: &str) -> String {
    format!("p{s}")
}

/// A path: `/` and printable ASCII without `?` and `#`.
fn path_of(s: &str) -> String {
    let mut out = String::from("/");
    for c in s.chars().take(64) {
        out.push(if c.is_ascii_graphic() && c != '?' && c != '#' {
            c
        } else {
            '_'
        });
    }
    out
}

fn alnum(s: &str, max: usize, fallback: &str) -> String {
    let out: String = s
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(max)
        .collect();
    if out.is_empty() { fallback.to_owned() } else { out }
}

impl Plain {
    pub fn is_form(&self) -> bool {
        self.content_type.as_deref().is_some_and(is_form_content_type)
    }

    pub fn semantic(&self) -> Semantic {
        // PLAINTEXT signs nothing of the request (RFC 5849 §3.4.4): its
        // signature is the secrets themselves, so it covers only the
        // credentials named; the rest relies on TLS.
        if self.oauth.signature_method.as_deref() == Some("PLAINTEXT") {
            return Semantic {
                method: String::new(),
                path: String::new(),
                params: Vec::new(),
                oauth: OAuthValues {
                    consumer_key: self.oauth.consumer_key.clone(),
                    token: self.oauth.token.clone(),
                    signature_method: self.oauth.signature_method.clone(),
                    signature: self.oauth.signature.clone(),
                    ..OAuthValues::default()
                },
                hashed_body: None,
            };
        }
        let mut params = self.query.clone();
        if self.form_mode && self.is_form() {
            params.extend(self.form.iter().cloned());
        }
        params.sort();
        let hashed_body = (self.oauth.body_hash.is_some() && !self.is_form())
            .then(|| self.body_bytes_without_oauth());
        Semantic {
            method: self.method.to_ascii_uppercase(),
            path: self.path.clone(),
            params,
            oauth: self.oauth.clone(),
            hashed_body,
        }
    }

    fn body_bytes_without_oauth(&self) -> Vec<u8> {
        if self.form_mode {
            encode_pairs(self.form.iter().map(|(n, v)| (n.as_str(), v.as_str())), self.style)
                .into_bytes()
        } else {
            self.raw_body.clone()
        }
    }

    fn query_string(&self) -> String {
        encode_pairs(
            self.query.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            self.style,
        )
    }

    /// The URL the client signs (without protocol parameters).
    pub fn url(&self) -> String {
        let query = self.query_string();
        if self.query.is_empty() {
            format!("{BASE}{}", self.path)
        } else {
            format!("{BASE}{}?{query}", self.path)
        }
    }

    /// The request on the wire: (method, origin-form target, Authorization,
    /// Content-Type, body).
    pub fn wire(&self) -> Wire {
        let oauth = self.oauth.pairs();
        let oauth_form = encode_pairs(oauth.iter().copied(), self.style);
        let mut query = self.query_string();
        let mut body = self.body_bytes_without_oauth();
        let mut authorization = None;
        match self.placement {
            Placement::Header => {
                let mut h = String::from("OAuth ");
                let mut first = true;
                if let Some(realm) = &self.realm {
                    h.push_str(&format!("realm=\"{realm}\""));
                    first = false;
                }
                for (n, v) in &oauth {
                    if !first {
                        h.push_str(", ");
                    }
                    first = false;
                    h.push_str(&format!("{n}=\"{}\"", encode(v, self.style)));
                }
                authorization = Some(h.into_bytes());
            }
            Placement::Query => {
                if !oauth_form.is_empty() {
                    if !query.is_empty() {
                        query.push('&');
                    }
                    query.push_str(&oauth_form);
                }
            }
            Placement::Body => {
                if !oauth_form.is_empty() {
                    if !body.is_empty() {
                        body.push(b'&');
                    }
                    body.extend_from_slice(oauth_form.as_bytes());
                }
            }
        }
        let target = if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{query}", self.path)
        };
        Wire {
            method: self.method.clone(),
            target,
            authorization,
            content_type: self.content_type.clone().map(String::into_bytes),
            body,
        }
    }

    pub fn param_count(&self) -> usize {
        self.query.len() + self.form.len() + self.oauth.pairs().len()
    }

    /// Applies `m`; the result may or may not differ in what is signed.
    pub fn mutate(&mut self, m: &Mutation) {
        fn pick<T>(v: &mut Vec<T>, i: u8) -> Option<(usize, &mut T)> {
            if v.is_empty() {
                return None;
            }
            let i = usize::from(i) % v.len();
            v.get_mut(i).map(|x| (i, x))
        }
        match m {
            Mutation::Method(c) => self.method = c.text(),
            Mutation::Path(p) => self.path = path_of(p),
            Mutation::QueryAdd(n, v) => self.query.push((pname(n), v.clone())),
            Mutation::QueryRemove(i) => {
                if let Some((i, _)) = pick(&mut self.query, *i) {
                    self.query.remove(i);
                }
            }
            Mutation::QueryName(i, n) => {
                if let Some((_, p)) = pick(&mut self.query, *i) {
                    p.0 = pname(n);
                }
            }
            Mutation::QueryValue(i, v) => {
                if let Some((_, p)) = pick(&mut self.query, *i) {
                    p.1 = v.clone();
                }
            }
            Mutation::FormAdd(n, v) if self.form_mode => self.form.push((pname(n), v.clone())),
            Mutation::FormRemove(i) => {
                if let Some((i, _)) = pick(&mut self.form, *i) {
                    self.form.remove(i);
                }
            }
            Mutation::FormValue(i, v) => {
                if let Some((_, p)) = pick(&mut self.form, *i) {
                    p.1 = v.clone();
                }
            }
            Mutation::RawBody(b) if !self.form_mode => self.raw_body = b.clone(),
            Mutation::ContentType(t) if self.form_mode => self.content_type = t.text(),
            Mutation::OAuth(field, value) => *self.oauth.slot(*field) = value.clone(),
            Mutation::Token(i) => {
                let (t, ..) = known(*i);
                self.oauth.token = Some(t.to_owned());
            }
            Mutation::Signature(s) => self.oauth.signature = Some(s.clone()),
            Mutation::SignatureBit(pos, bit) => {
                if let Some(sig) = &mut self.oauth.signature {
                    let mut bytes = sig.clone().into_bytes();
                    if !bytes.is_empty() {
                        let len = bytes.len();
                        if let Some(b) = bytes.get_mut(usize::from(*pos) % len) {
                            *b ^= 1 << (bit % 7);
                        }
                    }
                    *sig = String::from_utf8(bytes).unwrap_or_default();
                }
            }
            _ => {}
        }
    }
}

/// A request as sent: what the engine's `HttpRequest` borrows.
#[derive(Clone, Debug)]
pub struct Wire {
    pub method: String,
    pub target: String,
    pub authorization: Option<Vec<u8>>,
    pub content_type: Option<Vec<u8>>,
    pub body: Vec<u8>,
}

impl Wire {
    pub fn http(&self) -> sigil_server::HttpRequest<'_> {
        sigil_server::HttpRequest {
            method: &self.method,
            target: &self.target,
            authorization: self.authorization.as_deref(),
            content_type: self.content_type.as_deref(),
            body: &self.body,
        }
    }
}

pub fn known(i: u8) -> (&'static str, &'static str, &'static str, Kind) {
    TOKENS[usize::from(i) % TOKENS.len()]
}

pub fn method_of(n: u8) -> SignatureMethod {
    // RSA (slow: a private-key operation per input, see keys/README.md)
    // three times in 64; 0, what an exhausted input reads, is HMAC-SHA1.
    match n % 64 {
        63 => SignatureMethod::RsaSha1,
        62 => SignatureMethod::RsaSha256,
        61 => SignatureMethod::RsaSha512,
        48..=60 => SignatureMethod::Plaintext,
        32..=47 => SignatureMethod::HmacSha256,
        16..=31 => SignatureMethod::HmacSha512,
        _ => SignatureMethod::HmacSha1,
    }
}

/// A signed request: the plain request before and after the mutation, and
/// whether the unmutated request is one the provider must accept.
pub struct Built {
    pub original: Plain,
    pub mutated: Plain,
    pub mutation: bool,
    pub expect_ok: bool,
    pub consumer_key: String,
    pub token: Option<(String, String, Kind)>,
}

impl Built {
    /// Whether the mutation changed something the signature covers.
    pub fn changed(&self) -> bool {
        self.mutation && self.original.semantic() != self.mutated.semantic()
    }
}

/// Builds and signs the request `spec` describes; `None` when the signer
/// refuses it (which the fuzzer then skips).
pub fn build(spec: &Spec, path: Option<&str>) -> Option<Built> {
    let method = method_of(spec.signature_method);
    let (consumer_key, consumer_secret, consumer_ok) = match &spec.consumer {
        Consumer::Client => (CLIENT_KEY.to_owned(), CLIENT_SECRET.to_owned(), !method.is_rsa()),
        Consumer::RsaClient => (RSA_CLIENT_KEY.to_owned(), "unused".to_owned(), method.is_rsa()),
        Consumer::Unknown(k) => (k.clone(), "guess".to_owned(), false),
    };
    let (token, token_secret) = match &spec.token {
        TokenChoice::None => (None, None),
        TokenChoice::Empty => (Some(String::new()), None),
        TokenChoice::Known(i) => {
            let (t, s, ..) = known(*i);
            (Some(t.to_owned()), Some(s.to_owned()))
        }
        TokenChoice::Other(t) => (Some(t.clone()), Some("guess".to_owned())),
    };
    let known_token = match &spec.token {
        TokenChoice::Known(i) => {
            let (t, _, c, k) = known(*i);
            Some((t, c, k))
        }
        _ => None,
    };
    let (form_mode, content_type, form, raw_body, want_hash) = match &spec.body {
        BodySpec::None if spec.placement == Placement::Body => {
            (true, Some(FORM.to_owned()), Vec::new(), Vec::new(), false)
        }
        BodySpec::None => (false, None, Vec::new(), Vec::new(), false),
        BodySpec::Form(pairs) => (
            true,
            Some(FORM.to_owned()),
            pairs.iter().map(|(n, v)| (pname(n), v.clone())).collect(),
            Vec::new(),
            false,
        ),
        BodySpec::Raw {
            content_type,
            bytes,
            hash,
        } => (false, content_type.text(), Vec::new(), bytes.clone(), *hash),
    };
    // Protocol parameters in the body need a form body.
    let placement = if spec.placement == Placement::Body && !form_mode {
        Placement::Query
    } else {
        spec.placement
    };
    let timestamp = NOW.saturating_add_signed(i64::from(spec.timestamp_offset));
    let realm = spec.realm.as_ref().map(|r| {
        r.chars()
            .filter(|c| c.is_ascii_lowercase() || *c == ' ')
            .take(32)
            .collect::<String>()
    });
    let callback = match &spec.callback {
        CallbackChoice::None => None,
        CallbackChoice::Registered => Some(CALLBACK.to_owned()),
        CallbackChoice::WithState(s) => Some(format!("{CALLBACK}?state={}", encode(s, Style::Canonical))),
        CallbackChoice::Oob => Some("oob".to_owned()),
        CallbackChoice::Other(s) => Some(s.clone()),
    };
    let verifier = match &spec.verifier {
        VerifierChoice::None => None,
        VerifierChoice::Correct => Some(VERIFIER.to_owned()),
        VerifierChoice::Other(s) => Some(s.clone()),
    };
    let mut plain = Plain {
        method: spec.method.text(),
        path: path.map_or_else(|| path_of(&spec.path), str::to_owned),
        query: spec.query.iter().map(|(n, v)| (pname(n), v.clone())).collect(),
        form_mode,
        content_type,
        form,
        raw_body,
        placement,
        style: spec.style,
        realm,
        oauth: OAuthValues {
            consumer_key: Some(consumer_key.clone()),
            token: token.clone(),
            signature_method: Some(method.as_str().to_owned()),
            timestamp: Some(timestamp.to_string()),
            nonce: Some(alnum(&spec.nonce, 40, "n")),
            version: spec.version.then(|| "1.0".to_owned()),
            callback: callback.clone(),
            verifier: verifier.clone(),
            body_hash: None,
            signature: None,
        },
    };
    if want_hash {
        plain.oauth.body_hash = body_hash(method, &plain.raw_body);
    }

    // Sign with the library's own signer.
    let mut params = OAuthParams::default();
    for (name, value) in plain.oauth.pairs() {
        params.set(name, Cow::Owned(value.to_owned())).ok()?;
    }
    let url = plain.url();
    let body = plain.body_bytes_without_oauth();
    let request = Request {
        method: &plain.method,
        url: &url,
        authorization: None,
        content_type: plain.content_type.as_deref(),
        body: &body,
    };
    let cs = Secret::new(consumer_secret);
    let ts = token_secret.map(Secret::new);
    let key = if method.is_rsa() {
        SigningKey::Rsa(rsa_private())
    } else {
        SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: ts.as_ref(),
        }
    };
    let signed = sign(&request, &params, &key).ok()?;
    plain.oauth.signature = Some(signed.signature().to_owned());

    let wire = plain.wire();
    let header_ok = wire
        .authorization
        .as_ref()
        .is_none_or(|h| h.len() <= 8 * 1024);
    let realm_ok = plain.realm.as_deref().is_none_or(|r| r.trim().is_empty());
    let token_ok = match spec.endpoint {
        Endpoint::Resource => known_token
            .is_some_and(|(_, c, k)| c == consumer_key && k == Kind::Access)
            && spec.required_realm % 3 != 2,
        Endpoint::AccessToken => {
            known_token.is_some_and(|(_, c, k)| c == consumer_key && k == Kind::Approved)
                && verifier.as_deref() == Some(VERIFIER)
        }
        Endpoint::RequestToken => {
            matches!(spec.token, TokenChoice::None | TokenChoice::Empty)
                && matches!(
                    spec.callback,
                    CallbackChoice::Registered | CallbackChoice::WithState(_) | CallbackChoice::Oob
                )
                && realm_ok
        }
    };
    // The provider checks the format of a verifier wherever one is sent.
    let verifier_ok = verifier
        .as_deref()
        .is_none_or(|v| (1..=256).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()));
    let expect_ok = spec.mutation.is_none()
        && verifier_ok
        && consumer_ok
        && token_ok
        && header_ok
        && spec.timestamp_offset.unsigned_abs() <= 300
        && plain.param_count() <= 256;

    let mut mutated = plain.clone();
    if let Some(m) = &spec.mutation {
        mutated.mutate(m);
    }
    Some(Built {
        original: plain,
        mutated,
        mutation: spec.mutation.is_some(),
        expect_ok,
        consumer_key,
        token: known_token.map(|(t, c, k)| (t.to_owned(), c.to_owned(), k)),
    })
}

/// Percent-encodes `s` in `style`: unreserved bytes kept (or, for
/// `AllEscaped`, every byte escaped), hex in upper case (or lower case).
pub fn encode(s: &str, style: Style) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if unreserved && style != Style::AllEscaped {
            out.push(char::from(b));
        } else if style == Style::LowerHex {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_pairs<'p>(pairs: impl Iterator<Item = (&'p str, &'p str)>, style: Style) -> String {
    pairs
        .map(|(n, v)| format!("{}={}", encode(n, style), encode(v, style)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Counts signed-mode outcomes, printed now and then (to see that the
/// fuzzer reaches accepted requests, not only refusals).
pub fn tally(ok: bool) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static RUNS: AtomicU64 = AtomicU64::new(0);
    static OKS: AtomicU64 = AtomicU64::new(0);
    let runs = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    let oks = OKS.fetch_add(u64::from(ok), Ordering::Relaxed) + u64::from(ok);
    if runs.is_power_of_two() && runs >= 1024 && std::env::var_os("SIGIL_FUZZ_TALLY").is_some() {
        eprintln!("signed requests: {runs}, accepted: {oks}");
    }
}
