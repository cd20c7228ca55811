//! Property tests: sign-then-verify round trips, header render/parse round
//! trips, tampering is detected, and no parser panics on arbitrary input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;
use std::sync::OnceLock;

use proptest::prelude::*;
use sigil_core::encoding::{encode, form_decode, form_encode};
use sigil_core::*;

fn rsa_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::from_pem(include_str!("data/test-rsa-pkcs1.pem")).unwrap())
}

fn any_method() -> impl Strategy<Value = SignatureMethod> {
    prop::sample::select(SignatureMethod::ALL.to_vec())
}

fn any_http_method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        Just("PUT".to_string()),
        Just("DELETE".to_string()),
        "[A-Z]{1,8}",
    ]
}

/// Names that are not protocol parameters: unicode, sometimes repeated.
fn any_params() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("a".to_string()),
        Just("status".to_string()),
        "\\PC{0,6}".prop_map(|s| format!("p{s}")),
    ];
    let value = prop_oneof![Just(String::new()), "\\PC{0,12}", "[ +=&%]{0,4}"];
    prop::collection::vec((name, value), 0..6)
}

fn any_url() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["http", "https", "HTTPS"]),
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
        prop::option::of(prop_oneof![Just(80u16), Just(443u16), 1u16..]),
        prop::collection::vec("\\PC{0,8}", 0..4),
    )
        .prop_map(|(scheme, host, port, segments)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let path: String = segments.iter().map(|s| format!("/{}", encode(s))).collect();
            format!("{scheme}://{host}{port}{path}")
        })
}

#[derive(Clone, Copy, Debug)]
enum Placement {
    Header,
    Query,
    Body,
}

fn any_placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        Just(Placement::Header),
        Just(Placement::Query),
        Just(Placement::Body)
    ]
}

fn oauth_for(method: SignatureMethod, token: &Option<String>, extra: &str) -> OAuthParams<'static> {
    OAuthParams {
        consumer_key: Some(Cow::Owned("consumer-\u{e9}".to_string())),
        token: token.clone().map(Cow::Owned),
        signature_method: Some(method),
        timestamp: Some(Cow::Borrowed("1700000000")),
        nonce: Some(Cow::Owned(generate_nonce().unwrap())),
        version: Some(Cow::Borrowed("1.0")),
        callback: Some(Cow::Owned(format!("https://cb.example/?x={extra}"))),
        ..OAuthParams::default()
    }
}

struct Case {
    method: String,
    url: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

/// Places the signed parameters and returns what the server receives.
fn placed(case: &Case, signed: &Signed, placement: Placement) -> (String, Option<String>, Vec<u8>) {
    match placement {
        Placement::Header => (
            case.url.clone(),
            Some(signed.authorization_header(Some("Realm \u{41}"))),
            case.body.clone(),
        ),
        Placement::Query => (signed.url_with_params(&case.url), None, case.body.clone()),
        Placement::Body => (case.url.clone(), None, signed.body_with_params(&case.body)),
    }
}

fn verifying_key<'a>(
    method: SignatureMethod,
    cs: &'a Secret,
    ts: Option<&'a Secret>,
    public: &'a RsaPublicKey,
) -> VerifyingKey<'a> {
    if method.is_rsa() {
        VerifyingKey::Rsa(public)
    } else {
        VerifyingKey::Shared {
            consumer_secret: cs,
            token_secret: ts,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_then_verify_round_trips(
        method in any_method(),
        http_method in any_http_method(),
        url in any_url(),
        query in any_params(),
        form in any_params(),
        placement in any_placement(),
        token in prop::option::of("\\PC{1,10}"),
        secrets in ("\\PC{0,10}", "\\PC{0,10}"),
        extra in "\\PC{0,6}",
    ) {
        let query_string = form_encode(query.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let url = if query_string.is_empty() { url } else { format!("{url}?{query_string}") };
        // The body placement needs a form body; otherwise pick one at random.
        let (content_type, body) = if matches!(placement, Placement::Body) || !form.is_empty() {
            (Some("application/x-www-form-urlencoded"),
             form_encode(form.iter().map(|(n, v)| (n.as_str(), v.as_str()))).into_bytes())
        } else {
            (None, Vec::new())
        };
        let case = Case { method: http_method, url, content_type, body };
        let cs = Secret::new(secrets.0);
        let ts = token.as_ref().map(|_| Secret::new(secrets.1.clone()));
        let public = rsa_key().public_key();
        let key = if method.is_rsa() {
            SigningKey::Rsa(rsa_key())
        } else {
            SigningKey::Shared { consumer_secret: &cs, token_secret: ts.as_ref() }
        };
        let oauth = oauth_for(method, &token, &extra);
        let request = Request {
            method: &case.method,
            url: &case.url,
            authorization: None,
            content_type: case.content_type,
            body: &case.body,
        };
        let signed = sign(&request, &oauth, &key).unwrap();
        // The header-only signer and a prepared HMAC key give the same
        // header, byte for byte.
        let realm = Some("Realm \u{41}");
        let expected_header = signed.authorization_header(realm);
        prop_assert_eq!(
            &sign_authorization_header(&request, &oauth, &key, realm).unwrap(),
            &expected_header
        );
        if matches!(key, SigningKey::Shared { .. }) && method != SignatureMethod::Plaintext {
            let prepared = HmacKey::new(method, &cs, ts.as_ref()).unwrap();
            let prepared = SigningKey::Hmac(&prepared);
            prop_assert_eq!(
                &sign_authorization_header(&request, &oauth, &prepared, realm).unwrap(),
                &expected_header
            );
            let again = sign(&request, &oauth, &prepared).unwrap();
            prop_assert_eq!(&again.base_string, &signed.base_string);
            prop_assert_eq!(again.signature(), signed.signature());
        }
        let (url, header, body) = placed(&case, &signed, placement);
        let received = Request {
            method: &case.method,
            url: &url,
            authorization: header.as_deref(),
            content_type: case.content_type,
            body: &body,
        };
        let parsed = ParsedRequest::parse(&received, &Limits::DEFAULT).unwrap();
        prop_assert_eq!(parsed.base_string(), signed.base_string.clone());
        prop_assert_eq!(parsed.oauth().callback.as_deref(), oauth.callback.as_deref());
        let vkey = verifying_key(method, &cs, ts.as_ref(), &public);
        prop_assert!(parsed.verify(&vkey).is_ok());

        // Any change to the method or a parameter breaks the signature
        // (PLAINTEXT signs nothing but the secrets, by definition).
        if method != SignatureMethod::Plaintext {
            let other_method = format!("{}X", case.method);
            let tampered = Request { method: &other_method, ..received };
            let parsed = ParsedRequest::parse(&tampered, &Limits::DEFAULT).unwrap();
            prop_assert_eq!(parsed.verify(&vkey), Err(VerifyError::InvalidSignature));
            let other_url = if url.contains('?') { format!("{url}&z=1") } else { format!("{url}?z=1") };
            let tampered = Request { url: &other_url, ..received };
            let parsed = ParsedRequest::parse(&tampered, &Limits::DEFAULT).unwrap();
            prop_assert_eq!(parsed.verify(&vkey), Err(VerifyError::InvalidSignature));
        }
    }

    #[test]
    fn header_parse_render_round_trips(
        realm in prop::option::of("[ -~]{0,12}"),
        values in prop::collection::vec("\\PC{0,16}", 9),
        extras in prop::collection::btree_map("[a-z_]{1,8}", "\\PC{0,8}", 0..3),
        method in prop::option::of(any_method()),
    ) {
        let opt = |i: usize| {
            let v: &String = &values[i];
            (!v.is_empty() || i.is_multiple_of(2)).then(|| Cow::Owned(v.clone()))
        };
        let params = OAuthParams {
            consumer_key: opt(0),
            token: opt(1),
            signature_method: method,
            signature: opt(2),
            timestamp: opt(3),
            nonce: opt(4),
            version: opt(5),
            callback: opt(6),
            verifier: opt(7),
            body_hash: opt(8),
            extras: extras
                .into_iter()
                .map(|(n, v)| (Cow::Owned(format!("xoauth_{n}")), Cow::Owned(v)))
                .collect(),
        };
        let header = AuthorizationHeader { realm: realm.map(Cow::Owned), params };
        let rendered = header.render();
        let parsed = AuthorizationHeader::parse(&rendered, &Limits::DEFAULT).unwrap();
        prop_assert_eq!(parsed, header);
    }

    #[test]
    fn header_parser_never_panics(input in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&input);
        let _ = AuthorizationHeader::parse(&text, &Limits::DEFAULT);
        let _ = AuthorizationHeader::parse(&format!("OAuth {text}"), &Limits::DEFAULT);
    }

    #[test]
    fn header_parser_never_panics_on_near_valid_input(
        pieces in prop::collection::vec(prop_oneof![
            Just("oauth_nonce".to_string()), Just("realm".to_string()), Just("=".to_string()),
            Just("\"".to_string()), Just(",".to_string()), Just(" ".to_string()),
            Just("\\".to_string()), Just("%".to_string()), Just("%4".to_string()),
            "[ -~]{0,3}",
        ], 0..30)
    ) {
        let text = format!("OAuth {}", pieces.concat());
        let _ = AuthorizationHeader::parse(&text, &Limits::DEFAULT);
    }

    #[test]
    fn form_decoder_never_panics(input in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = form_decode(&input);
    }

    #[test]
    fn request_parser_never_panics(
        url in "\\PC{0,60}",
        header in prop::option::of("OAuth [ -~]{0,80}"),
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let request = Request {
            method: "POST",
            url: &url,
            authorization: header.as_deref(),
            content_type: Some("application/x-www-form-urlencoded"),
            body: &body,
        };
        if let Ok(parsed) = ParsedRequest::parse(&request, &Limits::DEFAULT) {
            let _ = parsed.base_string();
            let cs = Secret::new("s");
            let _ = parsed.verify(&VerifyingKey::Shared { consumer_secret: &cs, token_secret: None });
        }
    }
}
