//! Secrets stay secret: with every log level on (`SIGIL_LOG=trace`, which
//! includes the libraries' own logs), a run of sign-ins, a registration in
//! the UI, whole dances, good and forged API calls writes no client
//! secret, token secret, password, verifier, signature, session id or CSRF
//! token to the log, and no error reply carries one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use support::agent::Agent;
use support::{PASSWORD, Server, add_user, flow_for, sqlite_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_or_an_error_reply() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let log = dir.path().join("serve.log");
    let server = Server::start_logging(
        &database,
        &["--realm", "photos", "--open-registration"],
        &log,
    );
    add_user(&database, "alice", PASSWORD);
    let client: serde_json::Value = serde_json::from_str(&server.admin(&[
        "client",
        "add",
        "--name",
        "Printer",
        "--callback",
        "http://127.0.0.1:9/cb",
        "--allow-oob",
        "--json",
    ]))
    .unwrap();
    let (key, secret) = (
        client["key"].as_str().unwrap().to_owned(),
        client["secret"].as_str().unwrap().to_owned(),
    );
    let base = server.base.clone();
    let mut secrets: Vec<String> = vec![secret.clone(), PASSWORD.to_owned()];

    // The web UI: a wrong and a right password, a sign-up, an app made.
    let mut alice = Agent::new(&base);
    alice.sign_in("alice", "not-the-password-1", "/").await;
    secrets.push("not-the-password-1".into());
    alice.sign_in("alice", PASSWORD, "/").await;
    secrets.push(alice.cookies["sigil_session"].clone());
    let page = alice.get("/apps/new").await;
    let csrf = page.field("csrf").unwrap();
    secrets.push(csrf.clone());
    let made = alice
        .post(
            "/apps/new",
            &[
                ("csrf", &csrf),
                ("name", "Made in the UI"),
                ("callbacks", "oob"),
                ("signature_method", "HMAC-SHA1"),
            ],
        )
        .await;
    let from = made.body.find("<code id=\"consumer-secret\">").unwrap() + 26;
    secrets.push(made.body[from..from + 48].to_owned());
    let mut carol = Agent::new(&base);
    let form = carol.get("/register").await;
    let carol_password = "carol-password-1";
    carol
        .post(
            "/register",
            &[
                ("csrf", &form.field("csrf").unwrap()),
                ("username", "carol"),
                ("password", carol_password),
                ("confirm", carol_password),
            ],
        )
        .await;
    secrets.push(carol_password.into());

    // Two dances, with the verifier typed in as for oob.
    let flow = flow_for(&base, &key, &secret, None);
    for _ in 0..2 {
        let temporary = flow.request_token("oob", &[]).await.unwrap();
        secrets.push(temporary.token.secret.expose().to_owned());
        let approval: serde_json::Value = server.approve(&temporary.token.token, "alice");
        let verifier = approval["verifier"].as_str().unwrap().to_owned();
        let credentials = flow.access_token(&temporary, &verifier).await.unwrap();
        secrets.push(verifier);
        secrets.push(credentials.token.secret.expose().to_owned());

        // A good call and forged ones; the replies name the problem only.
        let signed = flow
            .signer_for(&credentials)
            .sign_parts("GET", &format!("{base}/api/me"), None, b"")
            .unwrap();
        let header = signed.authorization.unwrap();
        let signature = header
            .split("oauth_signature=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        secrets.push(signature.clone());
        secrets.push(
            sigil_core::encoding::form_decode_component(&signature)
                .unwrap()
                .into_owned(),
        );
        let http = reqwest::Client::new();
        let ok = http
            .get(&signed.url)
            .header("Authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status().as_u16(), 200);
        for forged in [
            header.replace(&signature, "AAAA"),
            header.replace(&credentials.token.token, "unknown-token"),
            header.replace(&key, "unknown-key"),
            header.clone(), // a replay
        ] {
            let reply = http
                .get(&signed.url)
                .header("Authorization", forged)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status().as_u16(), 401);
            let body = reply.text().await.unwrap();
            for s in &secrets {
                assert!(
                    !body.contains(s.as_str()),
                    "a refusal carries a secret: {body}"
                );
            }
        }
    }
    server.stop();

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().count() > 50,
        "trace logging was not on:\n{text}"
    );
    assert!(
        text.contains("TRACE") || text.contains("DEBUG"),
        "no debug-level lines"
    );
    for s in &secrets {
        assert!(s.len() >= 8, "{s:?} is too short to search for");
        let line = text.lines().find(|l| l.contains(s.as_str()));
        assert!(
            line.is_none(),
            "a secret in the log: {}",
            line.unwrap_or_default()
        );
    }
}
