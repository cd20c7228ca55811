"""The Python baseline for bench/run.sh: a protected resource built with
Flask and oauthlib's ResourceEndpoint, one client and one access token in
memory (values from the environment), nonces remembered per worker. Run
under gunicorn: BENCH_KEY=... gunicorn -w 2 -b 127.0.0.1:PORT flask_provider:app
"""

import os

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


endpoint = ResourceEndpoint(Validator())
app = Flask(__name__)


@app.route("/api/me", methods=["GET", "POST"])
def me():
    valid, r = endpoint.validate_protected_resource_request(
        request.url, http_method=request.method, body=request.get_data(as_text=True),
        headers=dict(request.headers))
    if not valid:
        return "invalid", 401
    return jsonify(user="alice", client_key=r.client_key, realms=[])
