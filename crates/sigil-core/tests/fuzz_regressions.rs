//! Inputs the fuzz targets (see `fuzz/README.md`) stopped on, fed here as
//! the exact bytes so that what was decided about them stays decided.
#![allow(clippy::unwrap_used)]

use sigil_core::encoding::{form_decode, form_encode};

/// `form` target, seed `&&=&`: empty pieces are skipped, but a lone `=` is a
/// parameter with an empty name and an empty value (as in the WHATWG form
/// parser, and so it enters the signature base string), and it survives
/// decode → encode → decode. The target used to expect it to vanish.
#[test]
fn form_lone_equals_is_an_empty_pair_and_round_trips() {
    let input: &[u8] = b"&&=&";
    let pairs = form_decode(input).unwrap();
    assert_eq!(pairs, vec![(String::new(), String::new())]);
    let encoded = form_encode(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    assert_eq!(encoded, "=");
    assert_eq!(form_decode(encoded.as_bytes()).unwrap(), pairs);
}
