//! A minimal OAuth 1.0a provider on the in-memory store: the three flow
//! endpoints under `/oauth`, a consent page that approves as a fixed demo
//! user, and one protected route.
//!
//! Run it with `cargo run -p sigil-axum --example minimal_provider`, then
//! point any OAuth 1.0a client at http://127.0.0.1:3000 with consumer key
//! `demo-key` and secret `demo-secret` (callback `oob`, or
//! http://127.0.0.1:9/cb). A real application checks its own session and a
//! CSRF token in `decide`; `sigil serve` shows how.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use sigil_axum::{ConsentApp, OAuthGrant, flow_router, query_value, require_oauth};
use sigil_server::{
    Client, MemoryStore, OAuthError, PendingAuthorization, Policy, Provider, Stores,
};

struct DemoConsent;

#[async_trait]
impl ConsentApp for DemoConsent {
    async fn consent_page(&self, pending: PendingAuthorization, _parts: &Parts) -> Response {
        // Escaping is left out only because every value here is ours.
        Html(format!(
            "<form method=post><p>{} asks for {:?}.</p>\
             <input type=hidden name=oauth_token value={}>\
             <button>Approve as demo</button></form>",
            pending.client_name, pending.realms, pending.token
        ))
        .into_response()
    }

    async fn error_page(&self, error: OAuthError, _parts: &Parts) -> Response {
        Html(format!("<p>{}</p>", error.advice)).into_response()
    }

    async fn decide(&self, provider: &Provider, _parts: &Parts, body: &Bytes) -> Response {
        let token = std::str::from_utf8(body)
            .ok()
            .and_then(|b| query_value(b, "oauth_token"))
            .unwrap_or_default();
        match provider.approve(&token, "demo").await {
            Ok(approval) => match approval.redirect {
                Some(url) => Redirect::to(&url).into_response(),
                None => {
                    Html(format!("<p>Your code: <b>{}</b></p>", approval.verifier)).into_response()
                }
            },
            Err(err) => Html(format!("<p>{}</p>", err.advice)).into_response(),
        }
    }
}

async fn hello(OAuthGrant(grant): OAuthGrant) -> String {
    format!(
        "hello {} via {}\n",
        grant.user.unwrap_or_default(),
        grant.client_key
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(MemoryStore::new());
    let mut client = Client::new("demo-key", "demo-secret", "Demo client");
    client.callbacks.push("http://127.0.0.1:9/cb".into());
    client.allow_oob = true;
    store.insert_client(client)?;
    let provider = Arc::new(Provider::new(
        Stores::single(store),
        Policy {
            public_base_url: Some("http://127.0.0.1:3000".into()),
            ..Policy::default()
        },
    )?);
    let app = Router::new()
        .route("/hello", get(hello))
        .route_layer(require_oauth(provider.clone(), &[]))
        .nest("/oauth", flow_router(provider, Arc::new(DemoConsent)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000");
    axum::serve(listener, app).await?;
    Ok(())
}
