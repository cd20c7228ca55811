//! # sigil-axum
//!
//! A thin axum front end over [`sigil_server::Provider`]: it only adapts
//! axum's request and response types.
//!
//! - [`require_oauth`]: a middleware layer that protects routes with the
//!   realms they need (the Rust shape of Flask-OAuthlib's
//!   `require_oauth('email')`) and hands the handler the verified [`Grant`]
//!   through the [`OAuthGrant`] extractor. The body is read once, bounded,
//!   and is still there for the handler.
//! - [`flow_router`]: the three flow endpoints, mountable under any prefix;
//!   the application supplies only the signed-in user and the consent page
//!   ([`ConsentApp`]).
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use sigil_axum::{OAuthGrant, require_oauth};
//! use sigil_server::{MemoryStore, Policy, Provider, Stores};
//!
//! async fn me(OAuthGrant(grant): OAuthGrant) -> String {
//!     format!("hello {}", grant.user.unwrap_or_default())
//! }
//!
//! let provider = Arc::new(Provider::new(
//!     Stores::single(Arc::new(MemoryStore::new())),
//!     Policy { public_base_url: Some("https://api.example".into()), ..Policy::default() },
//! ).unwrap());
//! let app: Router = Router::new()
//!     .route("/api/me", get(me))
//!     // route_layer: the guard runs for these routes only, so an unknown
//!     // path is still a 404.
//!     .route_layer(require_oauth(provider.clone(), &["email"]));
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sigil_server::{
    Grant, HttpRequest, HttpResponse, OAuthError, PendingAuthorization, Problem, Provider,
};

/// A request read for OAuth: owned, with its body read once and bounded.
#[derive(Clone, Debug)]
pub struct OAuthRequest {
    method: String,
    target: String,
    authorization: Option<Vec<u8>>,
    content_type: Option<Vec<u8>>,
    body: Bytes,
}

impl OAuthRequest {
    /// Reads `request`, refusing with 413 a body over `limit` bytes: first
    /// by its `Content-Length`, before reading anything; then while reading.
    /// Returns the request parts for the caller to pass on.
    pub async fn read(request: Request, limit: usize) -> Result<(Self, Parts), Response> {
        let (parts, body) = request.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        // One Authorization and one Content-Type, or the engine and the
        // application could each read a different one.
        for (name, advice) in [
            (header::AUTHORIZATION, "more than one Authorization header"),
            (header::CONTENT_TYPE, "more than one Content-Type header"),
        ] {
            if parts.headers.get_all(name).iter().nth(1).is_some() {
                return Err(refused(advice));
            }
        }
        let body = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| too_large())?;
        // Inside a nested router axum strips the prefix from `uri`; the
        // client signed the whole path.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let read = Self {
            method: parts.method.as_str().to_owned(),
            target,
            authorization: parts
                .headers
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes().to_vec()),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes().to_vec()),
            body,
        };
        Ok((read, parts))
    }

    /// The engine's view of the request.
    pub fn http(&self) -> HttpRequest<'_> {
        HttpRequest {
            method: &self.method,
            target: &self.target,
            authorization: self.authorization.as_deref(),
            content_type: self.content_type.as_deref(),
            body: &self.body,
        }
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

fn refused(advice: &'static str) -> Response {
    into_response(OAuthError::bad_request(Problem::ParameterRejected, advice).to_response("sigil"))
}

fn too_large() -> Response {
    into_response(
        OAuthError::new(413, Problem::BodyTooLarge, "request body too large").to_response("sigil"),
    )
}

/// The `oauth_problem` of a refused request, left in the response's
/// extensions for logs and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProblemName(pub String);

/// The consumer key of an accepted protected-resource request, left in the
/// response's extensions for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKey(pub String);

/// Converts the engine's answer into an axum response.
pub fn into_response(response: HttpResponse) -> Response {
    let problem = (response.status >= 400)
        .then(|| {
            response
                .form_fields()
                .into_iter()
                .find(|(n, _)| n == "oauth_problem")
                .map(|(_, v)| ProblemName(v))
        })
        .flatten();
    let mut out = Response::new(Body::from(response.body));
    if let Some(problem) = problem {
        out.extensions_mut().insert(problem);
    }
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// The verified grant of a request that passed [`require_oauth`].
#[derive(Clone, Debug)]
pub struct OAuthGrant(pub Grant);

impl<S: Send + Sync> FromRequestParts<S> for OAuthGrant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Grant>()
            .cloned()
            .map(OAuthGrant)
            .ok_or_else(|| {
                // A route using the extractor without the layer: a
                // programming error, reported plainly.
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "route is not protected by require_oauth",
                )
                    .into_response()
            })
    }
}

/// The state of a [`require_oauth`] layer: the engine and the realms the
/// routes need.
#[derive(Clone)]
pub struct Guard {
    provider: Arc<Provider>,
    realms: &'static [&'static str],
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("realms", &self.realms)
            .finish()
    }
}

/// The middleware function behind [`require_oauth`].
pub type GuardFn = fn(
    State<Guard>,
    Request,
    Next,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// The layer [`require_oauth`] returns.
pub type RequireOAuthLayer = axum::middleware::FromFnLayer<GuardFn, Guard, (State<Guard>, Request)>;

async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let limit = guard.provider.policy().limits.max_body_len;
    let (read, mut parts) = match OAuthRequest::read(request, limit).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    match guard
        .provider
        .verify_resource(&read.http(), guard.realms)
        .await
    {
        Ok(grant) => {
            let client = ClientKey(grant.client_key.clone());
            parts.extensions.insert(grant);
            let request = Request::from_parts(parts, Body::from(read.body.clone()));
            let mut response = next.run(request).await;
            response.extensions_mut().insert(client);
            response
        }
        Err(err) => {
            tracing::debug!(problem = %err.problem, "protected resource refused");
            into_response(err.to_response(&guard.provider.policy().www_authenticate_realm))
        }
    }
}

/// A layer that lets through only requests signed with an access token that
/// grants every realm in `realms`, and gives the handler the [`Grant`].
pub fn require_oauth(
    provider: Arc<Provider>,
    realms: &'static [&'static str],
) -> RequireOAuthLayer {
    fn run(
        state: State<Guard>,
        request: Request,
        next: Next,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
        Box::pin(guard(state, request, next))
    }
    axum::middleware::from_fn_with_state(Guard { provider, realms }, run as GuardFn)
}

/// What the application supplies to the flow router: who is signed in, and
/// the pages a person sees.
#[async_trait]
pub trait ConsentApp: Send + Sync + 'static {
    /// The consent page for a pending authorization (`GET /authorize`). The
    /// application decides what to do when nobody is signed in (typically a
    /// redirect to sign in, back to the same URL).
    async fn consent_page(&self, pending: PendingAuthorization, parts: &Parts) -> Response;

    /// The page for an unknown, expired or already-answered
    /// `oauth_token`.
    async fn error_page(&self, error: OAuthError, parts: &Parts) -> Response;

    /// `POST /authorize`: the application checks the session (and its CSRF
    /// token), then calls [`Provider::approve`] or [`Provider::deny`] and
    /// answers. The default refuses: without a web UI, approval happens
    /// elsewhere (for `sigil serve`, `sigil admin authorize`).
    async fn decide(&self, _provider: &Provider, _parts: &Parts, _body: &Bytes) -> Response {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "approval is not available here",
        )
            .into_response()
    }
}

#[derive(Clone)]
struct FlowState {
    provider: Arc<Provider>,
    app: Arc<dyn ConsentApp>,
}

async fn request_token(State(state): State<FlowState>, request: Request) -> Response {
    let limit = state.provider.policy().limits.max_body_len;
    match OAuthRequest::read(request, limit).await {
        Ok((read, _)) => into_response(state.provider.request_token_response(&read.http()).await),
        Err(response) => response,
    }
}

async fn access_token(State(state): State<FlowState>, request: Request) -> Response {
    let limit = state.provider.policy().limits.max_body_len;
    match OAuthRequest::read(request, limit).await {
        Ok((read, _)) => into_response(state.provider.access_token_response(&read.http()).await),
        Err(response) => response,
    }
}

async fn authorize_page(State(state): State<FlowState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let token = parts
        .uri
        .query()
        .and_then(|q| query_value(q, "oauth_token"))
        .unwrap_or_default();
    match state.provider.pending_authorization(&token).await {
        Ok(pending) => state.app.consent_page(pending, &parts).await,
        Err(err) => state.app.error_page(err, &parts).await,
    }
}

async fn authorize_decision(State(state): State<FlowState>, request: Request) -> Response {
    let limit = state.provider.policy().limits.max_body_len;
    match OAuthRequest::read(request, limit).await {
        Ok((read, parts)) => state.app.decide(&state.provider, &parts, read.body()).await,
        Err(response) => response,
    }
}

/// The first value of `name` in a query string, decoded once.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        (n == name)
            .then(|| sigil_core::encoding::form_decode_component(v).ok())
            .flatten()
            .map(|v| v.into_owned())
    })
}

/// The flow endpoints: `/request_token` and `/access_token` (GET or POST),
/// `/authorize` (GET: the consent page; POST: the decision). Nest it under
/// any prefix: `Router::new().nest("/oauth", flow_router(...))`.
pub fn flow_router(provider: Arc<Provider>, app: Arc<dyn ConsentApp>) -> Router {
    Router::new()
        .route("/request_token", get(request_token).post(request_token))
        .route("/access_token", get(access_token).post(access_token))
        .route("/authorize", get(authorize_page).post(authorize_decision))
        .with_state(FlowState { provider, app })
}
