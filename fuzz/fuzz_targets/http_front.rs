//! The HTTP front in-process: sigil-axum's `flow_router` under `/oauth` and a
//! route behind `require_oauth`, on a `MemoryStore`, driven through
//! `tower::ServiceExt::oneshot`.
//!
//! Two kinds of input (first byte even or odd):
//!
//! - raw: `METHOD TARGET\nName: value\n...\n\nBODY`, as on the wire (what does
//!   not make a valid `http::Request` is skipped). Nothing in it was signed,
//!   so no answer may grant anything: no token secret handed out, no request
//!   let through to the protected handler.
//! - signed: a request to one of the three OAuth endpoints signed by
//!   sigil-core's signer (see `common`), possibly changed in one field, with
//!   extra arbitrary headers; or a consent-page request. A changed request
//!   must never get a 2xx.
//!
//! Never a panic, never a 5xx.
#![no_main]

mod common;
mod wire;

use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use common::{Endpoint, Spec, block_on, build, world};
use libfuzzer_sys::fuzz_target;
use sigil_axum::{ClientKey, ConsentApp, OAuthGrant, flow_router, query_value, require_oauth};
use sigil_server::{OAuthError, PendingAuthorization, Provider};
use tower::ServiceExt;

/// A consent app like the minimal example's: approves as `demo`.
struct Consent;

#[async_trait]
impl ConsentApp for Consent {
    async fn consent_page(&self, pending: PendingAuthorization, _parts: &Parts) -> Response {
        Html(format!(
            "<p>{} asks for {:?}</p>",
            pending.client_name, pending.realms
        ))
        .into_response()
    }

    async fn error_page(&self, error: OAuthError, _parts: &Parts) -> Response {
        (StatusCode::BAD_REQUEST, error.advice).into_response()
    }

    async fn decide(&self, provider: &Provider, _parts: &Parts, body: &Bytes) -> Response {
        let token = std::str::from_utf8(body)
            .ok()
            .and_then(|b| query_value(b, "oauth_token"))
            .unwrap_or_default();
        match provider.approve(&token, "demo").await {
            Ok(approval) => match approval.redirect {
                Some(url) => Redirect::to(&url).into_response(),
                None => Html(format!("<p>{}</p>", approval.verifier)).into_response(),
            },
            Err(err) => (StatusCode::BAD_REQUEST, err.advice).into_response(),
        }
    }
}

async fn me(OAuthGrant(grant): OAuthGrant) -> String {
    format!("hello {}", grant.user.unwrap_or_default())
}

fn router(provider: Arc<Provider>) -> Router {
    Router::new()
        .route("/api/me", get(me).post(me))
        .route_layer(require_oauth(provider.clone(), &[]))
        .nest("/oauth", flow_router(provider, Arc::new(Consent)))
}

/// What a request got: status, whether the protected handler ran, and the
/// body.
struct Outcome {
    status: StatusCode,
    let_through: bool,
    body: Bytes,
}

async fn send(request: http::Request<Body>) -> Outcome {
    let (_, provider) = world().await;
    let response = match router(provider).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let let_through = response.extensions().get::<ClientKey>().is_some();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    assert!(
        !status.is_server_error(),
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    Outcome {
        status,
        let_through,
        body,
    }
}

fn grants_something(outcome: &Outcome) -> bool {
    outcome.let_through
        || (outcome.status.is_success()
            && outcome
                .body
                .windows(b"oauth_token_secret".len())
                .any(|w| w == b"oauth_token_secret"))
}

fn raw(data: &[u8]) {
    let Some(request) = wire::request(data) else {
        return;
    };
    let outcome = block_on(send(request));
    assert!(
        !grants_something(&outcome),
        "an unsigned request was granted something: {}",
        String::from_utf8_lossy(&outcome.body)
    );
}

#[derive(Arbitrary, Debug)]
enum Op {
    Signed {
        spec: Spec,
        extra_headers: Vec<(String, Vec<u8>)>,
    },
    /// The consent page (GET) or the decision (POST) for a known or any
    /// token.
    Authorize {
        post: bool,
        token: Option<u8>,
        other: String,
    },
}

fn structured(data: &[u8]) {
    let Ok(op) = Op::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    match op {
        Op::Signed {
            spec,
            extra_headers,
        } => {
            let path = match spec.endpoint {
                Endpoint::Resource => "/api/me",
                Endpoint::RequestToken => "/oauth/request_token",
                Endpoint::AccessToken => "/oauth/access_token",
            };
            let Some(built) = build(&spec, Some(path)) else {
                return;
            };
            let changed = built.changed();
            let wire = built.mutated.wire();
            let Ok(method) = Method::from_bytes(wire.method.as_bytes()) else {
                return;
            };
            let mut builder = http::Request::builder().method(method).uri(&wire.target);
            let headers = [
                ("authorization", wire.authorization.clone()),
                ("content-type", wire.content_type.clone()),
            ];
            for (name, value) in headers {
                if let Some(value) = value {
                    builder = builder.header(name, value);
                }
            }
            for (name, value) in extra_headers.iter().take(8) {
                let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_bytes(value),
                ) else {
                    continue;
                };
                builder = builder.header(name, value);
            }
            let Ok(request) = builder.body(Body::from(wire.body.clone())) else {
                return;
            };
            let outcome = block_on(send(request));
            common::tally(outcome.status.is_success());
            if changed {
                assert!(
                    !outcome.status.is_success(),
                    "a request changed after signing was accepted ({})\nsigned: {:?}\nsent: {:?}",
                    outcome.status,
                    built.original,
                    built.mutated
                );
            }
        }
        Op::Authorize { post, token, other } => {
            let token = match token {
                Some(i) => common::known(i).0.to_owned(),
                None => other,
            };
            let encoded = common::encode(&token, common::Style::Canonical);
            let request = if post {
                http::Request::builder()
                    .method(Method::POST)
                    .uri("/oauth/authorize")
                    .header("content-type", common::FORM)
                    .body(Body::from(format!("oauth_token={encoded}")))
            } else {
                http::Request::builder()
                    .method(Method::GET)
                    .uri(format!("/oauth/authorize?oauth_token={encoded}"))
                    .body(Body::empty())
            };
            if let Ok(request) = request {
                let outcome = block_on(send(request));
                assert!(!outcome.let_through);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((&mode, rest)) if mode % 2 == 0 => raw(rest),
        Some((_, rest)) => structured(rest),
        None => {}
    }
});
