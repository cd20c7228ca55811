//! The form decoder: never panics; decoded pairs re-encode and decode to the
//! same pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_core::encoding::{form_decode, form_encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(pairs) = form_decode(data) {
        let encoded = form_encode(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let again = form_decode(encoded.as_bytes()).expect("encoded form decodes");
        // Empty pieces (`&&`) are skipped, but `=` is a pair with an empty
        // name and value, and `form_encode` writes it back as `=`: every
        // pair survives the round trip.
        assert_eq!(again, pairs);
    }
});
