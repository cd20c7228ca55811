//! Group commit for nonces: requests hand their nonce to one writer task,
//! which records everything waiting in one multi-row `INSERT` and answers
//! each request from what that statement returned. A request still gets
//! its answer only after its nonce is committed (so a replay after a crash
//! finds it), but a busy server pays one transaction per batch, not per
//! request: on SQLite that is one hop to the database thread and one WAL
//! commit for up to [`MAX_BATCH`] requests.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sigil_server::{NonceKey, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::sql::{NonceHold, db_err, raise_hold, sweep_expired, to_i64};

/// Most nonces per statement (each distinct size is one prepared statement
/// per connection, and sqlx keeps 100 of them).
const MAX_BATCH: usize = 64;

/// Requests that may wait for the writer before senders wait too.
const QUEUE: usize = 4096;

/// How often (seconds of the store's clock) the writer deletes expired
/// nonces, temporary credentials and sessions: often, so that each delete
/// is small and no batch waits long behind it.
const SWEEP_INTERVAL: u64 = 2;

struct Pending {
    key: NonceKey,
    now: u64,
    expires_at: u64,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// The sending half; the writer task ends when the store is dropped.
pub(crate) struct NonceWriter {
    queue: mpsc::Sender<Pending>,
}

impl NonceWriter {
    /// Starts the writer on the current tokio runtime; it keeps `hold` (see
    /// [`crate::sql::NonceHold`]) up to date.
    pub(crate) fn start(pool: AnyPool, hold: Arc<NonceHold>) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, hold, waiting));
        Self { queue }
    }

    /// Records `key` unless it is recorded and unexpired: `true` when it
    /// was fresh.
    pub(crate) async fn record(
        &self,
        key: &NonceKey,
        now: u64,
        expires_at: u64,
    ) -> Result<bool, StoreError> {
        let stopped = || StoreError::Unavailable("nonce writer stopped".into());
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending {
                key: key.clone(),
                now,
                expires_at,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(pool: AnyPool, hold: Arc<NonceHold>, mut waiting: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut next_sweep = 0;
    // One connection of its own, kept: on SQLite a connection whose last
    // transaction was its own keeps its page cache, where one taken from
    // the pool after another connection wrote reads every page again.
    let mut own: Option<PoolConnection<Any>> = None;
    let mut closing = std::pin::pin!(pool.close_event());
    loop {
        tokio::select! {
            received = waiting.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    break;
                }
            }
            // `close` waits for every connection to come back: ours too.
            () = &mut closing => break,
        }
        let written = match &mut own {
            Some(conn) => Ok(conn),
            None => pool.acquire().await.map(|c| own.insert(c)).map_err(db_err),
        };
        let written = match written {
            Ok(conn) => record_batch(conn, &batch, &hold, &mut next_sweep).await,
            Err(err) => Err(err),
        };
        if written.is_err()
            && let Some(mut broken) = own.take()
        {
            // Maybe the connection is what failed: the next batch gets a
            // fresh one.
            broken.close_on_drop();
        }
        match written {
            Ok(fresh) => {
                for (pending, fresh) in batch.drain(..).zip(fresh) {
                    // The request may have gone (client hung up): its nonce
                    // stays recorded all the same.
                    let _ = pending.reply.send(Ok(fresh));
                }
            }
            Err(err) => {
                for pending in batch.drain(..) {
                    let _ = pending.reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Sweeps when it is time, writes the batch and raises the hold when the
/// batch needs it; the answer for each request, in order.
async fn record_batch(
    conn: &mut AnyConnection,
    batch: &[Pending],
    hold: &NonceHold,
    next_sweep: &mut u64,
) -> Result<Vec<bool>, StoreError> {
    let now = batch.iter().map(|p| p.now).max().unwrap_or(0);
    if now >= *next_sweep {
        *next_sweep = now.saturating_add(SWEEP_INTERVAL);
        // A failed sweep is retried next interval; the batch goes on.
        if let Err(err) = sweep_expired(conn, now, hold.load(Ordering::Acquire)).await {
            tracing::warn!(error = %err, "sweeping expired rows failed");
        }
    }
    let fresh = write(conn, batch).await?;
    let longest = batch
        .iter()
        .map(|p| to_i64(p.expires_at).saturating_sub(to_i64(p.key.timestamp)))
        .max()
        .unwrap_or(0);
    if longest > hold.load(Ordering::Acquire) {
        // The hold only narrows what sweeps look at (they check expiry
        // too): if this fails, sweeps just look at more rows.
        match raise_hold(conn, longest).await {
            Ok(()) => {
                hold.fetch_max(longest, Ordering::AcqRel);
            }
            Err(err) => tracing::warn!(error = %err, "recording the nonce hold failed"),
        }
    }
    Ok(fresh)
}

/// Writes one batch; the answer for each request, in order.
async fn write(conn: &mut AnyConnection, batch: &[Pending]) -> Result<Vec<bool>, StoreError> {
    // The first of equal keys in a batch is written; the others are
    // replays of it (and one statement may not upsert a row twice).
    let mut seen = HashSet::with_capacity(batch.len());
    let rows: Vec<&Pending> = batch.iter().filter(|p| seen.insert(&p.key)).collect();
    let mut sql =
        String::from("INSERT INTO nonces (ts, client_key, token, nonce, expires_at) VALUES ");
    for n in 0..rows.len() {
        let b = n * 5;
        let sep = if n == 0 { "" } else { ", " };
        let _ = write!(
            sql,
            "{sep}(${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        );
    }
    // An expired row may be reused; "expired" by the earliest clock of the
    // batch, the cautious reading.
    let _ = write!(
        sql,
        " ON CONFLICT (ts, client_key, token, nonce) DO UPDATE SET expires_at = excluded.expires_at \
         WHERE nonces.expires_at <= ${} RETURNING client_key, token, ts, nonce",
        rows.len() * 5 + 1
    );
    let earliest = batch.iter().map(|p| p.now).min().unwrap_or(0);
    // Built from constants and counters only; every value is bound.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in &rows {
        query = query
            .bind(to_i64(p.key.timestamp))
            .bind(p.key.client_key.clone())
            .bind(p.key.token.clone().unwrap_or_default())
            .bind(p.key.nonce.clone())
            .bind(to_i64(p.expires_at));
    }
    let written = query
        .bind(to_i64(earliest))
        .fetch_all(conn)
        .await
        .map_err(db_err)?;
    let mut fresh = HashSet::with_capacity(written.len());
    for row in &written {
        let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
        let client_key: String = row.try_get(0).map_err(get)?;
        let token: String = row.try_get(1).map_err(get)?;
        let ts: i64 = row.try_get(2).map_err(get)?;
        let nonce: String = row.try_get(3).map_err(get)?;
        fresh.insert((client_key, token, ts, nonce));
    }
    let mut answered = HashSet::with_capacity(batch.len());
    Ok(batch
        .iter()
        .map(|p| {
            let key = (
                p.key.client_key.clone(),
                p.key.token.clone().unwrap_or_default(),
                to_i64(p.key.timestamp),
                p.key.nonce.clone(),
            );
            // Only the first request with a written key is fresh.
            fresh.contains(&key) && answered.insert(key)
        })
        .collect())
}
