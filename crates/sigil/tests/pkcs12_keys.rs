//! `--rsa-key file.p12`: PKCS#12 files made by openssl (the modern default,
//! PBES2 with AES-256, and the legacy SHA-1/3DES form Java's keytool and
//! older portals write) sign exactly as the PEM key they hold, with the
//! password from SIGIL_RSA_KEY_PASSWORD or from stdin; a wrong password is
//! a usage error that names the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::sigil;

const PEM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../sigil-core/tests/data/test-rsa-pkcs1.pem"
);

/// A self-signed certificate for the test key and the key in PKCS#12
/// files, modern and legacy, under `password`.
fn make_p12s(dir: &Path, password: &str) -> Vec<PathBuf> {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl is installed (test.sh installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-key",
        PEM,
        "-subj",
        "/CN=Sigil test",
        "-days",
        "2",
        "-out",
        "cert.pem",
    ]);
    let pass = format!("pass:{password}");
    run(&[
        "pkcs12",
        "-export",
        "-inkey",
        PEM,
        "-in",
        "cert.pem",
        "-passout",
        &pass,
        "-out",
        "modern.p12",
    ]);
    run(&[
        "pkcs12",
        "-export",
        "-inkey",
        PEM,
        "-in",
        "cert.pem",
        "-passout",
        &pass,
        "-keypbe",
        "PBE-SHA1-3DES",
        "-certpbe",
        "PBE-SHA1-3DES",
        "-macalg",
        "sha1",
        "-out",
        "legacy.p12",
    ]);
    vec![dir.join("modern.p12"), dir.join("legacy.p12")]
}

/// `sigil sign --output signature` for RSA-SHA256 with a fixed nonce and
/// timestamp (RSASSA-PKCS1-v1_5 is deterministic, so the same key gives
/// the same signature).
fn sign(key: &Path, env_password: Option<&str>, stdin: Option<&str>) -> std::process::Output {
    let mut cmd = sigil();
    cmd.args([
        "sign",
        "--output",
        "signature",
        "--url",
        "https://sandbox.api.mastercard.com/fraud/merchant/v3/termination-inquiry?Format=XML&PageOffset=0",
        "--consumer-key",
        "mc-consumer-key",
        "--signature-method",
        "RSA-SHA256",
        "--nonce",
        "n0nce",
        "--timestamp",
        "1700000000",
        "--rsa-key",
    ])
    .arg(key)
    .env_remove("SIGIL_RSA_KEY_PASSWORD")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(password) = env_password {
        cmd.env("SIGIL_RSA_KEY_PASSWORD", password);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(line) = stdin {
        input.write_all(line.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn p12_keys_sign_as_their_pem() {
    let dir = tempfile::tempdir().unwrap();
    let password = "chang eit";
    let from_pem = sign(Path::new(PEM), None, None);
    assert!(
        from_pem.status.success(),
        "{}",
        String::from_utf8_lossy(&from_pem.stderr)
    );
    assert!(!from_pem.stdout.is_empty());
    for p12 in make_p12s(dir.path(), password) {
        // The password from the environment, then from stdin.
        let stdin_line = format!("{password}\n");
        for (env, stdin) in [(Some(password), None), (None, Some(stdin_line.as_str()))] {
            let signed = sign(&p12, env, stdin);
            assert!(
                signed.status.success(),
                "{}: {}",
                p12.display(),
                String::from_utf8_lossy(&signed.stderr)
            );
            assert_eq!(signed.stdout, from_pem.stdout, "{}", p12.display());
        }

        let wrong = sign(&p12, Some("not it"), None);
        assert_eq!(wrong.status.code(), Some(2), "{}", p12.display());
        let stderr = String::from_utf8_lossy(&wrong.stderr);
        assert!(
            stderr.contains("PKCS#12") && stderr.contains(&*p12.to_string_lossy()),
            "{stderr}"
        );
        assert!(wrong.stdout.is_empty());

        let none = sign(&p12, None, None);
        assert_eq!(none.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&none.stderr).contains("SIGIL_RSA_KEY_PASSWORD"));
    }
}
