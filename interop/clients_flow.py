"""Real OAuth 1.0a clients against a running `sigil serve`.

requests-oauthlib's OAuth1Session and Authlib's OAuth1Session each run the
whole three-legged flow (request token, authorization URL, approval by
`sigil admin authorize`, access token, GET /api/me, form POST /api/echo) for
every signature method and placement given. Prints one line per flow and
exits non-zero if any failed. Only the test suite runs this.
"""

import argparse
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import traceback
from urllib.parse import parse_qs, urlparse

from authlib.integrations.requests_client import OAuth1Session as AuthlibSession
from authlib.oauth1.rfc5849.client_auth import ClientAuth
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth1.rfc5849.util import escape
from requests_oauthlib import OAuth1Session as RequestsSession

CALLBACK = "http://127.0.0.1:9/callback"


def authlib_hmac_sha256(client, request):
    """Authlib ships HMAC-SHA1, RSA-SHA1 and PLAINTEXT; services such as
    NetSuite and WooCommerce need HMAC-SHA256, which Authlib users add
    through its documented ClientAuth.register_signature_method."""
    base_string = generate_signature_base_string(request)
    key = escape(client.client_secret or "") + "&" + escape(client.token_secret or "")
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


ClientAuth.register_signature_method("HMAC-SHA256", authlib_hmac_sha256)
PLACEMENTS = {
    "requests-oauthlib": {"header": "AUTH_HEADER", "query": "QUERY", "body": "BODY"},
    "authlib": {"header": "HEADER", "query": "QUERY", "body": "BODY"},
}


def approve(args, request_token):
    cmd = [args.sigil, "admin", "--database", args.database]
    if args.redis:
        cmd += ["--redis", args.redis]
    cmd += ["authorize", "--token", request_token, "--user", args.user, "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def session(lib, key, secret, method, placement, rsa_pem, **tokens):
    kind = PLACEMENTS[lib][placement]
    if lib == "requests-oauthlib":
        return RequestsSession(
            key,
            client_secret=secret,
            callback_uri=CALLBACK,
            signature_method=method,
            signature_type=kind,
            rsa_key=rsa_pem,
            resource_owner_key=tokens.get("token"),
            resource_owner_secret=tokens.get("token_secret"),
            verifier=tokens.get("verifier"),
        )
    return AuthlibSession(
        key,
        client_secret=secret,
        redirect_uri=CALLBACK,
        signature_method=method,
        signature_type=kind,
        rsa_key=rsa_pem,
        token=tokens.get("token"),
        token_secret=tokens.get("token_secret"),
    )


def flow(args, lib, method, placement):
    rsa = method.startswith("RSA")
    key = args.rsa_key if rsa else args.hmac_key
    secret = None if rsa else args.hmac_secret
    rsa_pem = open(args.rsa_pem).read() if rsa else None
    base = args.base

    s = session(lib, key, secret, method, placement, rsa_pem)
    fetched = s.fetch_request_token(base + "/oauth/request_token")
    token, token_secret = fetched["oauth_token"], fetched["oauth_token_secret"]
    assert fetched.get("oauth_callback_confirmed") == "true", fetched
    if lib == "requests-oauthlib":
        auth_url = s.authorization_url(base + "/oauth/authorize")
    else:
        auth_url = s.create_authorization_url(base + "/oauth/authorize")
    assert parse_qs(urlparse(auth_url).query)["oauth_token"] == [token], auth_url

    approval = approve(args, token)
    redirect = approval["callback"]
    if lib == "requests-oauthlib":
        # The client reads the verifier from the redirect, as in a browser.
        s.parse_authorization_response(redirect)
        access = s.fetch_access_token(base + "/oauth/access_token")
    else:
        s.parse_authorization_response(redirect)
        access = s.fetch_access_token(base + "/oauth/access_token")
    assert access["user_id"] == args.user, access

    s = session(
        lib, key, secret, method, placement, rsa_pem,
        token=access["oauth_token"], token_secret=access["oauth_token_secret"],
    )
    # A body signature needs a body: the form placement reads /api/me by POST.
    me = s.post(base + "/api/me") if placement == "body" else s.get(base + "/api/me")
    assert me.status_code == 200, (me.status_code, me.text)
    assert me.json()["user"] == args.user, me.text

    echo = s.post(
        base + "/api/echo?page=2&tag=x",
        data={"status": "Hello Ladies + Gentlemen, a signed OAuth request!", "tag": "y"},
    )
    assert echo.status_code == 200, (echo.status_code, echo.text)
    body = echo.json()
    form = [pair for pair in body["form"] if not pair[0].startswith("oauth_")]
    assert ["status", "Hello Ladies + Gentlemen, a signed OAuth request!"] in form, body
    assert ["tag", "y"] in form, body
    query = [pair for pair in body["query"] if not pair[0].startswith("oauth_")]
    assert query == [["page", "2"], ["tag", "x"]], body


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--sigil", required=True)
    p.add_argument("--database", required=True)
    p.add_argument("--redis")
    p.add_argument("--user", default="alice")
    p.add_argument("--hmac-key", required=True)
    p.add_argument("--hmac-secret", required=True)
    p.add_argument("--rsa-key", required=True)
    p.add_argument("--rsa-pem", required=True)
    p.add_argument("--libs", default="requests-oauthlib,authlib")
    p.add_argument("--methods", default="HMAC-SHA1,HMAC-SHA256,RSA-SHA1")
    p.add_argument("--placements", default="header,query,body")
    args = p.parse_args()

    failures = 0
    for lib in args.libs.split(","):
        for method in args.methods.split(","):
            for placement in args.placements.split(","):
                try:
                    flow(args, lib, method, placement)
                    print(f"ok {lib} {method} {placement}")
                except Exception:  # report every flow, then fail
                    failures += 1
                    print(f"FAILED {lib} {method} {placement}")
                    traceback.print_exc(file=sys.stdout)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
