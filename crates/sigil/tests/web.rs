//! The web UI over HTTP, without a browser: sign in, consent, CSRF,
//! sessions, security headers, rate limits, registration, developer apps
//! and revocation. (The same flows in a real browser: `browser.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use support::agent::Agent;
use support::{PASSWORD, Site, api_me, flow_for, query_param};

const CALLBACK: &str = "http://127.0.0.1:9/callback";

fn consent_path(token: &str) -> String {
    format!("/oauth/authorize?oauth_token={token}")
}

#[tokio::test]
async fn consent_is_guarded_by_session_and_csrf_then_approves_and_revokes() {
    let site = Site::start(CALLBACK, &[]);
    let base = site.server.base.clone();
    let flow = site.flow();
    let temporary = flow.request_token(CALLBACK, &[]).await.unwrap();
    let token = temporary.token.token.clone();
    let consent = consent_path(&token);

    // Signed out: to sign in, and back to the same consent afterwards.
    let mut alice = Agent::new(&base);
    let page = alice.get(&flow.authorization_url(&temporary, &[])).await;
    assert_eq!(page.status, 303);
    let to_login = page.location().unwrap().to_owned();
    assert!(to_login.starts_with("/login?next="), "{to_login}");
    assert_eq!(query_param(&to_login, "next").unwrap(), consent);

    // A session id planted before sign-in is not the one after it.
    let planted = "ab".repeat(32);
    alice
        .cookies
        .insert("sigil_session".into(), planted.clone());
    let signed_in = alice.sign_in("alice", PASSWORD, &consent).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.location(), Some(consent.as_str()));
    let session_cookie = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sigil_session="))
        .unwrap()
        .to_owned();
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(!session_cookie.contains("Secure"), "plain-http site");
    assert_ne!(alice.cookies["sigil_session"], planted);
    assert!(
        !alice.cookies.contains_key("sigil_form"),
        "form token cleared"
    );

    // The consent page says who asks, for what, and where you go back to.
    let page = alice.get(&consent).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "Printer",
        "Prints your photos on paper.",
        "See and change your photos",
        "127.0.0.1:9",
        "alice",
    ] {
        assert!(page.body.contains(text), "consent page lacks {text:?}");
    }
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let csrf = page.field("csrf").unwrap();

    // CSRF: no token, a wrong token, another session's token: refused,
    // and nothing approved.
    let mut bob = Agent::new(&base);
    assert_eq!(
        bob.sign_in("bob", &format!("{PASSWORD}2"), "/")
            .await
            .status,
        303
    );
    let bobs_csrf = bob.get("/apps").await.field("csrf").unwrap();
    assert_ne!(bobs_csrf, csrf);
    let no_token = [("oauth_token", token.as_str()), ("decision", "approve")];
    let refused = [
        alice.post("/oauth/authorize", &no_token).await,
        alice
            .post(
                "/oauth/authorize",
                &[
                    ("csrf", "0".repeat(64).as_str()),
                    ("oauth_token", &token),
                    ("decision", "approve"),
                ],
            )
            .await,
        alice
            .post(
                "/oauth/authorize",
                &[
                    ("csrf", &bobs_csrf),
                    ("oauth_token", &token),
                    ("decision", "approve"),
                ],
            )
            .await,
        // Alice's token in bob's session (a form lifted from her page).
        bob.post(
            "/oauth/authorize",
            &[
                ("csrf", &csrf),
                ("oauth_token", &token),
                ("decision", "approve"),
            ],
        )
        .await,
        // No session at all.
        Agent::new(&base)
            .post(
                "/oauth/authorize",
                &[
                    ("csrf", &csrf),
                    ("oauth_token", &token),
                    ("decision", "approve"),
                ],
            )
            .await,
    ];
    for page in &refused {
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.location().is_none());
        assert!(!page.body.contains("oauth_verifier"));
    }
    assert_eq!(alice.get(&consent).await.status, 200, "still pending");

    // Approve: back to the callback with the verifier.
    let approved = alice
        .post(
            "/oauth/authorize",
            &[
                ("csrf", &csrf),
                ("oauth_token", &token),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let callback = approved.location().unwrap();
    assert!(callback.starts_with(CALLBACK), "{callback}");
    assert_eq!(
        query_param(callback, "oauth_token").as_deref(),
        Some(token.as_str())
    );
    let verifier = query_param(callback, "oauth_verifier").unwrap();

    // Used once: a second answer, or the consent page, explains itself.
    let again = alice.get(&consent).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("cannot be used"), "{}", again.body);

    let credentials = flow.access_token(&temporary, &verifier).await.unwrap();
    let (status, body) = api_me(&base, &flow, &credentials).await;
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["user"], "alice");
    assert_eq!(me["realms"], serde_json::json!(["photos"]));

    // Authorized applications: listed, then revoked; the API refuses at once.
    let page = alice.get("/authorized").await;
    assert!(page.body.contains("Printer") && page.body.contains("See and change your photos"));
    assert!(
        !bob.get("/authorized").await.body.contains("Printer"),
        "bob's list is his own"
    );
    // Bob cannot revoke alice's grant (his revoke only touches his tokens).
    bob.post(
        "/authorized/revoke",
        &[("csrf", &bobs_csrf), ("client_key", &site.key)],
    )
    .await;
    assert_eq!(api_me(&base, &flow, &credentials).await.0, 200);
    let revoked = alice
        .post(
            "/authorized/revoke",
            &[("csrf", &csrf), ("client_key", &site.key)],
        )
        .await;
    assert_eq!(revoked.status, 303);
    let (status, body) = api_me(&base, &flow, &credentials).await;
    assert_eq!(status, 401);
    assert!(body.contains("token_rejected"), "{body}");
    assert!(
        alice
            .get("/authorized")
            .await
            .body
            .contains("No application holds access")
    );
}

#[tokio::test]
async fn deny_and_oob_pin() {
    let site = Site::start(CALLBACK, &[]);
    let base = site.server.base.clone();
    let flow = site.flow();
    let mut alice = Agent::new(&base);
    alice.sign_in("alice", PASSWORD, "/").await;

    // Deny: back to the callback with error=access_denied; the token is gone.
    let temporary = flow.request_token(CALLBACK, &[]).await.unwrap();
    let token = temporary.token.token.clone();
    let page = alice.get(&consent_path(&token)).await;
    let csrf = page.field("csrf").unwrap();
    let denied = alice
        .post(
            "/oauth/authorize",
            &[
                ("csrf", &csrf),
                ("oauth_token", &token),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(denied.status, 303);
    assert_eq!(
        query_param(denied.location().unwrap(), "error").as_deref(),
        Some("access_denied")
    );
    assert!(flow.access_token(&temporary, "guess").await.is_err());

    // oob: the verifier is on the page, large, with a copy button.
    let temporary = flow.request_token("oob", &[]).await.unwrap();
    let token = temporary.token.token.clone();
    let page = alice.get(&consent_path(&token)).await;
    assert!(page.body.contains("you will get a code"), "{}", page.body);
    let shown = alice
        .post(
            "/oauth/authorize",
            &[
                ("csrf", &csrf),
                ("oauth_token", &token),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("id=\"copy\""));
    let start = shown.body.find("<output id=\"verifier\">").unwrap() + 22;
    let verifier = &shown.body[start..start + shown.body[start..].find('<').unwrap()];
    let credentials = flow.access_token(&temporary, verifier).await.unwrap();
    assert_eq!(api_me(&base, &flow, &credentials).await.0, 200);
}

#[tokio::test]
async fn sign_in_failures_are_limited_and_redirects_stay_local() {
    let site = Site::start(CALLBACK, &["--sign-in-limit", "3"]);
    let base = site.server.base.clone();
    let mut visitor = Agent::new(&base);
    for _ in 0..3 {
        let page = visitor.sign_in("alice", "wrong password", "/").await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("Wrong user name or password."));
    }
    // The right password no longer helps, for a while.
    let page = visitor.sign_in("alice", PASSWORD, "/").await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
    assert!(page.body.contains("Too many failed sign-ins"));
    // Another account is not locked by alice's failures.
    let mut other = Agent::new(&base);
    let page = other
        .sign_in("bob", &format!("{PASSWORD}2"), "//evil.example/")
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/"), "no open redirect");
    // The sign-in page carries a local `next` along (the serve_front fuzz
    // target stopped on it echoing its input), escaped.
    let page = Agent::new(&base)
        .get("/login?next=%2Fapps%22%3E%3Cscript%3Ex%3C%2Fscript%3E")
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>x"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;x"), "{}", page.body);

    // A form token from another visitor (login CSRF) is refused.
    let mut third = Agent::new(&base);
    third.get("/login").await;
    let foreign = Agent::new(&base).get("/login").await.field("csrf").unwrap();
    let page = third
        .post(
            "/login",
            &[
                ("csrf", &foreign),
                ("username", "bob"),
                ("password", &format!("{PASSWORD}2")),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(!third.cookies.contains_key("sigil_session"));

    // Sign out needs the session's token; afterwards the session is dead.
    let session = other.cookies["sigil_session"].clone();
    assert_eq!(other.post("/logout", &[]).await.status, 403);
    let csrf = other.get("/apps").await.field("csrf").unwrap();
    let page = other.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, 303);
    assert!(!other.cookies.contains_key("sigil_session"));
    let mut replayed = Agent::new(&base);
    replayed.cookies.insert("sigil_session".into(), session);
    let page = replayed.get("/apps").await;
    assert_eq!(page.status, 303, "an ended session is refused");
    assert!(page.location().unwrap().starts_with("/login"));
}

#[tokio::test]
async fn bad_consent_links_get_a_clear_page() {
    let site = Site::start(CALLBACK, &[]);
    let mut alice = Agent::new(&site.server.base);
    alice.sign_in("alice", PASSWORD, "/").await;
    for path in [
        "/oauth/authorize",
        "/oauth/authorize?oauth_token=",
        "/oauth/authorize?oauth_token=unknown",
        "/oauth/authorize?oauth_token=%ZZ",
        "/oauth/authorize?oauth_token=%3Cscript%3E",
    ] {
        let page = alice.get(path).await;
        assert_eq!(page.status, 400, "{path}: {}", page.body);
        assert!(page.body.contains("cannot be used"), "{path}");
        assert!(!page.body.contains("<script>"), "{path}");
    }
    let csrf = alice.get("/").await.field("csrf").unwrap();
    for fields in [
        vec![
            ("csrf", csrf.as_str()),
            ("oauth_token", "unknown"),
            ("decision", "approve"),
        ],
        vec![("csrf", csrf.as_str()), ("decision", "approve")],
    ] {
        let page = alice.post("/oauth/authorize", &fields).await;
        assert_eq!(page.status, 400, "{}", page.body);
    }
}

#[tokio::test]
async fn registration_and_developer_apps() {
    // Closed by default.
    let closed = Site::start(CALLBACK, &[]);
    assert_eq!(
        Agent::new(&closed.server.base)
            .get("/register")
            .await
            .status,
        404
    );
    drop(closed);

    let site = Site::start(CALLBACK, &["--open-registration"]);
    let base = site.server.base.clone();
    let mut carol = Agent::new(&base);
    let form = carol.get("/register").await;
    let csrf = form.field("csrf").unwrap();
    let short = carol
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("username", "carol"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 400);
    let taken = carol
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", "long enough 1"),
                ("confirm", "long enough 1"),
            ],
        )
        .await;
    assert_eq!(taken.status, 409);
    let made = carol
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("username", "carol"),
                ("password", "long enough 1"),
                ("confirm", "long enough 1"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert!(carol.cookies.contains_key("sigil_session"));

    // Register an application; its keys work at once.
    let csrf = carol.get("/apps/new").await.field("csrf").unwrap();
    let bad = carol
        .post(
            "/apps/new",
            &[
                ("csrf", &csrf),
                ("name", ""),
                ("callbacks", "javascript:x"),
                ("signature_method", "HMAC-SHA1"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    let made = carol
        .post(
            "/apps/new",
            &[
                ("csrf", &csrf),
                ("name", "Carol's <b>Uploader</b>"),
                ("description", "Uploads."),
                ("website", "https://uploader.example/"),
                ("callbacks", &format!("{CALLBACK}\noob")),
                ("signature_method", "HMAC-SHA1"),
                ("realm", "photos"),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(made.body.contains("&lt;b&gt;Uploader"), "escaped");
    assert!(!made.body.contains("<b>Uploader"), "escaped");
    let key = between(&made.body, "<code id=\"consumer-key\">", "<");
    let secret = between(&made.body, "<code id=\"consumer-secret\">", "<");
    let flow = flow_for(&base, &key, &secret, Some("photos"));
    flow.request_token(CALLBACK, &[]).await.unwrap();

    // Its page shows the key but never the secret again; others see nothing.
    let page = carol.get(&format!("/apps/{key}")).await;
    assert!(page.body.contains(&key) && !page.body.contains(&secret));
    let mut alice = Agent::new(&base);
    alice.sign_in("alice", PASSWORD, "/").await;
    assert_eq!(alice.get(&format!("/apps/{key}")).await.status, 404);
    let alices_csrf = alice.get("/apps").await.field("csrf").unwrap();
    let page = alice
        .post(&format!("/apps/{key}/delete"), &[("csrf", &alices_csrf)])
        .await;
    assert_eq!(page.status, 404);

    // Rotate: the old secret stops working, the new one works.
    let rotated = carol
        .post(&format!("/apps/{key}/secret"), &[("csrf", &csrf)])
        .await;
    let new_secret = between(&rotated.body, "<code id=\"consumer-secret\">", "<");
    assert_ne!(new_secret, secret);
    assert!(flow.request_token(CALLBACK, &[]).await.is_err());
    let flow = flow_for(&base, &key, &new_secret, Some("photos"));
    flow.request_token(CALLBACK, &[]).await.unwrap();

    // Edit, then delete.
    let saved = carol
        .post(
            &format!("/apps/{key}"),
            &[
                ("csrf", &csrf),
                ("name", "Uploader 2"),
                ("callbacks", CALLBACK),
                ("signature_method", "HMAC-SHA256"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(carol.get("/apps").await.body.contains("Uploader 2"));
    let deleted = carol
        .post(&format!("/apps/{key}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(deleted.status, 303);
    assert!(flow.request_token(CALLBACK, &[]).await.is_err());
}

#[tokio::test]
async fn https_sites_use_secure_host_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let server = support::Server::start_with(
        &support::sqlite_url(&dir),
        None,
        Some("https://sigil.example"),
        "127.0.0.1:0",
    );
    let page = Agent::new(&server.base).get("/login").await;
    let cookie = page.set_cookies()[0].to_owned();
    assert!(cookie.starts_with("__Host-sigil_form="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {text}"))
        + start.len();
    let rest = &text[from..];
    rest[..rest.find(end).unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigil_bench_flow_runs_whole_dances() {
    let site = Site::start(CALLBACK, &[]);
    for callback in ["oob", CALLBACK] {
        let out = support::sigil()
            .args(["bench", "--url", &site.server.base, "--flow"])
            .args([
                "--consumer-key",
                &site.key,
                "--consumer-secret",
                &site.secret,
            ])
            .args(["--user", "alice", "--callback", callback])
            .args(["--concurrency", "2", "--duration", "2", "--json"])
            .env("SIGIL_BENCH_PASSWORD", PASSWORD)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["mode"], "flow");
        let dances = report["status"]["200"].as_u64().unwrap();
        assert!(dances > 0, "{report}");
        assert_eq!(report["status"]["other"], 0, "{report}");
        assert_eq!(report["status"]["401"], 0, "{report}");
        assert_eq!(report["transport_errors"], 0, "{report}");
        assert!(report["dances_per_second"].as_f64().unwrap() > 0.0);
    }
    // A wrong password is a clear failure, not a run of failed dances.
    let out = support::sigil()
        .args(["bench", "--url", &site.server.base, "--flow"])
        .args([
            "--consumer-key",
            &site.key,
            "--consumer-secret",
            &site.secret,
        ])
        .args(["--user", "alice", "--password", "wrong", "--duration", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sign-in as alice refused"));
}
