//! The accept loop of `sigil serve`: HTTP/1.1 connections with a cap on how
//! many are open, a deadline for each request head, an idle keep-alive
//! deadline and a deadline for a whole request, so that slow or silent
//! clients cannot hold descriptors for ever (axum's own `serve` has none).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::forwarded::{ClientAddress, TrustedProxies};

/// Connection limits, each on by default.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// The most connections open at once; one more is closed at accept.
    pub max_connections: usize,
    /// How long a request head may take from its first byte.
    pub header_read_timeout: Duration,
    /// How long a connection may wait with no request in progress (a new
    /// one before its first request, a kept-alive one between requests).
    pub idle_timeout: Duration,
    /// How long one request may take, body and answer included; then 408.
    pub request_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What the accept loop counts, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Connections open now.
    pub open: AtomicUsize,
    /// Connections closed at accept because the cap was reached.
    pub refused: AtomicU64,
    /// Connections closed for a slow head or for idling.
    pub timed_out: AtomicU64,
    /// Requests answered 408 for taking too long.
    pub requests_timed_out: AtomicU64,
}

impl ConnectionStats {
    /// The Prometheus lines.
    pub fn render(&self, out: &mut String) {
        let lines = [
            (
                "sigil_connections_open",
                "gauge",
                "Connections open now.",
                self.open.load(Ordering::Relaxed) as u64,
            ),
            (
                "sigil_connections_refused_total",
                "counter",
                "Connections closed at accept: the connection cap was reached.",
                self.refused.load(Ordering::Relaxed),
            ),
            (
                "sigil_connections_timed_out_total",
                "counter",
                "Connections closed for a slow request head or for idling.",
                self.timed_out.load(Ordering::Relaxed),
            ),
            (
                "sigil_requests_timed_out_total",
                "counter",
                "Requests answered 408 for taking longer than the request timeout.",
                self.requests_timed_out.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in lines {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
    }
}

/// Where a connection stands, shared by its reader, its service and its
/// watchdog. Times are milliseconds since `origin`.
struct Phase {
    origin: Instant,
    /// Requests whose head was read and whose answer is not yet written.
    in_flight: AtomicUsize,
    /// When the connection last became idle (no request in progress).
    idle_since: AtomicU64,
    /// When the first byte of the next head arrived; `u64::MAX`: none yet.
    head_started: AtomicU64,
}

const NO_HEAD: u64 = u64::MAX;

impl Phase {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NO_HEAD),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self.head_started.load(Ordering::Relaxed) == NO_HEAD
        {
            self.head_started.store(self.now(), Ordering::Relaxed);
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(NO_HEAD, Ordering::Relaxed);
    }

    fn request_ended(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle_since.store(self.now(), Ordering::Relaxed);
        }
    }

    /// Whether the connection is past a deadline.
    fn overdue(&self, limits: &ConnectionLimits) -> bool {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return false;
        }
        let now = self.now();
        let head = self.head_started.load(Ordering::Relaxed);
        if head != NO_HEAD {
            return now.saturating_sub(head) >= millis(limits.header_read_timeout);
        }
        now.saturating_sub(self.idle_since.load(Ordering::Relaxed)) >= millis(limits.idle_timeout)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A socket that tells its [`Phase`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    phase: Arc<Phase>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.phase.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Ends a request's [`Phase`] however its future ends (answered, or dropped
/// with the connection).
struct InFlight(Arc<Phase>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// The highest cap that leaves room under the process's descriptor limit
/// (the database, logs and the metrics listener need some), read from
/// `/proc/self/limits` where there is one.
pub fn cap_for_descriptors(wanted: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        });
    match soft {
        Some(limit) if wanted.saturating_add(64) > limit => {
            let cap = limit.saturating_sub(64).max(1);
            tracing::warn!(
                wanted,
                cap,
                descriptor_limit = limit,
                "the connection cap is above what the descriptor limit leaves room for; lowered (raise `ulimit -n` or LimitNOFILE to keep it)"
            );
            cap
        }
        _ => wanted,
    }
}

/// Serves `app` on `listener` until `stop` resolves, then stops accepting,
/// lets every open connection finish its request in flight, and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    stats: Arc<ConnectionStats>,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stopping, stop_seen) = watch::channel(false);
    let mut last_cap_log: Option<Instant> = None;
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            if last_cap_log.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
                last_cap_log = Some(Instant::now());
                tracing::warn!(
                    max_connections = limits.max_connections,
                    refused_so_far = stats.refused.load(Ordering::Relaxed),
                    "connection cap reached: closing new connections until some end (--max-connections)"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        stats.open.fetch_add(1, Ordering::Relaxed);
        let app = app.clone();
        let stats = stats.clone();
        let proxies = proxies.clone();
        let mut stop_seen = stop_seen.clone();
        tokio::spawn(async move {
            let served = Served { app, proxies, peer };
            connection(stream, served, limits, &stats, &mut stop_seen).await;
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every connection holds a permit until it is done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// What one connection serves, and to whom.
struct Served {
    app: Router,
    proxies: Arc<TrustedProxies>,
    peer: SocketAddr,
}

async fn connection(
    stream: TcpStream,
    served: Served,
    limits: ConnectionLimits,
    stats: &Arc<ConnectionStats>,
    stop_seen: &mut watch::Receiver<bool>,
) {
    let phase = Arc::new(Phase::new());
    let io = TokioIo::new(Watched {
        stream,
        phase: phase.clone(),
    });
    let Served { app, proxies, peer } = served;
    let service_phase = phase.clone();
    let service_stats = stats.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        service_phase.request_started();
        let guard = InFlight(service_phase.clone());
        let client = proxies.client(peer.ip(), request.headers());
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(ClientAddress(client));
        let app = app.clone();
        let stats = service_stats.clone();
        async move {
            let _guard = guard;
            let answer = app.oneshot(request.map(axum::body::Body::new));
            match tokio::time::timeout(limits.request_timeout, answer).await {
                Ok(answer) => answer,
                Err(_) => {
                    stats.requests_timed_out.fetch_add(1, Ordering::Relaxed);
                    let mut response =
                        (StatusCode::REQUEST_TIMEOUT, "request took too long\n").into_response();
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                    Ok(response)
                }
            }
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let tick = (limits.header_read_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut watchdog = tokio::time::interval(tick);
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = watchdog.tick() => {
                if phase.overdue(&limits) {
                    stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "closing a connection: slow request head or idle");
                    return;
                }
            }
            changed = stop_seen.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_overdue_only_between_requests() {
        let limits = ConnectionLimits {
            header_read_timeout: Duration::ZERO,
            idle_timeout: Duration::from_secs(3600),
            ..ConnectionLimits::default()
        };
        let phase = Phase::new();
        assert!(!phase.overdue(&limits), "idle, within the idle timeout");
        phase.bytes_read();
        assert!(phase.overdue(&limits), "a head started, past its deadline");
        phase.request_started();
        assert!(
            !phase.overdue(&limits),
            "a request in progress is never cut here"
        );
        phase.bytes_read();
        assert!(!phase.overdue(&limits), "body bytes are not a head");
        phase.request_ended();
        assert!(!phase.overdue(&limits), "idle again");
        let idle = ConnectionLimits {
            idle_timeout: Duration::ZERO,
            ..limits
        };
        assert!(phase.overdue(&idle));
    }
}
