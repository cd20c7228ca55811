//! The form decoder: never panics; decoded pairs re-encode and decode to the
//! same pairs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_core::encoding::{form_decode, form_encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(pairs) = form_decode(data) {
        let encoded = form_encode(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let again = form_decode(encoded.as_bytes()).expect("encoded form decodes");
        // Empty names with empty values vanish as empty pieces.
        let kept: Vec<_> = pairs.into_iter().filter(|(n, v)| !(n.is_empty() && v.is_empty())).collect();
        assert_eq!(again, kept);
    }
});
