//! `--rsa-key FILE`: a PEM private key (PKCS#1 or PKCS#8), or a PKCS#12
//! file (`.p12`, `.pfx`: anything that is not PEM), as Mastercard ships
//! them. A PKCS#12 file's password comes from `SIGIL_RSA_KEY_PASSWORD`;
//! without it, it is asked for on the terminal (not echoed), or read as the
//! first line of stdin when stdin is not a terminal.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, anyhow};
use sigil_client::RsaPrivateKey;

use super::Failure;

/// The environment variable holding a PKCS#12 file's password.
pub const PASSWORD_ENV: &str = "SIGIL_RSA_KEY_PASSWORD";

/// Reads the RSA private key at `path`.
pub fn read_rsa_key(path: &Path) -> Result<RsaPrivateKey, Failure> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(Failure::usage)?;
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let pem = std::str::from_utf8(&bytes)
            .map_err(|_| Failure::usage(anyhow!("{} is not text", path.display())))?;
        return RsaPrivateKey::from_pem(pem)
            .map_err(|e| Failure::usage(anyhow!("{}: {e}", path.display())));
    }
    let password = password_for(path).map_err(Failure::usage)?;
    sigil_client::rsa_key_from_pkcs12(&bytes, &password)
        .map_err(|e| Failure::usage(anyhow!("{}: {e}", path.display())))
}

fn password_for(path: &Path) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password(format!(
            "Password for {}: ",
            path.display()
        ))?);
    }
    first_stdin_line()
}

/// One line of stdin, read a byte at a time so that nothing after it (a PIN
/// that `sigil login --pin` reads next) is taken into a buffer.
fn first_stdin_line() -> anyhow::Result<String> {
    use std::io::Read;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    #[cfg(unix)]
    let mut input = std::fs::File::open("/dev/stdin").context("cannot open stdin")?;
    #[cfg(not(unix))]
    let mut input = std::io::stdin();
    loop {
        match input.read(&mut byte)? {
            0 => break,
            _ if byte == [b'\n'] => break,
            _ => line.extend_from_slice(&byte),
        }
        if line.len() > 4096 {
            anyhow::bail!("the password line is too long");
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.is_empty() {
        anyhow::bail!("no password for the PKCS#12 key: set {PASSWORD_ENV} or give it on stdin");
    }
    String::from_utf8(line).context("the password is not UTF-8")
}
