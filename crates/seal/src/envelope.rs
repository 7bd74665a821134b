//! JWE envelopes: `RSA-OAEP-256` + `A256GCM`, compact serialization (C1, C2).

use std::fmt;

use chrono::{DateTime, Utc};
use josekit::jwe::{self, JweHeader, RSA_OAEP_256};

use crate::compact::Header;
use crate::jwk::{CONTENT_ENCRYPTION, ENCRYPTION_ALG, Side, escape, is_label};
use crate::{KeyPurpose, PrivateKeySet, PublicKeySet, SealError};

/// Longest accepted `cty`.
const MAX_CONTENT_TYPE: usize = 255;

/// A sealed envelope: the compact JWE and the recipient key it was sealed to.
///
/// `Debug` shows the length of the JWE, not the JWE itself (it may be tens of megabytes).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The recipient's key id, also in the JWE header.
    pub kid: String,
    /// The compact serialization `header.encrypted_key.iv.ciphertext.tag`.
    pub jwe: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("kid", &self.kid)
            .field("jwe_len", &self.jwe.len())
            .finish()
    }
}

/// Encrypts `plaintext` to the recipient's newest encryption key valid at `now`.
///
/// The header is `{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":content_type,"kid":…}`; there is no
/// compression. `content_type` must be 1 to 255 printable ASCII characters (e.g.
/// `application/json`, `application/pdf`). Sealing 10 MB takes tens of milliseconds: call it in
/// `spawn_blocking` from async code.
pub fn seal(
    plaintext: &[u8],
    content_type: &str,
    recipient: &PublicKeySet,
    now: DateTime<Utc>,
) -> Result<Sealed, SealError> {
    if !is_label(content_type, MAX_CONTENT_TYPE) {
        return Err(SealError::InvalidLabel {
            what: "content type",
            value: escape(content_type),
            max: MAX_CONTENT_TYPE,
        });
    }
    let key = recipient.encryption_key(now)?;
    key.inner.ensure_usable(KeyPurpose::Encryption, now)?;
    let encrypter = RSA_OAEP_256
        .encrypter_from_jwk(&key.inner.to_josekit(Side::Public)?)
        .map_err(|source| SealError::Crypto {
            operation: "load the recipient's encryption key",
            source,
        })?;
    let mut header = JweHeader::new();
    header.set_content_encryption(CONTENT_ENCRYPTION);
    header.set_content_type(content_type);
    header.set_key_id(key.kid());
    let jwe = jwe::serialize_compact(plaintext, &header, &encrypter).map_err(|source| {
        SealError::Crypto {
            operation: "encrypt an envelope",
            source,
        }
    })?;
    Ok(Sealed {
        kid: key.kid().to_string(),
        jwe,
    })
}

/// Decrypts a compact JWE with the key named by its `kid`.
///
/// Refused before any key is touched: anything but five base64url parts; a header `alg` other
/// than `RSA-OAEP-256` (so `RSA1_5`, `RSA-OAEP`, `dir`, `none`, `A128KW`, `PBES2-*`, `ECDH-ES*`);
/// an `enc` other than `A256GCM`; `zip`, `crit`, `jwk`, `jku`, `x5u`, `x5c`; a `kid` that is not
/// an encryption key of `keys`. Any altered byte makes AES-GCM or RSA-OAEP fail, reported as
/// [`SealError::DecryptionFailed`] without saying which step failed.
///
/// Any key still in `keys` opens, whatever its dates, because an envelope sealed before the key
/// expired may wait in a queue for days (F3). Retire keys with
/// [`PrivateKeySet::drop_expired`]. `now` is taken for symmetry with the other calls and is not
/// used at present.
pub fn open(jwe: &str, keys: &PrivateKeySet, now: DateTime<Utc>) -> Result<Vec<u8>, SealError> {
    let _ = now;
    let header = Header::read(jwe, 5, "JWE")?;
    header.require("alg", ENCRYPTION_ALG)?;
    header.require("enc", CONTENT_ENCRYPTION)?;
    let kid = header.kid()?;
    let key = keys.decryption_key(kid)?;
    let decrypter = RSA_OAEP_256
        .decrypter_from_jwk(&key.inner.to_josekit(Side::Private)?)
        .map_err(|source| SealError::Crypto {
            operation: "load our decryption key",
            source,
        })?;
    let (plaintext, _) = jwe::deserialize_compact(jwe, &decrypter).map_err(|source| {
        SealError::DecryptionFailed {
            kid: escape(kid),
            source,
        }
    })?;
    Ok(plaintext)
}
