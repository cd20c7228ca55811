//! What the tests of the `sigil` binary share: the binary, a running
//! `sigil serve`, fresh databases, and a cookie-keeping HTTP agent for the
//! web UI.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

pub mod agent;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub fn sigil() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigil"));
    // One seal key file for every test server (instances on one
    // PostgreSQL database need the same key), kept out of the source tree.
    cmd.env("SIGIL_SEAL_KEY_FILE", test_seal_key_file());
    cmd
}

/// The seal key file the tests' servers share.
pub fn test_seal_key_file() -> String {
    concat!(env!("CARGO_TARGET_TMPDIR"), "/sigil-tests.seal-key").to_owned()
}

/// Store options that open what the tests' servers sealed.
pub fn test_seal_options() -> sigil_store::SqlOptions {
    let path = test_seal_key_file();
    let key = match std::fs::read_to_string(&path) {
        Ok(key) => key,
        Err(_) => {
            // No server made it yet: make it as a server would.
            let out = sigil()
                .args(["admin", "--database", "sqlite::memory:", "client", "list"])
                .output();
            drop(out);
            std::fs::read_to_string(&path).unwrap()
        }
    };
    sigil_store::SqlOptions {
        sealer: sigil_store::Sealer::from_config(&key).unwrap(),
        ..sigil_store::SqlOptions::default()
    }
}

pub fn services() -> bool {
    std::env::var_os("SIGIL_SERVICE_TESTS").is_some()
}

pub fn python() -> Option<String> {
    if let Ok(python) = std::env::var("SIGIL_PYTHON") {
        return Some(python);
    }
    assert!(
        !services(),
        "SIGIL_SERVICE_TESTS is set but SIGIL_PYTHON is not: run ./test.sh"
    );
    eprintln!("skipping: set SIGIL_PYTHON (./test.sh does)");
    None
}

/// A running `sigil serve`, killed on drop.
pub struct Server {
    pub child: Child,
    /// Where it listens.
    pub base: String,
    /// The metrics listener's `/metrics` URL, unless turned off.
    pub metrics: Option<String>,
    /// The public URL clients sign (the same for instances behind one
    /// load balancer).
    pub public: String,
    pub database: String,
    pub redis: Option<String>,
}

impl Server {
    pub fn start(database: &str, redis: Option<&str>) -> Self {
        Self::start_with(database, redis, None, "127.0.0.1:0")
    }

    pub fn start_with(
        database: &str,
        redis: Option<&str>,
        public: Option<&str>,
        listen: &str,
    ) -> Self {
        Self::start_args(database, redis, public, listen, &[])
    }

    /// With extra `serve` flags.
    pub fn start_args(
        database: &str,
        redis: Option<&str>,
        public: Option<&str>,
        listen: &str,
        extra: &[&str],
    ) -> Self {
        Self::launch(database, redis, public, listen, extra, None)
    }

    /// Logging everything (`SIGIL_LOG=trace`) into the file `log`.
    pub fn start_logging(database: &str, extra: &[&str], log: &std::path::Path) -> Self {
        Self::launch(database, None, None, "127.0.0.1:0", extra, Some(log))
    }

    /// Logging at the shipped default level (no `SIGIL_LOG`) into the file
    /// `log`, with the environment variables `env` set.
    pub fn start_default_logging(
        database: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        log: &std::path::Path,
    ) -> Self {
        let mut cmd = sigil();
        cmd.env_remove("SIGIL_LOG")
            .stderr(std::fs::File::create(log).unwrap());
        for (name, value) in env {
            cmd.env(name, value);
        }
        Self::spawn(cmd, database, None, None, "127.0.0.1:0", extra)
    }

    fn launch(
        database: &str,
        redis: Option<&str>,
        public: Option<&str>,
        listen: &str,
        extra: &[&str],
        log: Option<&std::path::Path>,
    ) -> Self {
        let mut cmd = sigil();
        cmd.env("SIGIL_LOG", "warn").stderr(Stdio::inherit());
        if let Some(log) = log {
            cmd.env("SIGIL_LOG", "trace")
                .stderr(std::fs::File::create(log).unwrap());
        }
        Self::spawn(cmd, database, redis, public, listen, extra)
    }

    fn spawn(
        mut cmd: Command,
        database: &str,
        redis: Option<&str>,
        public: Option<&str>,
        listen: &str,
        extra: &[&str],
    ) -> Self {
        cmd.args(["serve", "--listen", listen, "--database", database])
            .args(extra)
            .env("SIGIL_METRICS_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped());
        if let Some(redis) = redis {
            cmd.args(["--redis", redis]);
        }
        if let Some(public) = public {
            cmd.args(["--public-url", public]);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stdout = BufReader::new(stdout);
        let mut metrics = None;
        let base = loop {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let line = line.trim();
            if let Some(url) = line.strip_prefix("metrics on ") {
                metrics = Some(url.to_owned());
            } else if let Some(base) = line.strip_prefix("listening on ") {
                break base.to_owned();
            } else {
                panic!("unexpected line {line:?}");
            }
        };
        Self {
            child,
            metrics,
            public: public.map_or_else(|| base.clone(), str::to_owned),
            base,
            database: database.to_owned(),
            redis: redis.map(str::to_owned),
        }
    }

    pub fn admin(&self, args: &[&str]) -> String {
        let mut cmd = sigil();
        cmd.args(["admin", "--database", &self.database]);
        if let Some(redis) = &self.redis {
            cmd.args(["--redis", redis]);
        }
        let out = cmd.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Approves the request token `token` for `user` through `sigil admin
    /// authorize`, as the consent page would; the answer's JSON (with the
    /// `verifier` and the `callback` to send the browser to).
    pub fn approve(&self, token: &str, user: &str) -> serde_json::Value {
        serde_json::from_str(&self.admin(&[
            "authorize",
            "--token",
            token,
            "--user",
            user,
            "--json",
        ]))
        .unwrap()
    }

    pub fn stop(mut self) {
        // SIGTERM: a graceful shutdown.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("sigil.db").display())
}

/// A fresh PostgreSQL database for one test, dropped at the end.
pub struct PgDatabase {
    pub url: String,
    pub name: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        let admin = std::env::var("SIGIL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("sigil_test_{}", sigil_core::random_hex::<6>().unwrap());
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(b, _)| b)
            .to_owned();
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin = std::env::var("SIGIL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        psql(
            &admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

pub fn psql(url: &str, sql: &str) {
    // On a thread of its own: callers may be inside a runtime already.
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
    })
    .join()
    .unwrap();
}

pub fn redis_url() -> String {
    // A database number of its own keeps the test's keys apart.
    let base =
        std::env::var("SIGIL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    format!("{}/{}", base.trim_end_matches('/'), 7)
}

/// Adds user `name` with `password` through `sigil admin`.
pub fn add_user(database: &str, name: &str, password: &str) {
    use std::io::Write;
    let mut child = sigil()
        .args([
            "admin",
            "--database",
            database,
            "user",
            "add",
            name,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "user add {name}");
}

/// A `sigil serve` on a fresh SQLite file with users alice and bob and one
/// HMAC-SHA1 client, "Printer", whose callback is `callback` (or `oob`) and
/// which may ask for the realm `photos`.
pub struct Site {
    pub server: Server,
    pub key: String,
    pub secret: String,
    _dir: tempfile::TempDir,
}

/// alice's password (bob's is the same with a 2).
pub const PASSWORD: &str = "wonderland-1";

impl Site {
    pub fn start(callback: &str, extra: &[&str]) -> Self {
        Self::start_on(None, callback, extra)
    }

    /// With nonces and temporary credentials in Redis at `redis`.
    pub fn start_on(redis: Option<&str>, callback: &str, extra: &[&str]) -> Self {
        Self::start_in(None, redis, callback, extra)
    }

    /// On the database at `database` (a fresh SQLite file when `None`).
    pub fn start_in(
        database: Option<&str>,
        redis: Option<&str>,
        callback: &str,
        extra: &[&str],
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = database.map_or_else(|| sqlite_url(&dir), str::to_owned);
        let mut args = vec!["--realm", "photos=See and change your photos"];
        args.extend_from_slice(extra);
        let server = Server::start_args(&database, redis, None, "127.0.0.1:0", &args);
        add_user(&database, "alice", PASSWORD);
        add_user(&database, "bob", &format!("{PASSWORD}2"));
        let client: serde_json::Value = serde_json::from_str(&server.admin(&[
            "client",
            "add",
            "--name",
            "Printer",
            "--description",
            "Prints your photos on paper.",
            "--callback",
            callback,
            "--realms",
            "photos",
            "--allow-oob",
            "--json",
        ]))
        .unwrap();
        Self {
            server,
            key: client["key"].as_str().unwrap().to_owned(),
            secret: client["secret"].as_str().unwrap().to_owned(),
            _dir: dir,
        }
    }

    /// The client's side of the dance, asking for `photos`.
    pub fn flow(&self) -> sigil_client::Flow {
        flow_for(&self.server.base, &self.key, &self.secret, Some("photos"))
    }

    /// The whole dance for alice, approved through `sigil admin authorize`.
    pub async fn dance(&self, flow: &sigil_client::Flow) -> sigil_client::TokenCredentials {
        let temporary = flow.request_token("oob", &[]).await.unwrap();
        let approval: serde_json::Value = self.server.approve(&temporary.token.token, "alice");
        let verifier = approval["verifier"].as_str().unwrap();
        flow.access_token(&temporary, verifier).await.unwrap()
    }
}

/// The request token in the authorization URL `sigil login` prints.
pub fn read_authorization_token(
    reader: &mut std::io::BufReader<std::process::ChildStdout>,
) -> String {
    read_authorization_token_of(&read_authorization_url(reader))
}

/// The request token in an authorization URL.
pub fn read_authorization_token_of(url: &str) -> String {
    sigil_axum::query_value(url.split_once('?').unwrap().1, "oauth_token").unwrap()
}

/// The authorization URL `sigil login` prints.
pub fn read_authorization_url(
    reader: &mut std::io::BufReader<std::process::ChildStdout>,
) -> String {
    loop {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(reader, &mut line).unwrap() > 0,
            "login ended early"
        );
        if line.contains('?') {
            return line.trim().to_owned();
        }
    }
}

/// A free TCP port on loopback (free when asked).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A client flow against `base` with a consumer key and secret.
pub fn flow_for(base: &str, key: &str, secret: &str, realm: Option<&str>) -> sigil_client::Flow {
    let mut signer = sigil_client::Signer::new(sigil_client::Consumer::new(key, secret));
    if let Some(realm) = realm {
        signer = signer.realm(realm);
    }
    sigil_client::Flow::new(sigil_client::ServiceProfile::sigil(base), signer)
}

/// `GET /api/me` with token credentials: status and body.
pub async fn api_me(
    base: &str,
    flow: &sigil_client::Flow,
    credentials: &sigil_client::TokenCredentials,
) -> (u16, String) {
    let signed = flow
        .signer_for(credentials)
        .sign_parts("GET", &format!("{base}/api/me"), None, b"")
        .unwrap();
    let response = reqwest::Client::new()
        .get(&signed.url)
        .header("Authorization", signed.authorization.unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The query parameter `name` of `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n == name).then(|| {
            sigil_core::encoding::form_decode_component(v)
                .unwrap()
                .into_owned()
        })
    })
}
