//! URL to base string URI: never panics, and the result is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_core::BaseUri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(uri) = BaseUri::parse(text) {
        let printed = uri.to_string();
        let again = BaseUri::parse(&printed).expect("a base string URI parses");
        assert_eq!(again.to_string(), printed);
    }
});
