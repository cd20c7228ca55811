//! Standard base64 with padding, for the short values of the HMAC methods
//! (a MAC of 20 to 64 bytes): the same strict rules as the `base64` crate's
//! `STANDARD` engine (canonical padding required, no trailing bits, no
//! garbage), without its general-purpose setup cost.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The value of each base64 symbol; 0xff for every other byte (`=` too).
const VALUES: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut rest: &mut [u8] = &mut table;
    let mut b = 0u8;
    while let Some((slot, tail)) = rest.split_first_mut() {
        *slot = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => 0xff,
        };
        rest = tail;
        b = b.wrapping_add(1);
    }
    table
};

#[inline]
fn symbol(n: u32) -> u8 {
    ALPHABET.get((n & 63) as usize).copied().unwrap_or(b'A')
}

#[inline]
fn value(b: u8) -> Option<u32> {
    VALUES
        .get(usize::from(b))
        .copied()
        .filter(|&v| v != 0xff)
        .map(u32::from)
}

/// Encodes `input` as standard base64 with padding.
pub(crate) fn encode(input: &[u8]) -> String {
    let mut out = Vec::with_capacity(input.len().div_ceil(3) * 4);
    let (triples, rest) = input.as_chunks::<3>();
    for &[a, b, c] in triples {
        let n = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        out.extend_from_slice(&[symbol(n >> 18), symbol(n >> 12), symbol(n >> 6), symbol(n)]);
    }
    match *rest {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[symbol(n >> 18), symbol(n >> 12), b'=', b'=']);
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend_from_slice(&[symbol(n >> 18), symbol(n >> 12), symbol(n >> 6), b'=']);
        }
        _ => {}
    }
    // Every byte written is an ASCII symbol.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the standard base64 of `input` percent-encoded (RFC 5849 §3.6)
/// as it travels in a header: `+`, `/` and `=` escaped.
pub(crate) fn encode_percent_into(out: &mut String, input: &[u8]) {
    let mut put = |symbol: u8| match symbol {
        b'+' => out.push_str("%2B"),
        b'/' => out.push_str("%2F"),
        b'=' => out.push_str("%3D"),
        other => out.push(char::from(other)),
    };
    let (triples, rest) = input.as_chunks::<3>();
    for &[a, b, c] in triples {
        let n = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        for shift in [18, 12, 6, 0] {
            put(symbol(n >> shift));
        }
    }
    match *rest {
        [a] => {
            let n = u32::from(a) << 16;
            for s in [symbol(n >> 18), symbol(n >> 12), b'=', b'='] {
                put(s);
            }
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            for s in [symbol(n >> 18), symbol(n >> 12), symbol(n >> 6), b'='] {
                put(s);
            }
        }
        _ => {}
    }
}

/// Decodes standard base64 into `out`, strictly: a length that is a multiple
/// of four, padding exactly where the length needs it, zero trailing bits.
/// `None` when `input` is not such base64 or does not fit in `out`.
pub(crate) fn decode_into(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let (quads, rest) = input.as_chunks::<4>();
    if !rest.is_empty() {
        return None;
    }
    let (last, body) = match quads.split_last() {
        Some(split) => split,
        None => return Some(0),
    };
    let mut n = 0;
    for &[a, b, c, d] in body {
        let v = value(a)? << 18 | value(b)? << 12 | value(c)? << 6 | value(d)?;
        let [_, x, y, z] = v.to_be_bytes();
        out.get_mut(n..n + 3)?.copy_from_slice(&[x, y, z]);
        n += 3;
    }
    let [a, b, c, d] = *last;
    let head = value(a)? << 18 | value(b)? << 12;
    let bytes: &[u8] = match (c, d) {
        (b'=', b'=') => {
            if head & 0xffff != 0 {
                return None;
            }
            &head.to_be_bytes()[1..2]
        }
        (_, b'=') => {
            let v = head | value(c)? << 6;
            if v & 0xff != 0 {
                return None;
            }
            &v.to_be_bytes()[1..3]
        }
        _ => &(head | value(c)? << 6 | value(d)?).to_be_bytes()[1..4],
    };
    out.get_mut(n..n + bytes.len())?.copy_from_slice(bytes);
    Some(n + bytes.len())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn agrees(input: &[u8]) {
        let mut mine = [0u8; 64];
        let mut theirs = [0u8; 64];
        let a = decode_into(input, &mut mine);
        let b = STANDARD.decode_slice(input, &mut theirs).ok();
        assert_eq!(a, b, "{:?}", String::from_utf8_lossy(input));
        if let Some(n) = a {
            assert_eq!(mine[..n], theirs[..n]);
        }
    }

    #[test]
    fn encodes_like_the_base64_crate() {
        for len in 0..70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len * 11) as u8).collect();
            assert_eq!(encode(&bytes), STANDARD.encode(&bytes));
            agrees(encode(&bytes).as_bytes());
            let mut escaped = String::from("x");
            encode_percent_into(&mut escaped, &bytes);
            let expected = crate::encoding::encode(&STANDARD.encode(&bytes)).into_owned();
            assert_eq!(escaped, format!("x{expected}"));
        }
    }

    #[test]
    fn decodes_exactly_what_the_base64_crate_accepts() {
        // Every quad over a set of symbols that exercises trailing bits,
        // padding in and out of place, and invalid bytes; every string of
        // one to three of them; and two quads, the first from a varied set.
        let symbols = b"AQgw/+=*";
        let mut quads = Vec::new();
        for a in symbols {
            for b in symbols {
                for c in symbols {
                    for d in symbols {
                        quads.push([*a, *b, *c, *d]);
                    }
                }
            }
        }
        for quad in &quads {
            for len in 1..=4 {
                agrees(&quad[..len]);
            }
        }
        for first in quads
            .iter()
            .step_by(37)
            .chain([b"AAAA", b"AA==", b"AAA=", b"A=AA"])
        {
            for second in &quads {
                let mut input = first.to_vec();
                input.extend_from_slice(second);
                agrees(&input);
            }
        }
        // Too long for the output.
        agrees(STANDARD.encode([7u8; 65]).as_bytes());
        agrees(STANDARD.encode([7u8; 64]).as_bytes());
    }
}
