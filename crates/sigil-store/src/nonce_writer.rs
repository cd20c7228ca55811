//! Group commit for nonces: requests hand their nonce to one writer, which
//! records everything waiting in one transaction and answers each request
//! from what the database said. A request still gets its answer only after
//! its nonce is committed (so a replay after a crash finds it), but a busy
//! server pays one commit per batch, not per request.
//!
//! Two writers share the queue: on a SQLite file, a thread of its own with
//! one rusqlite connection ([`NonceWriter::start_sqlite_file`]), so a batch
//! is one wake-up of that thread and prepared statements run straight
//! against the file (through sqlx, a batch was a hop from a Tokio task to
//! sqlx's connection thread and back, and a row decoded per nonce); on
//! PostgreSQL (and an in-memory SQLite database, which only the pool can
//! see), a Tokio task with a pool connection and one multi-row `INSERT`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use sigil_server::{NonceKey, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::sql::{
    DELETE_EXPIRED_NONCES, DELETE_EXPIRED_OTHERS, NonceHold, db_err, raise_hold, sweep_expired,
    to_i64,
};

/// Most nonces per statement on the pool writer (each distinct size is one
/// prepared statement per connection, and sqlx keeps 100 of them).
const MAX_BATCH: usize = 64;

/// Most nonces per transaction on the SQLite thread (one prepared statement
/// whatever the size: the bound only keeps a batch's wait short).
const MAX_SQLITE_BATCH: usize = 256;

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

enum Job {
    Record(Pending),
    /// Release the connection and stop; answered once it is released.
    Close(oneshot::Sender<()>),
}

/// The sending half; the writer ends when the store is closed or dropped.
pub(crate) struct NonceWriter {
    queue: mpsc::Sender<Job>,
}

impl NonceWriter {
    /// Starts the pool writer on the current tokio runtime; it keeps `hold`
    /// (see [`crate::sql::NonceHold`]) up to date.
    pub(crate) fn start(pool: AnyPool, hold: Arc<NonceHold>) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, hold, waiting));
        Self { queue }
    }

    /// Starts the writer thread on the SQLite file at `path` (the schema is
    /// the pool's: statements are prepared at the first batch, after the
    /// migrations). The connection is opened on that thread (opening can
    /// wait for a lock), and its failure returned here.
    pub(crate) async fn start_sqlite_file(
        path: PathBuf,
        hold: Arc<NonceHold>,
    ) -> Result<Self, StoreError> {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let (opened, open_result) = oneshot::channel();
        std::thread::Builder::new()
            .name("sigil-nonces".into())
            .spawn(move || match open_sqlite(&path) {
                Ok(conn) => {
                    let _ = opened.send(Ok(()));
                    run_sqlite(conn, &path, &hold, waiting);
                }
                Err(err) => {
                    let _ = opened.send(Err(sqlite_err(err)));
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("starting the nonce writer: {e}")))?;
        open_result.await.map_err(|_| stopped())??;
        Ok(Self { queue })
    }

    /// Records `key` unless it is recorded and unexpired: `true` when it
    /// was fresh.
    pub(crate) async fn record(
        &self,
        key: &NonceKey,
        now: u64,
        expires_at: u64,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job::Record(Pending {
                key: key.clone(),
                now,
                expires_at,
                reply,
            }))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stops the writer once the nonces queued before this call are
    /// answered, and waits until its connection is released; later
    /// requests fail as unavailable.
    pub(crate) async fn close(&self) {
        let (ack, released) = oneshot::channel();
        if self.queue.send(Job::Close(ack)).await.is_ok() {
            let _ = released.await;
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("nonce writer stopped".into())
}

fn sqlite_err(err: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

/// The writer's connection, with the pool's settings (see `SqlStore::connect`).
fn open_sqlite(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
        row.get::<_, String>(0)
    })?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000;")?;
    Ok(conn)
}

fn run_sqlite(
    mut conn: Connection,
    path: &Path,
    hold: &NonceHold,
    mut waiting: mpsc::Receiver<Job>,
) {
    let mut batch = Vec::with_capacity(MAX_SQLITE_BATCH);
    let mut next_sweep = 0;
    while let Some(first) = waiting.blocking_recv() {
        // Everything already waiting joins the batch.
        let mut close = None;
        let mut job = Some(first);
        while let Some(next) = job.take() {
            match next {
                Job::Record(pending) => batch.push(pending),
                Job::Close(ack) => {
                    close = Some(ack);
                    break;
                }
            }
            if batch.len() < MAX_SQLITE_BATCH {
                job = waiting.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let written = record_sqlite_batch(&mut conn, &batch, hold, &mut next_sweep);
            if written.is_err() {
                recover(&mut conn, path);
            }
            answer(&mut batch, written.map_err(sqlite_err));
        }
        if let Some(ack) = close {
            drop(conn);
            let _ = ack.send(());
            return;
        }
    }
}

/// After a failed batch: the transaction was rolled back when it was
/// dropped, unless that failed too; a connection still inside a
/// transaction would hold the write lock for good, so it is rolled back
/// again or replaced (if reopening fails, the next batch tries again).
fn recover(conn: &mut Connection, path: &Path) {
    if conn.is_autocommit() || conn.execute_batch("ROLLBACK").is_ok() {
        return;
    }
    match open_sqlite(path) {
        Ok(fresh) => *conn = fresh,
        Err(err) => tracing::warn!(error = %err, "reopening the nonce database failed"),
    }
}

/// Sends each request its answer and empties the batch.
fn answer(batch: &mut Vec<Pending>, written: Result<Vec<bool>, StoreError>) {
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

/// One transaction for the batch (and one before it for a sweep when it is
/// time); the answer for each request, in order.
fn record_sqlite_batch(
    conn: &mut Connection,
    batch: &[Pending],
    hold: &NonceHold,
    next_sweep: &mut u64,
) -> rusqlite::Result<Vec<bool>> {
    let now = batch.iter().map(|p| p.now).max().unwrap_or(0);
    if now >= *next_sweep {
        *next_sweep = now.saturating_add(SWEEP_INTERVAL);
        // A failed sweep is retried next interval; the batch goes on.
        if let Err(err) = sweep_sqlite(conn, now, hold.load(Ordering::Acquire)) {
            tracing::warn!(error = %err, "sweeping expired rows failed");
        }
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut fresh = Vec::with_capacity(batch.len());
    {
        // An expired row may be reused. Equal keys in one batch: the first
        // is written, the later ones conflict with it (unexpired) and are
        // replays.
        let mut insert = tx.prepare_cached(
            "INSERT INTO nonces (ts, client_key, token, nonce, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (ts, client_key, token, nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE nonces.expires_at <= ?6",
        )?;
        let mut written = HashSet::with_capacity(batch.len());
        for p in batch {
            // A key already written by this batch is a replay even if it
            // expires at once (a zero lifetime), as the pool writer has it.
            if written.contains(&p.key) {
                fresh.push(false);
                continue;
            }
            let changed = insert.execute(params![
                to_i64(p.key.timestamp),
                p.key.client_key,
                p.key.token.as_deref().unwrap_or_default(),
                p.key.nonce,
                to_i64(p.expires_at),
                to_i64(p.now),
            ])?;
            if changed == 1 {
                written.insert(&p.key);
            }
            fresh.push(changed == 1);
        }
    }
    let longest = longest_hold(batch);
    let raise = longest > hold.load(Ordering::Acquire);
    if raise {
        tx.prepare_cached("UPDATE nonce_state SET value = ?1 WHERE name = 'hold' AND value < ?1")?
            .execute([longest])?;
    }
    tx.commit()?;
    if raise {
        hold.fetch_max(longest, Ordering::AcqRel);
    }
    Ok(fresh)
}

/// The longest time after its timestamp that a nonce of the batch is kept.
fn longest_hold(batch: &[Pending]) -> i64 {
    batch
        .iter()
        .map(|p| to_i64(p.expires_at).saturating_sub(to_i64(p.key.timestamp)))
        .max()
        .unwrap_or(0)
}

/// `sql::sweep_expired` on the writer's connection, with its statements.
fn sweep_sqlite(conn: &mut Connection, now: u64, hold: i64) -> rusqlite::Result<usize> {
    let now = to_i64(now);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut deleted = tx
        .prepare_cached(DELETE_EXPIRED_NONCES)?
        .execute([now.saturating_sub(hold), now])?;
    for statement in DELETE_EXPIRED_OTHERS {
        deleted += tx.prepare_cached(statement)?.execute([now])?;
    }
    tx.commit()?;
    Ok(deleted)
}

async fn run(pool: AnyPool, hold: Arc<NonceHold>, mut waiting: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut next_sweep = 0;
    // One connection of its own, kept: on SQLite a connection whose last
    // transaction was its own keeps its page cache, where one taken from
    // the pool after another connection wrote reads every page again.
    let mut own: Option<PoolConnection<Any>> = None;
    // `close` waits for every connection to come back: ours too.
    let mut closing = std::pin::pin!(pool.close_event());
    loop {
        tokio::select! {
            received = waiting.recv_many(&mut jobs, MAX_BATCH) => {
                if received == 0 {
                    break;
                }
            }
            () = &mut closing => break,
        }
        let mut close = None;
        for job in jobs.drain(..) {
            match (job, &close) {
                (Job::Record(pending), None) => batch.push(pending),
                (Job::Close(ack), None) => close = Some(ack),
                // Queued after the close: dropped, so the request sees the
                // writer stopped.
                (_, Some(_)) => {}
            }
        }
        if !batch.is_empty() {
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
                // Maybe the connection is what failed: the next batch gets
                // a fresh one.
                broken.close_on_drop();
            }
            answer(&mut batch, written);
        }
        if let Some(ack) = close {
            drop(own);
            let _ = ack.send(());
            return;
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
    let longest = longest_hold(batch);
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
