"""An OAuth 1.0a provider built with Python's oauthlib and Flask, as a real
peer for sigil-client: request token, authorization (approved at once for
user "alice"), access token and one protected resource, with an in-memory
validator. Prints "listening on http://127.0.0.1:PORT" once ready.

Usage: oauthlib_provider.py CLIENT_KEY CLIENT_SECRET RSA_PUBLIC_PEM_FILE
Only the test suite runs this.
"""

import sys

from flask import Flask, jsonify, request
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from werkzeug.serving import make_server

CLIENT_KEY, CLIENT_SECRET, RSA_PEM_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
RSA_PUBLIC = open(RSA_PEM_FILE).read()
CALLBACK = "http://127.0.0.1:9/callback"

request_tokens = {}   # token -> {"secret", "callback", "verifier", "user"}
access_tokens = {}    # token -> {"secret", "user"}
nonces = set()


class Validator(RequestValidator):
    enforce_ssl = False
    client_key_length = (1, 64)
    request_token_length = (1, 64)
    access_token_length = (1, 64)
    verifier_length = (1, 64)
    nonce_length = (1, 64)
    safe_characters = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
    realms = ["photos"]
    dummy_client = "dummy"
    dummy_request_token = "dummy"
    dummy_access_token = "dummy"
    allowed_signature_methods = ("HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "PLAINTEXT")

    def validate_client_key(self, client_key, request):
        return client_key == CLIENT_KEY

    def get_client_secret(self, client_key, request):
        return CLIENT_SECRET

    def get_rsa_key(self, client_key, request):
        return RSA_PUBLIC

    def get_default_realms(self, client_key, request):
        return ["photos"]

    def validate_requested_realms(self, client_key, realms, request):
        return set(realms) <= {"photos"}

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        return redirect_uri in (CALLBACK, "oob")

    def get_redirect_uri(self, token, request):
        return request_tokens[token]["callback"]

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        key = (client_key, timestamp, nonce, request_token or access_token)
        if key in nonces:
            return False
        nonces.add(key)
        return True

    def save_request_token(self, token, request):
        request_tokens[token["oauth_token"]] = {
            "secret": token["oauth_token_secret"],
            "callback": request.redirect_uri,
        }

    def validate_request_token(self, client_key, token, request):
        return token in request_tokens

    def get_request_token_secret(self, client_key, token, request):
        return request_tokens.get(token, {}).get("secret", "dummy")

    def verify_request_token(self, token, request):
        return token in request_tokens

    def get_realms(self, token, request):
        return ["photos"]

    def verify_realms(self, token, realms, request):
        return set(realms) <= {"photos"}

    def save_verifier(self, token, verifier, request):
        request_tokens[token]["verifier"] = verifier["oauth_verifier"]
        request_tokens[token]["user"] = "alice"

    def validate_verifier(self, client_key, token, verifier, request):
        return request_tokens.get(token, {}).get("verifier") == verifier

    def invalidate_request_token(self, client_key, request_token, request):
        request_tokens.pop(request_token, None)

    def save_access_token(self, token, request):
        access_tokens[token["oauth_token"]] = {
            "secret": token["oauth_token_secret"],
            "user": "alice",
        }

    def validate_access_token(self, client_key, token, request):
        return token in access_tokens

    def get_access_token_secret(self, client_key, token, request):
        return access_tokens.get(token, {}).get("secret", "dummy")

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True


validator = Validator()
app = Flask(__name__)


def reply(headers, body, status):
    return body or "", status, headers


@app.route("/request_token", methods=["GET", "POST"])
def request_token():
    return reply(*RequestTokenEndpoint(validator).create_request_token_response(
        request.url, http_method=request.method, body=request.get_data(as_text=True),
        headers=dict(request.headers)))


@app.route("/authorize")
def authorize():
    # Approves at once as "alice" and redirects with the verifier.
    headers, body, status = AuthorizationEndpoint(validator).create_authorization_response(
        request.url, http_method="GET", realms=["photos"])
    return reply(headers, body, status)


@app.route("/access_token", methods=["GET", "POST"])
def access_token():
    return reply(*AccessTokenEndpoint(validator).create_access_token_response(
        request.url, http_method=request.method, body=request.get_data(as_text=True),
        headers=dict(request.headers)))


@app.route("/api/me", methods=["GET", "POST"])
def me():
    valid, r = ResourceEndpoint(validator).validate_protected_resource_request(
        request.url, http_method=request.method, body=request.get_data(as_text=True),
        headers=dict(request.headers), realms=["photos"])
    if not valid:
        return "invalid", 401
    return jsonify(user=access_tokens[r.resource_owner_key]["user"], client_key=r.client_key)


if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
