//! The web UI in a real browser: headless Chromium driven over WebDriver
//! (chromedriver). A client of the test's own gets a request token, the
//! browser signs in, reads the consent page and answers, the test's
//! callback listener receives the verifier, and the client uses the token.
//! Also: deny, `oob` with the PIN read from the page, an application
//! registered in the UI, and revocation from the UI.
//!
//! Needs Debian's `chromium` and `chromium-driver` (./test.sh installs
//! them); runs when SIGIL_SERVICE_TESTS is set, and then a missing browser
//! is a failure. Screenshots go to target/screenshots/, and to docs/ with
//! SIGIL_UPDATE_SCREENSHOTS=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::Uri;
use axum::response::Html;
use axum::routing::get;
use fantoccini::{Client, ClientBuilder, Locator};
use support::{PASSWORD, Site, api_me, flow_for, query_param, services};
use tokio::sync::mpsc;

/// A headless Chromium under chromedriver; both stop on drop.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> Option<Browser> {
    if !services() {
        eprintln!("skipped: browser tests run under ./test.sh (SIGIL_SERVICE_TESTS=1)");
        return None;
    }
    let chromium = std::env::var("SIGIL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let chromedriver =
        std::env::var("SIGIL_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    assert!(
        std::path::Path::new(&chromium).exists() && std::path::Path::new(&chromedriver).exists(),
        "SIGIL_SERVICE_TESTS is set but {chromium} or {chromedriver} is missing: run ./test.sh \
         (it installs Debian's chromium and chromium-driver)"
    );
    let port = free_port();
    let driver = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let webdriver = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{webdriver}/status")).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1000,820",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .unwrap();
    Some(Browser {
        client,
        driver,
        _profile: profile,
    })
}

/// A callback endpoint of the "application": every URL it is sent to.
async fn callback_listener() -> (String, mpsc::UnboundedReceiver<String>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/callback",
        get(move |uri: Uri| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(uri.to_string());
                Html("<!doctype html><title>Printer</title><p id=\"done\">Back at Printer.</p>")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/callback"), receiver)
}

async fn next_callback(receiver: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(20), receiver.recv())
        .await
        .expect("the callback was not called")
        .unwrap()
}

/// The element with this id, once the page shows it (after a click the
/// next page may still be loading).
async fn element(client: &Client, id: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no #{id} on the page: {e}"))
}

async fn text(client: &Client, id: &str) -> String {
    element(client, id).await.text().await.unwrap()
}

async fn click(client: &Client, id: &str) {
    element(client, id).await.click().await.unwrap();
}

async fn fill(client: &Client, id: &str, value: &str) {
    let field = element(client, id).await;
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Signs in on the sign-in page the browser is on.
async fn sign_in(client: &Client, user: &str, password: &str) {
    fill(client, "username", user).await;
    fill(client, "password", password).await;
    click(client, "sign-in").await;
}

/// Saves a screenshot under target/screenshots/ (and docs/ when
/// SIGIL_UPDATE_SCREENSHOTS is set); checks it is a real PNG.
async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10_000, "{name}.png is suspiciously small");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    if std::env::var_os("SIGIL_UPDATE_SCREENSHOTS").is_some() {
        std::fs::write(root.join(format!("docs/{name}.png")), &png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_and_deny_in_the_browser() {
    let Some(browser) = browser().await else {
        return;
    };
    let (callback, mut called) = callback_listener().await;
    let site = Site::start(&callback, &[]);
    let base = site.server.base.clone();
    let flow = site.flow();
    let client = &browser.client;

    // Approve: sign in on the way, read the consent page, approve.
    let temporary = flow.request_token(&callback, &[]).await.unwrap();
    client
        .goto(&flow.authorization_url(&temporary, &[]))
        .await
        .unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );
    sign_in(client, "alice", PASSWORD).await;
    assert_eq!(text(client, "app-name").await, "Printer");
    let realms = text(client, "realms").await;
    assert!(realms.contains("See and change your photos"), "{realms}");
    let port = callback
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert_eq!(
        text(client, "callback-host").await,
        format!("127.0.0.1:{port}")
    );
    screenshot(client, "consent").await;
    click(client, "approve").await;
    let url = next_callback(&mut called).await;
    assert_eq!(
        query_param(&url, "oauth_token").as_deref(),
        Some(temporary.token.token.as_str())
    );
    let verifier = query_param(&url, "oauth_verifier").unwrap();
    assert_eq!(text(client, "done").await, "Back at Printer.");
    let credentials = flow.access_token(&temporary, &verifier).await.unwrap();
    let (status, body) = api_me(&base, &flow, &credentials).await;
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["user"], "alice");

    // Deny: already signed in; the application hears access_denied.
    let temporary = flow.request_token(&callback, &[]).await.unwrap();
    client
        .goto(&flow.authorization_url(&temporary, &[]))
        .await
        .unwrap();
    click(client, "deny").await;
    let url = next_callback(&mut called).await;
    assert_eq!(query_param(&url, "error").as_deref(), Some("access_denied"));
    assert!(query_param(&url, "oauth_verifier").is_none());
    assert!(flow.access_token(&temporary, "anything").await.is_err());
    browser.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oob_pin_read_from_the_page() {
    let Some(browser) = browser().await else {
        return;
    };
    let site = Site::start("http://127.0.0.1:9/callback", &[]);
    let flow = site.flow();
    let client = &browser.client;
    let temporary = flow.request_token("oob", &[]).await.unwrap();
    client
        .goto(&flow.authorization_url(&temporary, &[]))
        .await
        .unwrap();
    sign_in(client, "bob", &format!("{PASSWORD}2")).await;
    click(client, "approve").await;
    let pin = text(client, "verifier").await;
    assert!(!pin.is_empty());
    let credentials = flow.access_token(&temporary, pin.trim()).await.unwrap();
    let (status, body) = api_me(&site.server.base, &flow, &credentials).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"bob\""), "{body}");
    browser.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_an_app_use_its_keys_then_revoke_it() {
    let Some(browser) = browser().await else {
        return;
    };
    let (callback, mut called) = callback_listener().await;
    let site = Site::start(&callback, &[]);
    let base = site.server.base.clone();
    let client = &browser.client;

    // Register an application through the UI.
    client.goto(&format!("{base}/apps/new")).await.unwrap();
    sign_in(client, "alice", PASSWORD).await;
    fill(client, "name", "Photo Frame").await;
    fill(
        client,
        "description",
        "Shows your photos on the kitchen wall.",
    )
    .await;
    fill(client, "website", "https://frame.example/").await;
    fill(client, "callbacks", &callback).await;
    client
        .find(Locator::Css("input[name=realm][value=photos]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(client, "save").await;
    let key = text(client, "consumer-key").await;
    let secret = text(client, "consumer-secret").await;
    assert_eq!(key.len(), 24);
    assert_eq!(secret.len(), 48);

    // Its keys work: the whole dance with them.
    let flow = flow_for(&base, &key, &secret, Some("photos"));
    let temporary = flow.request_token(&callback, &[]).await.unwrap();
    client
        .goto(&flow.authorization_url(&temporary, &[]))
        .await
        .unwrap();
    assert_eq!(text(client, "app-name").await, "Photo Frame");
    click(client, "approve").await;
    let url = next_callback(&mut called).await;
    let verifier = query_param(&url, "oauth_verifier").unwrap();
    let credentials = flow.access_token(&temporary, &verifier).await.unwrap();
    assert_eq!(api_me(&base, &flow, &credentials).await.0, 200);

    client.goto(&format!("{base}/apps")).await.unwrap();
    assert!(text(client, "apps").await.contains("Photo Frame"));
    screenshot(client, "apps").await;

    // Revoke in the UI; the API refuses the token at once.
    client.goto(&format!("{base}/authorized")).await.unwrap();
    let grants = text(client, "grants").await;
    assert!(grants.contains("Photo Frame") && grants.contains("See and change your photos"));
    client
        .find(Locator::Css("button[aria-label='Revoke Photo Frame']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        text(client, "none")
            .await
            .contains("No application holds access")
    );
    let (status, body) = api_me(&base, &flow, &credentials).await;
    assert_eq!(status, 401);
    assert!(body.contains("token_rejected"), "{body}");
    browser.client.clone().close().await.unwrap();
}
