-- Nonces keyed by timestamp first. Requests carry timestamps close to now,
-- so new rows land at the end of the key order (and of the expiry index):
-- each commit touches the same few hot pages instead of a random leaf per
-- nonce. The rows are copied, not dropped, so no replay window opens at
-- the upgrade.
CREATE TABLE nonces_by_time (
    ts          BIGINT NOT NULL,
    client_key  TEXT NOT NULL,
    token       TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (ts, client_key, token, nonce)
);
INSERT INTO nonces_by_time (ts, client_key, token, nonce, expires_at)
    SELECT ts, client_key, token, nonce, expires_at FROM nonces;
DROP TABLE nonces;
ALTER TABLE nonces_by_time RENAME TO nonces;
CREATE INDEX nonces_expires ON nonces (expires_at)
