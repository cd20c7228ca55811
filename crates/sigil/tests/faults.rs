//! Faults in dependencies: Redis stopped, or PostgreSQL cut off, under a
//! running `sigil serve`. Requests get 503 `temporarily_unavailable` (fail
//! closed: never a 200 that skipped the replay check), and the service
//! recovers by itself when the dependency returns. Runs under ./test.sh
//! (SIGIL_SERVICE_TESTS=1): Redis is a redis-server of the test's own on a
//! free port; PostgreSQL is the machine's, reached through a TCP proxy of
//! the test's own that it can cut and restore.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{PgDatabase, Site, api_me, free_port, services};
use tokio::task::JoinHandle;

/// A redis-server of the test's own, keeping nothing on disk.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (./test.sh installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_closed_and_recovers_by_itself() {
    if !services() {
        eprintln!("skipped: fault tests run under ./test.sh (SIGIL_SERVICE_TESTS=1)");
        return;
    }
    let port = free_port();
    let mut redis = Redis::start(port);
    let site = Site::start_on(Some(&redis.url()), "http://127.0.0.1:9/callback", &[]);
    let base = site.server.base.clone();
    let flow = site.flow();
    let credentials = site.dance(&flow).await;
    assert_eq!(api_me(&base, &flow, &credentials).await.0, 200);

    // Redis gone: every signed request is refused with 503, none passes.
    redis.stop();
    for _ in 0..5 {
        let (status, body) = api_me(&base, &flow, &credentials).await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("temporarily_unavailable"), "{body}");
    }
    let refused = flow.request_token("oob", &[]).await.unwrap_err();
    assert_eq!(refused.to_string(), "503: temporarily_unavailable");
    // The process stays up and says so on /healthz; /readyz says it cannot
    // serve, and why.
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(readyz(&base).await, (503, "not ready: redis\n".to_owned()));

    // Redis back on the same port: the service recovers without a restart.
    let _redis = Redis::start(port);
    let started = Instant::now();
    loop {
        let (status, body) = api_me(&base, &flow, &credentials).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no recovery after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And a whole new dance works again.
    let again = site.dance(&flow).await;
    assert_eq!(api_me(&base, &flow, &again).await.0, 200);
    assert_eq!(readyz(&base).await, (200, "ready\n".to_owned()));
}

/// `/readyz`: status and body.
async fn readyz(base: &str) -> (u16, String) {
    let answer = reqwest::get(format!("{base}/readyz")).await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

/// A TCP proxy to `upstream` that can be cut (every connection dropped,
/// new ones refused) and restored: a database that goes away and comes
/// back, without touching the machine's server.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (flag, list) = (up.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound); // refused while cut
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                list.lock().unwrap().push(task);
            }
        });
        Self {
            port,
            up,
            connections,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cut_off_fails_closed_and_recovers_by_itself() {
    if !services() {
        eprintln!("skipped: fault tests run under ./test.sh (SIGIL_SERVICE_TESTS=1)");
        return;
    }
    let database = PgDatabase::create();
    let upstream = database
        .url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let upstream: &'static str = Box::leak(upstream.into_boxed_str());
    let proxy = Proxy::start(upstream).await;
    let through_proxy = database
        .url
        .replace(upstream, &format!("127.0.0.1:{}", proxy.port));
    let site = Site::start_in(
        Some(&through_proxy),
        None,
        "http://127.0.0.1:9/callback",
        &[],
    );
    let base = site.server.base.clone();
    let flow = site.flow();
    let credentials = site.dance(&flow).await;
    assert_eq!(api_me(&base, &flow, &credentials).await.0, 200);

    proxy.cut();
    for _ in 0..2 {
        let (status, body) = api_me(&base, &flow, &credentials).await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("temporarily_unavailable"), "{body}");
    }
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        readyz(&base).await,
        (503, "not ready: database\n".to_owned())
    );

    proxy.restore();
    let started = Instant::now();
    loop {
        let (status, body) = api_me(&base, &flow, &credentials).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no recovery after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let again = site.dance(&flow).await;
    assert_eq!(api_me(&base, &flow, &again).await.0, 200);
    assert_eq!(readyz(&base).await, (200, "ready\n".to_owned()));
}
