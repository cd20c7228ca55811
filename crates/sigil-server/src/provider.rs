//! The provider engine: the endpoints and the one pipeline of checks they
//! share.
//!
//! Every endpoint runs the same order: parse; stateless checks (one
//! location, no duplicates, required parameters, version, method, timestamp
//! format and window, TLS, formats); client and token lookup; the signature
//! (against dummy secrets when the client or token is unknown, so that
//! timing does not tell which exist); the endpoint's own checks; and only
//! then the nonce is recorded and state changes. A request that fails
//! records and consumes nothing.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use sigil_core::encoding::encode_into;
use sigil_core::{
    Clock, ParseError, ParsedRequest, Request, RsaPublicKey, Secret, SignatureMethod, SystemClock,
    VerifyError, VerifyingKey, random_hex,
};
use subtle::ConstantTimeEq;

use crate::error::{OAuthError, Problem};
use crate::http::{HttpRequest, HttpResponse};
use crate::model::{AccessToken, Client, Grant, TemporaryCredential};
use crate::policy::{Policy, PolicyError};
use crate::store::{NonceKey, StoreError, Stores};

/// Checks a resource owner's password, for xAuth. Supplied by the
/// application.
#[async_trait]
pub trait PasswordVerifier: Send + Sync {
    /// The user's identifier when `password` is right for `username`.
    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<String>, StoreError>;
}

impl From<StoreError> for OAuthError {
    fn from(_: StoreError) -> Self {
        OAuthError::unavailable()
    }
}

fn parse_error(err: ParseError) -> OAuthError {
    use Problem::{ParameterRejected, SignatureMethodRejected};
    match err {
        ParseError::InvalidUrl(_) => {
            OAuthError::bad_request(ParameterRejected, "invalid request URL")
        }
        ParseError::BadPercentEncoding => {
            OAuthError::bad_request(ParameterRejected, "bad percent-encoding")
        }
        ParseError::InvalidUtf8 => {
            OAuthError::bad_request(ParameterRejected, "parameter is not UTF-8")
        }
        ParseError::HeaderTooLong => {
            OAuthError::bad_request(ParameterRejected, "authorization header too long")
        }
        ParseError::MalformedHeader(_) => {
            OAuthError::bad_request(ParameterRejected, "malformed authorization header")
        }
        ParseError::UnexpectedHeaderParameter => OAuthError::bad_request(
            ParameterRejected,
            "only realm and oauth_ parameters belong in the authorization header",
        ),
        ParseError::TooManyParameters => {
            OAuthError::bad_request(ParameterRejected, "too many parameters")
        }
        ParseError::BodyTooLarge => {
            OAuthError::new(413, Problem::BodyTooLarge, "request body too large")
        }
        ParseError::DuplicateParameter(_) => {
            OAuthError::bad_request(ParameterRejected, "duplicate protocol parameter")
        }
        ParseError::MultipleLocations => OAuthError::bad_request(
            ParameterRejected,
            "protocol parameters in more than one location",
        ),
        ParseError::UnsupportedSignatureMethod => {
            OAuthError::bad_request(SignatureMethodRejected, "unsupported signature method")
        }
    }
}

/// Which token an endpoint expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// No token (request token, signature-only, xAuth). An empty
    /// `oauth_token` counts as none.
    NoToken,
    /// A temporary credential (token endpoint).
    Temporary,
    /// An access token (protected resource).
    Access,
}

/// What authentication found.
struct Authenticated {
    client: Client,
    temporary: Option<TemporaryCredential>,
    access: Option<AccessToken>,
    nonce_key: NonceKey,
}

/// Newly issued temporary credentials.
#[derive(Clone, Debug)]
pub struct IssuedTemporary {
    /// The credential as stored.
    pub credential: TemporaryCredential,
}

impl IssuedTemporary {
    /// The token endpoint answer (RFC 5849 §2.1): `oauth_token`,
    /// `oauth_token_secret`, `oauth_callback_confirmed=true`, and `extra`
    /// fields of the application's.
    pub fn to_response(&self, extra: &[(&str, &str)]) -> HttpResponse {
        let mut pairs = vec![
            ("oauth_token", self.credential.token.as_str()),
            ("oauth_token_secret", self.credential.secret.expose()),
            ("oauth_callback_confirmed", "true"),
        ];
        pairs.extend_from_slice(extra);
        HttpResponse::form(200, sigil_core::encoding::form_encode(pairs))
    }
}

/// A newly issued access token.
#[derive(Clone, Debug)]
pub struct IssuedAccess {
    /// The token as stored.
    pub token: AccessToken,
}

impl IssuedAccess {
    /// The token endpoint answer (RFC 5849 §2.3): `oauth_token`,
    /// `oauth_token_secret`, and `extra` fields of the application's (such
    /// as `user_id`).
    pub fn to_response(&self, extra: &[(&str, &str)]) -> HttpResponse {
        let mut pairs = vec![
            ("oauth_token", self.token.token.as_str()),
            ("oauth_token_secret", self.token.secret.expose()),
        ];
        pairs.extend_from_slice(extra);
        HttpResponse::form(200, sigil_core::encoding::form_encode(pairs))
    }
}

/// What the consent page needs about a pending authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAuthorization {
    /// The request token.
    pub token: String,
    /// The client's consumer key.
    pub client_key: String,
    /// The application's name.
    pub client_name: String,
    /// The application's description.
    pub client_description: String,
    /// The application's website.
    pub client_website: Option<String>,
    /// The realms requested.
    pub realms: Vec<String>,
    /// The callback (`oob` for a PIN flow).
    pub callback: String,
    /// Unix time the request token expires.
    pub expires_at: u64,
}

impl PendingAuthorization {
    /// Whether the verifier is shown to the user instead of redirecting.
    pub fn is_oob(&self) -> bool {
        self.callback == "oob"
    }

    /// The host the user will be sent back to (`None` for `oob`).
    pub fn callback_host(&self) -> Option<String> {
        if self.is_oob() {
            return None;
        }
        // The same WHATWG parse the callback passed at request time.
        crate::CallbackUrl::parse(&self.callback)
            .ok()
            .map(|u| u.authority())
    }
}

/// The outcome of an approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// The verifier (show it to the user for `oob`).
    pub verifier: String,
    /// Where to redirect the user, `None` for `oob`.
    pub redirect: Option<String>,
}

/// The outcome of a denial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// Where to redirect the user (`error=access_denied`), `None` for `oob`.
    pub redirect: Option<String>,
}

/// Appends `pairs` to the query of `url`, before any fragment.
fn append_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let (before, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len() + 96);
    out.push_str(before);
    let mut sep = if !before.contains('?') {
        "?"
    } else if before.ends_with('?') || before.ends_with('&') {
        ""
    } else {
        "&"
    };
    for (name, value) in pairs {
        out.push_str(sep);
        encode_into(&mut out, name);
        out.push('=');
        encode_into(&mut out, value);
        sep = "&";
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// A public key nobody holds the private half of: unknown RSA clients are
/// verified against it, so they take the same time as known ones.
const DUMMY_RSA_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAirvOzGnx81Qq+kzvEp7o
oAML1X06C1tFDWbXEvdxPZuWdLKhlejxXMytUPJf04S3RLiCmbMJYt+xW56cPJup
CshZiki8+QaV7MCnUUI08KNsJMMr+K9RA19MwtH3S6h9BwmWmsJZ2FphiousWKia
YWhZwHxgkCiA9by5QhzqvDDa1ld1KwBxBFfAXgeh7n7DL+iiKxLE6uRxNYUSSlXQ
DLlkQgS3l7KV/GeueEYKWtHDwvcEve9HmVwif4QeVw053f94brF82JyP7o8lnJUB
TLZSZGsUBdwrfUh/UaxpJsSCsffuVhIx8wcrRu6bxRJ3xh/t8+U+E2Nv4McKcCfV
xwIDAQAB
-----END PUBLIC KEY-----
";

fn dummy_rsa_key() -> Option<&'static RsaPublicKey> {
    static KEY: OnceLock<Option<RsaPublicKey>> = OnceLock::new();
    KEY.get_or_init(|| RsaPublicKey::from_pem(DUMMY_RSA_PUBLIC_KEY).ok())
        .as_ref()
}

/// Printable ASCII without spaces, within `range` bytes.
fn well_formed(value: &str, range: &std::ops::RangeInclusive<usize>) -> bool {
    range.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

fn random_value<const N: usize>() -> Result<String, OAuthError> {
    random_hex::<N>().map_err(|_| OAuthError::unavailable())
}

/// The OAuth 1.0a provider engine.
///
/// ```
/// use std::sync::Arc;
/// use sigil_server::{Client, MemoryStore, Policy, Provider, Stores};
///
/// let store = Arc::new(MemoryStore::new());
/// store.insert_client(Client::new("key", "secret", "Printer")).unwrap();
/// let provider = Provider::new(
///     Stores::single(store),
///     Policy {
///         public_base_url: Some("https://photos.example.net".into()),
///         ..Policy::default()
///     },
/// )
/// .unwrap();
/// assert_eq!(provider.policy().timestamp_window, 300);
/// ```
pub struct Provider {
    stores: Stores,
    policy: Policy,
    clock: Arc<dyn Clock>,
    passwords: Option<Arc<dyn PasswordVerifier>>,
    dummy_secret: Secret,
    /// Per client: the timestamp window being counted, and its count (for
    /// [`Policy::max_nonces_per_client`]). Only clients whose signature
    /// checked out get an entry, so it is bounded by the registered clients.
    nonce_budget: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// An engine over `stores` with `policy` (checked by
    /// [`Policy::validate`]) and the system clock.
    pub fn new(stores: Stores, policy: Policy) -> Result<Self, PolicyError> {
        policy.validate()?;
        // The dummy secret only has to be unknown to clients; if the random
        // source fails, a fixed one still equalises timing.
        let dummy_secret = Secret::new(random_hex::<32>().unwrap_or_else(|_| "0".repeat(64)));
        Ok(Self {
            stores,
            policy,
            clock: Arc::new(SystemClock),
            passwords: None,
            dummy_secret,
            nonce_budget: std::sync::Mutex::default(),
        })
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Enables xAuth with the application's password check.
    pub fn with_password_verifier(mut self, verifier: Arc<dyn PasswordVerifier>) -> Self {
        self.passwords = Some(verifier);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The stores.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The current time from the engine's clock.
    pub fn now(&self) -> u64 {
        self.clock.now_unix()
    }

    /// Turns an endpoint result into an HTTP answer.
    pub fn respond<T>(
        &self,
        result: Result<T, OAuthError>,
        ok: impl FnOnce(T) -> HttpResponse,
    ) -> HttpResponse {
        match result {
            Ok(value) => ok(value),
            Err(err) => err.to_response(&self.policy.www_authenticate_realm),
        }
    }

    /// The absolute URL the client signed: the public base URL and the
    /// request's path, never the `Host` header.
    fn request_url(&self, target: &str) -> Result<String, OAuthError> {
        let bad = || OAuthError::bad_request(Problem::ParameterRejected, "invalid request URL");
        let path = if target.starts_with('/') {
            target
        } else if let Some(rest) = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            if self.policy.public_base_url.is_none() {
                return Ok(target.to_owned());
            }
            // Absolute form: keep only the path and query.
            rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/")
        } else {
            return Err(bad());
        };
        match &self.policy.public_base_url {
            Some(base) => Ok(format!("{}{path}", base.trim_end_matches('/'))),
            None => Err(bad()),
        }
    }

    /// Parses and runs the stateless checks.
    fn check_stateless(
        &self,
        parsed: &ParsedRequest<'_>,
        extra_required: &[&'static str],
    ) -> Result<(SignatureMethod, u64), OAuthError> {
        let oauth = parsed.oauth();
        let mut absent = Vec::new();
        let present = [
            ("oauth_consumer_key", oauth.consumer_key.is_some()),
            ("oauth_signature_method", oauth.signature_method.is_some()),
            ("oauth_signature", oauth.signature.is_some()),
            ("oauth_timestamp", oauth.timestamp.is_some()),
            ("oauth_nonce", oauth.nonce.is_some()),
            (
                "oauth_token",
                oauth.token.as_deref().is_some_and(|t| !t.is_empty()),
            ),
            ("oauth_verifier", oauth.verifier.is_some()),
            ("oauth_callback", oauth.callback.is_some()),
        ];
        for (name, is_present) in present {
            let required = extra_required.contains(&name)
                || !matches!(name, "oauth_token" | "oauth_verifier" | "oauth_callback");
            if required && !is_present {
                absent.push(name);
            }
        }
        if !absent.is_empty() {
            let mut err = OAuthError::bad_request(
                Problem::ParameterAbsent,
                "required protocol parameters missing",
            );
            err.parameters_absent = absent;
            return Err(err);
        }
        if oauth.version.as_deref().is_some_and(|v| v != "1.0") {
            return Err(OAuthError::bad_request(
                Problem::VersionRejected,
                "oauth_version must be 1.0",
            ));
        }
        let method = oauth.signature_method.ok_or_else(|| {
            OAuthError::bad_request(Problem::ParameterAbsent, "oauth_signature_method missing")
        })?;
        if !self.policy.signature_methods.contains(&method) {
            return Err(OAuthError::bad_request(
                Problem::SignatureMethodRejected,
                "signature method not allowed",
            ));
        }
        let timestamp = oauth.timestamp_secs().ok_or_else(|| {
            OAuthError::bad_request(
                Problem::ParameterRejected,
                "oauth_timestamp must be a decimal number of seconds",
            )
        })?;
        let now = self.now();
        let window = self.policy.timestamp_window;
        let earliest = now
            .saturating_sub(window)
            .max(self.policy.timestamps_from.unwrap_or(0));
        if timestamp < earliest || timestamp > now.saturating_add(window) {
            let mut err = OAuthError::unauthorized(
                Problem::TimestampRefused,
                "timestamp outside the accepted window",
            );
            err.acceptable_timestamps = Some((earliest, now.saturating_add(window)));
            return Err(err);
        }
        let secure = parsed.uri().is_https() || parsed.uri().is_loopback();
        if self.policy.require_tls && !secure {
            return Err(OAuthError::bad_request(
                Problem::TlsRequired,
                "https is required",
            ));
        }
        if method == SignatureMethod::Plaintext && self.policy.plaintext_requires_tls && !secure {
            return Err(OAuthError::bad_request(
                Problem::SignatureMethodRejected,
                "PLAINTEXT requires https",
            ));
        }
        if oauth.body_hash.is_some() && (parsed.has_form_body() || method.digest().is_none()) {
            return Err(OAuthError::bad_request(
                Problem::ParameterRejected,
                "oauth_body_hash not allowed for this request",
            ));
        }
        let key_ok = |v: Option<&str>| v.is_none_or(|v| well_formed(v, &self.policy.key_length));
        let token = oauth.token.as_deref().filter(|t| !t.is_empty());
        if !key_ok(oauth.consumer_key.as_deref())
            || !key_ok(token)
            || !key_ok(oauth.verifier.as_deref())
        {
            return Err(OAuthError::bad_request(
                Problem::ParameterRejected,
                "malformed key, token or verifier",
            ));
        }
        if !oauth
            .nonce
            .as_deref()
            .is_some_and(|n| well_formed(n, &self.policy.nonce_length))
        {
            return Err(OAuthError::bad_request(
                Problem::ParameterRejected,
                "malformed oauth_nonce",
            ));
        }
        Ok((method, timestamp))
    }

    fn parse<'r>(
        &self,
        request: &HttpRequest<'r>,
        url: &'r str,
    ) -> Result<ParsedRequest<'r>, OAuthError> {
        let as_str = |bytes: Option<&'r [u8]>| -> Result<Option<&'r str>, OAuthError> {
            bytes.map(std::str::from_utf8).transpose().map_err(|_| {
                OAuthError::bad_request(Problem::ParameterRejected, "header is not UTF-8")
            })
        };
        let content_type = as_str(request.content_type)?;
        if content_type.is_some_and(sigil_core::is_ambiguous_form_content_type) {
            return Err(OAuthError::bad_request(
                Problem::ParameterRejected,
                "ambiguous Content-Type: send exactly application/x-www-form-urlencoded (the body is signed) or another type",
            ));
        }
        let core = Request {
            method: request.method,
            url,
            authorization: as_str(request.authorization)?,
            content_type,
            body: request.body,
        };
        ParsedRequest::parse(&core, &self.policy.limits).map_err(parse_error)
    }

    /// Looks up the client and token and checks the signature, the same
    /// work whether they exist or not.
    async fn authenticate(
        &self,
        parsed: &ParsedRequest<'_>,
        method: SignatureMethod,
        timestamp: u64,
        expect: Expect,
    ) -> Result<Authenticated, OAuthError> {
        let oauth = parsed.oauth();
        let key = oauth.consumer_key.as_deref().unwrap_or_default();
        let token_value = oauth.token.as_deref().filter(|t| !t.is_empty());
        if expect == Expect::NoToken && token_value.is_some() {
            return Err(OAuthError::bad_request(
                Problem::ParameterRejected,
                "oauth_token is not expected here",
            ));
        }
        let client = self.stores.clients.client(key).await?;
        let (temporary, access) = match (expect, token_value) {
            (Expect::Temporary, Some(t)) => (self.stores.temporary.temporary(t).await?, None),
            (Expect::Access, Some(t)) => (None, self.stores.tokens.token(t).await?),
            _ => (None, None),
        };
        let token_secret = match (expect, &temporary, &access) {
            (Expect::NoToken, _, _) => None,
            (_, Some(t), _) => Some(&t.secret),
            (_, _, Some(a)) => Some(&a.secret),
            _ => Some(&self.dummy_secret),
        };
        let consumer_secret = client
            .as_ref()
            .and_then(|c| c.secret.as_ref())
            .unwrap_or(&self.dummy_secret);
        let verified = if method.is_rsa() {
            let rsa_key = match client.as_ref().and_then(|c| c.rsa_public_key.as_ref()) {
                Some(key) => Some(key),
                None => dummy_rsa_key(),
            };
            match rsa_key {
                Some(public) => parsed.verify(&VerifyingKey::Rsa(public)),
                None => Err(VerifyError::InvalidSignature),
            }
        } else {
            parsed.verify(&VerifyingKey::Shared {
                consumer_secret,
                token_secret,
            })
        };

        // Decide, most specific first.
        let client = client.ok_or_else(|| {
            OAuthError::unauthorized(Problem::ConsumerKeyUnknown, "unknown consumer key")
        })?;
        if !client.enabled {
            return Err(OAuthError::unauthorized(
                Problem::ConsumerKeyRejected,
                "consumer key disabled",
            ));
        }
        // PLAINTEXT sends the secrets themselves: only for a client that
        // lists it. An empty list means the methods of the client's keys.
        let method_allowed = if client.signature_methods.is_empty() {
            method != SignatureMethod::Plaintext
        } else {
            client.signature_methods.contains(&method)
        };
        let has_key = if method.is_rsa() {
            client.rsa_public_key.is_some()
        } else {
            client.secret.is_some()
        };
        if !method_allowed || !has_key {
            return Err(OAuthError::bad_request(
                Problem::SignatureMethodRejected,
                "signature method not allowed for this client",
            ));
        }
        match expect {
            Expect::NoToken => {}
            Expect::Temporary => match &temporary {
                Some(t) if t.client_key == client.key => {
                    if t.is_expired(self.now()) {
                        return Err(OAuthError::unauthorized(
                            Problem::TokenExpired,
                            "request token expired",
                        ));
                    }
                }
                _ => {
                    return Err(OAuthError::unauthorized(
                        Problem::TokenRejected,
                        "unknown request token",
                    ));
                }
            },
            Expect::Access => match &access {
                Some(a) if a.client_key == client.key => {}
                _ => {
                    return Err(OAuthError::unauthorized(
                        Problem::TokenRejected,
                        "unknown or revoked access token",
                    ));
                }
            },
        }
        match verified {
            Ok(()) => {}
            Err(VerifyError::BodyHashWithFormBody | VerifyError::BodyHashNotApplicable) => {
                return Err(OAuthError::bad_request(
                    Problem::ParameterRejected,
                    "oauth_body_hash not allowed for this request",
                ));
            }
            Err(VerifyError::BodyHashMismatch) => {
                return Err(OAuthError::unauthorized(
                    Problem::SignatureInvalid,
                    "body hash does not match the body",
                ));
            }
            Err(_) => {
                return Err(OAuthError::unauthorized(
                    Problem::SignatureInvalid,
                    "invalid signature",
                ));
            }
        }
        let nonce_key = NonceKey {
            client_key: client.key.clone(),
            token: token_value.map(str::to_owned),
            timestamp,
            nonce: oauth.nonce.as_deref().unwrap_or_default().to_owned(),
        };
        Ok(Authenticated {
            client,
            temporary,
            access,
            nonce_key,
        })
    }

    /// Counts a signed request against the client's budget for this
    /// timestamp window, when the policy sets one.
    fn spend_nonce_budget(&self, client_key: &str, now: u64) -> Result<(), OAuthError> {
        let Some(limit) = self.policy.max_nonces_per_client else {
            return Ok(());
        };
        let window = now / self.policy.timestamp_window.max(1);
        let mut budget = self
            .nonce_budget
            .lock()
            .map_err(|_| OAuthError::unavailable())?;
        let entry = budget.entry(client_key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= limit {
            return Err(OAuthError::new(
                429,
                Problem::TooManyRequests,
                "too many signed requests from this client; wait for the next window",
            ));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Records the nonce: the last check before anything changes.
    async fn record_nonce(&self, key: &NonceKey) -> Result<(), OAuthError> {
        let now = self.now();
        self.spend_nonce_budget(&key.client_key, now)?;
        let expires_at = now.saturating_add(self.policy.nonce_lifetime);
        if self
            .stores
            .nonces
            .check_and_record(key, now, expires_at)
            .await?
        {
            Ok(())
        } else {
            Err(OAuthError::unauthorized(
                Problem::NonceUsed,
                "nonce already used",
            ))
        }
    }

    /// The requested realms (the `realm` attribute of the Authorization
    /// header, space-separated, as oauthlib reads it), or the client's
    /// defaults; each must be allowed.
    fn requested_realms(
        &self,
        parsed: &ParsedRequest<'_>,
        client: &Client,
    ) -> Result<Vec<String>, OAuthError> {
        let requested: Vec<String> = match parsed.realm() {
            Some(realm) if !realm.trim().is_empty() => {
                realm.split_whitespace().map(str::to_owned).collect()
            }
            _ => client.default_realms.clone(),
        };
        let allowed = |r: &String| {
            (client.allowed_realms.is_empty() || client.allowed_realms.contains(r))
                && (self.policy.realms.is_empty() || self.policy.realms.contains(r))
        };
        if requested.iter().all(allowed) {
            Ok(requested)
        } else {
            Err(OAuthError::unauthorized(
                Problem::PermissionDenied,
                "realm not allowed for this client",
            ))
        }
    }

    /// The temporary-credential endpoint (RFC 5849 §2.1).
    pub async fn request_token(
        &self,
        request: &HttpRequest<'_>,
    ) -> Result<IssuedTemporary, OAuthError> {
        let url = self.request_url(request.target)?;
        let parsed = self.parse(request, &url)?;
        let (method, timestamp) = self.check_stateless(&parsed, &["oauth_callback"])?;
        let auth = self
            .authenticate(&parsed, method, timestamp, Expect::NoToken)
            .await?;
        let callback = parsed.oauth().callback.as_deref().unwrap_or_default();
        let callback = if callback == "oob" {
            if !(self.policy.allow_oob && auth.client.allow_oob) {
                return Err(OAuthError::bad_request(
                    Problem::ParameterRejected,
                    "oob callback not allowed for this client",
                ));
            }
            callback.to_owned()
        } else {
            match self.policy.check_callback(callback, &auth.client.callbacks) {
                Ok(url) => url.as_str().to_owned(),
                Err(refusal) => {
                    return Err(OAuthError::bad_request(
                        Problem::ParameterRejected,
                        refusal.reason(),
                    ));
                }
            }
        };
        let realms = self.requested_realms(&parsed, &auth.client)?;
        self.record_nonce(&auth.nonce_key).await?;
        let now = self.now();
        let credential = TemporaryCredential {
            token: random_value::<16>()?,
            secret: Secret::new(random_value::<32>()?),
            client_key: auth.client.key,
            callback,
            realms,
            created_at: now,
            expires_at: now.saturating_add(self.policy.temporary_lifetime),
            verifier: None,
            user: None,
        };
        self.stores
            .temporary
            .create_temporary(credential.clone())
            .await?;
        Ok(IssuedTemporary { credential })
    }

    /// [`Provider::request_token`] as an HTTP answer.
    pub async fn request_token_response(&self, request: &HttpRequest<'_>) -> HttpResponse {
        let result = self.request_token(request).await;
        self.respond(result, |issued| issued.to_response(&[]))
    }

    fn authorization_error(problem: Problem) -> OAuthError {
        match problem {
            Problem::TokenExpired => {
                OAuthError::bad_request(problem, "this authorization request has expired")
            }
            Problem::TokenUsed => {
                OAuthError::bad_request(problem, "this authorization request was already answered")
            }
            _ => OAuthError::bad_request(Problem::TokenRejected, "unknown authorization request"),
        }
    }

    async fn pending_credential(&self, token: &str) -> Result<TemporaryCredential, OAuthError> {
        let credential = self
            .stores
            .temporary
            .temporary(token)
            .await?
            .ok_or_else(|| Self::authorization_error(Problem::TokenRejected))?;
        if credential.is_expired(self.now()) {
            return Err(Self::authorization_error(Problem::TokenExpired));
        }
        if credential.is_approved() {
            return Err(Self::authorization_error(Problem::TokenUsed));
        }
        Ok(credential)
    }

    /// The authorization endpoint, first half (RFC 5849 §2.2): what the
    /// consent page shows for `oauth_token`.
    pub async fn pending_authorization(
        &self,
        token: &str,
    ) -> Result<PendingAuthorization, OAuthError> {
        let credential = self.pending_credential(token).await?;
        let client = self
            .stores
            .clients
            .client(&credential.client_key)
            .await?
            .filter(|c| c.enabled)
            .ok_or_else(|| Self::authorization_error(Problem::TokenRejected))?;
        Ok(PendingAuthorization {
            token: credential.token,
            client_key: client.key,
            client_name: client.name,
            client_description: client.description,
            client_website: client.website,
            realms: credential.realms,
            callback: credential.callback,
            expires_at: credential.expires_at,
        })
    }

    /// The resource owner `user` approves: a verifier is bound to the
    /// request token (once), and the answer says where to send the user.
    pub async fn approve(&self, token: &str, user: &str) -> Result<Approval, OAuthError> {
        // Check the client is still enabled before anything changes.
        self.pending_authorization(token).await?;
        let verifier = random_value::<10>()?;
        let approved = self
            .stores
            .temporary
            .approve_temporary(token, user, &verifier, self.now())
            .await?;
        let Some(credential) = approved else {
            // Lost a race with another approval, a denial or expiry.
            self.pending_credential(token).await?;
            return Err(Self::authorization_error(Problem::TokenUsed));
        };
        let redirect = (credential.callback != "oob").then(|| {
            append_query(
                &credential.callback,
                &[
                    ("oauth_token", credential.token.as_str()),
                    ("oauth_verifier", verifier.as_str()),
                ],
            )
        });
        Ok(Approval { verifier, redirect })
    }

    /// The resource owner denies: the request token is deleted, and the
    /// client is told `error=access_denied` at its callback.
    pub async fn deny(&self, token: &str) -> Result<Denial, OAuthError> {
        let credential = self.pending_credential(token).await?;
        if !self.stores.temporary.delete_temporary(token).await? {
            return Err(Self::authorization_error(Problem::TokenUsed));
        }
        let redirect = (credential.callback != "oob").then(|| {
            append_query(
                &credential.callback,
                &[
                    ("oauth_token", credential.token.as_str()),
                    ("error", "access_denied"),
                ],
            )
        });
        Ok(Denial { redirect })
    }

    /// The token-credential endpoint (RFC 5849 §2.3): exchanges an approved
    /// request token and its verifier for an access token, consuming both
    /// in one atomic step. With no `oauth_token` and `x_auth_mode` in the
    /// body, runs xAuth instead.
    pub async fn access_token(
        &self,
        request: &HttpRequest<'_>,
    ) -> Result<IssuedAccess, OAuthError> {
        let url = self.request_url(request.target)?;
        let parsed = self.parse(request, &url)?;
        let is_xauth = parsed.params().iter().any(|p| p.name() == "x_auth_mode")
            && parsed.oauth().token.as_deref().is_none_or(str::is_empty);
        if is_xauth {
            return self.xauth(&parsed).await;
        }
        let (method, timestamp) =
            self.check_stateless(&parsed, &["oauth_token", "oauth_verifier"])?;
        let auth = self
            .authenticate(&parsed, method, timestamp, Expect::Temporary)
            .await?;
        let verifier = parsed.oauth().verifier.as_deref().unwrap_or_default();
        let temporary = auth.temporary.as_ref().ok_or_else(|| {
            OAuthError::unauthorized(Problem::TokenRejected, "unknown request token")
        })?;
        let verifier_ok = temporary.is_approved()
            && temporary
                .verifier
                .as_deref()
                .is_some_and(|v| bool::from(v.as_bytes().ct_eq(verifier.as_bytes())));
        if !verifier_ok {
            return Err(OAuthError::unauthorized(
                Problem::VerifierInvalid,
                "verifier invalid or request token not approved",
            ));
        }
        self.record_nonce(&auth.nonce_key).await?;
        let consumed = self
            .stores
            .temporary
            .consume_temporary(&temporary.token, verifier, self.now())
            .await?
            .ok_or_else(|| {
                OAuthError::unauthorized(Problem::TokenUsed, "request token already used")
            })?;
        let user = consumed.user.clone().unwrap_or_default();
        self.issue_access(auth.client.key, user, consumed.realms)
            .await
    }

    async fn issue_access(
        &self,
        client_key: String,
        user: String,
        realms: Vec<String>,
    ) -> Result<IssuedAccess, OAuthError> {
        let token = AccessToken {
            token: random_value::<16>()?,
            secret: Secret::new(random_value::<32>()?),
            client_key,
            user,
            realms,
            created_at: self.now(),
        };
        self.stores.tokens.create_token(token.clone()).await?;
        Ok(IssuedAccess { token })
    }

    async fn xauth(&self, parsed: &ParsedRequest<'_>) -> Result<IssuedAccess, OAuthError> {
        let (method, timestamp) = self.check_stateless(parsed, &[])?;
        let field = |name: &str| -> Result<Option<String>, OAuthError> {
            let mut found = parsed.params().iter().filter(|p| p.name() == name);
            match (found.next(), found.next()) {
                (None, _) => Ok(None),
                (Some(p), None) if p.location() == sigil_core::ParamLocation::Body => {
                    Ok(Some(p.value().to_owned()))
                }
                _ => Err(OAuthError::bad_request(
                    Problem::ParameterRejected,
                    "xAuth parameters must appear once, in the form body",
                )),
            }
        };
        let mode = field("x_auth_mode")?;
        let username = field("x_auth_username")?;
        let password = field("x_auth_password")?;
        let (Some(mode), Some(username), Some(password)) = (mode, username, password) else {
            let mut err = OAuthError::bad_request(
                Problem::ParameterAbsent,
                "xAuth needs x_auth_mode, x_auth_username and x_auth_password",
            );
            err.parameters_absent = vec!["x_auth_mode", "x_auth_username", "x_auth_password"];
            return Err(err);
        };
        if mode != "client_auth" {
            return Err(OAuthError::bad_request(
                Problem::ParameterRejected,
                "x_auth_mode must be client_auth",
            ));
        }
        let auth = self
            .authenticate(parsed, method, timestamp, Expect::NoToken)
            .await?;
        if !auth.client.allow_xauth {
            return Err(OAuthError::unauthorized(
                Problem::PermissionDenied,
                "xAuth not allowed for this client",
            ));
        }
        let Some(passwords) = &self.passwords else {
            return Err(OAuthError::unauthorized(
                Problem::PermissionDenied,
                "xAuth not enabled",
            ));
        };
        let user = passwords
            .verify_password(&username, &password)
            .await?
            .ok_or_else(|| {
                OAuthError::unauthorized(Problem::PermissionDenied, "invalid username or password")
            })?;
        self.record_nonce(&auth.nonce_key).await?;
        let realms = auth.client.default_realms.clone();
        self.issue_access(auth.client.key, user, realms).await
    }

    /// [`Provider::access_token`] as an HTTP answer, with `user_id` added.
    pub async fn access_token_response(&self, request: &HttpRequest<'_>) -> HttpResponse {
        let result = self.access_token(request).await;
        self.respond(result, |issued| {
            let user = issued.token.user.clone();
            issued.to_response(&[("user_id", user.as_str())])
        })
    }

    /// A protected resource: verifies the request and returns the grant,
    /// which must cover every realm in `required_realms` (else 403).
    pub async fn verify_resource(
        &self,
        request: &HttpRequest<'_>,
        required_realms: &[&str],
    ) -> Result<Grant, OAuthError> {
        let url = self.request_url(request.target)?;
        let parsed = self.parse(request, &url)?;
        let (method, timestamp) = self.check_stateless(&parsed, &["oauth_token"])?;
        let auth = self
            .authenticate(&parsed, method, timestamp, Expect::Access)
            .await?;
        let access = auth.access.ok_or_else(|| {
            OAuthError::unauthorized(Problem::TokenRejected, "unknown access token")
        })?;
        let grant = Grant {
            client_key: auth.client.key,
            user: Some(access.user),
            realms: access.realms,
            token: Some(access.token),
        };
        if !grant.has_realms(required_realms) {
            return Err(OAuthError::new(
                403,
                Problem::PermissionDenied,
                "the token does not grant this realm",
            ));
        }
        self.record_nonce(&auth.nonce_key).await?;
        Ok(grant)
    }

    /// A signature-only (one-legged, two-legged) request, such as an IMS LTI
    /// 1.1 launch: signed with the consumer secret alone, with nonce and
    /// timestamp checks. An empty `oauth_token` counts as none.
    pub async fn verify_signature_only(
        &self,
        request: &HttpRequest<'_>,
    ) -> Result<Grant, OAuthError> {
        let url = self.request_url(request.target)?;
        let parsed = self.parse(request, &url)?;
        let (method, timestamp) = self.check_stateless(&parsed, &[])?;
        let auth = self
            .authenticate(&parsed, method, timestamp, Expect::NoToken)
            .await?;
        self.record_nonce(&auth.nonce_key).await?;
        Ok(Grant {
            client_key: auth.client.key,
            user: None,
            realms: auth.client.default_realms,
            token: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_query_keeps_existing_query_and_fragment() {
        assert_eq!(
            append_query("https://a.b/cb", &[("oauth_token", "t"), ("x", "a b")]),
            "https://a.b/cb?oauth_token=t&x=a%20b"
        );
        assert_eq!(
            append_query("https://a.b/cb?s=1#frag", &[("oauth_token", "t")]),
            "https://a.b/cb?s=1&oauth_token=t#frag"
        );
    }

    #[test]
    fn dummy_key_loads() {
        assert!(dummy_rsa_key().is_some());
    }
}
