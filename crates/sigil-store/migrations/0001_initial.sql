-- Sigil's schema. The same SQL runs on SQLite and PostgreSQL: TEXT and
-- BIGINT only, booleans as 0/1, lists as text. Secrets are sealed by the
-- application before they get here (see seal.rs).

CREATE TABLE clients (
    client_key        TEXT PRIMARY KEY,
    secret            TEXT,
    rsa_public_key    TEXT,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    website           TEXT,
    callbacks         TEXT NOT NULL DEFAULT '',
    default_realms    TEXT NOT NULL DEFAULT '',
    allowed_realms    TEXT NOT NULL DEFAULT '',
    signature_methods TEXT NOT NULL DEFAULT '',
    allow_oob         BIGINT NOT NULL DEFAULT 0,
    allow_xauth       BIGINT NOT NULL DEFAULT 0,
    enabled           BIGINT NOT NULL DEFAULT 1,
    owner             TEXT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX clients_owner ON clients (owner);

CREATE TABLE temporary_credentials (
    token       TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    client_key  TEXT NOT NULL,
    callback    TEXT NOT NULL,
    realms      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    verifier    TEXT,
    user_name   TEXT
);
CREATE INDEX temporary_credentials_expires ON temporary_credentials (expires_at);

CREATE TABLE access_tokens (
    token       TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    client_key  TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    realms      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX access_tokens_user ON access_tokens (user_name, client_key);

CREATE TABLE nonces (
    client_key  TEXT NOT NULL,
    token       TEXT NOT NULL,
    ts          BIGINT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (client_key, token, ts, nonce)
);
CREATE INDEX nonces_expires ON nonces (expires_at);

CREATE TABLE users (
    name           TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
