//! `sigil bench`: a load generator that signs every request with a fresh
//! nonce and the current timestamp, over keep-alive connections. It sends
//! only to the URL given and stops by itself at the duration. With
//! `--flow`, each worker runs whole three-legged dances against a
//! `sigil serve` at that URL instead: request token, approval in the web UI
//! (signed in as `--user`), access token, one call to `/api/me`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use clap::Args;
use sigil_client::{Consumer, Signer, Token};
use sigil_core::SignatureMethod;

use super::Failure;

/// Arguments of `sigil bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    tls: super::tls::TlsArgs,
    /// The URL to load (and nothing else).
    #[arg(long)]
    url: String,
    /// Consumer key.
    #[arg(long)]
    consumer_key: String,
    /// Consumer secret.
    #[arg(long, default_value = "")]
    consumer_secret: String,
    /// Token.
    #[arg(long)]
    token: Option<String>,
    /// Token secret.
    #[arg(long)]
    token_secret: Option<String>,
    /// Signature method (shared-secret methods).
    #[arg(long, default_value = "HMAC-SHA1")]
    signature_method: String,
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// Form body parameter, name=value (repeatable).
    #[arg(long = "form", value_name = "NAME=VALUE")]
    form: Vec<String>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds to run (at most 3600).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Run whole dances against the `sigil serve` at --url (its base URL)
    /// and report dances/s.
    #[arg(long)]
    flow: bool,
    /// With --flow: the resource owner who approves, in the web UI.
    #[arg(long)]
    user: Option<String>,
    /// With --flow: that user's password.
    #[arg(long, env = "SIGIL_BENCH_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// With --flow: the callback to ask for (default oob; a registered URL
    /// is never contacted, the verifier is read from the redirect).
    #[arg(long, default_value = "oob")]
    callback: String,
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    unauthorized: AtomicU64,
    other: AtomicU64,
    errors: AtomicU64,
}

/// Runs `sigil bench`.
pub async fn run(args: BenchArgs) -> Result<(), Failure> {
    let method: SignatureMethod = args.signature_method.parse().map_err(|_| {
        Failure::usage(anyhow!(
            "unknown signature method {}",
            args.signature_method
        ))
    })?;
    if method.is_rsa() {
        return Err(Failure::usage(anyhow!(
            "sigil bench signs with shared secrets only"
        )));
    }
    if args.concurrency == 0
        || args.concurrency > 1024
        || args.duration == 0
        || args.duration > 3600
    {
        return Err(Failure::usage(anyhow!(
            "concurrency must be 1..=1024 and duration 1..=3600 s"
        )));
    }
    let mut signer =
        Signer::new(Consumer::new(&args.consumer_key, &args.consumer_secret)).method(method);
    if let Some(token) = &args.token {
        signer = signer.token(Token::new(
            token,
            args.token_secret.clone().unwrap_or_default(),
        ));
    }
    if args.flow {
        return run_flow(&args, signer).await;
    }
    let pairs: Vec<(String, String)> = args
        .form
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .ok_or_else(|| Failure::usage(anyhow!("expected NAME=VALUE, got {p:?}")))
        })
        .collect::<Result<_, _>>()?;
    let body =
        sigil_core::encoding::form_encode(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let content_type = (!pairs.is_empty()).then_some("application/x-www-form-urlencoded");
    let http_method: reqwest::Method = args
        .method
        .parse()
        .map_err(|_| Failure::usage(anyhow!("bad method {}", args.method)))?;
    let client = args
        .tls
        .builder()?
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(|e| Failure::from(anyhow!(e)))?;
    let counters = Arc::new(Counters::default());
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, signer, counters) = (client.clone(), signer.clone(), counters.clone());
        let (url, body, http_method) = (args.url.clone(), body.clone(), http_method.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let Ok(signed) =
                    signer.sign_parts(http_method.as_str(), &url, content_type, body.as_bytes())
                else {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let mut request = client.request(http_method.clone(), &signed.url);
                if let Some(auth) = signed.authorization {
                    request = request.header(reqwest::header::AUTHORIZATION, auth);
                }
                if let Some(ct) = signed.content_type {
                    request = request
                        .header(reqwest::header::CONTENT_TYPE, ct)
                        .body(signed.body);
                }
                let sent = Instant::now();
                match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed());
                        let counter = match status {
                            200..=299 => &counters.ok,
                            401 => &counters.unauthorized,
                            _ => &counters.other,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    report(&args, "requests", started, counters, workers).await;
    Ok(())
}

/// Waits for the workers (showing progress on a terminal) and prints what
/// they did: `unit` per second, status counts and latency percentiles.
async fn report(
    args: &BenchArgs,
    unit: &str,
    started: Instant,
    counters: Arc<Counters>,
    workers: Vec<tokio::task::JoinHandle<Vec<Duration>>>,
) {
    let progress = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let counters = counters.clone();
        let unit = unit.to_owned();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let done = counters.ok.load(Ordering::Relaxed)
                    + counters.unauthorized.load(Ordering::Relaxed)
                    + counters.other.load(Ordering::Relaxed);
                eprint!(
                    "\r{done} {unit}, {:.0}/s   ",
                    done as f64 / started.elapsed().as_secs_f64()
                );
            }
        })
    });
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap_or_default());
    }
    if let Some(p) = progress {
        p.abort();
        eprintln!();
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let (ok, unauthorized, other, errors) = (
        counters.ok.load(Ordering::Relaxed),
        counters.unauthorized.load(Ordering::Relaxed),
        counters.other.load(Ordering::Relaxed),
        counters.errors.load(Ordering::Relaxed),
    );
    // Rates count what succeeded (for requests: every answer).
    let done = if unit == "dances" {
        ok as f64
    } else {
        latencies.len() as f64
    };
    let mut report = serde_json::json!({
        "url": args.url,
        "mode": if unit == "dances" { "flow" } else { "requests" },
        "concurrency": args.concurrency,
        "seconds": elapsed,
        "status": {
            "200": ok,
            "401": unauthorized,
            "other": other,
        },
        "transport_errors": errors,
        "latency_ms": { "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0) },
    });
    if let Some(fields) = report.as_object_mut() {
        fields.insert(
            format!("{unit}_per_second"),
            serde_json::json!(done / elapsed),
        );
    }
    if args.json {
        println!("{report}");
    } else if unit == "dances" {
        println!(
            "{:.1} dances/s over {:.1} s with {} workers\ndances: completed {}  refused at /api/me {}  failed earlier {}\nlatency ms per dance: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
            done / elapsed,
            elapsed,
            args.concurrency,
            ok,
            other + unauthorized,
            errors,
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        );
    } else {
        println!(
            "{:.0} requests/s over {:.1} s with {} connections\nstatus: 2xx {}  401 {}  other {}  transport errors {}\nlatency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
            done / elapsed,
            elapsed,
            args.concurrency,
            ok,
            unauthorized,
            other,
            errors,
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        );
    }
}

/// The cookies a response sets, as `name=value` pairs.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter(|pair| !pair.ends_with('='))
        .map(str::to_owned)
        .collect()
}

/// The value of the hidden input `name` in a page.
fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let rest = html.get(start..)?;
    Some(rest.get(..rest.find('"')?)?.to_owned())
}

/// Signs in through the web UI: the session cookie and its CSRF token.
async fn web_sign_in(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<(String, String)> {
    let form = http.get(format!("{base}/login")).send().await?;
    let form_cookie = set_cookies(&form).join("; ");
    let csrf = hidden_field(&form.text().await?, "csrf")
        .ok_or_else(|| anyhow!("no sign-in form at {base}/login"))?;
    let signed_in = http
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, form_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("next", "/"),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await?;
    if signed_in.status().as_u16() != 303 {
        return Err(anyhow!(
            "sign-in as {user} refused ({})",
            signed_in.status()
        ));
    }
    let session = set_cookies(&signed_in)
        .into_iter()
        .find(|c| c.contains("sigil_session="))
        .ok_or_else(|| anyhow!("no session cookie"))?;
    let home = http
        .get(format!("{base}/"))
        .header(reqwest::header::COOKIE, &session)
        .send()
        .await?
        .text()
        .await?;
    let csrf = hidden_field(&home, "csrf").ok_or_else(|| anyhow!("no CSRF token"))?;
    Ok((session, csrf))
}

/// One dance: request token, approval, access token, `/api/me`.
async fn dance(
    flow: &sigil_client::Flow,
    http: &reqwest::Client,
    base: &str,
    callback: &str,
    (session, csrf): (&str, &str),
) -> anyhow::Result<u16> {
    let temporary = flow.request_token(callback, &[]).await?;
    let approved = http
        .post(format!("{base}/oauth/authorize"))
        .header(reqwest::header::COOKIE, session)
        .form(&[
            ("csrf", csrf),
            ("oauth_token", temporary.token.token.as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await?;
    let verifier = match approved.headers().get(reqwest::header::LOCATION) {
        Some(location) => {
            let location = location.to_str().unwrap_or_default();
            let query = location.split_once('?').map_or("", |(_, q)| q);
            sigil_axum::query_value(query, "oauth_verifier")
        }
        None => {
            let page = approved.text().await?;
            page.split("<output id=\"verifier\">")
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .map(|v| v.trim().to_owned())
        }
    }
    .ok_or_else(|| anyhow!("approval gave no verifier"))?;
    let credentials = flow.access_token(&temporary, &verifier).await?;
    let signed =
        flow.signer_for(&credentials)
            .sign_parts("GET", &format!("{base}/api/me"), None, b"")?;
    let mut request = http.get(&signed.url);
    if let Some(auth) = signed.authorization {
        request = request.header(reqwest::header::AUTHORIZATION, auth);
    }
    let response = request.send().await?;
    Ok(response.status().as_u16())
}

/// `sigil bench --flow`.
async fn run_flow(args: &BenchArgs, signer: Signer) -> Result<(), Failure> {
    let (Some(user), Some(password)) = (&args.user, &args.password) else {
        return Err(Failure::usage(anyhow!(
            "--flow needs --user and --password (or SIGIL_BENCH_PASSWORD)"
        )));
    };
    let base = args.url.trim_end_matches('/').to_owned();
    let http = args
        .tls
        .builder()?
        .no_redirects()
        .pool_max_idle_per_host(args.concurrency * 2)
        .build()
        .map_err(|e| Failure::from(anyhow!(e)))?;
    let flow = sigil_client::Flow::new(sigil_client::ServiceProfile::sigil(&base), signer)
        .http_client(http.clone());
    let session = web_sign_in(&http, &base, user, password)
        .await
        .map_err(Failure::from)?;
    let counters = Arc::new(Counters::default());
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (flow, http, counters) = (flow.clone(), http.clone(), counters.clone());
        let (base, callback, session) = (base.clone(), args.callback.clone(), session.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let began = Instant::now();
                match dance(&flow, &http, &base, &callback, (&session.0, &session.1)).await {
                    Ok(200) => {
                        latencies.push(began.elapsed());
                        counters.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(401) => {
                        counters.unauthorized.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        counters.other.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    report(args, "dances", started, counters, workers).await;
    Ok(())
}
