//! The HTTP front of `sigil serve` itself, in-process: the binary's whole
//! router (`sigil::serve_app`: flow endpoints, web UI pages and forms, the
//! demo API, health and metrics) on a SQLite file, driven through
//! `tower::ServiceExt::oneshot`.
//!
//! Input: a request as on the wire (`METHOD TARGET\nName: value\n...\n\nBODY`).
//! Before it is parsed, `@SESSION@` becomes the cookie of a signed-in session
//! of alice's, `@CSRF@` that session's form token and `@TOKEN@` a pending
//! request token, so that the fuzzer reaches the signed-in forms and the
//! consent page too. The database lives for the whole run: what one input
//! changes (an app registered, a session ended) the next ones see.
//!
//! Checks: never a panic, never a 5xx; nothing unsigned reaches the
//! protected API or receives a token secret; no reply carries alice's
//! password or the registered client's secret (the apps pages show a
//! secret once, when it is made: a new app's or a rotated one's, never the
//! stored one).
#![no_main]

mod wire;

use std::sync::OnceLock;

use axum::Router;
use libfuzzer_sys::fuzz_target;
use sigil_server::{Client, TemporaryCredential, TemporaryCredentialStore};
use sigil_store::{SqlOptions, SqlStore};
use tower::ServiceExt;

const PUBLIC: &str = "http://127.0.0.1:8080";
const PASSWORD: &str = "wonderland-fuzz-1";
const CLIENT_SECRET: &str = "printer-secret-0123456789";

struct World {
    runtime: tokio::runtime::Runtime,
    app: Router,
    session: String,
    csrf: String,
    token: String,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temporary folder");
        let database = format!("sqlite://{}", dir.path().join("sigil.db").display());
        let session = sigil_core::random_hex::<32>().expect("random");
        let csrf = sigil_core::random_hex::<32>().expect("random");
        let token = "fuzz-request-token".to_owned();
        let app = runtime.block_on(async {
            let store = SqlStore::connect(&database, SqlOptions::default())
                .await
                .expect("database");
            store.create_user("alice", PASSWORD).await.expect("user");
            let mut client = Client::new("printer", CLIENT_SECRET, "Printer");
            client.callbacks = vec!["http://127.0.0.1:9/callback".into()];
            client.allow_oob = true;
            client.owner = Some("alice".into());
            store.insert_client(&client).await.expect("client");
            let now = sigil_core::Clock::now_unix(&sigil_core::SystemClock);
            store
                .create_session(&session, "alice", &csrf, now, now + 86_400)
                .await
                .expect("session");
            store
                .create_temporary(TemporaryCredential {
                    token: token.clone(),
                    secret: sigil_core::Secret::new("fuzz-request-secret"),
                    client_key: "printer".into(),
                    callback: "oob".into(),
                    realms: Vec::new(),
                    created_at: now,
                    expires_at: now + 86_400,
                    verifier: None,
                    user: None,
                })
                .await
                .expect("request token");
            store.close().await;
            sigil::serve_app(&database, PUBLIC).await.expect("app")
        });
        World {
            runtime,
            app,
            session,
            csrf,
            token,
            _dir: dir,
        }
    })
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let mut text = data.to_vec();
    for (placeholder, value) in [
        ("@SESSION@", world.session.as_str()),
        ("@CSRF@", world.csrf.as_str()),
        ("@TOKEN@", world.token.as_str()),
    ] {
        while let Some(at) = text
            .windows(placeholder.len())
            .position(|w| w == placeholder.as_bytes())
        {
            text.splice(at..at + placeholder.len(), value.bytes());
        }
    }
    let Some(request) = wire::request(&text) else {
        return;
    };
    let path = request.uri().path().to_owned();
    let (status, let_through, body) = world.runtime.block_on(async {
        let response = match world.app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let let_through = response
            .extensions()
            .get::<sigil_axum::ClientKey>()
            .is_some();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        (status, let_through, body)
    });
    assert!(
        !status.is_server_error(),
        "{status} for {path}: {}",
        String::from_utf8_lossy(&body)
    );
    // Nothing in the input was signed with a secret the fuzzer knows.
    assert!(!let_through, "an unsigned request reached {path}");
    assert!(
        !(status.is_success()
            && contains(&body, "oauth_token_secret")
            && !contains(data, "oauth_token_secret")),
        "an unsigned request received a token secret from {path}"
    );
    // Unless the input itself carries it, here and above: pages echo some
    // of what they are sent (the sign-in page its `next` path, say).
    for (name, secret) in [("password", PASSWORD), ("client secret", CLIENT_SECRET)] {
        assert!(
            contains(data, secret) || !contains(&body, secret),
            "the {name} in a reply from {path}"
        );
    }
});
