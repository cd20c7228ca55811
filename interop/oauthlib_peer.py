"""A real peer for Sigil's interoperability tests: Python's oauthlib.

Reads one JSON object on stdin and writes one JSON object on stdout.

  {"op": "sign", ...}    oauthlib.oauth1.Client signs a request; the answer is
                         {"uri", "headers", "body"} as oauthlib would send them.
  {"op": "verify", ...}  oauthlib's ResourceEndpoint checks a request signed by
                         someone else; the answer is {"valid": bool}.

Only the test suite runs this; it is not part of Sigil.
"""

import json
import sys

from oauthlib.oauth1 import Client, RequestValidator, ResourceEndpoint
from oauthlib.oauth1.rfc5849 import (
    SIGNATURE_TYPE_AUTH_HEADER,
    SIGNATURE_TYPE_BODY,
    SIGNATURE_TYPE_QUERY,
)

SIGNATURE_TYPES = {
    "header": SIGNATURE_TYPE_AUTH_HEADER,
    "query": SIGNATURE_TYPE_QUERY,
    "body": SIGNATURE_TYPE_BODY,
}


def sign(job):
    client = Client(
        job["client_key"],
        client_secret=job.get("client_secret"),
        resource_owner_key=job.get("token"),
        resource_owner_secret=job.get("token_secret"),
        callback_uri=job.get("callback"),
        verifier=job.get("verifier"),
        signature_method=job["signature_method"],
        signature_type=SIGNATURE_TYPES[job["placement"]],
        rsa_key=job.get("rsa_key"),
        realm=job.get("realm"),
    )
    headers = {}
    body = job.get("body")
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    uri, headers, body = client.sign(
        job["uri"], http_method=job["method"], body=body, headers=headers
    )
    return {"uri": uri, "headers": headers, "body": body}


class Validator(RequestValidator):
    """An in-memory validator that knows one client and one token."""

    def __init__(self, job):
        super().__init__()
        self.job = job

    # Sigil's test credentials are not oauthlib's default lengths.
    @property
    def client_key_length(self):
        return 1, 256

    @property
    def access_token_length(self):
        return 1, 256

    @property
    def nonce_length(self):
        return 1, 128

    @property
    def safe_characters(self):
        return set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")

    @property
    def enforce_ssl(self):
        return False

    @property
    def dummy_client(self):
        return "dummy-client"

    @property
    def dummy_access_token(self):
        return "dummy-token"

    def validate_client_key(self, client_key, request):
        return client_key == self.job["client_key"]

    def validate_access_token(self, client_key, token, request):
        return token == self.job["token"]

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        return True

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def get_client_secret(self, client_key, request):
        return self.job.get("client_secret") or ""

    def get_access_token_secret(self, client_key, token, request):
        return self.job.get("token_secret") or ""

    def get_rsa_key(self, client_key, request):
        return self.job.get("rsa_public_key")


def verify(job):
    endpoint = ResourceEndpoint(Validator(job))
    valid, _request = endpoint.validate_protected_resource_request(
        job["uri"],
        http_method=job["method"],
        body=job.get("body"),
        headers=job.get("headers") or {},
    )
    return {"valid": bool(valid)}


def main():
    job = json.load(sys.stdin)
    op = {"sign": sign, "verify": verify}[job["op"]]
    json.dump(op(job), sys.stdout)


if __name__ == "__main__":
    main()
