//! Percent-encoding as RFC 5849 §3.6 defines it, and form decoding.
//!
//! The two are kept apart on purpose: RFC 5849 encoding never produces `+`,
//! while `application/x-www-form-urlencoded` decoding reads `+` as a space.
//! Every decoder here decodes exactly once.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::error::ParseError;

/// The unreserved set as a table: one load per byte on the hot path. Built
/// by walking the table with a shrinking slice (no indexing).
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut rest: &mut [bool] = &mut table;
    let mut b = 0u8;
    while let Some((slot, tail)) = rest.split_first_mut() {
        *slot = matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~');
        rest = tail;
        b = b.wrapping_add(1);
    }
    table
};

/// Whether `b` is in the RFC 5849 §3.6 unreserved set (`A-Z a-z 0-9 - . _ ~`).
#[inline]
pub const fn is_unreserved(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~')
}

/// [`is_unreserved`] as a table load (a `u8` always indexes a 256-entry
/// table, so the check folds away).
#[inline]
fn unreserved(b: u8) -> bool {
    UNRESERVED.get(usize::from(b)).copied().unwrap_or(false)
}

/// An upper-case hex digit.
#[inline]
const fn hex_digit(n: u8) -> u8 {
    if n < 10 { b'0' + n } else { b'A' + n - 10 }
}

/// `%XX` for every octet, upper-case hex.
const ESCAPES: [[u8; 3]; 256] = {
    let mut table = [[0u8; 3]; 256];
    let mut rest: &mut [[u8; 3]] = &mut table;
    let mut b = 0u8;
    while let Some((slot, tail)) = rest.split_first_mut() {
        *slot = [b'%', hex_digit(b >> 4), hex_digit(b & 0x0f)];
        rest = tail;
        b = b.wrapping_add(1);
    }
    table
};

/// Eight copies of `b`, one per byte of a `u64`.
#[inline]
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// A mask with the high bit set in the lowest byte of `w` that is zero (and
/// possibly in higher bytes): nonzero exactly when some byte of `w` is zero.
#[inline]
const fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(splat(0x01)) & !w & splat(0x80)
}

/// The index of the first byte of `bytes` equal to one of `needles`, eight
/// bytes per step. The last step reads the final eight bytes, overlapping
/// bytes already seen (which hold no needle), so there is no byte-by-byte
/// tail unless `bytes` is shorter than eight.
#[inline]
pub(crate) fn find_any<const K: usize>(bytes: &[u8], needles: [u8; K]) -> Option<usize> {
    let hits = |chunk: &[u8; 8]| {
        let w = u64::from_le_bytes(*chunk);
        let mut hits = 0;
        for n in needles {
            hits |= zero_bytes(w ^ splat(n));
        }
        // The lowest flagged byte is always a true match.
        (hits != 0).then(|| (hits.trailing_zeros() / 8) as usize)
    };
    let (chunks, tail) = bytes.as_chunks::<8>();
    for (i, chunk) in chunks.iter().enumerate() {
        if let Some(p) = hits(chunk) {
            return Some(i * 8 + p);
        }
    }
    if tail.is_empty() {
        return None;
    }
    match bytes.last_chunk::<8>() {
        Some(last) => hits(last).map(|p| bytes.len() - 8 + p),
        None => tail.iter().position(|b| needles.contains(b)),
    }
}

/// Whether all eight bytes are unreserved (table loads folded with `&`).
/// A word-at-once range test measured slower than these eight loads.
#[inline]
fn all_unreserved(&[a, b, c, d, e, f, g, h]: &[u8; 8]) -> bool {
    unreserved(a)
        & unreserved(b)
        & unreserved(c)
        & unreserved(d)
        & unreserved(e)
        & unreserved(f)
        & unreserved(g)
        & unreserved(h)
}

/// Whether every byte is printable ASCII other than `"` and a backslash (a
/// quoted-string body without quoted pairs), eight bytes per step.
pub(crate) fn all_quoted_text(bytes: &[u8]) -> bool {
    let high = splat(0x80);
    let bad = |w: u64| {
        let x = w & !high;
        // For bytes below 0x80: `x + 0x60` has its high bit set exactly
        // when `x >= 0x20`, and `x + 1` exactly when `x == 0x7f`.
        (w & high)
            | (!x.wrapping_add(splat(0x60)) & high)
            | (x.wrapping_add(splat(0x01)) & high)
            | zero_bytes(w ^ splat(b'"'))
            | zero_bytes(w ^ splat(b'\\'))
    };
    let (chunks, tail) = bytes.as_chunks::<8>();
    chunks.iter().all(|c| bad(u64::from_le_bytes(*c)) == 0)
        && match bytes.last_chunk::<8>() {
            Some(last) => tail.is_empty() || bad(u64::from_le_bytes(*last)) == 0,
            None => tail
                .iter()
                .all(|&b| matches!(b, 0x20..=0x7e) && b != b'"' && b != b'\\'),
        }
}

/// The length of the longest prefix of `bytes` made of unreserved bytes:
/// eight bytes per step while they all are, then byte by byte within the
/// eight that hold the end of the run. When the run reaches the end, the
/// last step overlaps bytes already seen (as in [`find_any`]).
#[inline]
pub(crate) fn unreserved_prefix(bytes: &[u8]) -> usize {
    let (chunks, tail) = bytes.as_chunks::<8>();
    let mut n = 0;
    for chunk in chunks {
        if !all_unreserved(chunk) {
            break;
        }
        n += 8;
    }
    if n == bytes.len() - tail.len()
        && (tail.is_empty() || bytes.last_chunk::<8>().is_some_and(all_unreserved))
    {
        return bytes.len();
    }
    let rest = bytes.get(n..).unwrap_or_default();
    n + rest
        .iter()
        .position(|&b| !unreserved(b))
        .unwrap_or(rest.len())
}

/// The signature base string being written: on the stack up to
/// [`BaseBuf::INLINE`] bytes (the usual request), spilling to the heap
/// beyond. Copies go eight bytes at a time, overlapping at the end of each
/// piece, instead of one `memcpy` call per piece.
pub(crate) struct BaseBuf {
    buf: [u8; BaseBuf::INLINE],
    len: usize,
    /// Everything written before `buf` was last flushed.
    spill: Vec<u8>,
}

impl BaseBuf {
    /// Bytes held on the stack.
    pub(crate) const INLINE: usize = 1024;

    pub(crate) fn new() -> Self {
        Self {
            buf: [0; Self::INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }

    /// Moves what the stack buffer holds to the heap, making room.
    #[cold]
    fn flush(&mut self) {
        self.spill
            .extend_from_slice(self.buf.get(..self.len).unwrap_or_default());
        self.len = 0;
    }

    /// Makes room for `n` more bytes plus eight of slack for the
    /// overlapping stores; `false` when `n` alone does not fit on the stack.
    #[inline]
    fn room(&mut self, n: usize) -> bool {
        if self.len + n + 8 <= Self::INLINE {
            return true;
        }
        self.flush();
        n + 8 <= Self::INLINE
    }

    /// Stores eight bytes at `at` (always in bounds after [`BaseBuf::room`]).
    #[inline]
    fn store8(&mut self, at: usize, bytes: &[u8; 8]) {
        if let Some(dst) = self.buf.get_mut(at..at + 8) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Appends `s`.
    #[inline]
    pub(crate) fn put(&mut self, s: &[u8]) {
        if !self.room(s.len()) {
            self.spill.extend_from_slice(s);
            return;
        }
        let start = self.len;
        self.len += s.len();
        match s.last_chunk::<8>() {
            Some(last) => {
                let (chunks, _) = s.as_chunks::<8>();
                let mut at = start;
                for chunk in chunks {
                    self.store8(at, chunk);
                    at += 8;
                }
                self.store8(self.len - 8, last);
            }
            None => {
                if let Some(dst) = self.buf.get_mut(start..self.len) {
                    for (d, &b) in dst.iter_mut().zip(s) {
                        *d = b;
                    }
                }
            }
        }
    }

    /// Appends one byte.
    #[inline]
    pub(crate) fn push(&mut self, b: u8) {
        if self.room(1)
            && let Some(slot) = self.buf.get_mut(self.len)
        {
            *slot = b;
            self.len += 1;
        }
    }

    /// Appends a canonically encoded text encoded once more: each `%`
    /// becomes `%25`. Eight bytes at a time up to the next `%`.
    pub(crate) fn put_percent_escaped(&mut self, s: &[u8]) {
        if !self.room(3 * s.len()) {
            for &b in s {
                self.push(b);
                if b == b'%' {
                    self.put(b"25");
                }
            }
            return;
        }
        let mut rest = s;
        while let Some(chunk) = rest.first_chunk::<8>() {
            self.store8(self.len, chunk);
            let w = u64::from_le_bytes(*chunk);
            let hits = zero_bytes(w ^ splat(b'%'));
            let step = if hits == 0 {
                8
            } else {
                // Up to and with the first `%` (the lowest flag is exact).
                (hits.trailing_zeros() / 8) as usize + 1
            };
            self.len += step;
            if hits != 0 {
                self.store8(self.len, b"25\0\0\0\0\0\0");
                self.len += 2;
            }
            rest = rest.get(step..).unwrap_or_default();
        }
        for &b in rest {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
            }
            self.len += 1;
            if b == b'%' {
                self.store8(self.len, b"25\0\0\0\0\0\0");
                self.len += 2;
            }
        }
    }

    /// The bytes written.
    pub(crate) fn finish(&mut self) -> &[u8] {
        if self.spill.is_empty() {
            self.buf.get(..self.len).unwrap_or_default()
        } else {
            self.flush();
            &self.spill
        }
    }
}

/// Appends the RFC 5849 §3.6 encoding of `input` to a base string.
#[inline]
pub(crate) fn encode_bytes_into(out: &mut BaseBuf, mut input: &[u8]) {
    loop {
        let n = unreserved_prefix(input);
        let (run, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
        out.put(run);
        let Some((&b, rest)) = rest.split_first() else {
            break;
        };
        out.put(&ESCAPES.get(usize::from(b)).copied().unwrap_or_default());
        input = rest;
    }
}

/// Appends the encoding of `input` encoded twice (as a decoded value appears
/// in the signature base string): an escaped byte becomes `%25XX`.
#[inline]
pub(crate) fn encode_twice_bytes_into(out: &mut BaseBuf, mut input: &[u8]) {
    loop {
        let n = unreserved_prefix(input);
        let (run, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
        out.put(run);
        let Some((&b, rest)) = rest.split_first() else {
            break;
        };
        let [_, hi, lo] = ESCAPES.get(usize::from(b)).copied().unwrap_or_default();
        out.put(&[b'%', b'2', b'5', hi, lo]);
        input = rest;
    }
}

/// Appends a canonically encoded text encoded once more: only `%` needs
/// escaping, as `%25`. `plain` says the text holds no `%` at all.
#[inline]
pub(crate) fn push_canonical_twice(out: &mut BaseBuf, text: &str, plain: bool) {
    if plain {
        out.put(text.as_bytes());
    } else {
        out.put_percent_escaped(text.as_bytes());
    }
}

/// Appends the RFC 5849 §3.6 encoding of `input` to `out`.
///
/// Every byte of the UTF-8 form outside the unreserved set becomes `%XX` with
/// upper-case hex; a space is `%20`, never `+`.
pub fn encode_into(out: &mut String, input: &str) {
    let bytes = input.as_bytes();
    let mut i = 0;
    loop {
        let n = unreserved_prefix(bytes.get(i..).unwrap_or_default());
        // A run of unreserved (ASCII) bytes is a whole run of characters.
        if let Some(run) = input.get(i..i + n) {
            out.push_str(run);
        }
        i += n;
        match bytes.get(i) {
            Some(&b) => {
                push_escaped(out, b);
                i += 1;
            }
            None => break,
        }
    }
}

#[inline]
fn push_escaped(out: &mut String, b: u8) {
    let escape = ESCAPES.get(usize::from(b)).copied().unwrap_or_default();
    for c in escape {
        out.push(char::from(c));
    }
}

/// Returns the RFC 5849 §3.6 encoding of `input`, borrowing it when nothing
/// needs escaping.
pub fn encode(input: &str) -> Cow<'_, str> {
    if unreserved_prefix(input.as_bytes()) == input.len() {
        Cow::Borrowed(input)
    } else {
        let mut out = String::with_capacity(input.len() + input.len() / 2 + 4);
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
///
/// With `CANON`, the same pass also tells whether `input` is already the
/// canonical RFC 5849 encoding of its (ASCII-escaped) value: only unreserved
/// bytes and upper-case `%XX` escapes of reserved ASCII bytes. Such a value
/// can enter the signature base string as it is.
fn decode_core<const CANON: bool>(
    input: &str,
    plus_is_space: bool,
) -> Result<(Cow<'_, str>, bool), ParseError> {
    let bytes = input.as_bytes();
    let first = if plus_is_space {
        find_any(bytes, [b'%', b'+'])
    } else {
        find_any(bytes, [b'%'])
    };
    let Some(first) = first else {
        let canonical = CANON && unreserved_prefix(bytes) == bytes.len();
        return Ok((Cow::Borrowed(input), canonical));
    };
    let mut canonical = CANON;
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    let mut next = first;
    loop {
        // A run without escapes, then the escape (or `+`) that ends it.
        let (run, tail) = rest.split_at_checked(next).unwrap_or((rest, &[]));
        if CANON && canonical && unreserved_prefix(run) != run.len() {
            canonical = false;
        }
        out.extend_from_slice(run);
        match *tail {
            [] => break,
            [b'%', h, l, ref after @ ..] => {
                let (Some(hi), Some(lo)) = (hex_value(h), hex_value(l)) else {
                    return Err(ParseError::BadPercentEncoding);
                };
                let octet = (hi << 4) | lo;
                if CANON
                    && (h.is_ascii_lowercase()
                        || l.is_ascii_lowercase()
                        || octet >= 0x80
                        || unreserved(octet))
                {
                    canonical = false;
                }
                out.push(octet);
                rest = after;
            }
            [b'%', ..] => return Err(ParseError::BadPercentEncoding),
            [_, ref after @ ..] => {
                // `+` read as a space: never canonical.
                out.push(b' ');
                canonical = false;
                rest = after;
            }
        }
        let found = if plus_is_space {
            find_any(rest, [b'%', b'+'])
        } else {
            find_any(rest, [b'%'])
        };
        next = found.unwrap_or(rest.len());
    }
    String::from_utf8(out)
        .map(|s| (Cow::Owned(s), canonical))
        .map_err(|_| ParseError::InvalidUtf8)
}

fn decode_impl(input: &str, plus_is_space: bool) -> Result<Cow<'_, str>, ParseError> {
    decode_core::<false>(input, plus_is_space).map(|(decoded, _)| decoded)
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

/// A value in its canonical RFC 5849 encoding, and whether that holds no `%`
/// (then encoding it once more, for the base string, changes nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Encoded<'a> {
    pub(crate) text: Cow<'a, str>,
    pub(crate) plain: bool,
}

impl<'a> Encoded<'a> {
    /// The canonical encoding of a decoded value.
    pub(crate) fn of(decoded: &'a str) -> Self {
        let text = encode(decoded);
        let plain = matches!(text, Cow::Borrowed(_));
        Self { text, plain }
    }

    /// A text made only of unreserved bytes.
    #[inline]
    pub(crate) fn unreserved(text: &'a str) -> Self {
        Self {
            text: Cow::Borrowed(text),
            plain: true,
        }
    }
}

/// Reads a raw (still encoded) value that must be decoded now (a header
/// value): the decoded value, and its canonical encoding.
pub(crate) fn decode_with_encoding(
    raw: &str,
    plus_is_space: bool,
) -> Result<(Cow<'_, str>, Encoded<'_>), ParseError> {
    let (decoded, canonical) = decode_core::<true>(raw, plus_is_space)?;
    let encoded = if canonical {
        Encoded {
            plain: find_any(raw.as_bytes(), [b'%']).is_none(),
            text: Cow::Borrowed(raw),
        }
    } else {
        match &decoded {
            Cow::Borrowed(d) => Encoded::of(d),
            Cow::Owned(d) => {
                let Encoded { text, plain } = Encoded::of(d);
                Encoded {
                    text: Cow::Owned(text.into_owned()),
                    plain,
                }
            }
        }
    };
    Ok((decoded, encoded))
}

/// The decoded form of a [`Component`].
#[derive(Clone, Debug)]
enum Decoded<'a> {
    /// Decoded when read.
    Ready(Cow<'a, str>),
    /// A canonical raw text with escapes, decoded on first use: it cannot
    /// fail (its escapes are well-formed ASCII), and verifying a request
    /// never needs it.
    Lazy(&'a str, OnceLock<String>),
}

/// A query or body parameter component as it arrived, decoded exactly once
/// (when first needed), and in the canonical encoding that enters the
/// signature base string.
#[derive(Clone, Debug)]
pub(crate) struct Component<'a> {
    decoded: Decoded<'a>,
    pub(crate) encoded: Encoded<'a>,
}

impl PartialEq for Component<'_> {
    fn eq(&self, other: &Self) -> bool {
        // The canonical encoding is a function of the decoded value.
        self.decoded() == other.decoded()
    }
}

impl Eq for Component<'_> {}

impl<'a> Component<'a> {
    /// Reads a raw (still encoded) component from a query or a form body.
    /// Malformed escapes and non-UTF-8 results are errors here, whether or
    /// not the decoding itself is deferred.
    #[inline]
    pub(crate) fn from_raw(raw: &'a str, plus_is_space: bool) -> Result<Self, ParseError> {
        match canonical_as_is(raw) {
            Some(true) => {
                return Ok(Self {
                    decoded: Decoded::Ready(Cow::Borrowed(raw)),
                    encoded: Encoded::unreserved(raw),
                });
            }
            Some(false) => {
                return Ok(Self {
                    decoded: Decoded::Lazy(raw, OnceLock::new()),
                    encoded: Encoded {
                        text: Cow::Borrowed(raw),
                        plain: false,
                    },
                });
            }
            None => {}
        }
        let (decoded, encoded) = decode_with_encoding(raw, plus_is_space)?;
        Ok(Self {
            decoded: Decoded::Ready(decoded),
            encoded,
        })
    }

    /// The decoded value.
    pub(crate) fn decoded(&self) -> &str {
        match &self.decoded {
            Decoded::Ready(decoded) => decoded,
            Decoded::Lazy(raw, cell) => cell.get_or_init(|| decode_canonical(raw)),
        }
    }

    /// The decoded value, owned where it must be.
    pub(crate) fn into_decoded(self) -> Cow<'a, str> {
        match self.decoded {
            Decoded::Ready(decoded) => decoded,
            Decoded::Lazy(raw, cell) => {
                Cow::Owned(cell.into_inner().unwrap_or_else(|| decode_canonical(raw)))
            }
        }
    }

    /// Whether the decoded value starts with `oauth_`. For a canonical raw
    /// text the raw text tells: the letters of `oauth_` are unreserved, so a
    /// canonical encoding never escapes them.
    #[inline]
    pub(crate) fn is_protocol(&self) -> bool {
        match &self.decoded {
            Decoded::Ready(decoded) => decoded.starts_with("oauth_"),
            Decoded::Lazy(raw, _) => raw.starts_with("oauth_"),
        }
    }
}

/// Whether a raw (still encoded) query or body component enters the base
/// string as it stands: `Some(true)` when it is all unreserved, `Some(false)`
/// when it is canonical with escapes (so it holds a `%`), `None` when it
/// must be decoded and encoded again (or is malformed).
#[inline]
pub(crate) fn canonical_as_is(raw: &str) -> Option<bool> {
    let bytes = raw.as_bytes();
    let n = unreserved_prefix(bytes);
    if n == raw.len() {
        Some(true)
    } else if is_canonical_from(bytes, n) {
        Some(false)
    } else {
        None
    }
}

/// Decodes a text already known to be canonical (so well-formed ASCII).
fn decode_canonical(raw: &str) -> String {
    decode(raw).map(Cow::into_owned).unwrap_or_default()
}

/// Whether `bytes[from..]` (`from` being the end of an unreserved run) is
/// canonical: unreserved bytes and upper-case `%XX` escapes of reserved
/// ASCII bytes.
fn is_canonical_from(bytes: &[u8], from: usize) -> bool {
    let upper_hex = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
    let mut rest = bytes.get(from..).unwrap_or_default();
    // Runs between escapes are short here: byte by byte.
    loop {
        match rest {
            [] => return true,
            [b'%', h, l, tail @ ..] => {
                if !upper_hex(*h) || !upper_hex(*l) {
                    return false;
                }
                let octet = (hex_value(*h).unwrap_or(0) << 4) | hex_value(*l).unwrap_or(0);
                if octet >= 0x80 || unreserved(octet) {
                    return false;
                }
                rest = tail;
            }
            [b, tail @ ..] => {
                if !unreserved(*b) {
                    return false;
                }
                rest = tail;
            }
        }
    }
}

/// Splits an `application/x-www-form-urlencoded` string (or a URL query) into
/// its raw `name=value` pieces. Empty pieces (`a=1&&b=2`) are skipped; a piece
/// without `=` is a name with an empty value.
pub(crate) fn split_pairs(input: &str) -> Pairs<'_> {
    Pairs { rest: Some(input) }
}

/// The iterator of [`split_pairs`]: byte searches for `&` and `=` (both
/// ASCII, so every split falls on a character boundary).
pub(crate) struct Pairs<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            // The piece up to the next `&` (or the end), then its first `=`.
            let (piece, next) = match find_any(rest.as_bytes(), [b'&']) {
                Some(i) => match rest.split_at_checked(i) {
                    Some((piece, tail)) => (piece, tail.get(1..)),
                    None => (rest, None),
                },
                None => (rest, None),
            };
            self.rest = next;
            if piece.is_empty() {
                continue;
            }
            return Some(match find_any(piece.as_bytes(), [b'=']) {
                Some(j) => match piece.split_at_checked(j) {
                    Some((name, value)) => (name, value.get(1..).unwrap_or_default()),
                    None => (piece, ""),
                },
                None => (piece, ""),
            });
        }
    }
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
        assert!(matches!(c.encoded.text, Cow::Borrowed(_)));
        assert!(!c.encoded.plain);
        assert_eq!(c.decoded(), "abc/def");
        let lower = Component::from_raw("abc%2fdef", false).unwrap();
        assert_eq!(lower.encoded.text, "abc%2Fdef");
        assert_eq!(lower.decoded(), "abc/def");
        let needless = Component::from_raw("%41", false).unwrap();
        assert_eq!(needless.encoded.text, "A");
        assert!(needless.encoded.plain);
        let plus = Component::from_raw("a+b", true).unwrap();
        assert_eq!(plus.encoded.text, "a%20b");
        assert_eq!(plus.decoded(), "a b");
        assert_eq!(
            Component::from_raw("a%zz", true),
            Err(ParseError::BadPercentEncoding)
        );
        assert_eq!(
            Component::from_raw("%C3%28", true),
            Err(ParseError::InvalidUtf8)
        );
        assert_eq!(
            Component::from_raw("oauth_%41", true)
                .unwrap()
                .into_decoded(),
            "oauth_A"
        );
    }

    #[test]
    fn scanners_match_byte_by_byte() {
        for b in 0..=255u8 {
            for len in 1..=20 {
                for pos in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[pos] = b;
                    let expected = if is_unreserved(b) { len } else { pos };
                    assert_eq!(unreserved_prefix(&bytes), expected, "{b} {len} {pos}");
                    let quoted = matches!(b, 0x20..=0x7e) && b != b'"' && b != b'\\';
                    assert_eq!(all_quoted_text(&bytes), quoted, "{b} {len} {pos}");
                    let found = find_any(&bytes, [b'%', b'+']);
                    let expected = matches!(b, b'%' | b'+').then_some(pos);
                    assert_eq!(found, expected, "{b} {len} {pos}");
                }
            }
        }
        // The word-at-once test again with each edge of the unreserved
        // ranges beside the byte under test (no test may leak into a
        // neighbour).
        for filler in *b"09AZaz-._~" {
            for b in 0..=255u8 {
                for pos in 0..8 {
                    let mut word = [filler; 8];
                    word[pos] = b;
                    assert_eq!(
                        all_unreserved(&word),
                        is_unreserved(b),
                        "{filler} {b} {pos}"
                    );
                }
            }
        }
        assert_eq!(unreserved_prefix(b""), 0);
        assert!(all_quoted_text(b""));
        assert_eq!(find_any(b"", [b'%']), None);
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
