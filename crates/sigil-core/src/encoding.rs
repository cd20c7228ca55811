//! Percent-encoding as RFC 5849 §3.6 defines it, and form decoding.
//!
//! The two are kept apart on purpose: RFC 5849 encoding never produces `+`,
//! while `application/x-www-form-urlencoded` decoding reads `+` as a space.
//! Every decoder here decodes exactly once.

use std::borrow::Cow;

use crate::error::ParseError;

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The unreserved set as a table: one load per byte on the hot path.
#[allow(clippy::indexing_slicing)] // i < 256 by the loop bound
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~');
        i += 1;
    }
    table
};

/// Whether `b` is in the RFC 5849 §3.6 unreserved set (`A-Z a-z 0-9 - . _ ~`).
#[inline]
#[allow(clippy::indexing_slicing)] // a u8 always indexes a [_; 256]
pub const fn is_unreserved(b: u8) -> bool {
    UNRESERVED[b as usize]
}

/// `%XX` for every octet, upper-case hex.
#[allow(clippy::indexing_slicing)] // i < 256, i >> 4 and i & 15 < 16
const ESCAPES: [[u8; 3]; 256] = {
    let mut table = [[0u8; 3]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [b'%', UPPER_HEX[i >> 4], UPPER_HEX[i & 0x0f]];
        i += 1;
    }
    table
};

/// `%XX` for `b`.
#[inline]
#[allow(clippy::indexing_slicing)] // a u8 always indexes a [_; 256]
fn escape(b: u8) -> &'static [u8; 3] {
    &ESCAPES[b as usize]
}

/// Appends the RFC 5849 §3.6 encoding of `input` to a byte buffer (the hot
/// path: the base string is built as bytes).
#[inline]
pub(crate) fn encode_bytes_into(out: &mut Vec<u8>, input: &[u8]) {
    let mut run_start = 0;
    for (i, &b) in input.iter().enumerate() {
        if is_unreserved(b) {
            continue;
        }
        if let Some(run) = input.get(run_start..i) {
            out.extend_from_slice(run);
        }
        out.extend_from_slice(escape(b));
        run_start = i + 1;
    }
    if let Some(run) = input.get(run_start..) {
        out.extend_from_slice(run);
    }
}

/// Appends the encoding of a string that is already canonically encoded
/// (only unreserved bytes and `%XX`): only `%` needs escaping, as `%25`.
#[inline]
pub(crate) fn encode_canonical_into(out: &mut Vec<u8>, canonical: &[u8]) {
    let mut rest = canonical;
    while let Some(i) = rest.iter().position(|&b| b == b'%') {
        let (run, tail) = rest.split_at(i);
        out.extend_from_slice(run);
        out.extend_from_slice(b"%25");
        rest = tail.get(1..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
}

/// Appends the RFC 5849 §3.6 encoding of `input` to `out`.
///
/// Every byte of the UTF-8 form outside the unreserved set becomes `%XX` with
/// upper-case hex; a space is `%20`, never `+`.
pub fn encode_into(out: &mut String, input: &str) {
    let mut run_start = 0;
    for (i, &b) in input.as_bytes().iter().enumerate() {
        if is_unreserved(b) {
            continue;
        }
        // A run of unreserved bytes ends before a non-ASCII or reserved byte,
        // so the slice always falls on character boundaries.
        if let Some(run) = input.get(run_start..i) {
            out.push_str(run);
        }
        push_escaped(out, b);
        run_start = i + 1;
    }
    if let Some(run) = input.get(run_start..) {
        out.push_str(run);
    }
}

#[inline]
fn push_escaped(out: &mut String, b: u8) {
    for &c in escape(b) {
        out.push(char::from(c));
    }
}

/// Returns the RFC 5849 §3.6 encoding of `input`, borrowing it when nothing
/// needs escaping.
pub fn encode(input: &str) -> Cow<'_, str> {
    if input.bytes().all(is_unreserved) {
        Cow::Borrowed(input)
    } else {
        let mut out = String::with_capacity(input.len() + input.len() / 2);
        encode_into(&mut out, input);
        Cow::Owned(out)
    }
}

#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes exactly once (and `+` as a space when
/// `plus_is_space`). A `%` not followed by two hex digits is an error, and so
/// is a result that is not UTF-8.
fn decode_impl(input: &str, plus_is_space: bool) -> Result<Cow<'_, str>, ParseError> {
    let bytes = input.as_bytes();
    // Values are short: a plain loop beats a call into memchr.
    let needs_work = if plus_is_space {
        bytes.iter().any(|&b| b == b'%' || b == b'+')
    } else {
        bytes.contains(&b'%')
    };
    if !needs_work {
        return Ok(Cow::Borrowed(input));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter();
    while let Some(&b) = iter.next() {
        match b {
            b'%' => {
                let hi = iter.next().copied().and_then(hex_value);
                let lo = iter.next().copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                    _ => return Err(ParseError::BadPercentEncoding),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            other => out.push(other),
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| ParseError::InvalidUtf8)
}

/// Decodes an RFC 5849 §3.6 percent-encoded value exactly once. `+` stays `+`.
pub fn decode(input: &str) -> Result<Cow<'_, str>, ParseError> {
    decode_impl(input, false)
}

/// Decodes one name or value of an `application/x-www-form-urlencoded`
/// string exactly once: `+` is a space, `%XX` an octet.
pub fn form_decode_component(input: &str) -> Result<Cow<'_, str>, ParseError> {
    decode_impl(input, true)
}

/// Whether `raw` is already the canonical RFC 5849 encoding of its decoded
/// (ASCII) value: only unreserved bytes and upper-case `%XX` escapes of
/// reserved ASCII bytes. Such a value can enter the base string as it is.
fn is_canonical_ascii(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if is_unreserved(b) {
            i += 1;
            continue;
        }
        if b != b'%' {
            return false;
        }
        let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2)) else {
            return false;
        };
        let upper = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
        if !upper(h) || !upper(l) {
            return false;
        }
        let (Some(h), Some(l)) = (hex_value(h), hex_value(l)) else {
            return false;
        };
        let octet = (h << 4) | l;
        if octet >= 0x80 || is_unreserved(octet) {
            return false;
        }
        i += 3;
    }
    true
}

/// A parameter component as it arrived, decoded once, and in the canonical
/// encoding that enters the signature base string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Component<'a> {
    pub(crate) decoded: Cow<'a, str>,
    pub(crate) encoded: Cow<'a, str>,
}

impl<'a> Component<'a> {
    /// Reads a raw (still encoded) component from a query, a form body or a
    /// header value.
    pub(crate) fn from_raw(raw: &'a str, plus_is_space: bool) -> Result<Self, ParseError> {
        let decoded = decode_impl(raw, plus_is_space)?;
        let encoded = if is_canonical_ascii(raw) {
            Cow::Borrowed(raw)
        } else {
            match &decoded {
                Cow::Borrowed(d) => encode(d),
                Cow::Owned(d) => Cow::Owned(encode(d).into_owned()),
            }
        };
        Ok(Self { decoded, encoded })
    }
}

/// Splits an `application/x-www-form-urlencoded` string (or a URL query) into
/// its raw `name=value` pieces. Empty pieces (`a=1&&b=2`) are skipped; a piece
/// without `=` is a name with an empty value.
pub(crate) fn split_pairs(input: &str) -> impl Iterator<Item = (&str, &str)> {
    input
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| piece.split_once('=').unwrap_or((piece, "")))
}

/// Decodes an `application/x-www-form-urlencoded` body into name/value
/// pairs, in order, repeated names and empty values kept.
///
/// ```
/// let pairs = sigil_core::encoding::form_decode(b"c2&a3=2+q&a%40=%E2%9C%93").unwrap();
/// assert_eq!(pairs, vec![
///     ("c2".to_string(), String::new()),
///     ("a3".to_string(), "2 q".to_string()),
///     ("a@".to_string(), "\u{2713}".to_string()),
/// ]);
/// ```
pub fn form_decode(body: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
    let text = std::str::from_utf8(body).map_err(|_| ParseError::InvalidUtf8)?;
    split_pairs(text)
        .map(|(name, value)| {
            Ok((
                form_decode_component(name)?.into_owned(),
                form_decode_component(value)?.into_owned(),
            ))
        })
        .collect()
}

/// Encodes name/value pairs as an `application/x-www-form-urlencoded` string
/// using RFC 5849 §3.6 encoding (which every form decoder reads correctly).
pub fn form_encode<'p, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'p str, &'p str)>,
{
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        encode_into(&mut out, name);
        out.push('=');
        encode_into(&mut out, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_per_rfc5849_section_3_6() {
        assert_eq!(encode("abcABC123-._~"), "abcABC123-._~");
        assert_eq!(encode("a b"), "a%20b");
        assert_eq!(encode("!*'()"), "%21%2A%27%28%29");
        assert_eq!(encode("=%3D"), "%3D%253D");
        assert_eq!(encode("\u{2713}"), "%E2%9C%93");
        assert_eq!(encode("+"), "%2B");
    }

    #[test]
    fn decodes_once_and_keeps_plus_outside_forms() {
        assert_eq!(decode("%253D").unwrap(), "%3D");
        assert_eq!(decode("a+b").unwrap(), "a+b");
        assert_eq!(form_decode_component("a+b%2B").unwrap(), "a b+");
        assert_eq!(decode("%e2%9c%93").unwrap(), "\u{2713}");
    }

    #[test]
    fn rejects_bad_escapes_and_non_utf8() {
        assert_eq!(decode("%"), Err(ParseError::BadPercentEncoding));
        assert_eq!(decode("%4"), Err(ParseError::BadPercentEncoding));
        assert_eq!(decode("%zz"), Err(ParseError::BadPercentEncoding));
        assert_eq!(decode("%FF"), Err(ParseError::InvalidUtf8));
        assert_eq!(form_decode(b"a=\xff"), Err(ParseError::InvalidUtf8));
    }

    #[test]
    fn canonical_values_are_borrowed() {
        let c = Component::from_raw("abc%2Fdef", false).unwrap();
        assert!(matches!(c.encoded, Cow::Borrowed(_)));
        assert_eq!(c.decoded, "abc/def");
        let lower = Component::from_raw("abc%2fdef", false).unwrap();
        assert_eq!(lower.encoded, "abc%2Fdef");
        let needless = Component::from_raw("%41", false).unwrap();
        assert_eq!(needless.encoded, "A");
        let plus = Component::from_raw("a+b", true).unwrap();
        assert_eq!(plus.encoded, "a%20b");
    }

    #[test]
    fn form_round_trip() {
        let encoded = form_encode([("a b", "c&d"), ("e", "")]);
        assert_eq!(encoded, "a%20b=c%26d&e=");
        assert_eq!(
            form_decode(encoded.as_bytes()).unwrap(),
            vec![
                ("a b".to_string(), "c&d".to_string()),
                ("e".to_string(), String::new())
            ]
        );
    }
}
