//! RSA keys from PKCS#12 files (`.p12`, `.pfx`): what Mastercard's
//! developer portal hands out, and what Java's keytool writes (feature
//! `pkcs12`). The file's private key is decrypted with its password and
//! read as an RSA key; certificates in the file are not needed to sign.

use crate::error::ClientError;
use sigil_core::RsaPrivateKey;

/// The RSA private key in a PKCS#12 file's bytes, decrypted with
/// `password`. Modern (PBES2 with AES) and legacy (SHA-1 with 3DES) files
/// are read; a wrong password, a file with no private key, or a key that is
/// not RSA is an error.
///
/// ```no_run
/// use sigil_client::{Consumer, SignatureMethod, Signer, rsa_key_from_pkcs12};
///
/// let der = std::fs::read("mastercard-sandbox.p12")?;
/// let key = rsa_key_from_pkcs12(&der, "keystorepassword")?;
/// let signer = Signer::new(Consumer::rsa("consumer-key", key)).method(SignatureMethod::RsaSha256);
/// # drop(signer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rsa_key_from_pkcs12(der: &[u8], password: &str) -> Result<RsaPrivateKey, ClientError> {
    // Relaxed: a file holding a key with no certificate (all signing needs)
    // is read too; the strict policy drops such keys.
    let store = p12_keystore::KeyStore::from_pkcs12(
        der,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|e| ClientError::Key(format!("cannot open the PKCS#12 file: {e}")))?;
    let (_, chain) = store
        .private_key_chain()
        .ok_or_else(|| ClientError::Key("the PKCS#12 file holds no private key".into()))?;
    RsaPrivateKey::from_der(chain.key().as_der())
        .map_err(|_| ClientError::Key("the PKCS#12 file's key is not an RSA private key".into()))
}
