//! The bad-request table, shared by the engine test (sigil-server) and the
//! HTTP test of `sigil serve`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use sigil_core::{Secret, SignatureMethod};
use sigil_server::{AccessToken, Client, Policy, Stores, TemporaryCredential};

use crate::common::*;

/// Credentials every case can use, created fresh for each case.
pub struct Fixture {
    /// Approved request token of "client": (token, secret, verifier).
    pub approved: (String, String, String),
    /// Unapproved request token of "client".
    pub pending: (String, String),
    /// Approved but expired request token of "client".
    pub expired: (String, String, String),
    /// Access token of "client" with realm "photos".
    pub access: (String, String),
    /// Access token of "other".
    pub other_access: (String, String),
}

/// The clients the cases use, besides the world's "client" and "rsa-client".
pub fn fixture_clients() -> Vec<Client> {
    let mut disabled = hmac_client("disabled", "disabled-secret");
    disabled.enabled = false;
    let mut rsa_only = hmac_client("rsa-only", "rsa-only-secret");
    rsa_only.signature_methods = vec![SignatureMethod::RsaSha1];
    let mut no_oob = hmac_client("no-oob", "no-oob-secret");
    no_oob.allow_oob = false;
    vec![
        disabled,
        hmac_client("other", "other-secret"),
        rsa_only,
        no_oob,
    ]
}

/// Creates the fixture's credentials through the store traits.
pub async fn fixture(stores: &Stores) -> Fixture {
    let temporary = |token: &str, approved: bool, expires_at: u64| TemporaryCredential {
        token: token.into(),
        secret: Secret::new(format!("{token}-secret")),
        client_key: "client".into(),
        callback: CALLBACK.into(),
        realms: vec!["photos".into()],
        created_at: now() - 10,
        expires_at,
        verifier: approved.then(|| format!("{token}-verifier")),
        user: approved.then(|| "alice".to_owned()),
    };
    stores
        .temporary
        .create_temporary(temporary("rt-approved", true, now() + 600))
        .await
        .unwrap();
    stores
        .temporary
        .create_temporary(temporary("rt-pending", false, now() + 600))
        .await
        .unwrap();
    stores
        .temporary
        .create_temporary(temporary("rt-expired", true, now() - 1))
        .await
        .unwrap();
    let access = |token: &str, client: &str| AccessToken {
        token: token.into(),
        secret: Secret::new(format!("{token}-secret")),
        client_key: client.into(),
        user: "alice".into(),
        realms: vec!["photos".into()],
        created_at: now() - 10,
    };
    stores
        .tokens
        .create_token(access("at-client", "client"))
        .await
        .unwrap();
    stores
        .tokens
        .create_token(access("at-other", "other"))
        .await
        .unwrap();
    Fixture {
        approved: (
            "rt-approved".into(),
            "rt-approved-secret".into(),
            "rt-approved-verifier".into(),
        ),
        pending: ("rt-pending".into(), "rt-pending-secret".into()),
        expired: (
            "rt-expired".into(),
            "rt-expired-secret".into(),
            "rt-expired-verifier".into(),
        ),
        access: ("at-client".into(), "at-client-secret".into()),
        other_access: ("at-other".into(), "at-other-secret".into()),
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Endpoint {
    RequestToken,
    AccessToken,
    Resource(&'static [&'static str]),
    SignatureOnly,
}

#[derive(Clone, Copy, Debug)]
pub enum Pre {
    None,
    /// Send the same request once (and expect success) before the case.
    SendOnce,
    /// Revoke the fixture's access token first.
    Revoke,
}

pub struct Case {
    pub name: &'static str,
    pub endpoint: Endpoint,
    pub policy: Option<fn() -> Policy>,
    pub pre: Pre,
    pub build: fn(&Fixture) -> Wire,
    pub status: u16,
    pub problem: &'static str,
}

fn request_token() -> Spec {
    Spec::new("/oauth/request_token").oauth("oauth_callback", CALLBACK)
}

fn access_token(f: &Fixture) -> Spec {
    Spec::new("/oauth/access_token")
        .token(&f.approved.0, &f.approved.1)
        .oauth("oauth_verifier", &f.approved.2)
}

fn resource(f: &Fixture) -> Spec {
    Spec::new("/api/me").token(&f.access.0, &f.access.1)
}

pub fn with_header(mut wire: Wire, edit: impl FnOnce(String) -> String) -> Wire {
    let header = edit(wire.header());
    wire.set_header(&header);
    wire
}

fn http_policy() -> Policy {
    Policy {
        public_base_url: Some("http://provider.example".into()),
        require_tls: false,
        ..Policy::default()
    }
}

fn strict_http_policy() -> Policy {
    Policy {
        public_base_url: Some("http://provider.example".into()),
        ..Policy::default()
    }
}

fn no_plaintext_policy() -> Policy {
    Policy {
        public_base_url: Some(BASE.into()),
        signature_methods: vec![SignatureMethod::HmacSha1, SignatureMethod::RsaSha1],
        ..Policy::default()
    }
}

fn small_body_policy() -> Policy {
    let mut p = Policy {
        public_base_url: Some(BASE.into()),
        ..Policy::default()
    };
    p.limits.max_body_len = 1024;
    p
}

/// Every bad request, at least 40.
pub fn cases() -> Vec<Case> {
    use Endpoint::*;
    let case = |name, endpoint, build: fn(&Fixture) -> Wire, status, problem| Case {
        name,
        endpoint,
        policy: None,
        pre: Pre::None,
        build,
        status,
        problem,
    };
    vec![
        case(
            "duplicate oauth_nonce in header",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    format!("{h}, oauth_nonce=\"again\"")
                })
            },
            400,
            "parameter_rejected",
        ),
        case(
            "duplicate oauth_nonce in query",
            RequestToken,
            |_| {
                let mut w = request_token().placement(Placement::Query).sign();
                w.target.push_str("&oauth_nonce=again");
                w
            },
            400,
            "parameter_rejected",
        ),
        case(
            "duplicate realm",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    h.replacen("OAuth ", "OAuth realm=\"a\", realm=\"b\", ", 1)
                })
            },
            400,
            "parameter_rejected",
        ),
        case(
            "parameters in header and query",
            RequestToken,
            |_| {
                let mut w = request_token().sign();
                w.target.push_str("?oauth_token=x");
                w
            },
            400,
            "parameter_rejected",
        ),
        case(
            "parameters in query and body",
            RequestToken,
            |_| {
                let mut w = request_token().placement(Placement::Query).sign();
                w.content_type = Some(b"application/x-www-form-urlencoded".to_vec());
                w.body = b"oauth_verifier=x".to_vec();
                w
            },
            400,
            "parameter_rejected",
        ),
        case(
            "oauth_callback missing",
            RequestToken,
            |_| Spec::new("/oauth/request_token").sign(),
            400,
            "parameter_absent",
        ),
        case(
            "oauth_consumer_key missing",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    h.replace("oauth_consumer_key=\"client\", ", "")
                })
            },
            400,
            "parameter_absent",
        ),
        case(
            "oauth_signature missing",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    h.split(", oauth_signature=").next().unwrap().to_owned()
                })
            },
            400,
            "parameter_absent",
        ),
        case(
            "oauth_timestamp missing",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    h.replace(&format!("oauth_timestamp=\"{}\", ", now()), "")
                })
            },
            400,
            "parameter_absent",
        ),
        case(
            "oauth_nonce missing",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    let start = h.find("oauth_nonce=").unwrap();
                    let end = start + h[start..].find(", ").unwrap() + 2;
                    format!("{}{}", &h[..start], &h[end..])
                })
            },
            400,
            "parameter_absent",
        ),
        case(
            "oauth_signature_method missing",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    h.replace("oauth_signature_method=\"HMAC-SHA1\", ", "")
                })
            },
            400,
            "parameter_absent",
        ),
        case(
            "unknown signature method",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    h.replace("HMAC-SHA1", "RSA-MD5")
                })
            },
            400,
            "signature_method_rejected",
        ),
        case(
            "oauth_version 2.0",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.version = Some("2.0".into());
                s.sign()
            },
            400,
            "version_rejected",
        ),
        case(
            "timestamp not a number",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.timestamp = "12e9".into();
                s.sign()
            },
            400,
            "parameter_rejected",
        ),
        case(
            "timestamp negative",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.timestamp = "-1".into();
                s.sign()
            },
            400,
            "parameter_rejected",
        ),
        case(
            "timestamp too old",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.timestamp = (now() - 301).to_string();
                s.sign()
            },
            401,
            "timestamp_refused",
        ),
        case(
            "timestamp too far ahead",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.timestamp = (now() + 301).to_string();
                s.sign()
            },
            401,
            "timestamp_refused",
        ),
        Case {
            pre: Pre::SendOnce,
            ..case(
                "replayed nonce at the resource",
                Resource(&[]),
                |f| {
                    let mut s = resource(f);
                    s.nonce = "fixed-replayed-nonce".into();
                    s.sign()
                },
                401,
                "nonce_used",
            )
        },
        case(
            "unknown consumer key",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.consumer_key = "nobody".into();
                s.sign()
            },
            401,
            "consumer_key_unknown",
        ),
        case(
            "disabled client",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.consumer_key = "disabled".into();
                s.consumer_secret = "disabled-secret".into();
                s.sign()
            },
            401,
            "consumer_key_rejected",
        ),
        case(
            "request token used at the resource",
            Resource(&[]),
            |f| {
                Spec::new("/api/me")
                    .token(&f.approved.0, &f.approved.1)
                    .sign()
            },
            401,
            "token_rejected",
        ),
        case(
            "access token used at the token endpoint",
            AccessToken,
            |f| {
                Spec::new("/oauth/access_token")
                    .token(&f.access.0, &f.access.1)
                    .oauth("oauth_verifier", "x")
                    .sign()
            },
            401,
            "token_rejected",
        ),
        case(
            "wrong verifier",
            AccessToken,
            |f| {
                Spec::new("/oauth/access_token")
                    .token(&f.approved.0, &f.approved.1)
                    .oauth("oauth_verifier", "guess")
                    .sign()
            },
            401,
            "verifier_invalid",
        ),
        Case {
            pre: Pre::SendOnce,
            ..case(
                "verifier reused",
                AccessToken,
                |f| {
                    let mut s = access_token(f);
                    s.nonce = "first-exchange".into();
                    s.sign()
                },
                401,
                "token_rejected",
            )
        },
        case(
            "request token not approved",
            AccessToken,
            |f| {
                Spec::new("/oauth/access_token")
                    .token(&f.pending.0, &f.pending.1)
                    .oauth("oauth_verifier", "x")
                    .sign()
            },
            401,
            "verifier_invalid",
        ),
        case(
            "request token expired",
            AccessToken,
            |f| {
                Spec::new("/oauth/access_token")
                    .token(&f.expired.0, &f.expired.1)
                    .oauth("oauth_verifier", &f.expired.2)
                    .sign()
            },
            401,
            "token_expired",
        ),
        case(
            "oauth_verifier missing",
            AccessToken,
            |f| {
                Spec::new("/oauth/access_token")
                    .token(&f.approved.0, &f.approved.1)
                    .sign()
            },
            400,
            "parameter_absent",
        ),
        case(
            "request token of another client",
            AccessToken,
            |f| {
                let mut s = access_token(f);
                s.consumer_key = "other".into();
                s.consumer_secret = "other-secret".into();
                s.sign()
            },
            401,
            "token_rejected",
        ),
        case(
            "callback not registered",
            RequestToken,
            |_| {
                Spec::new("/oauth/request_token")
                    .oauth("oauth_callback", "https://evil.example/callback")
                    .sign()
            },
            400,
            "parameter_rejected",
        ),
        case(
            "callback that only shares a prefix",
            RequestToken,
            |_| {
                Spec::new("/oauth/request_token")
                    .oauth("oauth_callback", "https://client.example/callbackx")
                    .sign()
            },
            400,
            "parameter_rejected",
        ),
        case(
            "oob not allowed for the client",
            RequestToken,
            |_| {
                let mut s = Spec::new("/oauth/request_token").oauth("oauth_callback", "oob");
                s.consumer_key = "no-oob".into();
                s.consumer_secret = "no-oob-secret".into();
                s.sign()
            },
            400,
            "parameter_rejected",
        ),
        case(
            "realm not allowed",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.realm = Some("photos admin".into());
                s.sign()
            },
            401,
            "permission_denied",
        ),
        Case {
            policy: Some(http_policy),
            ..case(
                "PLAINTEXT over plain http",
                RequestToken,
                |_| {
                    let mut s = request_token().method(SignatureMethod::Plaintext);
                    s.base = "http://provider.example".into();
                    s.sign()
                },
                400,
                "signature_method_rejected",
            )
        },
        Case {
            policy: Some(strict_http_policy),
            ..case(
                "plain http where TLS is required",
                RequestToken,
                |_| {
                    let mut s = request_token();
                    s.base = "http://provider.example".into();
                    s.sign()
                },
                400,
                "tls_required",
            )
        },
        Case {
            policy: Some(no_plaintext_policy),
            ..case(
                "method not allowed by policy",
                RequestToken,
                |_| request_token().method(SignatureMethod::HmacSha256).sign(),
                400,
                "signature_method_rejected",
            )
        },
        case(
            "method not allowed for the client",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.consumer_key = "rsa-only".into();
                s.consumer_secret = "rsa-only-secret".into();
                s.sign()
            },
            400,
            "signature_method_rejected",
        ),
        case(
            "bad percent-encoding in the header",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    h.replace("oauth_nonce=\"", "oauth_nonce=\"%G1")
                })
            },
            400,
            "parameter_rejected",
        ),
        case(
            "bad percent-encoding in the query",
            RequestToken,
            |_| {
                let mut w = request_token().sign();
                w.target.push_str("?q=%zz");
                w
            },
            400,
            "parameter_rejected",
        ),
        case(
            "oversized header",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    format!("{h}, oauth_pad=\"{}\"", "a".repeat(9000))
                })
            },
            400,
            "parameter_rejected",
        ),
        case(
            "too many parameters",
            Resource(&[]),
            |f| {
                let mut s = resource(f);
                for i in 0..300 {
                    s = s.form(&format!("p{i}"), "v");
                }
                s.sign()
            },
            400,
            "parameter_rejected",
        ),
        case(
            "non-UTF-8 bytes in the header",
            RequestToken,
            |_| {
                let mut w = request_token().sign();
                let mut h = w.authorization.take().unwrap();
                h.extend_from_slice(b", oauth_x=\"\xff\xfe\"");
                w.authorization = Some(h);
                w
            },
            400,
            "parameter_rejected",
        ),
        case(
            "non-UTF-8 bytes in a form body",
            Resource(&[]),
            |f| {
                let mut w = resource(f).form("a", "b").sign();
                w.body = b"a=\xff".to_vec();
                w
            },
            400,
            "parameter_rejected",
        ),
        case(
            "percent-encoded non-UTF-8 in the query",
            Resource(&[]),
            |f| {
                let mut w = resource(f).sign();
                w.target.push_str("?a=%FF");
                w
            },
            400,
            "parameter_rejected",
        ),
        case(
            "unquoted header value",
            RequestToken,
            |_| {
                with_header(request_token().sign(), |h| {
                    h.replace("oauth_version=\"1.0\"", "oauth_version=1.0")
                })
            },
            400,
            "parameter_rejected",
        ),
        case(
            "unknown parameter in the header",
            RequestToken,
            |_| with_header(request_token().sign(), |h| format!("{h}, foo=\"bar\"")),
            400,
            "parameter_rejected",
        ),
        case(
            "Basic authorization instead of OAuth",
            RequestToken,
            |_| {
                let mut w = request_token().sign();
                w.set_header("Basic dXNlcjpwYXNz");
                w
            },
            400,
            "parameter_absent",
        ),
        case(
            "RSA signature with trailing garbage",
            RequestToken,
            |_| {
                with_header(
                    request_token().method(SignatureMethod::RsaSha1).sign(),
                    |h| h.replace("%3D\"", "%3DAAAA\""),
                )
            },
            401,
            "signature_invalid",
        ),
        case(
            "HMAC signature of another request",
            Resource(&[]),
            |f| {
                let mut w = resource(f).sign();
                w.target = "/api/other".into();
                w
            },
            401,
            "signature_invalid",
        ),
        case(
            "signed with the wrong token secret",
            Resource(&[]),
            |f| Spec::new("/api/me").token(&f.access.0, "wrong").sign(),
            401,
            "signature_invalid",
        ),
        case(
            "unknown access token",
            Resource(&[]),
            |_| Spec::new("/api/me").token("no-such-token", "x").sign(),
            401,
            "token_rejected",
        ),
        case(
            "access token of another client",
            Resource(&[]),
            |f| {
                Spec::new("/api/me")
                    .token(&f.other_access.0, &f.other_access.1)
                    .sign()
            },
            401,
            "token_rejected",
        ),
        Case {
            pre: Pre::Revoke,
            ..case(
                "revoked access token",
                Resource(&[]),
                |f| resource(f).sign(),
                401,
                "token_rejected",
            )
        },
        case(
            "realm the token does not grant",
            Resource(&["email"]),
            |f| resource(f).sign(),
            403,
            "permission_denied",
        ),
        case(
            "oauth_token missing at the resource",
            Resource(&[]),
            |_| Spec::new("/api/me").sign(),
            400,
            "parameter_absent",
        ),
        Case {
            policy: Some(small_body_policy),
            ..case(
                "body over the limit",
                Resource(&[]),
                |f| resource(f).form("big", &"x".repeat(4096)).sign(),
                413,
                "body_too_large",
            )
        },
        case(
            "body hash that does not match",
            Resource(&[]),
            |f| {
                let mut s = resource(f).oauth("oauth_body_hash", "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
                s.http_method = "PUT".into();
                let mut w = s.sign();
                w.content_type = Some(b"application/json".to_vec());
                w.body = b"{\"a\":1}".to_vec();
                w
            },
            401,
            "signature_invalid",
        ),
        case(
            "body hash with a form body",
            Resource(&[]),
            |f| {
                with_header(resource(f).form("a", "b").sign(), |h| {
                    format!("{h}, oauth_body_hash=\"x\"")
                })
            },
            400,
            "parameter_rejected",
        ),
        case(
            "nonce with a space",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.nonce = "two words".into();
                s.sign()
            },
            400,
            "parameter_rejected",
        ),
        case(
            "nonce too long",
            RequestToken,
            |_| {
                let mut s = request_token();
                s.nonce = "n".repeat(200);
                s.sign()
            },
            400,
            "parameter_rejected",
        ),
        case(
            "token at the signature-only endpoint",
            SignatureOnly,
            |f| resource(f).sign(),
            400,
            "parameter_rejected",
        ),
        case(
            "xAuth for a client without it",
            AccessToken,
            |_| {
                Spec::new("/oauth/access_token")
                    .form("x_auth_mode", "client_auth")
                    .form("x_auth_username", "a")
                    .form("x_auth_password", "b")
                    .sign()
            },
            401,
            "permission_denied",
        ),
        case(
            "xAuth password in the query",
            AccessToken,
            |_| {
                let mut w = Spec::new("/oauth/access_token")
                    .form("x_auth_mode", "client_auth")
                    .form("x_auth_username", "a")
                    .sign();
                w.target.push_str("?x_auth_password=b");
                w
            },
            400,
            "parameter_rejected",
        ),
        case(
            "relative-path trick in the target",
            RequestToken,
            |_| {
                let mut w = request_token().sign();
                w.target = "oauth/request_token".into();
                w
            },
            400,
            "parameter_rejected",
        ),
    ]
}
