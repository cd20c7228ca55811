//! Computing and checking signatures over a finished base string, and the
//! OAuth Body Hash extension.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::encoding::{encode_into, unreserved_prefix};
use crate::error::{SignError, VerifyError};
use crate::keys::{RsaPrivateKey, RsaPublicKey, Secret, SigningKey, VerifyingKey};
use crate::method::{DigestAlgorithm, SignatureMethod};
use zeroize::Zeroizing;

/// The HMAC key and PLAINTEXT signature of RFC 5849 §3.4.2 and §3.4.4: the
/// encoded consumer secret, `&`, and the encoded token secret (empty when
/// there is no token).
pub fn shared_key(consumer_secret: &Secret, token_secret: Option<&Secret>) -> String {
    let cs = consumer_secret.expose();
    let ts = token_secret.map_or("", Secret::expose);
    let mut key = String::with_capacity(cs.len() + ts.len() + 8);
    encode_into(&mut key, cs);
    key.push('&');
    encode_into(&mut key, ts);
    key
}

/// Calls `f` with the HMAC key of [`shared_key`], built on the stack when
/// both secrets are unreserved (as generated secrets are) and short; either
/// copy is wiped afterwards.
fn with_shared_key<R>(
    consumer_secret: &Secret,
    token_secret: Option<&Secret>,
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    let cs = consumer_secret.expose().as_bytes();
    let ts = token_secret.map_or(&b""[..], |t| t.expose().as_bytes());
    let mut buf = Zeroizing::new([0u8; 192]);
    if unreserved_prefix(cs) == cs.len() && unreserved_prefix(ts) == ts.len() {
        let len = cs.len() + 1 + ts.len();
        if let Some(key) = buf.get_mut(..len) {
            let (head, tail) = key.split_at_mut(cs.len());
            head.copy_from_slice(cs);
            if let Some((amp, rest)) = tail.split_first_mut() {
                *amp = b'&';
                rest.copy_from_slice(ts);
            }
            return f(key);
        }
    }
    f(Zeroizing::new(shared_key(consumer_secret, token_secret)).as_bytes())
}

/// The HMAC of `message` under `key`.
fn hmac_mac(digest: DigestAlgorithm, key: &[u8], message: &[u8]) -> Signature {
    fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Signature {
        // HMAC accepts keys of any length, so this cannot fail; an empty MAC
        // would never verify anyway.
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(message);
                Signature::mac(&mac.finalize().into_bytes())
            }
            Err(_) => Signature::Text(String::new()),
        }
    }
    match digest {
        DigestAlgorithm::Sha1 => run::<hmac::Hmac<Sha1>>(key, message),
        DigestAlgorithm::Sha256 => run::<hmac::Hmac<Sha256>>(key, message),
        DigestAlgorithm::Sha512 => run::<hmac::Hmac<Sha512>>(key, message),
    }
}

/// A signature as computed: an HMAC's raw bytes (base64-encoded where it
/// is written, so the header needs no `String` of it), or finished text
/// (PLAINTEXT's key, RSA's base64).
pub(crate) enum Signature {
    /// The MAC (20 to 64 bytes).
    Mac {
        /// Room for the longest MAC, SHA-512's.
        bytes: [u8; 64],
        /// How much of it is the MAC.
        len: usize,
    },
    /// The value of `oauth_signature`, decoded.
    Text(String),
}

impl Signature {
    fn mac(mac: &[u8]) -> Self {
        let mut bytes = [0u8; 64];
        let len = mac.len().min(64);
        if let (Some(dst), Some(src)) = (bytes.get_mut(..len), mac.get(..len)) {
            dst.copy_from_slice(src);
        }
        Signature::Mac { bytes, len }
    }

    /// The value of `oauth_signature`, decoded.
    pub(crate) fn into_text(self) -> String {
        match self {
            Signature::Mac { bytes, len } => {
                crate::b64::encode(bytes.get(..len).unwrap_or_default())
            }
            Signature::Text(text) => text,
        }
    }

    /// Appends the value as it travels: percent-encoded.
    pub(crate) fn encode_into(&self, out: &mut String) {
        match self {
            Signature::Mac { bytes, len } => {
                crate::b64::encode_percent_into(out, bytes.get(..*len).unwrap_or_default());
            }
            Signature::Text(text) => crate::encoding::encode_into(out, text),
        }
    }
}

fn hmac_verify(digest: DigestAlgorithm, key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    fn run<M: Mac + KeyInit>(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(message);
                // verify_slice compares in constant time.
                mac.verify_slice(tag).is_ok()
            }
            Err(_) => false,
        }
    }
    match digest {
        DigestAlgorithm::Sha1 => run::<hmac::Hmac<Sha1>>(key, message, tag),
        DigestAlgorithm::Sha256 => run::<hmac::Hmac<Sha256>>(key, message, tag),
        DigestAlgorithm::Sha512 => run::<hmac::Hmac<Sha512>>(key, message, tag),
    }
}

fn rsa_sign(
    digest: DigestAlgorithm,
    key: &RsaPrivateKey,
    message: &[u8],
) -> Result<Vec<u8>, SignError> {
    use rsa::pkcs1v15::SigningKey as Pkcs1SigningKey;
    fn run<D>(key: &RsaPrivateKey, message: &[u8]) -> Vec<u8>
    where
        D: Digest + rsa::pkcs8::AssociatedOid,
    {
        let signer = Pkcs1SigningKey::<D>::new(key.key.clone());
        signer.sign(message).to_vec()
    }
    // Constant time where ring signs the method (not SHA-1).
    let ring_method: Option<&'static dyn ring::signature::RsaEncoding> = match digest {
        DigestAlgorithm::Sha1 => None,
        DigestAlgorithm::Sha256 => Some(&ring::signature::RSA_PKCS1_SHA256),
        DigestAlgorithm::Sha512 => Some(&ring::signature::RSA_PKCS1_SHA512),
    };
    if let (Some(encoding), Some(pair)) = (ring_method, &key.constant_time) {
        let mut signature = vec![0u8; pair.public().modulus_len()];
        pair.sign(
            encoding,
            &ring::rand::SystemRandom::new(),
            message,
            &mut signature,
        )
        .map_err(|_| SignError::Rsa)?;
        return Ok(signature);
    }
    Ok(match digest {
        DigestAlgorithm::Sha1 => run::<Sha1>(key, message),
        DigestAlgorithm::Sha256 => run::<Sha256>(key, message),
        DigestAlgorithm::Sha512 => run::<Sha512>(key, message),
    })
}

fn rsa_verify(digest: DigestAlgorithm, key: &RsaPublicKey, message: &[u8], sig: &[u8]) -> bool {
    use rsa::pkcs1v15::{Signature, VerifyingKey as Pkcs1VerifyingKey};
    fn run<D>(key: &RsaPublicKey, message: &[u8], sig: &[u8]) -> bool
    where
        D: Digest + rsa::pkcs8::AssociatedOid,
    {
        let Ok(signature) = Signature::try_from(sig) else {
            return false;
        };
        Pkcs1VerifyingKey::<D>::new(key.0.clone())
            .verify(message, &signature)
            .is_ok()
    }
    match digest {
        DigestAlgorithm::Sha1 => run::<Sha1>(key, message, sig),
        DigestAlgorithm::Sha256 => run::<Sha256>(key, message, sig),
        DigestAlgorithm::Sha512 => run::<Sha512>(key, message, sig),
    }
}

/// An HMAC signing key made ready once, for signing many requests with the
/// same credentials: the hash states after the key's inner and outer pads
/// (RFC 2104), so each signature hashes only its base string. `Debug`
/// shows the method, never the key.
///
/// ```
/// use std::borrow::Cow;
/// use sigil_core::{HmacKey, OAuthParams, Request, Secret, SignatureMethod, SigningKey, sign};
/// let cs = Secret::new("kd94hf93k423kf44");
/// let ts = Secret::new("pfkkdhi9sl3r4s00");
/// let key = HmacKey::new(SignatureMethod::HmacSha1, &cs, Some(&ts)).unwrap();
/// let oauth = OAuthParams {
///     consumer_key: Some(Cow::Borrowed("dpf43f3p2l4k3l03")),
///     token: Some(Cow::Borrowed("nnch734d00sl2jdk")),
///     signature_method: Some(SignatureMethod::HmacSha1),
///     timestamp: Some(Cow::Borrowed("137131202")),
///     nonce: Some(Cow::Borrowed("chapoH")),
///     ..OAuthParams::default()
/// };
/// let request = Request::new("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original");
/// let signed = sign(&request, &oauth, &SigningKey::Hmac(&key)).unwrap();
/// assert_eq!(signed.signature(), "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
/// ```
#[derive(Clone)]
pub struct HmacKey {
    method: SignatureMethod,
    mac: KeyedMac,
}

// Each variant's HMAC state is two hash states, wiped when dropped (the
// `zeroize` features of hmac, sha1 and sha2; the test below fails to build
// without them).
impl zeroize::ZeroizeOnDrop for HmacKey {}

#[derive(Clone)]
enum KeyedMac {
    Sha1(hmac::Hmac<Sha1>),
    Sha256(hmac::Hmac<Sha256>),
    Sha512(hmac::Hmac<Sha512>),
}

impl HmacKey {
    /// Prepares the key of [`shared_key`] for `method`, which must be one
    /// of the HMAC methods.
    pub fn new(
        method: SignatureMethod,
        consumer_secret: &Secret,
        token_secret: Option<&Secret>,
    ) -> Result<Self, SignError> {
        fn keyed<M: KeyInit>(key: &[u8]) -> Result<M, SignError> {
            // HMAC takes keys of any length; the error cannot happen.
            <M as KeyInit>::new_from_slice(key).map_err(|_| SignError::KeyMismatch)
        }
        let digest = method
            .digest()
            .filter(|_| method.is_hmac())
            .ok_or(SignError::KeyMismatch)?;
        let mac = with_shared_key(consumer_secret, token_secret, |key| match digest {
            DigestAlgorithm::Sha1 => keyed(key).map(KeyedMac::Sha1),
            DigestAlgorithm::Sha256 => keyed(key).map(KeyedMac::Sha256),
            DigestAlgorithm::Sha512 => keyed(key).map(KeyedMac::Sha512),
        })?;
        Ok(Self { method, mac })
    }

    /// The signature method this key signs with.
    pub fn method(&self) -> SignatureMethod {
        self.method
    }

    /// The HMAC of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        fn run<M: Mac + Clone>(mac: &M, message: &[u8]) -> Signature {
            let mut mac = mac.clone();
            mac.update(message);
            Signature::mac(&mac.finalize().into_bytes())
        }
        match &self.mac {
            KeyedMac::Sha1(mac) => run(mac, message),
            KeyedMac::Sha256(mac) => run(mac, message),
            KeyedMac::Sha512(mac) => run(mac, message),
        }
    }
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacKey({}, ..)", self.method)
    }
}

/// Signs a finished signature base string. Returns the value of
/// `oauth_signature` before percent-encoding for transport (base64 for HMAC
/// and RSA, the shared key for PLAINTEXT).
///
/// ```
/// use sigil_core::{Secret, SignatureMethod, SigningKey, sign_base_string};
/// let cs = Secret::new("kd94hf93k423kf44");
/// let key = SigningKey::Shared { consumer_secret: &cs, token_secret: None };
/// let sig = sign_base_string(SignatureMethod::Plaintext, "ignored", &key).unwrap();
/// assert_eq!(sig, "kd94hf93k423kf44&");
/// ```
pub fn sign_base_string(
    method: SignatureMethod,
    base_string: &str,
    key: &SigningKey<'_>,
) -> Result<String, SignError> {
    compute_signature(method, base_string.as_bytes(), key).map(Signature::into_text)
}

/// The signature of a finished base string, given as bytes.
pub(crate) fn compute_signature(
    method: SignatureMethod,
    base_string: &[u8],
    key: &SigningKey<'_>,
) -> Result<Signature, SignError> {
    match (method, key) {
        (
            SignatureMethod::Plaintext,
            SigningKey::Shared {
                consumer_secret,
                token_secret,
            },
        ) => Ok(Signature::Text(shared_key(consumer_secret, *token_secret))),
        (
            _,
            SigningKey::Shared {
                consumer_secret,
                token_secret,
            },
        ) if !method.is_rsa() => {
            let digest = method.digest().ok_or(SignError::KeyMismatch)?;
            Ok(with_shared_key(consumer_secret, *token_secret, |key| {
                hmac_mac(digest, key, base_string)
            }))
        }
        (_, SigningKey::Hmac(prepared)) if prepared.method == method => {
            Ok(prepared.sign(base_string))
        }
        (_, SigningKey::Rsa(private)) if method.is_rsa() => {
            let digest = method.digest().ok_or(SignError::KeyMismatch)?;
            Ok(Signature::Text(BASE64.encode(rsa_sign(
                digest,
                private,
                base_string,
            )?)))
        }
        _ => Err(SignError::KeyMismatch),
    }
}

/// Checks `signature` (the value of `oauth_signature`, already
/// percent-decoded once) against a finished base string.
///
/// The base64 is decoded strictly (canonical padding, no trailing garbage)
/// and the comparison is constant-time.
pub fn verify_base_string(
    method: SignatureMethod,
    base_string: &str,
    signature: &str,
    key: &VerifyingKey<'_>,
) -> Result<(), VerifyError> {
    verify_base_bytes(method, base_string.as_bytes(), signature, key)
}

/// [`verify_base_string`] over the base string's bytes.
pub(crate) fn verify_base_bytes(
    method: SignatureMethod,
    base_string: &[u8],
    signature: &str,
    key: &VerifyingKey<'_>,
) -> Result<(), VerifyError> {
    let valid = match (method, key) {
        (
            SignatureMethod::Plaintext,
            VerifyingKey::Shared {
                consumer_secret,
                token_secret,
            },
        ) => with_shared_key(consumer_secret, *token_secret, |expected| {
            bool::from(expected.ct_eq(signature.as_bytes()))
        }),
        (
            _,
            VerifyingKey::Shared {
                consumer_secret,
                token_secret,
            },
        ) if !method.is_rsa() => {
            let digest = method.digest().ok_or(VerifyError::KeyMismatch)?;
            // The longest HMAC here is SHA-512's 64 bytes; a longer decoded
            // value cannot match and fails to fit.
            let mut tag = [0u8; 64];
            match crate::b64::decode_into(signature.as_bytes(), &mut tag) {
                Some(len) => match tag.get(..len) {
                    Some(tag) => with_shared_key(consumer_secret, *token_secret, |key| {
                        hmac_verify(digest, key, base_string, tag)
                    }),
                    None => false,
                },
                None => false,
            }
        }
        (_, VerifyingKey::Rsa(public)) if method.is_rsa() => {
            let digest = method.digest().ok_or(VerifyError::KeyMismatch)?;
            match BASE64.decode(signature.as_bytes()) {
                Ok(sig) => rsa_verify(digest, public, base_string, &sig),
                Err(_) => false,
            }
        }
        _ => return Err(VerifyError::KeyMismatch),
    };
    if valid {
        Ok(())
    } else {
        Err(VerifyError::InvalidSignature)
    }
}

/// The `oauth_body_hash` of `body` for `method` (OAuth Request Body Hash
/// extension): base64 of the method's digest of the raw body bytes. `None`
/// for PLAINTEXT, which has no digest. The hash of an empty body is the
/// digest of zero bytes.
///
/// ```
/// use sigil_core::{SignatureMethod, body_hash};
/// assert_eq!(
///     body_hash(SignatureMethod::HmacSha1, b"").as_deref(),
///     Some("2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
/// );
/// ```
pub fn body_hash(method: SignatureMethod, body: &[u8]) -> Option<String> {
    let digest = method.digest()?;
    Some(match digest {
        DigestAlgorithm::Sha1 => BASE64.encode(Sha1::digest(body)),
        DigestAlgorithm::Sha256 => BASE64.encode(Sha256::digest(body)),
        DigestAlgorithm::Sha512 => BASE64.encode(Sha512::digest(body)),
    })
}

/// The base64 HMAC of `message` under a raw `key`, for the HMAC methods
/// (`None` for the others). Diagnostic tools use it to try keys built in
/// non-standard ways; signing goes through [`sign_base_string`].
pub fn hmac_raw(method: SignatureMethod, key: &[u8], message: &[u8]) -> Option<String> {
    let digest = method.digest().filter(|_| method.is_hmac())?;
    Some(hmac_mac(digest, key, message).into_text())
}

/// Checks an `oauth_body_hash` value in constant time.
pub(crate) fn body_hash_matches(method: SignatureMethod, body: &[u8], sent: &str) -> bool {
    match body_hash(method, body) {
        Some(expected) => expected.as_bytes().ct_eq(sent.as_bytes()).into(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_sha256_and_512_sign_in_constant_time_as_the_rsa_crate_would() {
        use rsa::pkcs1v15::SigningKey as Pkcs1SigningKey;
        let key = RsaPrivateKey::from_pem(include_str!("../tests/data/test-rsa-pkcs1.pem"))
            .expect("test key");
        assert!(key.signs_in_constant_time(), "ring takes a 2048-bit key");
        let message = b"GET&https%3A%2F%2Fapi.example%2F&a%3Db";
        // PKCS#1 v1.5 is deterministic: ring's signature is the rsa crate's.
        let by_ring = rsa_sign(DigestAlgorithm::Sha256, &key, message).expect("sign");
        let by_rsa = Pkcs1SigningKey::<Sha256>::new(key.key.clone())
            .sign(message)
            .to_vec();
        assert_eq!(by_ring, by_rsa);
        let by_ring = rsa_sign(DigestAlgorithm::Sha512, &key, message).expect("sign");
        let by_rsa = Pkcs1SigningKey::<Sha512>::new(key.key.clone())
            .sign(message)
            .to_vec();
        assert_eq!(by_ring, by_rsa);
        // And it verifies.
        assert!(rsa_verify(
            DigestAlgorithm::Sha256,
            &key.public_key(),
            message,
            &rsa_sign(DigestAlgorithm::Sha256, &key, message).expect("sign")
        ));
    }

    #[test]
    fn secrets_and_prepared_keys_are_wiped_when_dropped() {
        fn wiped<T: zeroize::ZeroizeOnDrop>() {}
        wiped::<Secret>();
        wiped::<HmacKey>();
        // The hash states an HMAC state is made of.
        wiped::<sha1::block_api::Sha1Core>();
        wiped::<sha2::block_api::Sha256VarCore>();
        wiped::<sha2::block_api::Sha512VarCore>();
    }

    #[test]
    fn plaintext_encodes_both_secrets() {
        let cs = Secret::new("super secret");
        let ts = Secret::new("even more secret");
        assert_eq!(
            shared_key(&cs, Some(&ts)),
            "super%20secret&even%20more%20secret"
        );
        assert_eq!(shared_key(&Secret::default(), None), "&");
    }

    #[test]
    fn hmac_rejects_truncated_or_padded_base64() {
        let cs = Secret::new("cs");
        let key = SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: None,
        };
        let vkey = VerifyingKey::Shared {
            consumer_secret: &cs,
            token_secret: None,
        };
        let sig = sign_base_string(SignatureMethod::HmacSha1, "base", &key).unwrap();
        assert!(verify_base_string(SignatureMethod::HmacSha1, "base", &sig, &vkey).is_ok());
        let truncated = sig.trim_end_matches('=');
        assert_eq!(
            verify_base_string(SignatureMethod::HmacSha1, "base", truncated, &vkey),
            Err(VerifyError::InvalidSignature)
        );
        let garbage = format!("{sig}AAAA");
        assert_eq!(
            verify_base_string(SignatureMethod::HmacSha1, "base", &garbage, &vkey),
            Err(VerifyError::InvalidSignature)
        );
        assert_eq!(
            verify_base_string(SignatureMethod::HmacSha1, "other", &sig, &vkey),
            Err(VerifyError::InvalidSignature)
        );
    }

    #[test]
    fn key_kind_must_match_method() {
        let cs = Secret::new("cs");
        let key = SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: None,
        };
        assert_eq!(
            sign_base_string(SignatureMethod::RsaSha1, "b", &key),
            Err(SignError::KeyMismatch)
        );
    }

    #[test]
    fn a_prepared_key_signs_as_the_secrets_do_and_only_for_its_method() {
        let cs = Secret::new("kd94hf93k423kf44");
        let ts = Secret::new("pfkkdhi9sl3r4s00");
        let shared = SigningKey::Shared {
            consumer_secret: &cs,
            token_secret: Some(&ts),
        };
        for method in [
            SignatureMethod::HmacSha1,
            SignatureMethod::HmacSha256,
            SignatureMethod::HmacSha512,
        ] {
            let prepared = HmacKey::new(method, &cs, Some(&ts)).unwrap();
            assert_eq!(prepared.method(), method);
            let key = SigningKey::Hmac(&prepared);
            // Twice: signing must not consume the prepared state.
            for _ in 0..2 {
                assert_eq!(
                    sign_base_string(method, "GET&x&y", &key),
                    sign_base_string(method, "GET&x&y", &shared)
                );
            }
            for other in SignatureMethod::ALL.into_iter().filter(|m| *m != method) {
                assert_eq!(
                    sign_base_string(other, "GET&x&y", &key),
                    Err(SignError::KeyMismatch)
                );
            }
            let shown = format!("{prepared:?}");
            assert_eq!(shown, format!("HmacKey({method}, ..)"));
        }
        for method in [
            SignatureMethod::Plaintext,
            SignatureMethod::RsaSha1,
            SignatureMethod::RsaSha256,
            SignatureMethod::RsaSha512,
        ] {
            assert_eq!(
                HmacKey::new(method, &cs, None).map(|k| k.method()),
                Err(SignError::KeyMismatch)
            );
        }
    }

    #[test]
    fn body_hash_per_method() {
        assert_eq!(
            body_hash(SignatureMethod::RsaSha256, b"").as_deref(),
            Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        );
        assert_eq!(body_hash(SignatureMethod::Plaintext, b"x"), None);
        // The LTI outcomes example of the Body Hash draft: "Hello World!".
        assert_eq!(
            body_hash(SignatureMethod::HmacSha1, b"Hello World!").as_deref(),
            Some("Lve95gjOVATpfV8EL5X4nxwjKHE=")
        );
    }
}
