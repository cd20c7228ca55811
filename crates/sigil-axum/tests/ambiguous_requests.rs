//! `require_oauth` with `axum::Form` behind it: the engine and the
//! application must read the same body and the same credentials. A content
//! type that axum would parse as a form but the engine would not sign
//! (near-form types, lists, two headers) and a second Authorization header
//! are refused with 400 before the handler runs; unknown paths are 404.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use sigil_axum::{OAuthGrant, require_oauth};
use sigil_core::{OAuthParams, Secret, SignatureMethod, SigningKey, generate_nonce, sign};
use sigil_server::{AccessToken, Client, MemoryStore, Policy, Provider, Stores, TokenStore};
use tower::ServiceExt;

const BASE: &str = "https://api.example";

async fn app() -> Router {
    let store = Arc::new(MemoryStore::new());
    store
        .insert_client(Client::new("key", "consumer-secret", "App"))
        .unwrap();
    store
        .create_token(AccessToken {
            token: "token".into(),
            secret: Secret::new("token-secret"),
            client_key: "key".into(),
            user: "alice".into(),
            realms: vec![],
            created_at: 0,
        })
        .await
        .unwrap();
    let provider = Arc::new(
        Provider::new(
            Stores::single(store),
            Policy {
                public_base_url: Some(BASE.into()),
                ..Policy::default()
            },
        )
        .unwrap(),
    );
    async fn pay(
        OAuthGrant(_grant): OAuthGrant,
        axum::Form(form): axum::Form<HashMap<String, String>>,
    ) -> String {
        format!("paid {}", form.get("to").cloned().unwrap_or_default())
    }
    Router::new()
        .route("/pay", post(pay))
        .route_layer(require_oauth(provider, &[]))
}

/// The Authorization header for `POST /pay` with `content_type` and `body`,
/// signed as the engine reads them.
fn authorization(content_type: &str, body: &[u8]) -> String {
    let cs = Secret::new("consumer-secret");
    let ts = Secret::new("token-secret");
    let nonce = generate_nonce().unwrap();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let oauth = OAuthParams {
        consumer_key: Some(Cow::Borrowed("key")),
        token: Some(Cow::Borrowed("token")),
        signature_method: Some(SignatureMethod::HmacSha256),
        timestamp: Some(Cow::Owned(timestamp)),
        nonce: Some(Cow::Owned(nonce)),
        ..OAuthParams::default()
    };
    let url = format!("{BASE}/pay");
    let request = sigil_core::Request::new("POST", &url).with_body(content_type, body);
    let key = SigningKey::Shared {
        consumer_secret: &cs,
        token_secret: Some(&ts),
    };
    sign(&request, &oauth, &key)
        .unwrap()
        .authorization_header(None)
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_form_the_engine_signed_is_what_the_handler_reads() {
    let app = app().await;
    let body = b"to=alice&amount=1";
    let form = "application/x-www-form-urlencoded";
    let request = Request::post("/pay")
        .header("authorization", authorization(form, body))
        .header("content-type", form)
        .body(Body::from(&body[..]))
        .unwrap();
    assert_eq!(
        send(&app, request).await,
        (StatusCode::OK, "paid alice".into())
    );
    // Swapped in the middle: the signature covers the body.
    let request = Request::post("/pay")
        .header("authorization", authorization(form, body))
        .header("content-type", form)
        .body(Body::from("to=mallory&amount=1000"))
        .unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn near_form_content_types_are_refused_before_the_handler() {
    let app = app().await;
    for content_type in [
        "application/x-www-form-urlencoded-foo",
        "application/x-www-form-urlencoded,text/plain",
        "text/plain, application/x-www-form-urlencoded",
        "application/x-www-form-urlencodedx; charset=utf-8",
    ] {
        // Signed as a client would sign a non-form body: without it; the
        // body axum would then parse is anyone's.
        let request = Request::post("/pay")
            .header("authorization", authorization(content_type, b""))
            .header("content-type", content_type)
            .body(Body::from("to=mallory&amount=1000"))
            .unwrap();
        let (status, body) = send(&app, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type}: {body}");
        assert!(
            body.contains("oauth_problem=parameter_rejected"),
            "{content_type}: {body}"
        );
        assert!(!body.contains("paid"), "{content_type}: {body}");
    }
}

#[tokio::test]
async fn two_content_types_or_two_authorizations_are_refused_in_either_order() {
    let app = app().await;
    let signed_json = authorization("application/json", b"");
    let request = Request::post("/pay")
        .header("authorization", &signed_json)
        .header("content-type", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("to=mallory"))
        .unwrap();
    let (status, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Content-Type"), "{body}");

    for basic_first in [false, true] {
        let oauth = authorization("application/json", b"{}");
        let basic = "Basic YWxpY2U6cGFzc3dvcmQ=";
        let (first, second) = if basic_first {
            (basic, oauth.as_str())
        } else {
            (oauth.as_str(), basic)
        };
        let request = Request::post("/pay")
            .header("authorization", first)
            .header("authorization", second)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, body) = send(&app, request).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "basic first: {basic_first}: {body}"
        );
        assert!(body.contains("Authorization"), "{body}");
    }
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let app = app().await;
    let request = Request::get("/nowhere").body(Body::empty()).unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::NOT_FOUND);
}
