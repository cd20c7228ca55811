//! The worked examples of RFC 5849, with the inputs the RFC documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::borrow::Cow;

use sigil_core::*;

fn verify_header(method: &str, url: &str, header: &str, cs: &str, ts: Option<&str>) {
    let cs = Secret::new(cs);
    let ts = ts.map(Secret::new);
    let request = Request::new(method, url).with_authorization(header);
    verify(
        &request,
        &VerifyingKey::Shared {
            consumer_secret: &cs,
            token_secret: ts.as_ref(),
        },
        &Limits::DEFAULT,
    )
    .unwrap();
}

/// RFC 5849 §1.2: the printer asks photos.example.net for temporary
/// credentials. The RFC prints the exact Authorization header.
#[test]
fn section_1_2_temporary_credentials() {
    let header = "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"137131200\", oauth_nonce=\"wIjqoS\", oauth_callback=\"http%3A%2F%2Fprinter.example.com%2Fready\", oauth_signature=\"74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D\"";
    verify_header(
        "POST",
        "https://photos.example.net/initiate",
        header,
        "kd94hf93k423kf44",
        None,
    );
    let parsed = ParsedRequest::parse(
        &Request::new("POST", "https://photos.example.net/initiate").with_authorization(header),
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(
        parsed.oauth().callback.as_deref(),
        Some("http://printer.example.com/ready")
    );
    // The callback is encoded twice inside the base string.
    assert!(
        parsed
            .base_string()
            .contains("oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready")
    );
}

/// RFC 5849 §1.2: the token request, signed with the temporary secret.
#[test]
fn section_1_2_token_credentials() {
    let cs = Secret::new("kd94hf93k423kf44");
    let ts = Secret::new("hdhd0244k9j7ao03");
    let oauth = OAuthParams {
        consumer_key: Some(Cow::Borrowed("dpf43f3p2l4k3l03")),
        token: Some(Cow::Borrowed("hh5s93j4hdidpola")),
        signature_method: Some(SignatureMethod::HmacSha1),
        timestamp: Some(Cow::Borrowed("137131201")),
        nonce: Some(Cow::Borrowed("walatlh")),
        verifier: Some(Cow::Borrowed("hfdp7dh39dks9884")),
        ..OAuthParams::default()
    };
    let signed = sign(
        &Request::new("POST", "https://photos.example.net/token"),
        &oauth,
        &SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: Some(&ts),
        },
    )
    .unwrap();
    assert_eq!(signed.signature(), "gKgrFCywp7rO0OXSjdot/IHF7IU=");
    let header = signed.authorization_header(Some("Photos"));
    assert!(header.starts_with("OAuth realm=\"Photos\", "));
    assert!(header.contains("oauth_signature=\"gKgrFCywp7rO0OXSjdot%2FIHF7IU%3D\""));
    verify_header(
        "POST",
        "https://photos.example.net/token",
        &header,
        "kd94hf93k423kf44",
        Some("hdhd0244k9j7ao03"),
    );
}

/// RFC 5849 §1.2: the protected resource request over plain http.
#[test]
fn section_1_2_protected_resource() {
    let header = "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", oauth_token=\"nnch734d00sl2jdk\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"137131202\", oauth_nonce=\"chapoH\", oauth_signature=\"MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D\"";
    verify_header(
        "GET",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
        header,
        "kd94hf93k423kf44",
        Some("pfkkdhi9sl3r4s00"),
    );
    let request = Request::new(
        "GET",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
    )
    .with_authorization(header);
    let parsed = ParsedRequest::parse(&request, &Limits::DEFAULT).unwrap();
    assert_eq!(
        parsed.base_string(),
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
    );
    // A different size must not verify.
    let tampered = Request::new(
        "GET",
        "http://photos.example.net/photos?file=vacation.jpg&size=small",
    )
    .with_authorization(header);
    let cs = Secret::new("kd94hf93k423kf44");
    let ts = Secret::new("pfkkdhi9sl3r4s00");
    assert_eq!(
        verify(
            &tampered,
            &VerifyingKey::Shared {
                consumer_secret: &cs,
                token_secret: Some(&ts)
            },
            &Limits::DEFAULT
        )
        .unwrap_err(),
        Error::Verify(VerifyError::InvalidSignature)
    );
}

/// RFC 5849 §3.4.1: the request with query, form body and header, its base
/// string (§3.4.1.1) and normalised parameters (§3.4.1.3.2), and the
/// signature that the RFC's own credentials produce (the RFC prints
/// `bYT5CMsGcbgUdFHObYMEfcx6bsw=`, which does not reproduce; see
/// tests/data/README.md).
#[test]
fn section_3_4_1_signature_base_string() {
    let header = "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\", oauth_token=\"kkk9d7dh3k39sjv7\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"137131201\", oauth_nonce=\"7d8f3e4a\", oauth_signature=\"r6%2FTJjbCOr97%2F%2BUU0NsvSne7s5g%3D\"";
    let request = Request::new(
        "POST",
        "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
    )
    .with_authorization(header)
    .with_body("application/x-www-form-urlencoded", b"c2&a3=2+q");
    let parsed = ParsedRequest::parse(&request, &Limits::DEFAULT).unwrap();
    assert_eq!(
        parsed.normalized_params(),
        "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7"
    );
    assert_eq!(
        parsed.base_string(),
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
    );
    let cs = Secret::new("j49sk3j29djd");
    let ts = Secret::new("dh893hdasih9");
    parsed
        .verify(&VerifyingKey::Shared {
            consumer_secret: &cs,
            token_secret: Some(&ts),
        })
        .unwrap();
}

/// RFC 5849 §3.4.1.2: the base string URI examples.
#[test]
fn section_3_4_1_2_base_string_uri() {
    assert_eq!(
        BaseUri::parse("http://EXAMPLE.COM:80/r%20v/X?id=123")
            .unwrap()
            .to_string(),
        "http://example.com/r%20v/X"
    );
    assert_eq!(
        BaseUri::parse("https://www.example.net:8080/?q=1")
            .unwrap()
            .to_string(),
        "https://www.example.net:8080/"
    );
}

/// RFC 5849 §3.6: the encoding of the examples in the text.
#[test]
fn section_3_6_percent_encoding() {
    assert_eq!(encoding::encode("r b"), "r%20b");
    assert_eq!(encoding::encode("=%3D"), "%3D%253D");
    assert_eq!(encoding::encode("c@"), "c%40");
    assert_eq!(encoding::encode("2 q"), "2%20q");
}

/// RFC 5849 §3.4.3: RSA keys in every PEM form a provider meets (PKCS#1 and
/// PKCS#8 private keys, SPKI and PKCS#1 public keys, an X.509 certificate)
/// sign and verify alike, for every RSA method.
#[test]
fn rsa_key_forms() {
    let pkcs8 = RsaPrivateKey::from_pem(include_str!("data/test-rsa-pkcs8.pem")).unwrap();
    let pkcs1 = RsaPrivateKey::from_pem(include_str!("data/test-rsa-pkcs1.pem")).unwrap();
    let spki = RsaPublicKey::from_pem(include_str!("data/test-rsa-public.pem")).unwrap();
    let cert = RsaPublicKey::from_pem(include_str!("data/test-rsa-cert.pem")).unwrap();
    assert_eq!(spki, cert);
    assert_eq!(pkcs1.public_key(), cert);
    for method in [
        SignatureMethod::RsaSha1,
        SignatureMethod::RsaSha256,
        SignatureMethod::RsaSha512,
    ] {
        let a = sign_base_string(method, "base", &SigningKey::Rsa(&pkcs8)).unwrap();
        let b = sign_base_string(method, "base", &SigningKey::Rsa(&pkcs1)).unwrap();
        // PKCS#1 v1.5 signatures are deterministic.
        assert_eq!(a, b);
        verify_base_string(method, "base", &a, &VerifyingKey::Rsa(&cert)).unwrap();
        // Trailing garbage after valid base64 must not verify.
        for bad in [format!("{a}x"), format!("{a}AAAA"), format!(" {a}")] {
            assert_eq!(
                verify_base_string(method, "base", &bad, &VerifyingKey::Rsa(&spki)),
                Err(VerifyError::InvalidSignature)
            );
        }
        assert_eq!(
            verify_base_string(method, "other", &a, &VerifyingKey::Rsa(&spki)),
            Err(VerifyError::InvalidSignature)
        );
    }
}

/// X's (Twitter's) developer documentation, "Creating a signature": the
/// status update with a query and a form parameter.
#[test]
fn x_twitter_status_update_example() {
    let (cs, ts) = example::secrets();
    let request =
        Request::new("POST", example::URL).with_body(example::CONTENT_TYPE, example::BODY);
    let oauth = example::oauth(SignatureMethod::HmacSha1);
    let signed = sign(
        &request,
        &oauth,
        &SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: Some(&ts),
        },
    )
    .unwrap();
    assert_eq!(signed.signature(), example::HMAC_SHA1_SIGNATURE);
    assert_eq!(
        signed.base_string,
        "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
    );
}
