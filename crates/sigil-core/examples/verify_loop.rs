//! Verifies the reference request in a loop: a target for profilers
//! (`perf record`, `valgrind --tool=callgrind`). Pass the iteration count.
#![allow(clippy::unwrap_used)]

use sigil_core::*;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let (cs, ts) = example::secrets();
    let oauth = example::oauth(SignatureMethod::HmacSha1);
    let request =
        Request::new("POST", example::URL).with_body(example::CONTENT_TYPE, example::BODY);
    let key = SigningKey::Shared {
        consumer_secret: &cs,
        token_secret: Some(&ts),
    };
    let header = sign(&request, &oauth, &key)
        .unwrap()
        .authorization_header(None);
    let received = request.with_authorization(&header);
    let vkey = VerifyingKey::Shared {
        consumer_secret: &cs,
        token_secret: Some(&ts),
    };
    let mut ok = 0u64;
    for _ in 0..n {
        let parsed =
            ParsedRequest::parse(std::hint::black_box(&received), &Limits::DEFAULT).unwrap();
        if parsed.verify(&vkey).is_ok() {
            ok += 1;
        }
    }
    println!("{ok} verified");
}
