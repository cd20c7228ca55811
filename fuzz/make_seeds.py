#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (a few dozen small
files each) from the RFC 5849 vectors and real request shapes.

Run from the repository root: python3 fuzz/make_seeds.py
"""

import hashlib
import json
import os
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "crates/sigil-core/tests/data/rfc5849-vectors.json")
OUT = os.path.join(ROOT, "fuzz/corpus")


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def enc(s):
    return urllib.parse.quote(s, safe="-._~")


def form(pairs):
    return "&".join(f"{enc(n)}={enc(v)}" for n, v in pairs)


def header(pairs, realm=None):
    parts = [f'realm="{realm}"'] if realm is not None else []
    parts += [f'{n}="{enc(v)}"' for n, v in pairs]
    return "OAuth " + ", ".join(parts)


vectors = json.load(open(VECTORS))["vectors"]
for v in vectors:
    oauth = [(n, x) for n, x in v["params"] if n.startswith("oauth_")]
    oauth.append(("oauth_signature", v["expected_signature"]))
    h = v.get("expected_authorization_header") or header(oauth, v.get("realm"))
    body = v.get("body_raw") or form(v.get("body_params") or [])
    ctype = v.get("content_type") or (
        "application/x-www-form-urlencoded" if v.get("body_params") else ""
    )
    write("header", h)
    write("base_uri", v["uri"])
    if body:
        write("form", body)
    # verify: URL, header, content type, body on four lines.
    write("verify", f"{v['uri']}\n{h}\n{ctype}\n{body}")

# A few hand-made edge cases.
for h in [
    'OAuth realm="", oauth_consumer_key="k"',
    "OAuth oauth_consumer_key=k",
    'oauth   oauth_nonce="a%2", oauth_nonce="b"',
    'OAuth oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready"',
    'Basic dXNlcjpwYXNz',
]:
    write("header", h)
for body in ["a=1&a=2&b", "%zz=1", "x=%E2%82%AC&y=+", "&&=&"]:
    write("form", body)
for uri in ["HTTP://Example.COM:80/a%20b?x", "https://[::1]:443/", "http://u:p@h:8080"]:
    write("base_uri", uri)

# provider, raw mode: 0x00, an endpoint byte, then METHOD, TARGET,
# Authorization, Content-Type and body on lines. Shaped like real requests
# to the fuzz provider (its client and tokens) but not validly signed.
fake = "tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D"
raw = [
    (0, "GET", "/photos?file=vacation.jpg&size=original",
     f'OAuth realm="Photos", oauth_consumer_key="client", oauth_token="access-token", '
     f'oauth_signature_method="HMAC-SHA1", oauth_timestamp="1700000000", oauth_nonce="chapoH", '
     f'oauth_signature="{fake}"', "", ""),
    (1, "POST", "/initiate",
     'OAuth oauth_consumer_key="client", oauth_signature_method="PLAINTEXT", '
     'oauth_timestamp="1700000000", oauth_nonce="wIjqoS", '
     'oauth_callback="https%3A%2F%2Fclient.example%2Fcallback", oauth_signature="wrong-secret%26"',
     "", ""),
    (2, "POST", "/token",
     'OAuth oauth_consumer_key="client", oauth_token="request-token", oauth_verifier="verifier-1", '
     f'oauth_signature_method="HMAC-SHA256", oauth_timestamp="1700000000", oauth_nonce="n1", oauth_signature="{fake}"',
     "", ""),
    (0, "POST", "/api", "", "application/x-www-form-urlencoded",
     "a=1&oauth_consumer_key=client&oauth_token=access-token&oauth_signature_method=HMAC-SHA1"
     "&oauth_timestamp=1700000000&oauth_nonce=x&oauth_signature=" + fake),
    (0, "GET", "/api?oauth_consumer_key=client&oauth_token=access-token&oauth_signature_method=RSA-SHA1"
     "&oauth_timestamp=1700000000&oauth_nonce=x&oauth_signature=" + fake, "", "", ""),
    (2, "POST", "/token", "", "application/x-www-form-urlencoded",
     "x_auth_mode=client_auth&x_auth_username=jane&x_auth_password=pw&oauth_consumer_key=client"
     "&oauth_signature_method=HMAC-SHA1&oauth_timestamp=1700000000&oauth_nonce=x&oauth_signature=" + fake),
    (0, "PUT", "/xml",
     'OAuth oauth_consumer_key="client", oauth_token="access-token", oauth_body_hash="2jmj7l5rSw0yVb%2FvlWAYkK%2FYBwk%3D", '
     f'oauth_signature_method="HMAC-SHA1", oauth_timestamp="1700000000", oauth_nonce="bh", oauth_signature="{fake}"',
     "application/xml", "<a/>"),
]
for endpoint, method, target, auth, ctype, body in raw:
    write("provider", bytes([0, endpoint]) + f"{method}\n{target}\n{auth}\n{ctype}\n{body}".encode())
# provider, signed mode: 0x01, then bytes read by `arbitrary`. The empty
# rest is a valid protected-resource request; the others vary it.
for rest in [b"", b"\x01", b"\x02", b"\x00" * 16, bytes(range(64)), b"\xff" * 32, b"\x01\x03\x05\x07" * 16]:
    write("provider", b"\x01" + rest)

# http_front, raw mode: 0x00, then a request as text.
front = [
    "GET /api/me\nAuthorization: " + raw[0][3] + "\n\n",
    "POST /oauth/request_token\nAuthorization: " + raw[1][3] + "\nContent-Length: 0\n\n",
    "POST /oauth/access_token\nAuthorization: " + raw[2][3] + "\n\n",
    "POST /oauth/access_token\nContent-Type: application/x-www-form-urlencoded\n\n" + raw[5][5],
    "GET /oauth/authorize?oauth_token=request-token\nCookie: s=1\n\n",
    "GET /oauth/authorize?oauth_token=pending-token\n\n",
    "POST /oauth/authorize\nContent-Type: application/x-www-form-urlencoded\n\noauth_token=pending-token",
    "POST /api/me\nContent-Length: 99999999\n\nx",
    "DELETE /nowhere?x=%zz\nHost: provider.example\n\n",
    "GET http://provider.example/api/me?oauth_token=access-token\n\n",
]
for text in front:
    write("http_front", b"\x00" + text.encode())
for rest in [b"", b"\x00", b"\x01", b"\x00\x01", b"\x00\x02", bytes(range(64)), b"\x01" * 8]:
    write("http_front", b"\x01" + rest)
