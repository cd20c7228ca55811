-- Nonces keyed by timestamp first. Requests carry timestamps close to now,
-- so new rows land at the end of the key order: each commit touches the
-- same hot page instead of a random leaf per nonce. The key is the only
-- index (an index on expires_at would be a second page in every commit):
-- sweeps find expired nonces through it, with the longest time a nonce was
-- kept after its timestamp: 'hold' in nonce_state (see NonceHold in
-- sql.rs). nonce_state also keeps 'memory_through', the bound on the
-- timestamps `sigil serve --memory-nonces` kept in memory alone. On
-- SQLite the table is WITHOUT ROWID: one b-tree, not a table and an index
-- for its key (see `dialect` in sql.rs). The rows are copied, not dropped,
-- so no replay window opens at the upgrade.
CREATE TABLE nonces_by_time (
    ts          BIGINT NOT NULL,
    client_key  TEXT NOT NULL,
    token       TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (ts, client_key, token, nonce)
) /* sqlite: WITHOUT ROWID */;
INSERT INTO nonces_by_time (ts, client_key, token, nonce, expires_at)
    SELECT ts, client_key, token, nonce, expires_at FROM nonces;
DROP TABLE nonces;
ALTER TABLE nonces_by_time RENAME TO nonces;
CREATE TABLE nonce_state (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO nonce_state (name, value)
    SELECT 'hold', COALESCE(MAX(expires_at - ts), 0) FROM nonces
