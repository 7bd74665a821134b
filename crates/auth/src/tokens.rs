//! Random tokens (session cookies, e-mail links, CSRF secrets) from the operating system's
//! CSPRNG, their SHA-256 digests and HMAC signatures.
//!
//! The database stores only [`digest`]s of session and e-mail tokens: someone who reads the
//! database (a backup, an SQL injection) cannot use them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of randomness in every token: 256 bits, twice what SECURITY.md S3 asks for.
pub const TOKEN_BYTES: usize = 32;

/// A secret random token, base64url without padding (43 characters). `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// A new token of [`TOKEN_BYTES`] random bytes from the operating system.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self(URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()?)))
    }

    /// A token received from outside (a cookie, a link). Only its shape is checked; whether it
    /// is known is for the database to say.
    pub fn from_received(value: &str) -> Option<Self> {
        let ok = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database stores instead of the token.
    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(***)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomError(String);

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(bytes)
}

/// SHA-256 of `value`, as 64 lowercase hex digits.
pub fn digest(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// HMAC-SHA-256 of `message` under `key`, as base64url without padding.
pub fn sign(key: &[u8], message: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_tokens_carry_256_random_bits_and_never_repeat() {
        let a = SecretToken::generate().unwrap();
        let b = SecretToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43); // 32 bytes in base64url
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len() * 8, 256);
        assert_eq!(format!("{a:?}"), "SecretToken(***)");
        assert_eq!(SecretToken::from_received(a.expose()), Some(a.clone()));
        assert_eq!(SecretToken::from_received("short"), None);
        assert_eq!(SecretToken::from_received(&"+".repeat(43)), None);
    }

    #[test]
    fn digests_and_signatures_are_stable_and_compared_safely() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let key = b"key";
        assert_eq!(sign(key, b"m"), sign(key, b"m"));
        assert_ne!(sign(key, b"m"), sign(b"other", b"m"));
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("", ""));
        assert!(!same("abc", "abcd"));
    }
}
