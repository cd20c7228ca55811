-- Web UI sessions. The cookie carries a random id, and only its SHA-256 is
-- kept, so a copy of the database does not sign anyone in.
CREATE TABLE web_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_user ON web_sessions (user_name)
