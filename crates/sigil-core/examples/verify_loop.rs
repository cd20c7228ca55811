//! Verifies (or signs) the reference request in a loop: a target for
//! profilers (`perf record`, `valgrind --tool=callgrind`).
//!
//! `verify_loop [N] [MODE]`: N iterations (default 100000) of MODE, then the
//! mean time per iteration. MODE is `verify` (the default: parse the
//! received request and verify it with HMAC-SHA1), `sign` (sign and render
//! the Authorization header, as the `sign/HMAC-SHA1` benchmark does),
//! `header` (`sign_authorization_header` with a prepared `HmacKey`, as
//! `sign_header_prepared/HMAC-SHA1` does), `raw`
//! (the HMAC-SHA1 of the finished base string: the floor), `parse` (parse
//! only), `base` (parse and build the base string) or `baseonly` (build the
//! base string of an already parsed request).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use hmac::{KeyInit, Mac};
use sigil_core::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mode = args.next().unwrap_or_else(|| "verify".to_owned());
    let (cs, ts) = example::secrets();
    let oauth = example::oauth(SignatureMethod::HmacSha1);
    let request =
        Request::new("POST", example::URL).with_body(example::CONTENT_TYPE, example::BODY);
    let key = SigningKey::Shared {
        consumer_secret: &cs,
        token_secret: Some(&ts),
    };
    let signed = sign(&request, &oauth, &key).unwrap();
    let header = signed.authorization_header(None);
    let received = request.with_authorization(&header);
    let vkey = VerifyingKey::Shared {
        consumer_secret: &cs,
        token_secret: Some(&ts),
    };
    let hmac_key = shared_key(&cs, Some(&ts));
    let prepared = HmacKey::new(SignatureMethod::HmacSha1, &cs, Some(&ts)).unwrap();
    let prepared = SigningKey::Hmac(&prepared);
    let parsed_once = ParsedRequest::parse(&received, &Limits::DEFAULT).unwrap();
    let start = Instant::now();
    let mut ok = 0u64;
    for _ in 0..n {
        match mode.as_str() {
            "sign" => {
                let signed = sign(black_box(&request), black_box(&oauth), &key).unwrap();
                ok += black_box(signed.authorization_header(None)).len() as u64 & 1;
            }
            "header" => {
                let header = sign_authorization_header(
                    black_box(&request),
                    black_box(&oauth),
                    &prepared,
                    None,
                )
                .unwrap();
                ok += black_box(header).len() as u64 & 1;
            }
            "parse" => {
                let parsed = ParsedRequest::parse(black_box(&received), &Limits::DEFAULT).unwrap();
                ok += u64::from(black_box(&parsed).oauth().nonce.is_some());
            }
            "base" => {
                let parsed = ParsedRequest::parse(black_box(&received), &Limits::DEFAULT).unwrap();
                ok += black_box(parsed.base_string()).len() as u64 & 1;
            }
            "baseonly" => {
                ok += black_box(black_box(&parsed_once).base_string()).len() as u64 & 1;
            }
            "raw" => {
                let mut mac =
                    hmac::Hmac::<sha1::Sha1>::new_from_slice(black_box(hmac_key.as_bytes()))
                        .unwrap();
                mac.update(black_box(signed.base_string.as_bytes()));
                ok += u64::from(
                    black_box(mac.finalize().into_bytes())
                        .iter()
                        .any(|&b| b == 0),
                );
            }
            _ => {
                let parsed = ParsedRequest::parse(black_box(&received), &Limits::DEFAULT).unwrap();
                if parsed.verify(&vkey).is_ok() {
                    ok += 1;
                }
            }
        }
    }
    let per = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
    println!("{mode}: {per:.0} ns/iter ({ok})");
}
