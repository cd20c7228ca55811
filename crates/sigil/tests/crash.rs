//! Crash safety: `sigil serve` under a steady flow of three-legged dances
//! is killed with SIGKILL at random moments, several times, and restarted.
//! Afterwards every access token a client received still works and no
//! request token can be exchanged twice. On SQLite the one instance is
//! killed and the file must pass `PRAGMA integrity_check`; on PostgreSQL +
//! Redis one of two instances is killed while the other goes on, and each
//! dance crosses both (token calls at one, approval at the other). The load
//! is the test's own, on loopback, bounded in rounds and time.
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

/// Dances until a server it uses goes away: the token calls go to
/// `token_at`, the approval in the web UI to `approve_at` (the same server,
/// or another instance on the same stores).
async fn worker(
    token_at: String,
    approve_at: String,
    key: String,
    secret: String,
    ledger: Arc<Mutex<Ledger>>,
) {
    let Ok(Ok(signed_in)) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::spawn({
            let approve_at = approve_at.clone();
            async move {
                let mut agent = Agent::new(&approve_at);
                let page = agent.sign_in("alice", PASSWORD, "/").await;
                (page.status, agent.cookies)
            }
        }),
    )
    .await
    else {
        return;
    };
    let (status, cookies) = signed_in;
    if status != 303 {
        return;
    }
    let flow = flow_for(&token_at, &key, &secret, None);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let Ok(home) = http
        .get(format!("{approve_at}/"))
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
            .post(format!("{approve_at}/oauth/authorize"))
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

/// Where the stores are, and how many instances share them.
struct Deployment<'a> {
    database: &'a str,
    redis: Option<&'a str>,
    /// An instance that is never killed (PostgreSQL + Redis), or none
    /// (SQLite: the killed instance is the only one).
    survivor: Option<&'a Server>,
}

/// The client registered for the dances: key and secret.
fn register_client(server: &Server) -> (String, String) {
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
    (
        client["key"].as_str().unwrap().to_owned(),
        client["secret"].as_str().unwrap().to_owned(),
    )
}

/// `ROUNDS` times: start the victim, load it (and the survivor), kill it
/// with SIGKILL at a random moment. Returns what the clients saw.
async fn kill_under_load(deployment: &Deployment<'_>, key: &str, secret: &str) -> Ledger {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    for round in 0..ROUNDS {
        let mut victim = Server::start(deployment.database, deployment.redis);
        let workers: Vec<_> = (0..WORKERS)
            .map(|n| {
                // With a survivor, half the dances take their tokens at the
                // victim (approved at the survivor) and half the other way.
                let (token_at, approve_at) = match deployment.survivor {
                    None => (victim.base.clone(), victim.base.clone()),
                    Some(other) if n % 2 == 0 => (victim.base.clone(), other.base.clone()),
                    Some(other) => (other.base.clone(), victim.base.clone()),
                };
                tokio::spawn(worker(
                    token_at,
                    approve_at,
                    key.to_owned(),
                    secret.to_owned(),
                    ledger.clone(),
                ))
            })
            .collect();
        // Kill at a random moment, once the load is flowing.
        tokio::time::sleep(Duration::from_millis(400 + below(800))).await;
        victim.child.kill().unwrap(); // SIGKILL
        victim.child.wait().unwrap();
        for w in workers {
            tokio::time::timeout(Duration::from_secs(30), w)
                .await
                .unwrap_or_else(|_| panic!("round {round}: a worker hung"))
                .unwrap();
        }
    }
    std::mem::take(&mut *ledger.lock().unwrap())
}

/// Every token a client received works at each of `servers`; no request
/// token is exchanged twice. Returns how many exchanges whose answer a kill
/// swallowed went through now, for the first time.
async fn check_ledger(ledger: &Ledger, servers: &[&Server], key: &str, secret: &str) -> usize {
    assert!(
        ledger.received.len() >= ROUNDS,
        "too little load to mean anything: {} dances",
        ledger.received.len()
    );
    for server in servers {
        let flow = flow_for(&server.base, key, secret, None);
        for (_, credentials) in &ledger.received {
            let (status, body) = api_me(&server.base, &flow, credentials).await;
            assert_eq!(status, 200, "a received token was lost: {body}");
        }
    }
    // One the client got an answer for is refused now; one whose answer the
    // kill swallowed is either already used (refused) or, if the kill came
    // first, exchanged now once. Each try goes to every server in turn.
    let flows: Vec<_> = servers
        .iter()
        .map(|s| flow_for(&s.base, key, secret, None))
        .collect();
    let mut late = 0;
    for (temporary, verifier) in &ledger.exchanged {
        let answered = ledger
            .received
            .iter()
            .any(|(t, _)| *t == temporary.token.token);
        let mut accepted = 0;
        for flow in flows.iter().chain(flows.iter()) {
            if flow.access_token(temporary, verifier).await.is_ok() {
                accepted += 1;
            }
        }
        if answered {
            assert_eq!(accepted, 0, "a request token was exchanged twice");
        } else {
            assert!(accepted <= 1, "a request token was exchanged twice");
            late += accepted;
        }
    }
    assert!(
        ledger.exchanged.len() - ledger.received.len() <= ROUNDS * WORKERS,
        "more unanswered exchanges than kills could leave"
    );
    late
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_token_and_reuses_no_request_token() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let server = Server::start(&database, None);
    add_user(&database, "alice", PASSWORD);
    let (key, secret) = register_client(&server);
    server.stop();
    let deployment = Deployment {
        database: &database,
        redis: None,
        survivor: None,
    };
    let ledger = kill_under_load(&deployment, &key, &secret).await;

    // After the last kill: a fresh start on the same file.
    let server = Server::start(&database, None);
    let late = check_ledger(&ledger, &[&server], &key, &secret).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_one_of_two_instances_on_postgres_and_redis_loses_nothing() {
    if !support::services() {
        eprintln!("skipped: PostgreSQL and Redis tests run under ./test.sh");
        return;
    }
    let db = support::PgDatabase::create();
    let redis = support::redis_url();
    let survivor = Server::start(&db.url, Some(&redis));
    add_user(&db.url, "alice", PASSWORD);
    let (key, secret) = register_client(&survivor);
    let deployment = Deployment {
        database: &db.url,
        redis: Some(&redis),
        survivor: Some(&survivor),
    };
    let ledger = kill_under_load(&deployment, &key, &secret).await;

    // The killed instance, started again, and the one that never stopped.
    let restarted = Server::start(&db.url, Some(&redis));
    let late = check_ledger(&ledger, &[&survivor, &restarted], &key, &secret).await;
    restarted.stop();
    survivor.stop();
    eprintln!(
        "{ROUNDS} kills of one of two instances; {} dances completed, {} exchanges sent, {late} first exchanged after the kill; every token works on both",
        ledger.received.len(),
        ledger.exchanged.len()
    );
}
