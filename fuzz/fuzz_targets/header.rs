//! The Authorization header parser: never panics; whatever parses renders
//! and parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_core::{AuthorizationHeader, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(header) = AuthorizationHeader::parse(text, &Limits::DEFAULT) {
        let rendered = header.render();
        let again = AuthorizationHeader::parse(&rendered, &Limits {
            max_header_len: usize::MAX,
            ..Limits::DEFAULT
        })
        .expect("a rendered header parses");
        assert_eq!(again, header);
    }
});
