//! `sigil bench`: a load generator that signs every request with a fresh
//! nonce and the current timestamp, over keep-alive connections. It sends
//! only to the URL given and stops by itself at the duration.

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
    let client = reqwest::Client::builder()
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
    let progress = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let counters = counters.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let done = counters.ok.load(Ordering::Relaxed)
                    + counters.unauthorized.load(Ordering::Relaxed)
                    + counters.other.load(Ordering::Relaxed);
                eprint!(
                    "\r{done} requests, {:.0}/s   ",
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
    let total = latencies.len() as f64;
    let (ok, unauthorized, other, errors) = (
        counters.ok.load(Ordering::Relaxed),
        counters.unauthorized.load(Ordering::Relaxed),
        counters.other.load(Ordering::Relaxed),
        counters.errors.load(Ordering::Relaxed),
    );
    let report = serde_json::json!({
        "url": args.url,
        "concurrency": args.concurrency,
        "seconds": elapsed,
        "requests_per_second": total / elapsed,
        "status": {
            "200": ok,
            "401": unauthorized,
            "other": other,
        },
        "transport_errors": errors,
        "latency_ms": { "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0) },
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{:.0} requests/s over {:.1} s with {} connections\nstatus: 2xx {}  401 {}  other {}  transport errors {}\nlatency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
            total / elapsed,
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
    Ok(())
}
