//! Secrets at rest: database files readable by their owner alone, sealing
//! on by default with a key file made at first start, clear secrets of an
//! older build sealed at start, a wrong or missing key refused at start,
//! and `sigil admin seal-key rotate`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use support::{Server, sigil, sqlite_url};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `sigil admin ARGS` on `database` with the default key file (no key
/// flag, no key env), under umask 022.
fn admin_default(database: &str, args: &[&str]) -> Output {
    let mut cmd = sigil();
    cmd.env_remove("SIGIL_SEAL_KEY_FILE")
        .env_remove("SIGIL_SEAL_KEY")
        .env("SIGIL_LOG", "info")
        .args(["admin", "--database", database])
        .args(args);
    umask_022(cmd).output().unwrap()
}

/// Runs `cmd` under umask 022 (a shell sets it, then execs).
fn umask_022(cmd: std::process::Command) -> std::process::Command {
    let program = cmd.get_program().to_owned();
    let mut shell = std::process::Command::new("sh");
    shell
        .arg("-c")
        .arg("umask 022; exec \"$@\"")
        .arg("sh")
        .arg(program);
    shell.args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(v) => shell.env(name, v),
            None => shell.env_remove(name),
        };
    }
    shell
}

async fn stored_secrets(database: &str) -> Vec<String> {
    let store = sigil_store::SqlStore::connect(database, sigil_store::SqlOptions::default())
        .await
        .unwrap();
    let secrets = store_secrets(&store).await;
    store.close().await;
    secrets
}

async fn store_secrets(store: &sigil_store::SqlStore) -> Vec<String> {
    let mut out = Vec::new();
    for key in store
        .list_clients(None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.key)
    {
        if let Some(s) = store.stored_client_secret(&key).await.unwrap() {
            out.push(s);
        }
    }
    out
}

#[tokio::test]
async fn sealing_is_on_by_default_with_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let db = dir.path().join("sigil.db");
    let key_file = dir.path().join("sigil.db.key");
    let out = admin_default(
        &database,
        &[
            "client",
            "add",
            "--name",
            "Printer",
            "--callback",
            "https://p.example/cb",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("made a new seal key"), "{log}");
    assert!(
        log.contains(&key_file.display().to_string()),
        "the log says where: {log}"
    );
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&key_file), 0o600);
    let client: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = client["secret"].as_str().unwrap();

    // Stored sealed, not in the clear.
    let stored = stored_secrets_with_key(&database, &key_file).await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with("sealed:v1:"), "{}", stored[0]);
    assert!(!stored[0].contains(secret));

    // A server on it (same default key file): its WAL files are private
    // too, and it serves.
    let key_arg = key_file.display().to_string();
    let server = Server::start_args(
        &database,
        None,
        None,
        "127.0.0.1:0",
        &["--seal-key-file", &key_arg],
    );
    for suffix in ["-wal", "-shm"] {
        let path = dir.path().join(format!("sigil.db{suffix}"));
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    let reply = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    server.stop();

    // The key file gone: a new key would not open the secrets; refused at
    // start, saying so.
    std::fs::rename(&key_file, dir.path().join("saved.key")).unwrap();
    let out = admin_default(&database, &["client", "list"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("does not open this database's secrets"),
        "{said}"
    );
    // A wrong key given outright: the same.
    let wrong = "11".repeat(32);
    let out = sigil()
        .args([
            "admin",
            "--database",
            &database,
            "--seal-key",
            &wrong,
            "client",
            "list",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not open"));
    let serve = sigil()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
        ])
        .args(["--database", &database, "--seal-key", &wrong])
        .output()
        .unwrap();
    assert!(
        !serve.status.success(),
        "a server with the wrong key must not start"
    );
    assert!(String::from_utf8_lossy(&serve.stderr).contains("does not open"));
}

async fn stored_secrets_with_key(database: &str, key_file: &Path) -> Vec<String> {
    let key = std::fs::read_to_string(key_file).unwrap();
    let store = sigil_store::SqlStore::connect(
        database,
        sigil_store::SqlOptions {
            sealer: sigil_store::Sealer::from_config(&key).unwrap(),
            ..sigil_store::SqlOptions::default()
        },
    )
    .await
    .unwrap();
    let secrets = store_secrets(&store).await;
    store.close().await;
    secrets
}

#[tokio::test]
async fn clear_secrets_of_an_older_build_are_sealed_and_a_rotation_reseals() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(&dir);
    let key_file = dir.path().join("sigil.db.key");
    // What an older build without a key left: a secret in the clear.
    let store = sigil_store::SqlStore::connect(&database, sigil_store::SqlOptions::default())
        .await
        .unwrap();
    store
        .insert_client(&sigil_server::Client::new("old-key", "old-secret", "Old"))
        .await
        .unwrap();
    store.close().await;
    assert_eq!(stored_secrets(&database).await, ["plain:old-secret"]);

    let out = admin_default(&database, &["client", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("sealed secrets that were stored in the clear"),
        "{log}"
    );
    let sealed = stored_secrets_with_key(&database, &key_file).await;
    assert!(sealed[0].starts_with("sealed:v1:"), "{sealed:?}");

    // Rotation: a new key in the key file, every secret sealed again.
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let out = admin_default(&database, &["seal-key", "rotate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-sealed 1 secrets"));
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(old_key, new_key);
    assert_eq!(mode(&key_file), 0o600);
    let resealed = stored_secrets_with_key(&database, &key_file).await;
    assert_ne!(resealed, sealed);
    // The old key no longer opens them; the new one does, and the client's
    // secret is still its own.
    let out = sigil()
        .args([
            "admin",
            "--database",
            &database,
            "--seal-key",
            old_key.trim(),
            "client",
            "list",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let store = sigil_store::SqlStore::connect(
        &database,
        sigil_store::SqlOptions {
            sealer: sigil_store::Sealer::from_config(&new_key).unwrap(),
            ..sigil_store::SqlOptions::default()
        },
    )
    .await
    .unwrap();
    use sigil_server::ClientStore;
    let client = store.client("old-key").await.unwrap().unwrap();
    assert_eq!(client.secret.unwrap().expose(), "old-secret");
    store.close().await;
}
