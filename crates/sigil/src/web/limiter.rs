//! Failed sign-ins, counted per account and per client address in a
//! sliding window. Once either count reaches its limit, sign-in is refused
//! (429) without checking the password, so guessing costs the guesser time
//! and the server no argon2 work.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits on failed sign-ins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInLimits {
    /// Failures allowed per account in the window.
    pub per_account: u32,
    /// Failures allowed per client address in the window.
    pub per_address: u32,
    /// The window.
    pub window: Duration,
}

impl Default for SignInLimits {
    /// 5 per account and 20 per address in 15 minutes (OWASP's usual
    /// advice: a small number per account, more per address because of
    /// shared NAT).
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Keys kept at most; beyond this, the oldest windows are dropped first,
/// so memory stays bounded under a spray of fresh names or addresses.
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// The failure counts of one process. Instances behind one load balancer
/// each keep their own, so the effective limit is per instance.
#[derive(Debug)]
pub struct SignInLimiter {
    limits: SignInLimits,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl SignInLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: SignInLimits) -> Self {
        Self {
            limits,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when the account or the address has used up
    /// its failures.
    pub fn check(&self, account: &str, address: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        let Ok(mut failures) = self.failures.lock() else {
            return Err(self.limits.window.as_secs());
        };
        let mut wait = 0;
        let keys = [
            Some((Key::Account(account.to_owned()), self.limits.per_account)),
            address.map(|a| (Key::Address(a), self.limits.per_address)),
        ];
        for (key, limit) in keys.into_iter().flatten() {
            if let Some(times) = failures.get_mut(&key) {
                self.forget_old(times, now);
                if times.len() >= limit as usize {
                    let oldest = times.front().copied().unwrap_or(now);
                    let free_at = oldest + self.limits.window;
                    wait = wait.max(free_at.saturating_duration_since(now).as_secs().max(1));
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    /// Counts a failed sign-in.
    pub fn fail(&self, account: &str, address: Option<IpAddr>, now: Instant) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_KEYS {
            let window = self.limits.window;
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        let keys = [
            Some(Key::Account(account.to_owned())),
            address.map(Key::Address),
        ];
        for key in keys.into_iter().flatten() {
            let times = failures.entry(key).or_default();
            self.forget_old(times, now);
            times.push_back(now);
        }
    }

    /// A successful sign-in clears the account's failures (not the
    /// address's: one right password must not reset a spray).
    pub fn succeed(&self, account: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&Key::Account(account.to_owned()));
        }
    }

    fn forget_old(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
        {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SignInLimits {
        SignInLimits {
            per_account: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        }
    }

    #[test]
    fn an_account_locks_after_its_failures_and_opens_after_the_window() {
        let limiter = SignInLimiter::new(limits());
        let start = Instant::now();
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check("alice", Some(addr), start), Ok(()));
            limiter.fail("alice", Some(addr), start);
        }
        assert_eq!(limiter.check("alice", Some(addr), start), Err(60));
        // Another address does not help the guesser.
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.check("alice", Some(other), start).is_err());
        // Another account from the first address is still allowed.
        assert_eq!(limiter.check("bob", Some(addr), start), Ok(()));
        let later = start + Duration::from_secs(61);
        assert_eq!(limiter.check("alice", Some(addr), later), Ok(()));
    }

    #[test]
    fn an_address_locks_across_accounts() {
        let limiter = SignInLimiter::new(limits());
        let now = Instant::now();
        let addr: IpAddr = "2001:db8::1".parse().unwrap();
        for name in ["a", "b", "c", "d", "e"] {
            limiter.fail(name, Some(addr), now);
        }
        assert!(limiter.check("fresh", Some(addr), now).is_err());
        assert_eq!(limiter.check("fresh", None, now), Ok(()));
    }

    #[test]
    fn success_clears_the_account_only() {
        let limiter = SignInLimiter::new(limits());
        let now = Instant::now();
        let addr: IpAddr = "192.0.2.9".parse().unwrap();
        for _ in 0..2 {
            limiter.fail("alice", Some(addr), now);
        }
        limiter.succeed("alice");
        limiter.fail("alice", Some(addr), now);
        limiter.fail("alice", Some(addr), now);
        assert_eq!(limiter.check("alice", Some(addr), now), Ok(()));
        limiter.fail("alice", Some(addr), now);
        assert!(limiter.check("alice", Some(addr), now).is_err());
    }
}
