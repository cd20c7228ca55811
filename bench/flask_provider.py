"""The Python baseline for bench/run.sh: a protected resource built with
Flask and oauthlib's ResourceEndpoint, one client and one access token
(values from the environment). Run under gunicorn:
BENCH_KEY=... gunicorn -w 2 -b 127.0.0.1:PORT flask_provider:app

Two stores, chosen by BENCH_SQLITE:
- unset: everything in memory, nonces remembered per worker (the fastest
  this can be; a replay sent to the other worker is not caught);
- a file path: the client, the token and the nonces in one SQLite file in
  WAL mode with synchronous=NORMAL, as `sigil serve` keeps them, each nonce
  committed before the answer (what a Flask-OAuthlib provider with a
  database does, without an ORM's cost).
"""

import os
import sqlite3

from flask import Flask, jsonify, request
from oauthlib.oauth1 import RequestValidator, ResourceEndpoint

KEY, SECRET = os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"]
TOKEN, TOKEN_SECRET = os.environ["BENCH_TOKEN"], os.environ["BENCH_TOKEN_SECRET"]
nonces = set()


class Validator(RequestValidator):
    enforce_ssl = False
    client_key_length = (1, 64)
    access_token_length = (1, 64)
    nonce_length = (1, 64)
    safe_characters = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    dummy_client = "dummy"
    dummy_access_token = "dummy"
    allowed_signature_methods = ("HMAC-SHA1", "HMAC-SHA256")

    def validate_client_key(self, client_key, request):
        return client_key == KEY

    def get_client_secret(self, client_key, request):
        return SECRET if client_key == KEY else "dummy"

    def validate_access_token(self, client_key, token, request):
        return token == TOKEN

    def get_access_token_secret(self, client_key, token, request):
        return TOKEN_SECRET if token == TOKEN else "dummy"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        key = (client_key, timestamp, nonce, access_token)
        if key in nonces:
            return False
        nonces.add(key)
        return True

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True


class SqliteValidator(Validator):
    def __init__(self, path):
        super().__init__()
        self.db = sqlite3.connect(path, timeout=5, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS clients (key TEXT PRIMARY KEY, secret TEXT NOT NULL)")
            self.db.execute("CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, client_key TEXT NOT NULL, secret TEXT NOT NULL)")
            self.db.execute("CREATE TABLE IF NOT EXISTS nonces (ts INTEGER NOT NULL, client_key TEXT NOT NULL, "
                            "token TEXT NOT NULL, nonce TEXT NOT NULL, PRIMARY KEY (ts, client_key, token, nonce)) WITHOUT ROWID")
            self.db.execute("INSERT OR IGNORE INTO clients VALUES (?, ?)", (KEY, SECRET))
            self.db.execute("INSERT OR IGNORE INTO tokens VALUES (?, ?, ?)", (TOKEN, KEY, TOKEN_SECRET))

    def _one(self, sql, args):
        row = self.db.execute(sql, args).fetchone()
        return row[0] if row else None

    def validate_client_key(self, client_key, request):
        return self._one("SELECT 1 FROM clients WHERE key = ?", (client_key,)) is not None

    def get_client_secret(self, client_key, request):
        return self._one("SELECT secret FROM clients WHERE key = ?", (client_key,)) or "dummy"

    def validate_access_token(self, client_key, token, request):
        return self._one("SELECT 1 FROM tokens WHERE token = ? AND client_key = ?", (token, client_key)) is not None

    def get_access_token_secret(self, client_key, token, request):
        return self._one("SELECT secret FROM tokens WHERE token = ? AND client_key = ?", (token, client_key)) or "dummy"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        try:
            self.db.execute("INSERT INTO nonces VALUES (?, ?, ?, ?)",
                            (int(timestamp), client_key, access_token or request_token or "", nonce))
        except sqlite3.IntegrityError:
            return False
        return True


endpoint = ResourceEndpoint(SqliteValidator(os.environ["BENCH_SQLITE"]) if os.environ.get("BENCH_SQLITE") else Validator())
app = Flask(__name__)


@app.route("/api/me", methods=["GET", "POST"])
def me():
    valid, r = endpoint.validate_protected_resource_request(
        request.url, http_method=request.method, body=request.get_data(as_text=True),
        headers=dict(request.headers))
    if not valid:
        return "invalid", 401
    return jsonify(user="alice", client_key=r.client_key, realms=[])
