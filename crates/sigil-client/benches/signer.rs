//! `Signer` per request, as a client sends one (fresh nonce and timestamp):
//! `sign_parts` (which also returns the base string) against
//! `authorization_header` (the header-only signer), with HMAC-SHA1 and the
//! reference request of `sigil_core::example`.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use sigil_client::{Consumer, Signer, Token};

fn signer(c: &mut Criterion) {
    let signer = Signer::new(Consumer::new(
        "xvz1evFS4wEEPTGEFPHBog",
        "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    ))
    .token(Token::new(
        "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    ));
    let url = "https://api.twitter.com/1.1/statuses/update.json?include_entities=true";
    let form = Some("application/x-www-form-urlencoded");
    let body = b"status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21";
    c.bench_function("signer/sign_parts", |b| {
        b.iter(|| signer.sign_parts("POST", url, form, body).unwrap());
    });
    c.bench_function("signer/authorization_header", |b| {
        b.iter(|| {
            signer
                .authorization_header("POST", url, form, body)
                .unwrap()
        });
    });
}

criterion_group!(benches, signer);
criterion_main!(benches);
