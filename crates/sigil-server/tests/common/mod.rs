//! Shared test fixtures: a provider over a MemoryStore with a settable
//! clock, and a small signing client built on sigil-core.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sigil_core::encoding::form_encode;
use sigil_core::{
    Clock, OAuthParams, Request, RsaPrivateKey, Secret, SignatureMethod, SigningKey, sign,
};
use sigil_server::{Client, HttpRequest, MemoryStore, Policy, Provider, Stores};

pub const BASE: &str = "https://provider.example";
/// The time the tests sign at: a fixed instant for in-process engines (with
/// a [`TestClock`]), the real time for tests against a running server.
static CLOCK_BASE: AtomicU64 = AtomicU64::new(1_700_000_000);

/// The current test time.
pub fn now() -> u64 {
    CLOCK_BASE.load(Ordering::SeqCst)
}

/// Signs at the real time (for a server on the system clock).
pub fn use_real_time() {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    CLOCK_BASE.store(t, Ordering::SeqCst);
}
pub const CALLBACK: &str = "https://client.example/callback";

pub fn rsa_private() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(include_str!(
        "../../../sigil-core/tests/data/test-rsa-pkcs1.pem"
    ))
    .unwrap()
}

pub const RSA_PUBLIC_PEM: &str = include_str!("../../../sigil-core/tests/data/test-rsa-public.pem");

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(pub AtomicU64);

impl Clock for TestClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct World {
    pub store: Arc<MemoryStore>,
    pub provider: Provider,
    pub clock: Arc<TestClock>,
}

/// Counts of everything a request could change.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub nonces: usize,
    pub temporary: usize,
    pub approved: usize,
    pub tokens: usize,
}

impl World {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            nonces: self.store.nonce_count(),
            temporary: self.store.temporary_count(),
            approved: self.store.approved_count(),
            tokens: self.store.token_count(),
        }
    }
}

pub fn hmac_client(key: &str, secret: &str) -> Client {
    let mut c = Client::new(key, secret, format!("App {key}"));
    c.callbacks.push(CALLBACK.to_owned());
    c.allowed_realms = vec!["photos".into(), "email".into()];
    c.default_realms = vec!["photos".into()];
    c.allow_oob = true;
    // Every method, PLAINTEXT too (which an empty list leaves out).
    c.signature_methods = SignatureMethod::ALL.to_vec();
    c
}

pub fn rsa_client(key: &str) -> Client {
    let mut c = hmac_client(key, "unused");
    c.secret = None;
    c.rsa_public_key = Some(sigil_core::RsaPublicKey::from_pem(RSA_PUBLIC_PEM).unwrap());
    c.rsa_public_key_pem = Some(RSA_PUBLIC_PEM.to_owned());
    c
}

pub fn world_with(policy: Policy) -> World {
    let store = Arc::new(MemoryStore::new());
    // One client that signs with a shared secret (HMAC and PLAINTEXT) and
    // one with an RSA key, per the method under test.
    store
        .insert_client(hmac_client("client", "client-secret"))
        .unwrap();
    store.insert_client(rsa_client("rsa-client")).unwrap();
    let clock = Arc::new(TestClock(AtomicU64::new(now())));
    let provider = Provider::new(Stores::single(store.clone()), policy)
        .unwrap()
        .with_clock(clock.clone());
    World {
        store,
        provider,
        clock,
    }
}

pub fn world() -> World {
    world_with(Policy {
        public_base_url: Some(BASE.to_owned()),
        ..Policy::default()
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    Header,
    Query,
    Body,
}

pub const PLACEMENTS: [Placement; 3] = [Placement::Header, Placement::Query, Placement::Body];

/// A request as it goes over the wire.
#[derive(Clone, Debug, Default)]
pub struct Wire {
    pub method: String,
    pub target: String,
    pub authorization: Option<Vec<u8>>,
    pub content_type: Option<Vec<u8>>,
    pub body: Vec<u8>,
}

impl Wire {
    pub fn http(&self) -> HttpRequest<'_> {
        HttpRequest {
            method: &self.method,
            target: &self.target,
            authorization: self.authorization.as_deref(),
            content_type: self.content_type.as_deref(),
            body: &self.body,
        }
    }

    pub fn header(&self) -> String {
        String::from_utf8(self.authorization.clone().unwrap_or_default()).unwrap()
    }

    pub fn set_header(&mut self, value: &str) {
        self.authorization = Some(value.as_bytes().to_vec());
    }
}

/// What to sign: every knob a bad-request case may turn.
#[derive(Clone, Debug)]
pub struct Spec {
    pub http_method: String,
    pub path: String,
    pub base: String,
    pub placement: Placement,
    pub signature_method: SignatureMethod,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: Option<(String, String)>,
    pub timestamp: String,
    pub nonce: String,
    pub version: Option<String>,
    pub oauth_extra: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub realm: Option<String>,
}

static NONCE: AtomicU64 = AtomicU64::new(1);

impl Spec {
    pub fn new(path: &str) -> Self {
        Self {
            http_method: "POST".into(),
            path: path.into(),
            base: BASE.into(),
            placement: Placement::Header,
            signature_method: SignatureMethod::HmacSha1,
            consumer_key: "client".into(),
            consumer_secret: "client-secret".into(),
            token: None,
            timestamp: now().to_string(),
            nonce: format!("nonce{}", NONCE.fetch_add(1, Ordering::SeqCst)),
            version: Some("1.0".into()),
            oauth_extra: Vec::new(),
            form: Vec::new(),
            realm: None,
        }
    }

    pub fn method(mut self, m: SignatureMethod) -> Self {
        self.signature_method = m;
        if m.is_rsa() {
            self.consumer_key = "rsa-client".into();
        }
        self
    }

    pub fn placement(mut self, p: Placement) -> Self {
        self.placement = p;
        self
    }

    pub fn token(mut self, token: &str, secret: &str) -> Self {
        self.token = Some((token.into(), secret.into()));
        self
    }

    pub fn oauth(mut self, name: &str, value: &str) -> Self {
        self.oauth_extra.push((name.into(), value.into()));
        self
    }

    pub fn form(mut self, name: &str, value: &str) -> Self {
        self.form.push((name.into(), value.into()));
        self
    }

    pub fn sign(&self) -> Wire {
        let url = format!("{}{}", self.base, self.path);
        let mut oauth = OAuthParams {
            consumer_key: Some(Cow::Owned(self.consumer_key.clone())),
            token: self.token.as_ref().map(|(t, _)| Cow::Owned(t.clone())),
            signature_method: Some(self.signature_method),
            timestamp: Some(Cow::Owned(self.timestamp.clone())),
            nonce: Some(Cow::Owned(self.nonce.clone())),
            version: self.version.clone().map(Cow::Owned),
            ..OAuthParams::default()
        };
        for (n, v) in &self.oauth_extra {
            oauth.set(n, Cow::Owned(v.clone())).unwrap();
        }
        let form_body =
            form_encode(self.form.iter().map(|(n, v)| (n.as_str(), v.as_str()))).into_bytes();
        let has_form = !self.form.is_empty() || self.placement == Placement::Body;
        let content_type = has_form.then_some("application/x-www-form-urlencoded");
        let request = Request {
            method: &self.http_method,
            url: &url,
            authorization: None,
            content_type,
            body: &form_body,
        };
        let cs = Secret::new(self.consumer_secret.clone());
        let ts = self.token.as_ref().map(|(_, s)| Secret::new(s.clone()));
        let rsa = rsa_private();
        let key = if self.signature_method.is_rsa() {
            SigningKey::Rsa(&rsa)
        } else {
            SigningKey::Shared {
                consumer_secret: &cs,
                token_secret: ts.as_ref(),
            }
        };
        let signed = sign(&request, &oauth, &key).unwrap();
        let mut wire = Wire {
            method: self.http_method.clone(),
            target: self.path.clone(),
            authorization: None,
            content_type: content_type.map(|c| c.as_bytes().to_vec()),
            body: form_body.clone(),
        };
        match self.placement {
            Placement::Header => {
                wire.authorization = Some(
                    signed
                        .authorization_header(self.realm.as_deref())
                        .into_bytes(),
                );
            }
            Placement::Query => wire.target = signed.url_with_params(&self.path),
            Placement::Body => wire.body = signed.body_with_params(&form_body),
        }
        wire
    }
}
