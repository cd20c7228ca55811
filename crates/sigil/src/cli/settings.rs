//! Settings shared by `serve` and `admin`: flags, `SIGIL_*` environment
//! variables (clap reads both), then the config file, then defaults.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use sigil_server::{Policy, Provider, Stores};
use sigil_store::{RedisStore, Sealer, SqlOptions, SqlStore};

/// Where the provider keeps its data.
#[derive(Clone, Debug, Default, Args)]
pub struct StoreArgs {
    /// Database URL: sqlite://FILE (default sqlite://sigil.db) or postgres://...
    #[arg(long, env = "SIGIL_DATABASE")]
    pub database: Option<String>,
    /// Redis URL for nonces and temporary credentials (shared by instances).
    #[arg(long, env = "SIGIL_REDIS")]
    pub redis: Option<String>,
    /// Config file (TOML) with the same settings.
    #[arg(long, env = "SIGIL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Key that seals secrets at rest: 64 hex characters or base64 of 32
    /// bytes. Without it the key file is used (made on first start).
    #[arg(long, env = "SIGIL_SEAL_KEY", hide_env_values = true)]
    pub seal_key: Option<String>,
    /// The seal key's file, made (0600) with a new key when missing. Default:
    /// beside a SQLite database (`sigil.db.key`); for PostgreSQL,
    /// `sigil-seal.key` in the config file's directory, else the working
    /// directory (every instance needs the same key).
    #[arg(long, env = "SIGIL_SEAL_KEY_FILE")]
    pub seal_key_file: Option<PathBuf>,
}

/// The config file: every flag of `serve`, by the same names.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listen address.
    pub listen: Option<String>,
    /// Database URL.
    pub database: Option<String>,
    /// Redis URL.
    pub redis: Option<String>,
    /// Public base URL.
    pub public_url: Option<String>,
    /// Allow plain http on a non-loopback public URL.
    pub allow_insecure_http: Option<bool>,
    /// Sealing key.
    pub seal_key: Option<String>,
    /// The sealing key's file.
    pub seal_key_file: Option<PathBuf>,
    /// Realms the provider knows.
    pub realms: Option<Vec<String>>,
    /// The words the consent page shows for each realm (a realm named here
    /// is known too).
    pub realm_descriptions: Option<std::collections::BTreeMap<String, String>>,
    /// Let visitors create their own accounts.
    pub open_registration: Option<bool>,
    /// The service's name on the web UI's pages.
    pub site_name: Option<String>,
    /// Failed sign-ins allowed per account in the window.
    pub sign_in_limit: Option<u32>,
    /// Failed sign-ins allowed per client address in the window.
    pub sign_in_address_limit: Option<u32>,
    /// The sign-in failure window, in seconds.
    pub sign_in_window: Option<u64>,
    /// Signed requests per client per timestamp window.
    pub max_nonces_per_client: Option<u64>,
    /// The longest Authorization header, bytes.
    pub max_header_bytes: Option<usize>,
    /// The most parameters in one request.
    pub max_params: Option<usize>,
    /// The longest OAuth request body, bytes.
    pub max_body_bytes: Option<usize>,
    /// How often (ms) to look for outside changes to cached credentials; 0:
    /// no cache.
    pub cache_refresh_ms: Option<u64>,
    /// Keep nonces in memory (one instance only).
    pub memory_nonces: Option<bool>,
    /// The most connections open at once.
    pub max_connections: Option<usize>,
    /// Seconds a request head may take.
    pub header_read_timeout: Option<u64>,
    /// Seconds a connection may idle.
    pub idle_timeout: Option<u64>,
    /// Seconds one request may take.
    pub request_timeout: Option<u64>,
    /// The metrics listener's address, or `off`.
    pub metrics_listen: Option<String>,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Option<Vec<String>>,
}

impl FileConfig {
    /// Reads the file named by `--config`, or nothing.
    pub fn load(path: Option<&PathBuf>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("bad config file {}", path.display()))
    }
}

/// The stores, opened.
pub struct OpenStores {
    /// The SQL store (clients, tokens, users; nonces and temporary
    /// credentials too without Redis).
    pub sql: Arc<SqlStore>,
    /// Redis, when configured.
    pub redis: Option<RedisStore>,
    /// The four concerns wired together.
    pub stores: Stores,
}

impl StoreArgs {
    /// The database URL after flags, environment and file.
    pub fn database_url(&self, file: &FileConfig) -> String {
        self.database
            .clone()
            .or_else(|| file.database.clone())
            .unwrap_or_else(|| "sqlite://sigil.db".to_owned())
    }

    /// Where the seal key's file is for the database at `url`.
    pub fn seal_key_path(&self, file: &FileConfig, url: &str) -> PathBuf {
        if let Some(path) = self
            .seal_key_file
            .clone()
            .or_else(|| file.seal_key_file.clone())
        {
            return path;
        }
        if let Some(db) = sigil_store::sqlite_path(url) {
            let mut name = db.clone().into_os_string();
            name.push(".key");
            return PathBuf::from(name);
        }
        let dir = self
            .config
            .as_ref()
            .and_then(|c| c.parent())
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        dir.join("sigil-seal.key")
    }

    /// The sealer: the key given (flag, env, config), else the key file's,
    /// made with a new key on first use.
    fn sealer(&self, file: &FileConfig, url: &str) -> anyhow::Result<Sealer> {
        if let Some(key) = self.seal_key.as_ref().or(file.seal_key.as_ref()) {
            return Ok(Sealer::from_config(key)?);
        }
        let path = self.seal_key_path(file, url);
        let key = read_or_make_key_file(&path)?;
        Sealer::from_config(&key).with_context(|| format!("bad seal key in {}", path.display()))
    }

    /// Opens the SQL store (applying migrations) and Redis if configured.
    pub async fn open(&self, file: &FileConfig) -> anyhow::Result<OpenStores> {
        let url = self.database_url(file);
        let sealer = self.sealer(file, &url)?;
        let sql = Arc::new(
            SqlStore::connect(
                &url,
                SqlOptions {
                    sealer: sealer.clone(),
                    ..SqlOptions::default()
                },
            )
            .await
            .with_context(|| format!("cannot open database {}", redact_url(&url)))?,
        );
        // A missing or wrong key stops here, not at every request later.
        let report = sql
            .check_seal()
            .await
            .with_context(|| format!("cannot use database {}", redact_url(&url)))?;
        if report.sealed_now > 0 {
            tracing::info!(
                count = report.sealed_now,
                "sealed secrets that were stored in the clear"
            );
        }
        let redis = match self.redis.as_ref().or(file.redis.as_ref()) {
            Some(url) => Some(
                RedisStore::connect(url, "sigil:", sealer)
                    .await
                    .with_context(|| format!("cannot connect to Redis {}", redact_url(url)))?,
            ),
            None => None,
        };
        let stores = match &redis {
            Some(r) => {
                let shared = Arc::new(r.clone());
                Stores {
                    clients: sql.clone(),
                    tokens: sql.clone(),
                    temporary: shared.clone(),
                    nonces: shared,
                }
            }
            None => Stores::single(sql.clone()),
        };
        Ok(OpenStores { sql, redis, stores })
    }
}

/// The key in `path`, or a new one written there (readable by its owner
/// alone) when the file does not exist.
pub fn read_or_make_key_file(path: &std::path::Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            warn_if_shared(path);
            Ok(text.trim().to_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Sealer::generate_key()?;
            if let Err(err) = write_private(path, &key, false) {
                // Made at the same moment by another process: use its key.
                if path.exists() {
                    return Ok(std::fs::read_to_string(path)?.trim().to_owned());
                }
                return Err(err);
            }
            tracing::warn!(
                path = %path.display(),
                "made a new seal key for this database's secrets; keep this file (with its backups): without it the secrets cannot be read"
            );
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read seal key file {}", path.display())),
    }
}

/// Writes `text` to `path` readable by its owner alone; `replace` swaps an
/// existing file atomically (a temporary file renamed over it).
pub fn write_private(path: &std::path::Path, text: &str, replace: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let target = if replace {
        let mut name = path.as_os_str().to_owned();
        name.push(".new");
        PathBuf::from(name)
    } else {
        path.to_path_buf()
    };
    if replace {
        let _ = std::fs::remove_file(&target);
    }
    let mut out = options
        .open(&target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    out.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| out.sync_all())
        .with_context(|| format!("cannot write {}", target.display()))?;
    if replace {
        std::fs::rename(&target, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}

fn warn_if_shared(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the seal key file is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The URL without a password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = url.get(scheme_end + 3..at).unwrap_or_default();
            let user = userinfo.split(':').next().unwrap_or_default();
            format!(
                "{}{user}:***{}",
                url.get(..scheme_end + 3).unwrap_or_default(),
                url.get(at..).unwrap_or_default()
            )
        }
        _ => url.to_owned(),
    }
}

/// The provider policy for a public URL, refusing plain http off loopback
/// unless allowed.
pub fn policy_for(
    public_url: &str,
    allow_insecure_http: bool,
    realms: Vec<String>,
) -> anyhow::Result<Policy> {
    let uri = sigil_core::BaseUri::parse(public_url)
        .map_err(|e| anyhow::anyhow!("bad public URL {public_url}: {e}"))?;
    let secure = uri.is_https() || uri.is_loopback();
    if !secure && !allow_insecure_http {
        bail!(
            "public URL {public_url} is plain http on a non-loopback host: put TLS in front and give --public-url https://..., or pass --allow-insecure-http"
        );
    }
    let policy = Policy {
        public_base_url: Some(public_url.trim_end_matches('/').to_owned()),
        require_tls: !allow_insecure_http,
        realms,
        ..Policy::default()
    };
    policy.validate()?;
    Ok(policy)
}

/// A provider over `stores` (the opened ones, or a wrapping of them).
pub fn provider(stores: Stores, open: &OpenStores, policy: Policy) -> anyhow::Result<Provider> {
    Ok(Provider::new(stores, policy)?.with_password_verifier(open.sql.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://sigil.db"), "sqlite://sigil.db");
    }

    #[test]
    fn plain_http_needs_loopback_or_the_flag() {
        assert!(policy_for("http://127.0.0.1:8080", false, vec![]).is_ok());
        assert!(policy_for("http://auth.example", false, vec![]).is_err());
        assert!(policy_for("http://auth.example", true, vec![]).is_ok());
        assert!(
            policy_for("https://auth.example", false, vec![])
                .unwrap()
                .require_tls
        );
    }
}
