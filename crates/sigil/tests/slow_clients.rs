//! Slow and silent clients cannot hold `sigil serve`'s connections: a
//! request head must be complete within the header-read timeout, an idle
//! connection is closed after the idle timeout, and past the connection cap
//! new connections are closed at once (with a log line and a metric) while
//! the ones already open are still served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{Server, sqlite_url};

/// Whether the server closed `stream` within `within` (reads end).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => {}
        }
    }
    false
}

/// One `GET path` on a fresh connection; the whole answer.
fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// One whole `/healthz` answer ("ok\n" ends it) off a kept-alive stream.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"\r\n\r\nok\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed mid-answer");
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn healthz(addr: &str) -> String {
    get(addr, "/healthz")
}

fn metric(server: &Server, name: &str) -> u64 {
    let url = server.metrics.clone().unwrap();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    let text = get(addr, "/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

#[test]
fn half_open_and_idle_connections_are_closed_and_others_served_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_args(
        &sqlite_url(&dir),
        None,
        None,
        "127.0.0.1:0",
        &["--header-read-timeout", "2", "--idle-timeout", "3"],
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    // Heads that never end: some sent whole but for the blank line, some
    // trickled a byte at a time.
    let mut stuck: Vec<TcpStream> = (0..30)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    let mut trickling: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    // Idle: connected, nothing sent.
    let mut idle: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let started = Instant::now();
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n".iter().take(4) {
        for s in &mut trickling {
            let _ = s.write_all(&[*byte]);
        }
        // Other clients are answered meanwhile.
        assert!(healthz(&addr).starts_with("HTTP/1.1 200"));
        std::thread::sleep(Duration::from_millis(300));
    }
    for s in stuck.iter_mut().chain(trickling.iter_mut()) {
        assert!(
            closed_within(s, Duration::from_secs(4)),
            "a half-open head stayed open"
        );
    }
    let heads_closed = started.elapsed();
    assert!(
        heads_closed >= Duration::from_secs(2),
        "closed before the timeout: {heads_closed:?}"
    );
    for s in &mut idle {
        assert!(
            closed_within(s, Duration::from_secs(4)),
            "an idle connection stayed open"
        );
    }
    assert!(metric(&server, "sigil_connections_timed_out_total") >= 50);
    assert!(healthz(&addr).starts_with("HTTP/1.1 200"));
    server.stop();
}

#[test]
fn past_the_cap_new_connections_are_closed_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let server = Server::start_logging(
        &sqlite_url(&dir),
        &[
            "--max-connections",
            "20",
            "--header-read-timeout",
            "2",
            "--idle-timeout",
            "2",
        ],
        &log,
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    // A kept-alive client that is being served holds one of the 20.
    let mut kept = TcpStream::connect(&addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(read_answer(&mut kept).starts_with("HTTP/1.1 200"));
    let mut held: Vec<TcpStream> = (0..19)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // The 21st is closed at once.
    let mut extra = TcpStream::connect(&addr).unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(closed_within(&mut extra, Duration::from_secs(1)));
    // The one already open is still served.
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = read_answer(&mut kept);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    drop(kept);
    // Once the slow ones are cut, everyone is served again.
    for s in &mut held {
        assert!(closed_within(s, Duration::from_secs(4)));
    }
    assert!(healthz(&addr).starts_with("HTTP/1.1 200"));
    assert!(metric(&server, "sigil_connections_refused_total") >= 1);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("connection cap reached"), "{logged}");
    server.stop();
}
