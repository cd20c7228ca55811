//! Whole-request verification: arbitrary method, URL, header, content type
//! and body never panic, and never verify against a key they could not know.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_core::{Limits, ParsedRequest, Request, Secret, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(4, '\n');
    let url = parts.next().unwrap_or_default();
    let header = parts.next();
    let content_type = parts.next();
    let body = parts.next().unwrap_or_default().as_bytes();
    let request = Request { method: "POST", url, authorization: header, content_type, body };
    if let Ok(parsed) = ParsedRequest::parse(&request, &Limits::DEFAULT) {
        let _ = parsed.base_string();
        let secret = Secret::new("9f2c7e1d4b8a6035f1e2d3c4b5a69788");
        let key = VerifyingKey::Shared { consumer_secret: &secret, token_secret: None };
        // Forging a signature for an unknown secret would be a finding.
        assert!(parsed.verify(&key).is_err());
    }
});
