//! What a deployer of `sigil serve` relies on: one access-log line per
//! request at the default level (text and JSON), `/readyz`, an online
//! backup under load that a second server serves from, the site name and
//! realms from the environment, `sigil admin migrate`, and the small things
//! a first user meets. (Readiness failing when a dependency goes away is in
//! faults.rs, which cuts Redis and PostgreSQL.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use support::agent::Agent;
use support::{PASSWORD, Server, Site, add_user, api_me, flow_for, sqlite_url};

/// A client on `server` (JSON of `client add`).
fn add_client(server: &Server, extra: &[&str]) -> (String, String) {
    let mut args = vec!["client", "add", "--name", "Printer", "--json"];
    args.extend_from_slice(extra);
    let client: serde_json::Value = serde_json::from_str(&server.admin(&args)).unwrap();
    (
        client["key"].as_str().unwrap().to_owned(),
        client["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_access_log_line_per_request_at_the_default_level() {
    for json in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let database = sqlite_url(&dir);
        let log = dir.path().join("serve.log");
        let env: &[(&str, &str)] = if json {
            &[("SIGIL_LOG_JSON", "1")]
        } else {
            &[]
        };
        let server = Server::start_default_logging(&database, &[], env, &log);
        let base = server.base.clone();
        add_user(&database, "alice", PASSWORD);
        let (key, secret) = add_client(&server, &["--callback", "oob"]);
        let flow = flow_for(&base, &key, &secret, None);
        let temporary = flow.request_token("oob", &[]).await.unwrap();
        let approval = server.approve(&temporary.token.token, "alice");
        let credentials = flow
            .access_token(&temporary, approval["verifier"].as_str().unwrap())
            .await
            .unwrap();

        // A signed call whose query holds something the log must not show.
        let signed = flow
            .signer_for(&credentials)
            .sign_parts("GET", &format!("{base}/api/me?marker=topsecret"), None, b"")
            .unwrap();
        let http = reqwest::Client::new();
        let accepted = http
            .get(&signed.url)
            .header("Authorization", signed.authorization.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 200);
        let accepted_id = accepted.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let refused = http.get(format!("{base}/api/me")).send().await.unwrap();
        assert!(refused.status().is_client_error());
        let refused_id = refused.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(accepted_id, refused_id);
        server.stop(); // the log's writer flushes at exit

        let text = std::fs::read_to_string(&log).unwrap();
        for leak in ["topsecret", "oauth_signature", secret.as_str()] {
            assert!(!text.contains(leak), "the log shows {leak}: {text}");
        }
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("request_id")).collect();
        // request token, access token, the accepted and the refused call.
        assert_eq!(lines.len(), 4, "{text}");
        let line = |id: &str| {
            *lines
                .iter()
                .find(|l| l.contains(id))
                .unwrap_or_else(|| panic!("no line for {id}: {text}"))
        };
        if json {
            let entry: serde_json::Value = serde_json::from_str(line(&accepted_id)).unwrap();
            assert_eq!(entry["level"], "INFO");
            let fields = &entry["fields"];
            assert_eq!(fields["request_id"], accepted_id.as_str());
            assert_eq!(fields["method"], "GET");
            assert_eq!(fields["path"], "/api/me");
            assert_eq!(fields["status"], 200);
            assert_eq!(fields["client_key"], key.as_str());
            assert_eq!(fields["address"], "127.0.0.1");
            assert!(fields["latency_ms"].as_f64().unwrap() >= 0.0);
            let entry: serde_json::Value = serde_json::from_str(line(&refused_id)).unwrap();
            assert_eq!(entry["fields"]["status"], refused.status().as_u16());
        } else {
            let accepted = line(&accepted_id);
            for part in [
                " INFO ",
                "method=GET",
                "path=\"/api/me\"",
                "status=200",
                &format!("client_key=\"{key}\""),
                "address=127.0.0.1",
                "latency_ms=",
            ] {
                assert!(accepted.contains(part), "{part} missing in {accepted}");
            }
            let refused_line = line(&refused_id);
            assert!(
                refused_line.contains(&format!("status={}", refused.status().as_u16())),
                "{refused_line}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_when_the_database_does() {
    let site = Site::start("oob", &[]);
    let ready = reqwest::get(format!("{}/readyz", site.server.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_serves_the_same_clients_and_tokens() {
    let site = Site::start("oob", &[]);
    let base = site.server.base.clone();
    let flow = Arc::new(site.flow());
    let credentials = Arc::new(site.dance(&flow).await);

    // Load that reads and writes: signed calls (each records a nonce) and
    // request tokens (each stores a temporary credential).
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for worker in 0..2 {
        let (stop, served, flow, credentials, base) = (
            stop.clone(),
            served.clone(),
            flow.clone(),
            credentials.clone(),
            base.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if worker == 0 {
                    let (status, body) = api_me(&base, &flow, &credentials).await;
                    assert_eq!(status, 200, "{body}");
                } else {
                    flow.request_token("oob", &[]).await.unwrap();
                }
                served.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = served.load(Ordering::SeqCst);

    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("copy.db");
    let said = site.server.admin(&["backup", copy.to_str().unwrap()]);
    assert!(said.contains("copy.db.key"), "{said}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap(); // every request during the backup succeeded
    }
    assert!(served.load(Ordering::SeqCst) > before, "the load stalled");

    // The copy is private, and so is the key written beside it.
    #[cfg(unix)]
    for file in [copy.clone(), copies.path().join("copy.db.key")] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    assert_eq!(
        std::fs::read_to_string(copies.path().join("copy.db.key"))
            .unwrap()
            .trim(),
        std::fs::read_to_string(support::test_seal_key_file())
            .unwrap()
            .trim()
    );

    // A second backup onto the same file is refused, and the copy stays.
    let again = support::sigil()
        .args(["admin", "--database", &site.server.database, "backup"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // A server on the copy knows the client and honours alice's token.
    let restored = Server::start(&format!("sqlite://{}", copy.display()), None);
    let (status, body) = api_me(&restored.base, &flow, &credentials).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("alice"), "{body}");
    assert!(restored.admin(&["client", "list"]).contains(&site.key));
    restored.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_name_and_realms_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let log = dir.path().join("serve.log");
    let server = Server::start_default_logging(
        &database,
        &[],
        &[
            ("SIGIL_SITE_NAME", "Acme ID"),
            // Words with a comma, and a trailing separator.
            (
                "SIGIL_REALMS",
                "email=Read your email, and its folders;address;",
            ),
        ],
        &log,
    );
    let base = server.base.clone();
    let home = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("<title>Home · Acme ID</title>"), "{home}");
    assert!(home.contains(">Acme ID</a>"), "{home}");
    assert!(!home.contains("Sigil"), "{home}");
    let login = reqwest::get(format!("{base}/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        login.contains("<title>Sign in · Acme ID</title>"),
        "{login}"
    );

    // `--callback oob` is the PIN flow by itself.
    add_user(&database, "alice", PASSWORD);
    let (key, secret) = add_client(
        &server,
        &["--callback", "oob", "--realms", "email address photos"],
    );
    let shown: serde_json::Value =
        serde_json::from_str(&server.admin(&["client", "show", &key])).unwrap();
    assert_eq!(shown["allow_oob"], true, "{shown}");

    // Both realms are known; a third, which the client may ask for but the
    // server was not told of, is refused.
    for realm in ["address", "email"] {
        flow_for(&base, &key, &secret, Some(realm))
            .request_token("oob", &[])
            .await
            .unwrap();
    }
    let unknown = flow_for(&base, &key, &secret, Some("photos"))
        .request_token("oob", &[])
        .await
        .unwrap_err();
    assert!(unknown.to_string().starts_with("40"), "{unknown}");

    // The consent page shows the words, comma and all, under the site's name.
    let temporary = flow_for(&base, &key, &secret, Some("email"))
        .request_token("oob", &[])
        .await
        .unwrap();
    let mut agent = Agent::new(&base);
    let next = format!("/oauth/authorize?oauth_token={}", temporary.token.token);
    agent.sign_in("alice", PASSWORD, &next).await;
    let consent = agent.get(&next).await;
    assert!(
        consent.body.contains("Read your email, and its folders"),
        "{}",
        consent.body
    );
    assert!(
        consent.body.contains("· Acme ID</title>"),
        "{}",
        consent.body
    );

    // An unusable authorization link says so in a sentence.
    let bogus = agent.get("/oauth/authorize?oauth_token=bogus").await;
    assert_eq!(bogus.status, 400);
    assert!(
        bogus
            .body
            .contains("This authorization link cannot be used"),
        "{}",
        bogus.body
    );
    assert!(
        bogus.body.contains("Unknown authorization request."),
        "{}",
        bogus.body
    );

    let migrated = server.admin(&["migrate"]);
    assert!(migrated.starts_with("schema version "), "{migrated}");
    server.stop();
}
