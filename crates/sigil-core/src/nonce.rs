//! Nonces and timestamps (RFC 5849 §3.3).

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, replaceable in tests.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock stopped at a fixed time, for tests and reproducible signatures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_unix(&self) -> u64 {
        self.0
    }
}

/// Why a nonce could not be made.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("the operating system's random source failed")]
pub struct RandomError;

/// A fresh nonce: 128 bits from the operating system's random source, as 32
/// lower-case hex characters (all unreserved, so it travels unescaped).
///
/// ```
/// let a = sigil_core::generate_nonce().unwrap();
/// let b = sigil_core::generate_nonce().unwrap();
/// assert_eq!(a.len(), 32);
/// assert_ne!(a, b);
/// ```
pub fn generate_nonce() -> Result<String, RandomError> {
    random_hex::<16>()
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

/// `N` random bytes from the operating system, as lower-case hex. Also used
/// for tokens, secrets and verifiers.
pub fn random_hex<const N: usize>() -> Result<String, RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| RandomError)?;
    let mut out = String::with_capacity(N * 2);
    for b in bytes {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b & 0x0f));
    }
    Ok(out)
}
