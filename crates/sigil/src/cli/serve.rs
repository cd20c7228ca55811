//! `sigil serve`: the provider, ready to run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use clap::Args;
use sigil_axum::{OAuthGrant, flow_router, require_oauth};
use sigil_server::{
    CredentialCache, Generation, MEMORY_ONLY_AHEAD, MemoryNonceStore, NonceStore, Provider,
};
use sigil_store::{PRESENCE_STALE_AFTER, RedisStore, ServingClaim, SqlStore};

use super::connections::{ConnectionLimits, ConnectionStats, cap_for_descriptors};
use super::settings::{FileConfig, StoreArgs, policy_for, provider};
use crate::web::{SignInLimits, Web, WebConsent, WebSettings};

/// Arguments of `sigil serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "SIGIL_LISTEN")]
    listen: Option<String>,
    /// The public base URL clients use (default http://<listen>). The
    /// signature base string is built from it.
    #[arg(long, env = "SIGIL_PUBLIC_URL")]
    public_url: Option<String>,
    /// Allow plain http on a non-loopback public URL.
    #[arg(long, env = "SIGIL_ALLOW_INSECURE_HTTP")]
    allow_insecure_http: bool,
    /// Let visitors create their own accounts in the web UI.
    #[arg(long, env = "SIGIL_OPEN_REGISTRATION")]
    open_registration: bool,
    /// A realm the provider knows, with the words the consent page shows
    /// for it: NAME or NAME=WORDS (repeatable; env: `;`-separated, so that
    /// the words may hold commas).
    #[arg(
        long = "realm",
        env = "SIGIL_REALMS",
        value_delimiter = ';',
        value_name = "NAME[=WORDS]"
    )]
    realms: Vec<String>,
    /// The service's name, shown on every page of the web UI and in its
    /// page titles (default Sigil).
    #[arg(long, env = "SIGIL_SITE_NAME")]
    site_name: Option<String>,
    /// Failed sign-ins allowed per account in the window (default 5).
    #[arg(long, env = "SIGIL_SIGN_IN_LIMIT")]
    sign_in_limit: Option<u32>,
    /// Failed sign-ins allowed per client address in the window (default 20).
    #[arg(long, env = "SIGIL_SIGN_IN_ADDRESS_LIMIT")]
    sign_in_address_limit: Option<u32>,
    /// The sign-in failure window in seconds (default 900).
    #[arg(long, env = "SIGIL_SIGN_IN_WINDOW")]
    sign_in_window: Option<u64>,
    /// Signed requests accepted per client per timestamp window (per
    /// process); beyond it 429 too_many_requests. Default: no limit.
    #[arg(long, env = "SIGIL_MAX_NONCES_PER_CLIENT")]
    max_nonces_per_client: Option<u64>,
    /// The longest Authorization header accepted, bytes (default 8192).
    #[arg(long, env = "SIGIL_MAX_HEADER_BYTES")]
    max_header_bytes: Option<usize>,
    /// The most parameters in one request (default 256).
    #[arg(long, env = "SIGIL_MAX_PARAMS")]
    max_params: Option<usize>,
    /// The longest OAuth request body, bytes (default 1048576).
    #[arg(long, env = "SIGIL_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// How often (ms) to look for changes other processes made to clients
    /// and tokens (`sigil admin`, a second instance), which are cached in
    /// memory until then; changes made through this server apply at once.
    /// 0 turns the cache off: every request reads them from the database.
    /// Default 250.
    #[arg(long, env = "SIGIL_CACHE_REFRESH_MS")]
    cache_refresh_ms: Option<u64>,
    /// Keep nonces in this process's memory instead of the database (one
    /// instance only; about 16 bytes a request for the nonce lifetime).
    /// Requests stamped more than 2 s ahead of the clock are recorded in the
    /// database too, and a bound on the rest is kept there, so a restart
    /// opens no replay window: after a clean stop, requests stamped before
    /// it are refused; after a crash, the next start waits up to about 12 s
    /// for the lease to run out. This server must be the only one on its
    /// database: it does not start beside another, and none starts beside
    /// it. Not with --redis.
    #[arg(long, env = "SIGIL_MEMORY_NONCES")]
    memory_nonces: bool,
    /// The most connections open at once (default 1024, lowered to fit the
    /// descriptor limit); one more is closed at once, with a log line and
    /// `sigil_connections_refused_total`.
    #[arg(long, env = "SIGIL_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Seconds a request head may take from its first byte (default 10);
    /// then the connection is closed.
    #[arg(long, env = "SIGIL_HEADER_READ_TIMEOUT")]
    header_read_timeout: Option<u64>,
    /// Seconds a connection may wait with no request in progress, before its
    /// first request or between kept-alive ones (default 60).
    #[arg(long, env = "SIGIL_IDLE_TIMEOUT")]
    idle_timeout: Option<u64>,
    /// Seconds one request may take, body and answer included (default 30);
    /// then 408.
    #[arg(long, env = "SIGIL_REQUEST_TIMEOUT")]
    request_timeout: Option<u64>,
    /// Where `/metrics` (Prometheus) is served, apart from the public
    /// listener: an address (default 127.0.0.1:9464, loopback so that only
    /// the machine reads it) or `off`.
    #[arg(long, env = "SIGIL_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// A proxy in front of this server whose X-Forwarded-For is believed:
    /// ADDR or ADDR/PREFIX (repeatable; env: comma-separated). For a request
    /// from one, the client's address (for the per-address sign-in limit
    /// and the logs) is the rightmost forwarded hop that is not a trusted
    /// proxy; from any other peer the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "SIGIL_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "ADDR[/PREFIX]"
    )]
    trusted_proxies: Vec<String>,
    #[command(flatten)]
    store: StoreArgs,
}

/// Where `/metrics` is served by default: loopback, apart from the public
/// listener (the port Prometheus exporters commonly take).
const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// Clients and tokens cached per process, at most this many of each.
const CACHE_CAPACITY: usize = 100_000;

/// With `--memory-nonces`: how far ahead of the clock the recorded bound on
/// memory-only timestamps runs (renewed every half of it). After a crash,
/// requests stamped up to about this long after it are refused.
const LEASE_SECONDS: u64 = 10;

fn unix_now() -> u64 {
    sigil_core::Clock::now_unix(&sigil_core::SystemClock)
}

/// `--memory-nonces`: the store (see `MemoryNonceStore::backed_by`).
struct MemoryNonces {
    store: Arc<MemoryNonceStore>,
    /// The bound a previous memory-nonce server recorded, if any.
    recorded: Option<u64>,
}

/// This server's claim on the database (see `SqlStore::claim_serving`),
/// renewed every half lease by a task of its own; with `--memory-nonces`
/// the renewal extends the lease too.
struct Serving {
    instance: i64,
    renewal: tokio::task::JoinHandle<()>,
    /// Why the claim may have been lost, once it may have been (the server
    /// then stops).
    lost: tokio::sync::watch::Receiver<Option<&'static str>>,
}

fn lease_from_now() -> u64 {
    unix_now() + MEMORY_ONLY_AHEAD + LEASE_SECONDS
}

/// Claims the database for this server, waiting while another server's
/// claim may be a dead one's: a running server renews its presence (and a
/// `--memory-nonces` server its lease) every `LEASE_SECONDS / 2`, a crashed
/// one leaves them to go stale. So a blocked start retries every 500 ms,
/// at most until they run out (about `PRESENCE_STALE_AFTER` seconds after
/// a crash), and refuses as soon as it sees one renewed. The claim is one
/// serialized transaction, so two servers starting at the same moment see
/// each other. Returns this server's id and the bound a memory-nonce
/// server recorded before (timestamps up to it are refused).
async fn claim_database(
    sql: &sigil_store::SqlStore,
    memory_nonces: bool,
) -> anyhow::Result<(i64, Option<u64>)> {
    let id = sigil_core::random_hex::<8>().context("choosing an instance id")?;
    let instance = i64::from_str_radix(&id[1..], 16).context("choosing an instance id")?;
    let (mut seen_lease, mut seen_presence) = (None, None);
    loop {
        let lease = memory_nonces.then(lease_from_now);
        let (memory_lease, newest_presence) =
            match sql.claim_serving(instance, lease, unix_now()).await? {
                ServingClaim::Granted { memory_through } => return Ok((instance, memory_through)),
                ServingClaim::Blocked {
                    memory_lease,
                    newest_presence,
                } => (memory_lease, newest_presence),
                _ => anyhow::bail!("the database refused this server's claim"),
            };
        if seen_lease.is_none() && seen_presence.is_none() {
            tracing::warn!(
                ?memory_lease,
                ?newest_presence,
                "another server recorded a claim on this database; waiting for it to run out (a server still running renews it and is refused)"
            );
        } else if memory_lease > seen_lease && seen_lease.is_some() {
            anyhow::bail!(
                "another `sigil serve --memory-nonces` is running on this database (it keeps renewing its nonce lease): the nonces it accepted are in its memory only, so a second server could not refuse their replays; stop it, or run every instance without --memory-nonces"
            );
        } else if newest_presence > seen_presence && seen_presence.is_some() {
            anyhow::bail!(
                "another `sigil serve` is running on this database: with --memory-nonces this server must be the only one, since the nonces it accepts are in its memory only; stop the other, or run this one without --memory-nonces"
            );
        }
        seen_lease = seen_lease.max(memory_lease);
        seen_presence = seen_presence.max(newest_presence);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl Serving {
    /// Renews the claim every half lease (with `memory`, extending the
    /// lease). A renewal that is refused means another server got in while
    /// this one's claim had lapsed; with nonces in memory, so does a claim
    /// not renewed for nearly [`PRESENCE_STALE_AFTER`] seconds (the
    /// database out of reach). Either way the two could accept each other's
    /// replays, so this server stops (see `lost`).
    fn renew(
        sql: Arc<sigil_store::SqlStore>,
        instance: i64,
        memory: Option<Arc<MemoryNonceStore>>,
    ) -> Self {
        let (lose, lost) = tokio::sync::watch::channel(None);
        let renewal = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(LEASE_SECONDS / 2));
            tick.tick().await;
            let mut last_granted = Instant::now();
            let give_up = Duration::from_secs(PRESENCE_STALE_AFTER - 2);
            let reason = loop {
                tick.tick().await;
                let lease = memory.is_some().then(lease_from_now);
                match sql.claim_serving(instance, lease, unix_now()).await {
                    Ok(ServingClaim::Granted { .. }) => {
                        last_granted = Instant::now();
                        if let (Some(store), Some(lease)) = (&memory, lease) {
                            store.extend_lease(lease);
                        }
                    }
                    Ok(_) => {
                        break "another server claimed this database while this one's claim had lapsed";
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "renewing this server's claim on the database failed");
                        if memory.is_some() && last_granted.elapsed() >= give_up {
                            break "this server's claim could not be renewed for too long to be sure it is the only one, as --memory-nonces needs";
                        }
                    }
                }
            };
            tracing::error!("{reason}: stopping");
            let _ = lose.send(Some(reason));
        });
        Self {
            instance,
            renewal,
            lost,
        }
    }

    /// Resolves when the claim may have been lost.
    fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut lost = self.lost.clone();
        async move {
            // An error means the renewal task is gone without a reason (the
            // stop aborted it): nothing was lost, so this never resolves.
            if lost.wait_for(Option::is_some).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// A clean stop, once every request is answered: the presence goes, and
    /// a memory-nonce lease still this server's shrinks to what was really
    /// kept in memory alone. Fails when the claim was lost.
    async fn stop(
        self,
        sql: &sigil_store::SqlStore,
        memory: Option<MemoryNonces>,
    ) -> anyhow::Result<()> {
        self.renewal.abort();
        let _ = self.renewal.await;
        let lost = *self.lost.borrow();
        if let Some(reason) = lost {
            // The lease stands as it is (maybe another server's now).
            anyhow::bail!("{reason}");
        }
        if let Some(memory) = memory {
            let through = memory
                .store
                .highest_memory_only()
                .max(memory.recorded.unwrap_or(0));
            match sql.release_memory_lease(self.instance, through).await {
                Ok(true) => {}
                Ok(false) => tracing::error!(
                    "the memory nonce lease on this database is no longer this server's; left as it is"
                ),
                Err(err) => tracing::warn!(
                    error = %err,
                    "recording the memory nonce bound failed; the lease stands"
                ),
            }
        }
        if let Err(err) = sql.leave_serving(self.instance).await {
            tracing::warn!(error = %err, "removing this server's presence failed; it goes stale by itself");
        }
        Ok(())
    }
}

impl ServeArgs {
    /// The connection limits, flags over file over defaults.
    fn connection_limits(&self, file: &FileConfig) -> anyhow::Result<ConnectionLimits> {
        let defaults = ConnectionLimits::default();
        let seconds =
            |flag: Option<u64>, key: Option<u64>, default: Duration, name: &str| match flag.or(key)
            {
                Some(0) => anyhow::bail!("--{name} must be at least 1 second"),
                Some(n) => Ok(Duration::from_secs(n)),
                None => Ok(default),
            };
        let max_connections = match self.max_connections.or(file.max_connections) {
            Some(0) => anyhow::bail!("--max-connections must be at least 1"),
            Some(n) => n,
            None => defaults.max_connections,
        };
        Ok(ConnectionLimits {
            max_connections: cap_for_descriptors(max_connections),
            header_read_timeout: seconds(
                self.header_read_timeout,
                file.header_read_timeout,
                defaults.header_read_timeout,
                "header-read-timeout",
            )?,
            idle_timeout: seconds(
                self.idle_timeout,
                file.idle_timeout,
                defaults.idle_timeout,
                "idle-timeout",
            )?,
            request_timeout: seconds(
                self.request_timeout,
                file.request_timeout,
                defaults.request_timeout,
                "request-timeout",
            )?,
        })
    }

    /// The metrics listener's address; `None` for `off`.
    fn metrics_addr(&self, file: &FileConfig) -> anyhow::Result<Option<SocketAddr>> {
        let text = self
            .metrics_listen
            .clone()
            .or_else(|| file.metrics_listen.clone())
            .unwrap_or_else(|| DEFAULT_METRICS_LISTEN.to_owned());
        if text == "off" {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .with_context(|| format!("bad --metrics-listen address {text} (an address, or off)"))
    }

    /// The realms (known names, in order) and their words, from the file
    /// and the flags.
    fn realms(&self, file: &FileConfig) -> (Vec<String>, BTreeMap<String, String>) {
        let mut names: Vec<String> = file.realms.clone().unwrap_or_default();
        let mut words = file.realm_descriptions.clone().unwrap_or_default();
        for name in words.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        for flag in &self.realms {
            let (name, description) = match flag.split_once('=') {
                Some((n, d)) => (n.trim(), Some(d.trim())),
                None => (flag.trim(), None),
            };
            if name.is_empty() {
                // A trailing `;` in SIGIL_REALMS.
                continue;
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            if let Some(description) = description {
                words.insert(name.to_owned(), description.to_owned());
            }
        }
        (names, words)
    }

    fn web_settings(&self, file: &FileConfig, words: BTreeMap<String, String>) -> WebSettings {
        let defaults = SignInLimits::default();
        WebSettings {
            open_registration: self.open_registration || file.open_registration.unwrap_or(false),
            realm_descriptions: words,
            sign_in: SignInLimits {
                per_account: self
                    .sign_in_limit
                    .or(file.sign_in_limit)
                    .unwrap_or(defaults.per_account),
                per_address: self
                    .sign_in_address_limit
                    .or(file.sign_in_address_limit)
                    .unwrap_or(defaults.per_address),
                window: self
                    .sign_in_window
                    .or(file.sign_in_window)
                    .map_or(defaults.window, Duration::from_secs),
            },
            site_name: self
                .site_name
                .clone()
                .or_else(|| file.site_name.clone())
                .unwrap_or_else(|| WebSettings::default().site_name),
            ..WebSettings::default()
        }
    }
}

/// Requests, rejections and latency, for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<MetricsInner>,
    /// The credential cache's generation, shown so that operators (and
    /// tests) can see when a change made elsewhere has been noticed.
    generation: Option<Arc<dyn Generation>>,
    /// The accept loop's counts.
    connections: Option<Arc<ConnectionStats>>,
}

/// Counts per endpoint. Looked up by `&str`, so recording a request
/// allocates only the first time an endpoint or problem is seen.
#[derive(Default)]
struct MetricsInner {
    endpoints: BTreeMap<String, EndpointStats>,
    problems: BTreeMap<String, u64>,
}

#[derive(Default)]
struct EndpointStats {
    /// By status; 0 counts every status below 400 ("ok").
    outcomes: BTreeMap<u16, u64>,
    latency: Histogram,
}

const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Metrics that also show `generation`.
    pub fn with_generation(generation: Arc<dyn Generation>) -> Self {
        Self {
            generation: Some(generation),
            ..Self::default()
        }
    }

    /// Metrics that also show the accept loop's `stats`.
    pub fn counting(self, stats: Arc<ConnectionStats>) -> Self {
        Self {
            connections: Some(stats),
            ..self
        }
    }

    fn record(&self, endpoint: &str, status: u16, problem: Option<&str>, seconds: f64) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if !inner.endpoints.contains_key(endpoint) {
            inner
                .endpoints
                .insert(endpoint.to_owned(), EndpointStats::default());
        }
        if let Some(stats) = inner.endpoints.get_mut(endpoint) {
            let outcome = if status < 400 { 0 } else { status };
            *stats.outcomes.entry(outcome).or_default() += 1;
            let h = &mut stats.latency;
            for (bucket, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
                if seconds <= *bucket {
                    *count += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
        if let Some(problem) = problem {
            match inner.problems.get_mut(problem) {
                Some(n) => *n += 1,
                None => {
                    inner.problems.insert(problem.to_owned(), 1);
                }
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let Ok(inner) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        out.push_str("# HELP sigil_requests_total Requests by endpoint and outcome.\n");
        out.push_str("# TYPE sigil_requests_total counter\n");
        for (endpoint, stats) in &inner.endpoints {
            for (status, n) in &stats.outcomes {
                let outcome = match status {
                    0 => "ok".to_owned(),
                    s => s.to_string(),
                };
                out.push_str(&format!(
                    "sigil_requests_total{{endpoint=\"{endpoint}\",outcome=\"{outcome}\"}} {n}\n"
                ));
            }
        }
        out.push_str("# HELP sigil_rejections_total Refused OAuth requests by oauth_problem.\n");
        out.push_str("# TYPE sigil_rejections_total counter\n");
        for (problem, n) in &inner.problems {
            out.push_str(&format!(
                "sigil_rejections_total{{problem=\"{problem}\"}} {n}\n"
            ));
        }
        out.push_str("# HELP sigil_request_seconds Request latency.\n");
        out.push_str("# TYPE sigil_request_seconds histogram\n");
        for (endpoint, stats) in &inner.endpoints {
            let h = &stats.latency;
            for (bucket, count) in BUCKETS.iter().zip(h.counts.iter()) {
                out.push_str(&format!(
                    "sigil_request_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{bucket}\"}} {count}\n"
                ));
            }
            out.push_str(&format!(
                "sigil_request_seconds_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {}\n",
                h.count
            ));
            out.push_str(&format!(
                "sigil_request_seconds_sum{{endpoint=\"{endpoint}\"}} {}\n",
                h.sum
            ));
            out.push_str(&format!(
                "sigil_request_seconds_count{{endpoint=\"{endpoint}\"}} {}\n",
                h.count
            ));
        }
        if let Some(generation) = &self.generation {
            out.push_str(
                "# HELP sigil_credential_generation Changes to clients and tokens seen (the credential cache is valid for one value).\n",
            );
            out.push_str("# TYPE sigil_credential_generation counter\n");
            out.push_str(&format!(
                "sigil_credential_generation {}\n",
                generation.generation()
            ));
        }
        if let Some(connections) = &self.connections {
            connections.render(&mut out);
        }
        out
    }
}

async fn me(OAuthGrant(grant): OAuthGrant) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "user": grant.user,
        "client_key": grant.client_key,
        "realms": grant.realms,
    }))
}

async fn echo(OAuthGrant(_grant): OAuthGrant, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = parts
        .uri
        .query()
        .map(|q| sigil_core::encoding::form_decode(q.as_bytes()))
        .transpose();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(sigil_core::is_form_content_type);
    // The guard already read and bounded the body.
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let form = if is_form {
        sigil_core::encoding::form_decode(&body).map(Some)
    } else {
        Ok(None)
    };
    match (query, form) {
        (Ok(query), Ok(form)) => Json(serde_json::json!({
            "method": parts.method.as_str(),
            "query": query.unwrap_or_default(),
            "form": form.unwrap_or_default(),
        }))
        .into_response(),
        _ => (StatusCode::BAD_REQUEST, "undecodable parameters").into_response(),
    }
}

/// The metrics listener's router: `/metrics` alone.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(metrics_page).with_state(metrics))
}

async fn metrics_page(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
        .into_response()
}

/// Names each request for the logs and the `X-Request-Id` response header:
/// a random prefix drawn at start, so that ids from several instances or
/// restarts do not collide, then a counter.
#[derive(Debug)]
struct RequestIds {
    prefix: u32,
    next: std::sync::atomic::AtomicU64,
}

impl RequestIds {
    /// Ids under a fresh random prefix.
    fn new() -> Self {
        let mut prefix = [0u8; 4];
        // Uniqueness only, not secrecy: a clock-derived prefix would do if
        // the OS had no randomness to give.
        let prefix = match getrandom::fill(&mut prefix) {
            Ok(()) => u32::from_le_bytes(prefix),
            Err(_) => u32::try_from(unix_now() % (1 << 32)).unwrap_or_default(),
        };
        Self {
            prefix,
            next: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// The next id, as 24 hex digits.
    fn next(&self) -> axum::http::HeaderValue {
        use std::io::Write as _;
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut text = [0u8; 24];
        let mut cursor = &mut text[..];
        // 8 + 16 hex digits fill the buffer exactly.
        let _ = write!(cursor, "{:08x}{n:016x}", self.prefix);
        axum::http::HeaderValue::from_bytes(&text)
            .unwrap_or_else(|_| axum::http::HeaderValue::from_static("-"))
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

/// What the access log and the metrics need: the counters and the ids.
struct Observer {
    metrics: Arc<Metrics>,
    ids: RequestIds,
}

/// The access log, one line per request at info (refusals and failures
/// too), and one metrics sample. The line has the request id (also sent as
/// `X-Request-Id`), method, path without the query (which may carry
/// protocol parameters), matched route, status, time, client key, the
/// client's address and the problem; never a secret or a signature.
async fn observe(State(observer): State<Arc<Observer>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = observer.ids.next();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let endpoint = matched.as_ref().map_or("unmatched", |p| p.as_str());
    let method = request.method().clone();
    // The path is ASCII that `http` checked; only the query is left out.
    // (A `Uri` clone shares its bytes.)
    let uri = request.uri().clone();
    let address = request
        .extensions()
        .get::<crate::forwarded::ClientAddress>()
        .map(|a| a.0);
    let mut response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let problem = response
        .extensions()
        .get::<sigil_axum::ProblemName>()
        .map(|p| p.0.as_str());
    let client = response
        .extensions()
        .get::<sigil_axum::ClientKey>()
        .map(|c| c.0.as_str());
    observer.metrics.record(endpoint, status, problem, seconds);
    tracing::info!(
        request_id = id.to_str().unwrap_or("-"),
        method = %method,
        path = uri.path(),
        endpoint,
        status,
        latency_ms = seconds * 1000.0,
        client_key = client.unwrap_or("-"),
        address = address.map(tracing::field::display),
        problem = problem.unwrap_or("-"),
        "request"
    );
    response
        .headers_mut()
        .insert(axum::http::HeaderName::from_static("x-request-id"), id);
    response
}

/// What `/readyz` asks before it answers 200: the database, and Redis when
/// one is configured.
#[derive(Clone, Debug)]
pub struct Readiness {
    sql: Arc<SqlStore>,
    redis: Option<RedisStore>,
}

impl Readiness {
    /// Readiness of the stores `open` holds.
    pub fn of(open: &super::settings::OpenStores) -> Self {
        Self {
            sql: open.sql.clone(),
            redis: open.redis.clone(),
        }
    }
}

/// How long `/readyz` waits for each dependency: a probe must answer
/// quickly, and a dependency that slow is not serving requests either.
const READY_WAIT: Duration = Duration::from_secs(2);

/// `/readyz`: 200 when every dependency answers, else 503 naming the first
/// that did not (the cause goes to the log, not to the reply).
async fn readyz(State(readiness): State<Readiness>) -> Response {
    let database = tokio::time::timeout(READY_WAIT, readiness.sql.ping()).await;
    if let Err(reason) = answered(database) {
        tracing::warn!(reason, "not ready: the database does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: database\n").into_response();
    }
    if let Some(redis) = &readiness.redis
        && let Err(reason) = answered(tokio::time::timeout(READY_WAIT, redis.ping()).await)
    {
        tracing::warn!(reason, "not ready: Redis does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: redis\n").into_response();
    }
    "ready\n".into_response()
}

fn answered(
    outcome: Result<Result<(), sigil_server::StoreError>, tokio::time::error::Elapsed>,
) -> Result<(), String> {
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {} s", READY_WAIT.as_secs())),
    }
}

/// The whole application: flow endpoints, web UI, demo API, liveness
/// (`/healthz`) and readiness (`/readyz`); metrics have a listener of their
/// own.
pub fn app(
    provider: Arc<Provider>,
    web: Arc<Web>,
    metrics: Arc<Metrics>,
    readiness: Readiness,
) -> Router {
    let https = provider
        .policy()
        .public_base_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let api = Router::new()
        .route("/api/me", get(me).post(me))
        .route("/api/echo", get(echo).post(echo).put(echo))
        .route_layer(require_oauth(provider.clone(), &[]));
    let site = Router::new()
        .nest(
            "/oauth",
            flow_router(provider, Arc::new(WebConsent::new(web.clone()))),
        )
        .merge(crate::web::router(web))
        .merge(api)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz).with_state(readiness));
    let observer = Arc::new(Observer {
        metrics,
        ids: RequestIds::new(),
    });
    crate::web::with_security_headers(site, https)
        .layer(axum::middleware::from_fn_with_state(observer, observe))
}

/// The application of [`run`] on `database` with the default settings and
/// no background tasks (see `sigil::serve_app`).
pub async fn app_on(database: &str, public_url: &str) -> anyhow::Result<Router> {
    let file = FileConfig::default();
    let store = StoreArgs {
        database: Some(database.to_owned()),
        ..StoreArgs::default()
    };
    let open = store.open(&file).await?;
    let policy = policy_for(public_url, false, Vec::new())?;
    let provider = Arc::new(provider(open.stores.clone(), &open, policy)?);
    let web = Arc::new(Web::new(
        open.sql.clone(),
        provider.clone(),
        public_url,
        WebSettings::default(),
    )?);
    let metrics = Arc::new(Metrics::with_generation(open.sql.clone()));
    Ok(app(provider, web, metrics, Readiness::of(&open)))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// A stop signal, or the claim on the database lost.
async fn stopped(lost: impl std::future::Future<Output = ()>) {
    tokio::select! {
        () = shutdown_signal() => {},
        () = lost => {},
    }
}

/// Runs `sigil serve`.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let file = FileConfig::load(args.store.config.as_ref())?;
    let listen = args
        .listen
        .clone()
        .or_else(|| file.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("bad listen address {listen}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .or_else(|| file.public_url.clone())
        .unwrap_or_else(|| format!("http://{bound}"));
    let insecure = args.allow_insecure_http || file.allow_insecure_http.unwrap_or(false);
    let (realms, words) = args.realms(&file);
    let mut policy = policy_for(&public_url, insecure, realms)?;
    policy.max_nonces_per_client = args.max_nonces_per_client.or(file.max_nonces_per_client);
    let limits = &mut policy.limits;
    if let Some(n) = args.max_header_bytes.or(file.max_header_bytes) {
        limits.max_header_len = n;
    }
    if let Some(n) = args.max_params.or(file.max_params) {
        limits.max_params = n;
    }
    if let Some(n) = args.max_body_bytes.or(file.max_body_bytes) {
        limits.max_body_len = n;
    }
    let memory_nonces = args.memory_nonces || file.memory_nonces.unwrap_or(false);
    if memory_nonces && (args.store.redis.is_some() || file.redis.is_some()) {
        anyhow::bail!(
            "--memory-nonces keeps nonces in one process; with --redis they are shared already"
        );
    }
    policy.validate()?;
    let limits = args.connection_limits(&file)?;
    let proxies = if args.trusted_proxies.is_empty() {
        file.trusted_proxies.clone().unwrap_or_default()
    } else {
        args.trusted_proxies.clone()
    };
    let proxies = Arc::new(crate::forwarded::TrustedProxies::parse(
        proxies.iter().map(String::as_str),
    )?);
    let metrics_addr = args.metrics_addr(&file)?;
    let open = args.store.open(&file).await?;
    // A server that kept nonces in memory ran on this database: refuse every
    // timestamp up to the bound it recorded (whichever store this run uses),
    // since only it knew those nonces.
    let (instance, memory_through) = claim_database(&open.sql, memory_nonces).await?;
    if let Some(through) = memory_through {
        policy.timestamps_from = Some(through.saturating_add(1));
    }
    let mut stores = open.stores.clone();
    let refresh = args
        .cache_refresh_ms
        .or(file.cache_refresh_ms)
        .unwrap_or(250);
    if refresh > 0 {
        let cache = Arc::new(CredentialCache::new(
            stores.clients.clone(),
            stores.tokens.clone(),
            open.sql.clone(),
            CACHE_CAPACITY,
        ));
        stores.clients = cache.clone();
        stores.tokens = cache;
        let sql = open.sql.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(refresh));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // A failed read empties the cache too (see refresh_generation).
                if let Err(err) = sql.refresh_generation().await {
                    tracing::warn!(error = %err, "checking for credential changes failed");
                }
            }
        });
    }
    let memory = if memory_nonces {
        // The claim recorded the first lease.
        let lease = open
            .sql
            .memory_nonces_through()
            .await?
            .unwrap_or_else(lease_from_now);
        let store = Arc::new(MemoryNonceStore::backed_by(
            policy.nonce_lifetime,
            stores.nonces.clone(),
            open.sql.newest_nonce_timestamp().await?,
            lease,
        ));
        stores.nonces = store.clone();
        Some(MemoryNonces {
            store,
            recorded: memory_through,
        })
    } else {
        None
    };
    let serving = Serving::renew(
        open.sql.clone(),
        instance,
        memory.as_ref().map(|m| m.store.clone()),
    );
    let provider = Arc::new(provider(stores, &open, policy)?);
    let web = Arc::new(Web::new(
        open.sql.clone(),
        provider.clone(),
        &public_url,
        args.web_settings(&file, words),
    )?);

    // Sweep expired nonces and temporary credentials in the background.
    let sweeper = open.sql.clone();
    let sweeper_memory = memory.as_ref().map(|m| m.store.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = unix_now();
            if let Err(err) = sweeper.sweep(now).await {
                tracing::warn!(error = %err, "sweep failed");
            }
            if let Some(memory) = &sweeper_memory {
                let _ = memory.purge_nonces(now).await;
            }
        }
    });

    let connection_stats = Arc::new(ConnectionStats::default());
    let metrics =
        Arc::new(Metrics::with_generation(open.sql.clone()).counting(connection_stats.clone()));
    let metrics_listener = match metrics_addr {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen for metrics on {addr} (--metrics-listen ADDR elsewhere, or off)")
        })?),
        None => None,
    };
    tracing::info!(listen = %bound, public_url, database = %super::settings::redact_url(&args.store.database_url(&file)), redis = open.redis.is_some(), max_connections = limits.max_connections, "sigil serve ready");
    if let Some(listener) = metrics_listener {
        let at = listener.local_addr()?;
        // Scripts and tests read this line to learn the metrics port.
        println!("metrics on http://{at}/metrics");
        let router = metrics_router(metrics.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(error = %err, "the metrics listener failed");
            }
        });
    }
    // Scripts and tests read this line to learn the port.
    println!("listening on http://{bound}");
    super::connections::serve(
        listener,
        app(provider, web, metrics, Readiness::of(&open)),
        limits,
        proxies,
        connection_stats,
        stopped(serving.lost()),
    )
    .await;
    let stopped = serving.stop(&open.sql, memory).await;
    open.sql.close().await;
    stopped
}
