//! The field: `sigil serve` behind a real TLS-terminating nginx (the
//! config in docs/nginx.conf), with a CA and certificate made for the test.
//! requests-oauthlib runs the three-legged flow over https through the
//! proxy; `sigil login` and `sigil request` do the same with `--cacert` and
//! with `SSL_CERT_FILE`; an untrusted certificate is refused saying how to
//! trust it; HSTS is sent; the per-address sign-in limit counts people
//! behind the proxy apart, and a spoofed `X-Forwarded-For` from a peer that
//! is not a trusted proxy changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::io::{BufReader, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::agent::Agent;
use support::{Site, free_port, python, services, sigil};

/// A CA, a server certificate for 127.0.0.1 and localhost signed by it,
/// and an unrelated CA, made with openssl.
struct Pki {
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_pki(dir: &Path) -> Pki {
    for (name, subject) in [
        ("ca", "/CN=Sigil test CA"),
        ("other", "/CN=Someone else's CA"),
    ] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                subject,
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
    Pki {
        ca: dir.join("ca.pem"),
        other_ca: dir.join("other.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// nginx on 127.0.0.1:`port` in front of `upstream`, from docs/nginx.conf.
struct Nginx(Child);

impl Nginx {
    fn start(dir: &Path, port: u16, upstream: &str, pki: &Pki) -> Self {
        let template = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/nginx.conf"
        ))
        .unwrap();
        let conf = template
            .replace("@PREFIX@", &dir.display().to_string())
            .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
            .replace("@SERVER_NAME@", "127.0.0.1")
            .replace("@CERT@", &pki.cert.display().to_string())
            .replace("@KEY@", &pki.key.display().to_string())
            .replace("@UPSTREAM@", upstream);
        assert!(
            conf.lines()
                .all(|l| l.trim_start().starts_with('#') || !l.contains('@')),
            "a placeholder left in docs/nginx.conf"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("nginx is installed (test.sh installs nginx-light)");
        let child = Command::new(nginx)
            .args([
                "-p",
                &dir.display().to_string(),
                "-c",
                &path.display().to_string(),
            ])
            .args(["-g", "daemon off;"])
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self(child)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client through the proxy, from the loopback address `from`, trusting
/// `ca`.
fn https_client(from: IpAddr, ca: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .local_address(from)
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_tls_terminating_nginx() {
    if !services() {
        eprintln!("skipped: set SIGIL_SERVICE_TESTS=1 (./test.sh) to run against nginx");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let port = free_port();
    let public = format!("https://127.0.0.1:{port}");
    let site = Site::start(
        "http://127.0.0.1:9/callback",
        &[
            "--public-url",
            &public,
            "--trusted-proxy",
            "127.0.0.1",
            "--sign-in-address-limit",
            "3",
        ],
    );
    let upstream = site.server.base.trim_start_matches("http://").to_owned();
    let _nginx = Nginx::start(dir.path(), port, &upstream, &pki);

    // HSTS on the pages, over https through the proxy.
    let alice_ip: IpAddr = [127, 0, 0, 2].into();
    let http = https_client(alice_ip, &pki.ca);
    let page = http.get(format!("{public}/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );

    // requests-oauthlib: the whole flow over https through the proxy.
    let python = python().expect("python with requests-oauthlib (test.sh makes .venv)");
    let rsa_pem = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sigil-core/tests/data/test-rsa-pkcs1.pem"
    );
    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../interop/clients_flow.py"
        ))
        .args(["--base", &public, "--sigil", env!("CARGO_BIN_EXE_sigil")])
        .args(["--database", &site.server.database])
        .args(["--hmac-key", &site.key, "--hmac-secret", &site.secret])
        .args(["--rsa-key", "unused", "--rsa-pem", rsa_pem])
        .args([
            "--libs",
            "requests-oauthlib",
            "--methods",
            "HMAC-SHA1",
            "--placements",
            "header,body",
        ])
        .env("REQUESTS_CA_BUNDLE", &pki.ca)
        .env("SIGIL_SEAL_KEY_FILE", support::test_seal_key_file())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "requests-oauthlib over https:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // sigil login --cacert (PIN), then sigil request with the profile,
    // with --cacert and with SSL_CERT_FILE.
    let config = tempfile::tempdir().unwrap();
    let mut login = sigil()
        .args(["login", "--service", "sigil", "--service-param", &public])
        .args([
            "--consumer-key",
            &site.key,
            "--consumer-secret",
            &site.secret,
        ])
        .args(["--save-as", "proxied", "--pin", "--cacert"])
        .arg(&pki.ca)
        .env("SIGIL_CONFIG_DIR", config.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader lives on to the end: dropping it would close the pipe
    // and the rest of login's output would go nowhere.
    let mut login_out = BufReader::new(login.stdout.take().unwrap());
    let token = support::read_authorization_token(&mut login_out);
    let approval: serde_json::Value = site.server.approve(&token, "alice");
    login
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", approval["verifier"].as_str().unwrap()).as_bytes())
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut login_out, &mut rest).unwrap();
    let done = login.wait_with_output().unwrap();
    assert!(
        done.status.success() && rest.contains("saved profile proxied"),
        "sigil login --cacert: {rest}\n{}",
        String::from_utf8_lossy(&done.stderr)
    );

    let request = |extra: &[&str], env: Option<&Path>| {
        let mut cmd = sigil();
        cmd.args([
            "request",
            &format!("{public}/api/me"),
            "--profile",
            "proxied",
        ])
        .args(extra)
        .env("SIGIL_CONFIG_DIR", config.path())
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
        if let Some(bundle) = env {
            cmd.env("SSL_CERT_FILE", bundle);
        }
        cmd.output().unwrap()
    };
    let ca = pki.ca.display().to_string();
    for (how, out) in [
        ("--cacert", request(&["--cacert", &ca], None)),
        ("SSL_CERT_FILE", request(&[], Some(&pki.ca))),
    ] {
        assert!(
            out.status.success(),
            "{how}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let me: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(me["user"], "alice", "{how}");
    }
    // Untrusted: no root for the proxy's CA, or another CA's.
    let other = pki.other_ca.display().to_string();
    for out in [request(&[], None), request(&["--cacert", &other], None)] {
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("did not verify") && said.contains("--cacert"),
            "{said}"
        );
    }

    // The per-address limit behind the proxy: 127.0.0.2's failures lock
    // 127.0.0.2 only, even when 127.0.0.3 claims to be 127.0.0.2.
    let mut mallory = Agent::with_client(&public, https_client(alice_ip, &pki.ca));
    for i in 0..3 {
        let page = mallory
            .sign_in(&format!("nobody{i}"), "wrong-password-1", "/")
            .await;
        assert_ne!(page.status, 429, "failure {i} is not yet locked");
    }
    let page = mallory.sign_in("nobody9", "wrong-password-1", "/").await;
    assert_eq!(
        page.status, 429,
        "the fourth failure from one address is locked"
    );
    let bob_ip: IpAddr = [127, 0, 0, 3].into();
    let mut bob = Agent::with_client(&public, https_client(bob_ip, &pki.ca));
    bob.extra_header("x-forwarded-for", "127.0.0.2");
    let page = bob
        .sign_in("bob", &format!("{}2", support::PASSWORD), "/")
        .await;
    assert_eq!(
        page.status, 303,
        "bob, behind the same proxy, signs in: {}",
        page.body
    );

    // Straight to sigil serve from an untrusted peer: a spoofed
    // X-Forwarded-For is ignored, so its failures count together.
    let direct = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 4]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut spoofer = Agent::with_client(&site.server.base, direct);
    let mut statuses = Vec::new();
    for i in 0..4 {
        spoofer.extra_header("x-forwarded-for", &format!("198.51.100.{i}"));
        statuses.push(
            spoofer
                .sign_in(&format!("spoofed{i}"), "wrong-password-1", "/")
                .await
                .status,
        );
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
