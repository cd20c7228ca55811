//! Redis for nonces and temporary credentials: expiring keys, so that
//! several provider instances share one replay protection and one set of
//! pending authorizations.
//!
//! A nonce is `SET key 1 NX EX ttl`: fresh if the key was set. A temporary
//! credential is a hash with a TTL; approving and consuming are Lua scripts,
//! so each check-and-change is one atomic step in Redis.

use std::collections::HashMap;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use sigil_core::Secret;
use sigil_core::encoding::encode;
use sigil_server::{
    NonceKey, NonceStore, StoreError, TemporaryCredential, TemporaryCredentialStore,
};

use crate::seal::Sealer;

/// Creates the hash only if the key is free, with its TTL.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
";

/// Approves once: only an existing, unexpired, unapproved credential.
/// ARGV: user, verifier, now.
const APPROVE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HEXISTS', KEYS[1], 'verifier') == 1 then return false end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) <= tonumber(ARGV[3]) then return false end
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'verifier', ARGV[2])
return redis.call('HGETALL', KEYS[1])
";

/// Consumes once: only an approved, unexpired credential with this
/// verifier. ARGV: verifier, now.
const CONSUME: &str = r"
local verifier = redis.call('HGET', KEYS[1], 'verifier')
if not verifier or verifier ~= ARGV[1] then return false end
if redis.call('HEXISTS', KEYS[1], 'user') == 0 then return false end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) <= tonumber(ARGV[2]) then return false end
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all
";

fn redis_err(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

/// Nonces and temporary credentials in Redis.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    sealer: Sealer,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`). Every key starts with
    /// `prefix` (default `sigil:`), so one Redis can serve several
    /// providers. The connection manager reconnects by itself.
    pub async fn connect(url: &str, prefix: &str, sealer: Sealer) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(redis_err)?;
        // Bounded waits: with Redis down, a request must fail (503) within
        // seconds, not queue behind reconnection attempts forever. The
        // manager still reconnects by itself on the next command.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(std::time::Duration::from_secs(1))
            .set_response_timeout(std::time::Duration::from_secs(2))
            .set_number_of_retries(1)
            .set_max_delay(500);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(redis_err)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            sealer,
        })
    }

    fn nonce_key(&self, key: &NonceKey) -> String {
        format!(
            "{}n:{}:{}:{}:{}",
            self.prefix,
            encode(&key.client_key),
            encode(key.token.as_deref().unwrap_or("")),
            key.timestamp,
            encode(&key.nonce)
        )
    }

    fn temporary_key(&self, token: &str) -> String {
        format!("{}t:{}", self.prefix, encode(token))
    }

    /// One round trip to Redis (`PING`): `Ok` when it answers, within the
    /// connection's response timeout.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(redis_err)
    }

    /// Deletes every key under this store's prefix (tests).
    pub async fn clear(&self) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}*", self.prefix);
        let keys: Vec<String> = {
            let mut iter = conn
                .scan_match::<_, String>(&pattern)
                .await
                .map_err(redis_err)?;
            let mut keys = Vec::new();
            while let Some(key) = iter.next_item().await {
                keys.push(key);
            }
            keys
        };
        let mut removed = 0;
        for chunk in keys.chunks(500) {
            let n: u64 = conn.del(chunk).await.map_err(redis_err)?;
            removed += n;
        }
        Ok(removed)
    }

    fn credential_from_fields(
        &self,
        token: &str,
        fields: HashMap<String, String>,
    ) -> Result<Option<TemporaryCredential>, StoreError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let get = |name: &str| {
            fields
                .get(name)
                .cloned()
                .ok_or_else(|| StoreError::Corrupt(format!("temporary credential without {name}")))
        };
        let number = |name: &str| -> Result<u64, StoreError> {
            get(name)?
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("bad {name}")))
        };
        Ok(Some(TemporaryCredential {
            token: token.to_owned(),
            secret: Secret::new(self.sealer.open(&get("secret")?, token)?),
            client_key: get("client_key")?,
            callback: get("callback")?,
            realms: get("realms")?
                .split(' ')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: number("created_at")?,
            expires_at: number("expires_at")?,
            verifier: fields.get("verifier").cloned(),
            user: fields.get("user").cloned(),
        }))
    }
}

fn pairs_to_map(values: Option<Vec<String>>) -> HashMap<String, String> {
    let values = values.unwrap_or_default();
    values
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [k, v] => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

#[async_trait]
impl NonceStore for RedisStore {
    async fn check_and_record(
        &self,
        key: &NonceKey,
        now: u64,
        expires_at: u64,
    ) -> Result<bool, StoreError> {
        let ttl = expires_at.saturating_sub(now).max(1);
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.nonce_key(key))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl)
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(set.is_some())
    }

    async fn purge_nonces(&self, _now: u64) -> Result<u64, StoreError> {
        // Redis expires nonce keys by itself.
        Ok(0)
    }
}

#[async_trait]
impl TemporaryCredentialStore for RedisStore {
    async fn create_temporary(&self, credential: TemporaryCredential) -> Result<(), StoreError> {
        let ttl = credential
            .expires_at
            .saturating_sub(credential.created_at)
            .max(1);
        let secret = self
            .sealer
            .seal(credential.secret.expose(), &credential.token)?;
        let create = Script::new(CREATE);
        let mut script = create.key(self.temporary_key(&credential.token));
        script
            .arg(ttl)
            .arg("secret")
            .arg(secret)
            .arg("client_key")
            .arg(&credential.client_key)
            .arg("callback")
            .arg(&credential.callback)
            .arg("realms")
            .arg(credential.realms.join(" "))
            .arg("created_at")
            .arg(credential.created_at)
            .arg("expires_at")
            .arg(credential.expires_at);
        if let (Some(user), Some(verifier)) = (&credential.user, &credential.verifier) {
            script.arg("user").arg(user).arg("verifier").arg(verifier);
        }
        let mut conn = self.conn.clone();
        let created: i64 = script.invoke_async(&mut conn).await.map_err(redis_err)?;
        if created == 1 {
            Ok(())
        } else {
            Err(StoreError::Duplicate)
        }
    }

    async fn temporary(&self, token: &str) -> Result<Option<TemporaryCredential>, StoreError> {
        let mut conn = self.conn.clone();
        let fields: HashMap<String, String> = conn
            .hgetall(self.temporary_key(token))
            .await
            .map_err(redis_err)?;
        self.credential_from_fields(token, fields)
    }

    async fn approve_temporary(
        &self,
        token: &str,
        user: &str,
        verifier: &str,
        now: u64,
    ) -> Result<Option<TemporaryCredential>, StoreError> {
        let mut conn = self.conn.clone();
        let values: Option<Vec<String>> = Script::new(APPROVE)
            .key(self.temporary_key(token))
            .arg(user)
            .arg(verifier)
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err)?;
        self.credential_from_fields(token, pairs_to_map(values))
    }

    async fn consume_temporary(
        &self,
        token: &str,
        verifier: &str,
        now: u64,
    ) -> Result<Option<TemporaryCredential>, StoreError> {
        let mut conn = self.conn.clone();
        let values: Option<Vec<String>> = Script::new(CONSUME)
            .key(self.temporary_key(token))
            .arg(verifier)
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err)?;
        self.credential_from_fields(token, pairs_to_map(values))
    }

    async fn delete_temporary(&self, token: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let removed: u64 = conn
            .del(self.temporary_key(token))
            .await
            .map_err(redis_err)?;
        Ok(removed > 0)
    }

    async fn purge_temporary(&self, _now: u64) -> Result<u64, StoreError> {
        // Expiring keys: Redis purges by itself.
        Ok(0)
    }
}
