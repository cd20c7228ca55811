//! Shared by the `http_front` and `serve_front` targets: an HTTP request
//! written as on the wire, `METHOD TARGET\nName: value\n...\n\nBODY`.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method};

/// The request `data` spells, or `None` when it does not make a valid
/// `http::Request` (a bad method, target or header).
pub fn request(data: &[u8]) -> Option<http::Request<Body>> {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let mut words = first.splitn(2, |&b| b == b' ');
    let method = Method::from_bytes(words.next().unwrap_or_default()).ok()?;
    let target = std::str::from_utf8(words.next().unwrap_or(b"/")).ok()?;
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        let name = HeaderName::from_bytes(name).ok()?;
        let value = HeaderValue::from_bytes(value).ok()?;
        builder = builder.header(name, value);
    }
    builder.body(Body::from(body.to_vec())).ok()
}
