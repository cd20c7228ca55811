//! Sign and verify of the reference request (X's status-update example) for
//! every method, the header-only signer with a prepared HMAC key, and the
//! raw HMAC-SHA1 of its finished base string as the floor. Run:
//! `cargo bench -p sigil-core`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{KeyInit, Mac};
use sigil_core::example;
use sigil_core::*;

fn rsa_key() -> RsaPrivateKey {
    RsaPrivateKey::from_pem(include_str!("../tests/data/test-rsa-pkcs1.pem")).unwrap()
}

fn request() -> Request<'static> {
    Request::new("POST", example::URL).with_body(example::CONTENT_TYPE, example::BODY)
}

fn bench(c: &mut Criterion) {
    let (cs, ts) = example::secrets();
    let private = rsa_key();
    let public = private.public_key();

    // The floor: HMAC-SHA1 over the finished base string.
    let reference = example::oauth(SignatureMethod::HmacSha1);
    let signed = sign(
        &request(),
        &reference,
        &SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: Some(&ts),
        },
    )
    .unwrap();
    let base = signed.base_string.clone();
    let key = shared_key(&cs, Some(&ts));
    c.bench_function("raw_hmac_sha1_of_base_string", |b| {
        b.iter(|| {
            let mut mac =
                hmac::Hmac::<sha1::Sha1>::new_from_slice(black_box(key.as_bytes())).unwrap();
            mac.update(black_box(base.as_bytes()));
            black_box(mac.finalize().into_bytes())
        })
    });

    for method in SignatureMethod::ALL {
        let skey = if method.is_rsa() {
            SigningKey::Rsa(&private)
        } else {
            SigningKey::Shared {
                consumer_secret: &cs,
                token_secret: Some(&ts),
            }
        };
        let vkey = if method.is_rsa() {
            VerifyingKey::Rsa(&public)
        } else {
            VerifyingKey::Shared {
                consumer_secret: &cs,
                token_secret: Some(&ts),
            }
        };
        let oauth = example::oauth(method);
        c.bench_function(&format!("sign/{method}"), |b| {
            b.iter(|| {
                let signed = sign(black_box(&request()), black_box(&oauth), &skey).unwrap();
                black_box(signed.authorization_header(None))
            })
        });
        if !method.is_rsa() && method != SignatureMethod::Plaintext {
            // A client that signs many requests with the same credentials:
            // the key prepared once, only the header built.
            let prepared = HmacKey::new(method, &cs, Some(&ts)).unwrap();
            let prepared = SigningKey::Hmac(&prepared);
            c.bench_function(&format!("sign_header_prepared/{method}"), |b| {
                b.iter(|| {
                    sign_authorization_header(
                        black_box(&request()),
                        black_box(&oauth),
                        &prepared,
                        None,
                    )
                    .unwrap()
                })
            });
        }
        let header = sign(&request(), &oauth, &skey)
            .unwrap()
            .authorization_header(None);
        let received = request().with_authorization(&header);
        c.bench_function(&format!("verify/{method}"), |b| {
            b.iter(|| {
                let parsed = ParsedRequest::parse(black_box(&received), &Limits::DEFAULT).unwrap();
                parsed.verify(&vkey).unwrap();
                black_box(parsed.oauth().nonce.is_some())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
