//! Crash safety on SQLite: `sigil serve` under a steady flow of
//! three-legged dances is killed with SIGKILL at random moments, several
//! times, and restarted. Afterwards every access token a client received
//! still works, no request token can be exchanged twice, and the database
//! passes `PRAGMA integrity_check`. The load is the test's own, on
//! loopback, bounded in rounds and time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sigil_client::{TemporaryCredentials, TokenCredentials};
use support::agent::Agent;
use support::{PASSWORD, Server, add_user, api_me, flow_for, query_param, sqlite_url};

const ROUNDS: usize = 5;
const WORKERS: usize = 3;
const CALLBACK: &str = "http://127.0.0.1:9/callback";

/// What the clients saw, across rounds.
#[derive(Default)]
struct Ledger {
    /// Token credentials a client received, by the request token
    /// exchanged for them.
    received: Vec<(String, TokenCredentials)>,
    /// Approved request tokens whose exchange was sent (answer or not).
    exchanged: Vec<(TemporaryCredentials, String)>,
}

/// A random number below `n`, from the operating system.
fn below(n: u64) -> u64 {
    u64::from_str_radix(&sigil_core::random_hex::<4>().unwrap(), 16).unwrap() % n
}

/// Dances until the server goes away.
async fn worker(base: String, key: String, secret: String, ledger: Arc<Mutex<Ledger>>) {
    let mut agent = Agent::new(&base);
    let Ok(Ok(signed_in)) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::spawn({
            let base = base.clone();
            async move {
                let mut agent = Agent::new(&base);
                let page = agent.sign_in("alice", PASSWORD, "/").await;
                (page.status, agent.cookies)
            }
        }),
    )
    .await
    else {
        return;
    };
    if signed_in.0 != 303 {
        return;
    }
    agent.cookies = signed_in.1;
    let flow = flow_for(&base, &key, &secret, None);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = agent
        .cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let Ok(home) = http
        .get(format!("{base}/"))
        .header("Cookie", &cookie)
        .send()
        .await
    else {
        return;
    };
    let Ok(home) = home.text().await else { return };
    let Some(csrf) = support::agent::field(&home, "csrf") else {
        return;
    };
    loop {
        let Ok(temporary) = flow.request_token(CALLBACK, &[]).await else {
            return;
        };
        let approved = http
            .post(format!("{base}/oauth/authorize"))
            .header("Cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("oauth_token", temporary.token.token.as_str()),
                ("decision", "approve"),
            ])
            .send()
            .await;
        let Ok(approved) = approved else { return };
        let Some(verifier) = approved
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| query_param(l, "oauth_verifier"))
        else {
            return;
        };
        ledger
            .lock()
            .unwrap()
            .exchanged
            .push((temporary.clone(), verifier.clone()));
        match flow.access_token(&temporary, &verifier).await {
            Ok(credentials) => ledger
                .lock()
                .unwrap()
                .received
                .push((temporary.token.token.clone(), credentials)),
            Err(_) => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_token_and_reuses_no_request_token() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let server = Server::start(&database, None);
    add_user(&database, "alice", PASSWORD);
    let client: serde_json::Value = serde_json::from_str(&server.admin(&[
        "client",
        "add",
        "--name",
        "Printer",
        "--callback",
        CALLBACK,
        "--json",
    ]))
    .unwrap();
    let key = client["key"].as_str().unwrap().to_owned();
    let secret = client["secret"].as_str().unwrap().to_owned();
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    let mut server = Some(server);
    for round in 0..ROUNDS {
        let running = server
            .take()
            .unwrap_or_else(|| Server::start(&database, None));
        let base = running.base.clone();
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                tokio::spawn(worker(
                    base.clone(),
                    key.clone(),
                    secret.clone(),
                    ledger.clone(),
                ))
            })
            .collect();
        // Kill at a random moment, once the load is flowing.
        tokio::time::sleep(Duration::from_millis(400 + below(800))).await;
        let mut running = running;
        running.child.kill().unwrap(); // SIGKILL
        running.child.wait().unwrap();
        for w in workers {
            tokio::time::timeout(Duration::from_secs(30), w)
                .await
                .unwrap_or_else(|_| panic!("round {round}: a worker hung"))
                .unwrap();
        }
    }

    // After the last kill: a fresh start on the same file.
    let server = Server::start(&database, None);
    let base = server.base.clone();
    let flow = flow_for(&base, &key, &secret, None);
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(
        ledger.received.len() >= ROUNDS,
        "too little load to mean anything: {} dances",
        ledger.received.len()
    );
    for (_, credentials) in &ledger.received {
        let (status, body) = api_me(&base, &flow, credentials).await;
        assert_eq!(status, 200, "a received token was lost: {body}");
    }
    // No request token is exchanged twice: one the client got an answer
    // for is refused now; one whose answer the kill swallowed is either
    // already used (refused) or, if the kill came first, exchanged now once.
    let mut late = 0;
    for (temporary, verifier) in &ledger.exchanged {
        let answered = ledger
            .received
            .iter()
            .any(|(t, _)| *t == temporary.token.token);
        let again = flow.access_token(temporary, verifier).await;
        if answered {
            assert!(again.is_err(), "a request token was exchanged twice");
        } else if again.is_ok() {
            late += 1;
            assert!(
                flow.access_token(temporary, verifier).await.is_err(),
                "a request token was exchanged twice"
            );
        }
    }
    assert!(
        ledger.exchanged.len() - ledger.received.len() <= ROUNDS * WORKERS,
        "more unanswered exchanges than kills could leave"
    );
    server.stop();

    // The file is sound.
    let file = dir.path().join("sigil.db");
    let check = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                use sqlx::Connection;
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                        .await
                        .unwrap();
                let row: (String,) = sqlx::query_as("PRAGMA integrity_check")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                row.0
            })
    })
    .join()
    .unwrap();
    assert_eq!(check, "ok");
    eprintln!(
        "{ROUNDS} kills; {} dances completed, {} exchanges sent, {late} first exchanged after the restart; every token works",
        ledger.received.len(),
        ledger.exchanged.len()
    );
}
