//! `sigil serve` as a process, on a free port and a fresh database: real
//! clients complete the dance, replays are refused (across a restart and
//! across two instances), and bad input gets the right status while the
//! server stays up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{
    PgDatabase, Server, python, read_authorization_token, read_authorization_token_of,
    read_authorization_url, redis_url, services, sigil, sqlite_url,
};

use serde_json::Value;
use sigil_core::{OAuthParams, Request, Secret, SignatureMethod, SigningKey, generate_nonce, sign};

struct Keys {
    hmac: (String, String),
    rsa: String,
}

fn register(server: &Server) -> Keys {
    let hmac: Value = serde_json::from_str(&server.admin(&[
        "client",
        "add",
        "--name",
        "Printer",
        "--callback",
        "http://127.0.0.1:9/callback",
        "--realms",
        "photos",
        "--signature-methods",
        "HMAC-SHA1,HMAC-SHA256,PLAINTEXT",
        "--json",
    ]))
    .unwrap();
    let pem = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sigil-core/tests/data/test-rsa-public.pem"
    );
    let rsa: Value = serde_json::from_str(&server.admin(&[
        "client",
        "add",
        "--name",
        "Jira",
        "--callback",
        "http://127.0.0.1:9/callback",
        "--rsa-public-key",
        pem,
        "--signature-methods",
        "RSA-SHA1",
        "--json",
    ]))
    .unwrap();
    let user = sigil()
        .args([
            "admin",
            "--database",
            &server.database,
            "user",
            "add",
            "alice",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"wonderland\n")?;
            child.wait()
        })
        .unwrap();
    assert!(user.success());
    Keys {
        hmac: (
            hmac["key"].as_str().unwrap().to_owned(),
            hmac["secret"].as_str().unwrap().to_owned(),
        ),
        rsa: rsa["key"].as_str().unwrap().to_owned(),
    }
}

fn run_python_clients(python: &str, server: &Server, keys: &Keys) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/clients_flow.py");
    let pem = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sigil-core/tests/data/test-rsa-pkcs1.pem"
    );
    let mut cmd = Command::new(python);
    cmd.env("SIGIL_SEAL_KEY_FILE", support::test_seal_key_file())
        .arg(script)
        .args([
            "--base",
            &server.base,
            "--sigil",
            env!("CARGO_BIN_EXE_sigil"),
        ])
        .args(["--database", &server.database])
        .args(["--hmac-key", &keys.hmac.0, "--hmac-secret", &keys.hmac.1])
        .args(["--rsa-key", &keys.rsa, "--rsa-pem", pem]);
    if let Some(redis) = &server.redis {
        cmd.args(["--redis", redis]);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python clients failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 2 libraries x 3 methods x 3 placements.
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        18,
        "{stdout}"
    );
}

#[test]
fn requests_oauthlib_and_authlib_complete_the_dance_on_sqlite() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    let keys = register(&server);
    run_python_clients(&python, &server, &keys);
    server.stop();
}

#[test]
fn requests_oauthlib_and_authlib_complete_the_dance_on_postgres_and_redis() {
    if !services() {
        eprintln!("skipped: PostgreSQL and Redis tests run under ./test.sh");
        return;
    }
    let Some(python) = python() else { return };
    let db = PgDatabase::create();
    let redis = redis_url();
    let server = Server::start(&db.url, Some(&redis));
    let keys = register(&server);
    run_python_clients(&python, &server, &keys);
    server.stop();
}

fn unix_now() -> u64 {
    sigil_core::Clock::now_unix(&sigil_core::SystemClock)
}

/// Signs a request with sigil-core and sends it.
async fn send(
    http: &reqwest::Client,
    server: &Server,
    method: &str,
    path: &str,
    key: (&str, &str),
    token: Option<(&str, &str)>,
    extra: &[(&str, &str)],
) -> (u16, String, String) {
    send_stamped(http, server, (method, path), key, token, extra, unix_now()).await
}

/// [`send`], stamped `timestamp`.
async fn send_stamped(
    http: &reqwest::Client,
    server: &Server,
    (method, path): (&str, &str),
    key: (&str, &str),
    token: Option<(&str, &str)>,
    extra: &[(&str, &str)],
    timestamp: u64,
) -> (u16, String, String) {
    let nonce = generate_nonce().unwrap();
    let now = timestamp.to_string();
    let mut oauth = OAuthParams {
        consumer_key: Some(Cow::Borrowed(key.0)),
        token: token.map(|(t, _)| Cow::Borrowed(t)),
        signature_method: Some(SignatureMethod::HmacSha1),
        timestamp: Some(Cow::Owned(now)),
        nonce: Some(Cow::Owned(nonce)),
        version: Some(Cow::Borrowed("1.0")),
        ..OAuthParams::default()
    };
    for (n, v) in extra {
        oauth.set(n, Cow::Borrowed(v)).unwrap();
    }
    let cs = Secret::new(key.1);
    let ts = token.map(|(_, s)| Secret::new(s));
    let signed_url = format!("{}{path}", server.public);
    let url = format!("{}{path}", server.base);
    let signed = sign(
        &Request::new(method, &signed_url),
        &oauth,
        &SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: ts.as_ref(),
        },
    )
    .unwrap();
    let header = signed.authorization_header(None);
    let response = http
        .request(method.parse().unwrap(), &url)
        .header("Authorization", &header)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap(), header)
}

fn form_field(body: &str, name: &str) -> String {
    sigil_core::encoding::form_decode(body.as_bytes())
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

/// Request token, approval by `sigil admin authorize`, access token.
async fn dance(http: &reqwest::Client, server: &Server, key: (&str, &str)) -> (String, String) {
    let (status, body, _) = send(
        http,
        server,
        "POST",
        "/oauth/request_token",
        key,
        None,
        &[("oauth_callback", "http://127.0.0.1:9/callback")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (token, secret) = (
        form_field(&body, "oauth_token"),
        form_field(&body, "oauth_token_secret"),
    );
    let approval: Value = server.approve(&token, "alice");
    let verifier = approval["verifier"].as_str().unwrap().to_owned();
    let (status, body, _) = send(
        http,
        server,
        "POST",
        "/oauth/access_token",
        key,
        Some((&token, &secret)),
        &[("oauth_verifier", &verifier)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        form_field(&body, "oauth_token"),
        form_field(&body, "oauth_token_secret"),
    )
}

async fn replay(http: &reqwest::Client, url: &str, header: &str) -> (u16, String) {
    let response = http
        .get(url)
        .header("Authorization", header)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_are_refused_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    let keys = register(&server);
    let http = reqwest::Client::new();
    let key = (keys.hmac.0.as_str(), keys.hmac.1.as_str());
    let (token, secret) = dance(&http, &server, key).await;
    let url = format!("{}/api/me", server.base);
    let (status, body, header) = send(
        &http,
        &server,
        "GET",
        "/api/me",
        key,
        Some((&token, &secret)),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["user"], "alice");
    assert_eq!(me["realms"], serde_json::json!(["photos"]));
    let (status, body) = replay(&http, &url, &header).await;
    assert_eq!(
        (status, form_field(&body, "oauth_problem").as_str()),
        (401, "nonce_used")
    );

    // Restart on the same file, on the same port: the nonce is remembered.
    let listen = server.base.trim_start_matches("http://").to_owned();
    let database = server.database.clone();
    server.stop();
    let restarted = Server::start_with(&database, None, None, &listen);
    let (status, body) = replay(&http, &url, &header).await;
    assert_eq!(
        (status, form_field(&body, "oauth_problem").as_str()),
        (401, "nonce_used")
    );
    // The access token itself survived the restart.
    let (status, _, _) = send(
        &http,
        &restarted,
        "GET",
        "/api/me",
        key,
        Some((&token, &secret)),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    restarted.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_and_redis_share_replay_protection() {
    if !services() {
        eprintln!("skipped: PostgreSQL and Redis tests run under ./test.sh");
        return;
    }
    let db = PgDatabase::create();
    let redis = redis_url();
    // Two instances behind one public URL, as behind a load balancer.
    let public = "http://localhost:8443";
    let a = Server::start_with(&db.url, Some(&redis), Some(public), "127.0.0.1:0");
    let b = Server::start_with(&db.url, Some(&redis), Some(public), "127.0.0.1:0");
    let keys = register(&a);
    let http = reqwest::Client::new();
    let key = (keys.hmac.0.as_str(), keys.hmac.1.as_str());
    // Request token from A, exchange at B.
    let (token, secret) = dance_across(&http, &a, &b, key).await;
    let (status, body, header) = send(
        &http,
        &a,
        "GET",
        "/api/me",
        key,
        Some((&token, &secret)),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The same signed request, replayed to B.
    let (status, body) = replay(&http, &format!("{}/api/me", b.base), &header).await;
    assert_eq!(
        (status, form_field(&body, "oauth_problem").as_str()),
        (401, "nonce_used")
    );
    a.stop();
    b.stop();
}

/// The dance with the request token from `first` and the exchange at
/// `second`; then a second exchange of the same verifier at `first` fails.
async fn dance_across(
    http: &reqwest::Client,
    first: &Server,
    second: &Server,
    key: (&str, &str),
) -> (String, String) {
    let (status, body, _) = send(
        http,
        first,
        "POST",
        "/oauth/request_token",
        key,
        None,
        &[("oauth_callback", "http://127.0.0.1:9/callback")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (token, secret) = (
        form_field(&body, "oauth_token"),
        form_field(&body, "oauth_token_secret"),
    );
    let approval: Value = first.approve(&token, "alice");
    let verifier = approval["verifier"].as_str().unwrap().to_owned();
    let (status, body, _) = send(
        http,
        second,
        "POST",
        "/oauth/access_token",
        key,
        Some((&token, &secret)),
        &[("oauth_verifier", &verifier)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, again, _) = send(
        http,
        first,
        "POST",
        "/oauth/access_token",
        key,
        Some((&token, &secret)),
        &[("oauth_verifier", &verifier)],
    )
    .await;
    assert_eq!(
        (status, form_field(&again, "oauth_problem").as_str()),
        (401, "token_rejected")
    );
    (
        form_field(&body, "oauth_token"),
        form_field(&body, "oauth_token_secret"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_statuses_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    let keys = register(&server);
    let http = reqwest::Client::new();
    let key = (keys.hmac.0.as_str(), keys.hmac.1.as_str());
    let (token, secret) = dance(&http, &server, key).await;
    let me = format!("{}/api/me", server.base);
    let (status, _, good) = send(
        &http,
        &server,
        "GET",
        "/api/me",
        key,
        Some((&token, &secret)),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("no header", String::new(), 400, "parameter_absent"),
        (
            "basic",
            "Basic dXNlcjpwYXNz".into(),
            400,
            "parameter_absent",
        ),
        (
            "duplicate",
            format!("{good}, oauth_nonce=\"x\""),
            400,
            "parameter_rejected",
        ),
        (
            "unquoted",
            good.replace("oauth_version=\"1.0\"", "oauth_version=1.0"),
            400,
            "parameter_rejected",
        ),
        (
            "bad escape",
            good.replace("oauth_nonce=\"", "oauth_nonce=\"%zz"),
            400,
            "parameter_rejected",
        ),
        (
            "version 2.0",
            good.replace("oauth_version=\"1.0\"", "oauth_version=\"2.0\""),
            400,
            "version_rejected",
        ),
        (
            "unknown method",
            good.replace("HMAC-SHA1", "HMAC-MD5"),
            400,
            "signature_method_rejected",
        ),
        (
            "old timestamp",
            {
                let start = good.find("oauth_timestamp=\"").unwrap() + 17;
                let end = start + good[start..].find('"').unwrap();
                format!("{}1000000000{}", &good[..start], &good[end..])
            },
            401,
            "timestamp_refused",
        ),
        (
            "unknown key",
            good.replace(
                &format!("oauth_consumer_key=\"{}\"", keys.hmac.0),
                "oauth_consumer_key=\"nobody\"",
            ),
            401,
            "consumer_key_unknown",
        ),
        (
            "unknown token",
            good.replace(
                &format!("oauth_token=\"{token}\""),
                "oauth_token=\"nothing\"",
            ),
            401,
            "token_rejected",
        ),
        (
            "huge header",
            format!("{good}, oauth_pad=\"{}\"", "a".repeat(9000)),
            400,
            "parameter_rejected",
        ),
        // `good` itself was sent once already.
        ("replay", good.clone(), 401, "nonce_used"),
    ];
    for (name, header, status, problem) in cases {
        let mut request = http.get(&me);
        if !header.is_empty() {
            request = request.header("Authorization", header);
        }
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(got, status, "{name}: {body}");
        if !problem.is_empty() {
            assert_eq!(form_field(&body, "oauth_problem"), problem, "{name}");
            assert!(
                !body.contains(&secret) && !body.contains(&keys.hmac.1),
                "{name}"
            );
        }
    }
    // A 10 MiB body to a protected route: 413 from the Content-Length
    // alone, before the body is read (only 64 KiB of it is ever sent).
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = server.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /api/echo HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            10 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&vec![b'a'; 64 * 1024]).await.unwrap();
        let mut answer = vec![0u8; 512];
        let n = stream.read(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("oauth_problem=body_too_large"), "{answer}");
    }
    // Still up.
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // Metrics are not on the public listener, only on their own.
    let public = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status().as_u16(), 404);
    let metrics = http
        .get(server.metrics.clone().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sigil_rejections_total{problem=\"nonce_used\"} 1"),
        "{metrics}"
    );
    server.stop();
}

#[path = "../../sigil-server/tests/common/bad_cases.rs"]
mod bad_cases;
#[path = "../../sigil-server/tests/common/mod.rs"]
mod common;

/// The engine's bad-request table, sent over HTTP to `sigil serve`: the
/// same statuses and problems, nothing stored, and the server stays up.
/// (Cases that need another policy, a route the demo API lacks, or a
/// request line HTTP cannot carry stay in-process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_bad_request_table_over_http() {
    use bad_cases::{Endpoint, Pre, cases, fixture, fixture_clients};
    use sigil_server::{ClientStore as _, Stores};
    common::use_real_time();
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir);
    let sql = std::sync::Arc::new(
        sigil_store::SqlStore::connect(&db, support::test_seal_options())
            .await
            .unwrap(),
    );
    let mut clients = vec![
        common::hmac_client("client", "client-secret"),
        common::rsa_client("rsa-client"),
    ];
    clients.extend(fixture_clients());
    for client in &clients {
        sql.insert_client(client).await.unwrap();
    }
    assert!(sql.client("client").await.unwrap().is_some());
    let stores = Stores::single(sql.clone());
    // This test changes tokens from outside the server between cases and
    // expects the server to see them at once: no credential cache here (the
    // cache's own test is `changes_from_another_process_reach_the_cache`).
    let server = Server::start_args(
        &db,
        None,
        Some(common::BASE),
        "127.0.0.1:0",
        &["--cache-refresh-ms", "0"],
    );
    let http = reqwest::Client::new();
    let mut sent = 0;
    for case in cases() {
        let path = match case.endpoint {
            Endpoint::RequestToken => "/oauth/request_token",
            Endpoint::AccessToken => "/oauth/access_token",
            Endpoint::Resource(&[]) => "/api/me",
            _ => continue,
        };
        if case.policy.is_some() {
            continue;
        }
        // A fresh fixture for each case.
        for token in ["rt-approved", "rt-pending", "rt-expired"] {
            stores.temporary.delete_temporary(token).await.unwrap();
        }
        for token in ["at-client", "at-other"] {
            stores.tokens.revoke_token(token).await.unwrap();
        }
        // Sign at the time of sending: a case signed "301 s ahead" must
        // still be 301 s ahead when it arrives.
        common::use_real_time();
        let f = fixture(&stores).await;
        let wire = (case.build)(&f);
        if !wire.target.starts_with(path) {
            continue;
        }
        let send = || {
            let mut request = http
                .request(
                    wire.method.parse().unwrap(),
                    format!("{}{}", server.base, wire.target),
                )
                .body(wire.body.clone());
            if let Some(h) = &wire.authorization {
                request = request.header(
                    "Authorization",
                    reqwest::header::HeaderValue::from_bytes(h).unwrap(),
                );
            }
            if let Some(c) = &wire.content_type {
                request = request.header(
                    "Content-Type",
                    reqwest::header::HeaderValue::from_bytes(c).unwrap(),
                );
            }
            request.send()
        };
        match case.pre {
            Pre::None => {}
            Pre::SendOnce => assert_eq!(
                send().await.unwrap().status().as_u16(),
                200,
                "{}",
                case.name
            ),
            Pre::Revoke => assert!(stores.tokens.revoke_token(&f.access.0).await.unwrap()),
        }
        let (nonces, tokens) = (
            sql.nonce_rows().await.unwrap(),
            sql.all_tokens().await.unwrap().len(),
        );
        let response = send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(
            form_field(&body, "oauth_problem"),
            case.problem,
            "{}",
            case.name
        );
        assert_eq!(
            sql.nonce_rows().await.unwrap(),
            nonces,
            "{}: a nonce was stored",
            case.name
        );
        assert_eq!(
            sql.all_tokens().await.unwrap().len(),
            tokens,
            "{}: a token was issued",
            case.name
        );
        sent += 1;
    }
    assert!(sent >= 40, "only {sent} cases went over HTTP");
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    sql.close().await;
    server.stop();
}

/// sigil-client runs the whole flow against `sigil serve` for every method
/// and placement, then calls the API through `sign_reqwest`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigil_client_completes_the_dance_for_every_method_and_placement() {
    use sigil_client::{Consumer, Flow, Placement, RsaPrivateKey, ServiceProfile, Signer};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    let keys = register(&server);
    let pem = include_str!("../../sigil-core/tests/data/test-rsa-pkcs1.pem");
    let http = reqwest::Client::new();
    for method in [
        SignatureMethod::HmacSha1,
        SignatureMethod::HmacSha256,
        SignatureMethod::RsaSha1,
        SignatureMethod::Plaintext,
    ] {
        for placement in [Placement::Header, Placement::Query, Placement::Body] {
            let consumer = if method.is_rsa() {
                Consumer::rsa(&keys.rsa, RsaPrivateKey::from_pem(pem).unwrap())
            } else {
                Consumer::new(&keys.hmac.0, &keys.hmac.1)
            };
            let signer = Signer::new(consumer).method(method).placement(placement);
            let flow = Flow::new(ServiceProfile::sigil(&server.base), signer);
            let temporary = flow
                .request_token("http://127.0.0.1:9/callback", &[])
                .await
                .unwrap();
            let approval: Value = server.approve(&temporary.token.token, "alice");
            assert!(
                flow.authorization_url(&temporary, &[])
                    .contains(&temporary.token.token)
            );
            let credentials = flow
                .access_token(&temporary, approval["verifier"].as_str().unwrap())
                .await
                .unwrap_or_else(|e| panic!("{method} {placement:?}: {e}"));
            assert_eq!(credentials.field("user_id"), Some("alice"));
            let request = http
                .post(format!("{}/api/echo?x=1", server.base))
                .form(&[("status", "hello world"), ("tag", "a"), ("tag", "b")])
                .build()
                .unwrap();
            let signed = flow.signer_for(&credentials).sign_reqwest(request).unwrap();
            let response = http.execute(signed).await.unwrap();
            assert_eq!(response.status().as_u16(), 200, "{method} {placement:?}");
            let echo: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
            assert!(
                echo["form"]
                    .as_array()
                    .unwrap()
                    .contains(&serde_json::json!(["tag", "b"]))
            );
            // A refusal carries the server's problem.
            let err = flow.access_token(&temporary, "wrong").await.unwrap_err();
            assert!(err.to_string().contains("token_rejected"), "{err}");
        }
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigil_request_signs_and_sends() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    let keys = register(&server);
    let http = reqwest::Client::new();
    let key = (keys.hmac.0.as_str(), keys.hmac.1.as_str());
    let (token, secret) = dance(&http, &server, key).await;
    for placement in ["header", "query", "body"] {
        let out = sigil()
            .args([
                "request",
                "-X",
                "POST",
                &format!("{}/api/echo?page=2", server.base),
                "-d",
                "status=hello world",
                "-d",
                "tag=x",
            ])
            .args([
                "--consumer-key",
                key.0,
                "--consumer-secret",
                key.1,
                "--token",
                &token,
                "--token-secret",
                &secret,
            ])
            .args(["--placement", placement])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{placement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let echo: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            echo["form"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!(["status", "hello world"])),
            "{echo}"
        );
    }
    let out = sigil()
        .args(["request", &format!("{}/api/me", server.base), "-i"])
        .args([
            "--consumer-key",
            key.0,
            "--consumer-secret",
            "wrong",
            "--token",
            &token,
            "--token-secret",
            &secret,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("401") && stdout.contains("oauth_problem=signature_invalid"),
        "{stdout}"
    );
    server.stop();
}

/// Reads the child's stdout up to the authorization URL and returns its
/// request token.
/// Sends one browser request for `target` to `addr` (the request line in
/// two pieces, as a client may send it) and returns the whole answer.
fn browse(addr: &str, target: &str) -> String {
    use std::io::Write;
    let mut browser = std::net::TcpStream::connect(addr).unwrap();
    browser.set_nodelay(true).unwrap();
    browser.write_all(b"GET ").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    browser
        .write_all(
            format!("{target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut page = String::new();
    std::io::Read::read_to_string(&mut browser, &mut page).unwrap();
    page
}

/// A child process killed when dropped, so that a failing test leaves none
/// behind (a running `sigil login` would hold the test's output pipe open).
struct KilledOnDrop(std::process::Child);

impl std::ops::Deref for KilledOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KilledOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        // A no-op once it has been waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigil_login_by_pin_and_by_loopback_callback_then_request_with_the_profile() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    register(&server);
    let client: Value = serde_json::from_str(&server.admin(&[
        "client",
        "add",
        "--name",
        "CLI",
        "--callback",
        "http://127.0.0.1/callback",
        "--allow-oob",
        "--json",
    ]))
    .unwrap();
    let (key, secret) = (
        client["key"].as_str().unwrap(),
        client["secret"].as_str().unwrap(),
    );
    let login = |pin: bool, name: &str, extra: &[&str]| {
        let mut cmd = sigil();
        cmd.args([
            "login",
            "--service",
            "sigil",
            "--service-param",
            &server.base,
        ])
        .args([
            "--consumer-key",
            key,
            "--consumer-secret",
            secret,
            "--save-as",
            name,
        ])
        .args(extra)
        .env("SIGIL_CONFIG_DIR", config.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if pin {
            cmd.arg("--pin");
        }
        KilledOnDrop(cmd.spawn().unwrap())
    };

    // PIN: the code is typed at the prompt.
    let mut child = login(true, "by-pin", &[]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let token = read_authorization_token(&mut out);
    let approval: Value = server.approve(&token, "alice");
    assert_eq!(approval["callback"], Value::Null);
    let verifier = approval["verifier"].as_str().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{verifier}\n").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());

    // Loopback: the browser's redirect reaches the listener of `login`,
    // with the authorization page's parameters given on the command line.
    let mut child = login(
        false,
        "by-callback",
        &[
            "--authorize-param",
            "force_login=true",
            "--authorize-param",
            "screen_name=a b",
        ],
    );
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let url = read_authorization_url(&mut out);
    assert!(
        url.ends_with("&force_login=true&screen_name=a%20b"),
        "{url}"
    );
    let token = read_authorization_token_of(&url);
    let approval: Value = server.approve(&token, "alice");
    let redirect = approval["callback"].as_str().unwrap().to_owned();
    let rest = redirect.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    // A callback for another request token is refused and waited past (the
    // library's callback parser checks the token).
    let stranger = browse(addr, "/callback?oauth_token=someone-else&oauth_verifier=x");
    assert!(stranger.starts_with("HTTP/1.1 400"), "{stranger}");
    // The request line arrives in two pieces, as a client may send it:
    // `sigil login` once read only the first (and, when the target was cut
    // after the verifier, signed in while the client was still writing).
    let page = browse(addr, path);
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("Signed in"),
        "{page}"
    );
    assert!(child.wait().unwrap().success());

    // A denial ends `login` with the reason, and saves nothing.
    let mut child = login(false, "denied", &[]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let url = read_authorization_url(&mut out);
    let token = read_authorization_token_of(&url);
    let approval: Value = server.approve(&token, "alice");
    let redirect = approval["callback"].as_str().unwrap().to_owned();
    let addr = redirect
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let page = browse(&addr, "/callback?error=access_denied");
    assert!(page.contains("denied"), "{page}");
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        !status.success() && stderr.contains("access_denied"),
        "{stderr}"
    );
    assert!(!config.path().join("profiles").join("denied.toml").exists());

    // `--sign-in` where the service has no sign-in page: a usage error
    // before anything is sent.
    let out = sigil()
        .args([
            "login",
            "--service",
            "sigil",
            "--service-param",
            &server.base,
        ])
        .args(["--consumer-key", key, "--sign-in", "--pin"])
        .env("SIGIL_CONFIG_DIR", config.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sign-in page"));

    for name in ["by-pin", "by-callback"] {
        let file = config.path().join("profiles").join(format!("{name}.toml"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let out = sigil()
            .args([
                "request",
                &format!("{}/api/me", server.base),
                "--profile",
                name,
            ])
            .env("SIGIL_CONFIG_DIR", config.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let me: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(me["user"], "alice");
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xauth_through_sigil_client() {
    use sigil_client::{Consumer, Flow, ServiceProfile, Signer};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    register(&server); // adds alice / wonderland
    let client: Value = serde_json::from_str(&server.admin(&[
        "client",
        "add",
        "--name",
        "Trusted",
        "--callback",
        "http://127.0.0.1:9/cb",
        "--allow-xauth",
        "--json",
    ]))
    .unwrap();
    let consumer = Consumer::new(
        client["key"].as_str().unwrap(),
        client["secret"].as_str().unwrap(),
    );
    let flow = Flow::new(ServiceProfile::sigil(&server.base), Signer::new(consumer));
    let credentials = flow.xauth("alice", "wonderland").await.unwrap();
    assert_eq!(credentials.field("user_id"), Some("alice"));
    let err = flow.xauth("alice", "wrong").await.unwrap_err();
    assert!(err.to_string().contains("permission_denied"), "{err}");
    server.stop();
}

/// LTI 1.1 outcomes style: a non-form (XML) body signed with
/// oauth_body_hash; the server checks the hash, so a changed body fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_hash_signed_xml_body() {
    use sigil_client::{BodyHash, Consumer, Signer, Token};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    let keys = register(&server);
    let http = reqwest::Client::new();
    let key = (keys.hmac.0.as_str(), keys.hmac.1.as_str());
    let (token, secret) = dance(&http, &server, key).await;
    let signer = Signer::new(Consumer::new(key.0, key.1))
        .token(Token::new(&token, &secret))
        .body_hash(BodyHash::Always);
    let xml = "<imsx_POXEnvelopeRequest><score>0.92</score></imsx_POXEnvelopeRequest>";
    let send = |body: &'static str| {
        let request = http
            .put(format!("{}/api/echo", server.base))
            .header("Content-Type", "application/xml")
            .body(xml)
            .build()
            .unwrap();
        let mut signed = signer.sign_reqwest(request).unwrap();
        *signed.body_mut() = Some(reqwest::Body::from(body));
        http.execute(signed)
    };
    assert_eq!(send(xml).await.unwrap().status().as_u16(), 200);
    let tampered = send("<imsx_POXEnvelopeRequest><score>1.0</score></imsx_POXEnvelopeRequest>")
        .await
        .unwrap();
    assert_eq!(tampered.status().as_u16(), 401);
    let body = tampered.text().await.unwrap();
    assert!(body.contains("body%20hash"), "{body}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigil_bench_loads_the_api_with_signed_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&sqlite_url(&dir), None);
    let keys = register(&server);
    let http = reqwest::Client::new();
    let key = (keys.hmac.0.as_str(), keys.hmac.1.as_str());
    let (token, secret) = dance(&http, &server, key).await;
    let out = sigil()
        .args([
            "bench",
            "--url",
            &format!("{}/api/me", server.base),
            "--concurrency",
            "4",
            "--duration",
            "1",
            "--json",
        ])
        .args([
            "--consumer-key",
            key.0,
            "--consumer-secret",
            key.1,
            "--token",
            &token,
            "--token-secret",
            &secret,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every request had a fresh nonce: all accepted, none refused as replays.
    assert!(report["status"]["200"].as_u64().unwrap() > 10, "{report}");
    assert_eq!(report["status"]["401"], 0, "{report}");
    assert_eq!(report["transport_errors"], 0, "{report}");
    assert!(report["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    server.stop();
}

/// The generation `sigil serve` shows at `metrics`.
async fn credential_generation(metrics: &str) -> u64 {
    let text = reqwest::get(metrics).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("sigil_credential_generation "))
        .expect("the generation is in /metrics")
        .parse()
        .unwrap()
}

/// Waits until the server has noticed a change made elsewhere (at most
/// 10 s; it looks every 250 ms by default).
async fn until_noticed(metrics: &str, before: u64) {
    for _ in 0..200 {
        if credential_generation(metrics).await > before {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server never noticed the change");
}

/// `sigil serve` caches clients and tokens; a revocation or a new secret
/// from another process (`sigil admin`) is honoured once the server has
/// read the changed generation, without a restart. Before that moment a
/// cached token still works (the documented staleness, 250 ms by default).
#[tokio::test]
async fn changes_from_another_process_reach_the_cache() {
    use support::{Site, api_me};
    let site = Site::start("http://127.0.0.1:9/cb", &[]);
    let base = site.server.base.clone();
    let metrics = site.server.metrics.clone().unwrap();
    let flow = site.flow();
    let credentials = site.dance(&flow).await;
    for _ in 0..3 {
        assert_eq!(api_me(&base, &flow, &credentials).await.0, 200);
    }

    let before = credential_generation(&metrics).await;
    site.server
        .admin(&["token", "revoke", &credentials.token.token]);
    until_noticed(&metrics, before).await;
    let (status, body) = api_me(&base, &flow, &credentials).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("token_rejected"), "{body}");

    let credentials = site.dance(&flow).await;
    assert_eq!(api_me(&base, &flow, &credentials).await.0, 200);
    let before = credential_generation(&metrics).await;
    let rotated: Value =
        serde_json::from_str(
            &site
                .server
                .admin(&["client", "rotate-secret", &site.key, "--json"]),
        )
        .unwrap();
    until_noticed(&metrics, before).await;
    let (status, body) = api_me(&base, &flow, &credentials).await;
    assert_eq!(status, 401, "the old secret is refused: {body}");
    assert!(body.contains("signature_invalid"), "{body}");
    let renewed = support::flow_for(
        &base,
        &site.key,
        rotated["secret"].as_str().unwrap(),
        Some("photos"),
    );
    assert_eq!(api_me(&base, &renewed, &credentials).await.0, 200);

    let before = credential_generation(&metrics).await;
    site.server.admin(&["client", "disable", &site.key]);
    until_noticed(&metrics, before).await;
    let (status, body) = api_me(&base, &renewed, &credentials).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("consumer_key_rejected"), "{body}");
}

/// `--memory-nonces` keeps nonces in memory, yet a restart opens no replay
/// window. A request accepted before a clean stop or a SIGKILL is refused
/// after it: one stamped close to the clock (kept in memory alone) by the
/// bound the server recorded, one stamped far ahead (kept in the database
/// too) as a used nonce. After a clean stop the new server starts at once;
/// after a kill it first waits for the dead one's lease to run out (it
/// cannot tell a dead server from a live one sooner). Either way a request
/// signed then is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_nonces_open_no_replay_window_across_restarts() {
    memory_nonces_across_a_restart(false).await;
    memory_nonces_across_a_restart(true).await;
}

/// One stop (SIGKILL when `killed`) and start of a `--memory-nonces` server
/// on a fresh database.
async fn memory_nonces_across_a_restart(killed: bool) {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let memory = ["--memory-nonces"];
    let mut server = Server::start_args(&database, None, None, "127.0.0.1:0", &memory);
    let keys = register(&server);
    let http = reqwest::Client::new();
    let key = (keys.hmac.0.as_str(), keys.hmac.1.as_str());
    let (token, secret) = dance(&http, &server, key).await;
    let token = Some((token.as_str(), secret.as_str()));
    let listen = server.base.trim_start_matches("http://").to_owned();
    let url = format!("{}/api/me", server.base);
    let me = ("GET", "/api/me");
    let (status, body, close) = send(&http, &server, me.0, me.1, key, token, &[]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, ahead) =
        send_stamped(&http, &server, me, key, token, &[], unix_now() + 120).await;
    assert_eq!(status, 200, "{body}");
    if killed {
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
    } else {
        server.stop();
    }
    let restarted = std::time::Instant::now();
    let server = Server::start_args(&database, None, None, &listen, &memory);
    let waited = restarted.elapsed();
    if killed {
        // The lease ran 7 to 12 s ahead at the kill.
        assert!(waited >= Duration::from_secs(4), "started after {waited:?}");
    } else {
        assert!(waited < Duration::from_secs(4), "started after {waited:?}");
    }
    let (status, body) = replay(&http, &url, &close).await;
    assert_eq!(
        (status, form_field(&body, "oauth_problem").as_str()),
        (401, "timestamp_refused"),
        "killed: {killed}"
    );
    let (status, body) = replay(&http, &url, &ahead).await;
    assert_eq!(
        (status, form_field(&body, "oauth_problem").as_str()),
        (401, "nonce_used"),
        "killed: {killed}"
    );
    // The bound is the newest timestamp kept in memory alone, so a request
    // stamped a second on from now is past it.
    let (status, body, _) = send_stamped(&http, &server, me, key, token, &[], unix_now() + 1).await;
    assert_eq!(status, 200, "killed: {killed}: {body}");
    server.stop();
}

/// `sigil serve` on `database` with `extra` flags, its output piped.
fn spawn_serve(database: &str, extra: &[&str]) -> KilledOnDrop {
    KilledOnDrop(
        sigil()
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .args(extra)
            .env("SIGIL_LOG", "warn")
            .env("SIGIL_METRICS_LISTEN", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Waits for a server that must be refused to exit; its stderr.
async fn refused(mut child: KilledOnDrop) -> String {
    // It watches the other server's claim for one renewal (every 5 s) at
    // most.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second server is running"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    stderr
}

/// A second server on the database of a running `--memory-nonces` server is
/// refused, with the flag or without: the first one's nonces are in its
/// memory only, so the second could not refuse their replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_second_server_beside_memory_nonces() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let first = Server::start_args(&database, None, None, "127.0.0.1:0", &["--memory-nonces"]);
    let second: Vec<KilledOnDrop> = [&["--memory-nonces"][..], &[][..]]
        .iter()
        .map(|extra| spawn_serve(&database, extra))
        .collect();
    for child in second {
        let stderr = refused(child).await;
        assert!(
            stderr.contains("another `sigil serve --memory-nonces` is running on this database"),
            "{stderr}"
        );
    }
    // The first one is unharmed.
    let reply = reqwest::get(format!("{}/login", first.base)).await.unwrap();
    assert_eq!(reply.status(), 200);
    first.stop();
}

/// Nor does a `--memory-nonces` server start beside a running server
/// without the flag, whose nonces it would not see; and of two
/// `--memory-nonces` servers started at the same moment, one serves and the
/// other is refused (the claim is one serialized transaction).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_nonces_only_alone() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let durable = Server::start_args(&database, None, None, "127.0.0.1:0", &[]);
    let stderr = refused(spawn_serve(&database, &["--memory-nonces"])).await;
    assert!(
        stderr.contains("another `sigil serve` is running on this database"),
        "{stderr}"
    );
    let reply = reqwest::get(format!("{}/login", durable.base))
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    durable.stop();

    // The migrations ran above, so both claims race on a ready database.
    let mut pair = [
        spawn_serve(&database, &["--memory-nonces"]),
        spawn_serve(&database, &["--memory-nonces"]),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let loser = loop {
        if let Some(i) = (0..2).find(|&i| pair[i].0.try_wait().unwrap().is_some()) {
            break i;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "both servers are running"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let [first, second] = pair;
    let (loser, mut winner) = if loser == 0 {
        (first, second)
    } else {
        (second, first)
    };
    let stderr = refused(loser).await;
    assert!(
        stderr.contains("another `sigil serve --memory-nonces` is running on this database"),
        "{stderr}"
    );
    // The other one serves.
    assert_eq!(winner.0.try_wait().unwrap(), None, "the winner stopped");
    let stdout = winner.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let reply = reqwest::get(format!("{base}/login")).await.unwrap();
    assert_eq!(reply.status(), 200);
}

/// A server that finds another's memory-nonce lease in force at a renewal
/// (another server got in while its claim had lapsed) stops, with an error:
/// the two could accept each other's replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_lost_its_claim_stops() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let mut server = spawn_serve(&database, &[]);
    let stdout = server.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    assert!(line.starts_with("listening on "), "{line}");
    let store = sigil_store::SqlStore::connect(&database, sigil_store::SqlOptions::default())
        .await
        .unwrap();
    // What a --memory-nonces server's claim leaves, written past the claim
    // as if this server's presence had gone stale.
    store
        .set_memory_nonces_through(unix_now() + 60)
        .await
        .unwrap();
    store.close().await;
    let stderr = refused(server).await;
    assert!(
        stderr.contains("another server claimed this database while this one's claim had lapsed"),
        "{stderr}"
    );
}
