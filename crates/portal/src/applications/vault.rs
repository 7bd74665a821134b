//! Sealing application content at rest at the portal (drafts, draft files, receipts): AES-256-GCM
//! with a random nonce per blob and the owner as associated data, so a blob moved to another
//! account's row does not open.
//!
//! What this protects: no plaintext of an application is ever written to the portal's database
//! files, WAL, backups or logs (C1), and deleting a row leaves nothing readable in free pages.
//! What it does not: an attacker holding the database *and* the shared secret it keeps can open
//! drafts; drafts are therefore short-lived and deleted on submit. The content an authority
//! receives is encrypted end to end to that authority, not with this key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the sealed data is damaged or belongs elsewhere")]
    Damaged,
    #[error("no random numbers available")]
    Random,
}

impl Vault {
    /// Derives the at-rest key from the portal's shared secret, separated by purpose so the
    /// key signs nothing else.
    pub fn from_shared_secret(secret: &[u8]) -> Self {
        let key = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .map(|mac| mac.chain_update(b"rathaus application content at rest v1"))
            .map(|mac| mac.finalize().into_bytes())
            .unwrap_or_default();
        Self {
            cipher: Aes256Gcm::new(&key),
        }
    }

    pub fn seal(&self, plaintext: &[u8], owner: &str) -> Result<Vec<u8>, VaultError> {
        let nonce_bytes =
            rathaus_auth::tokens::random_bytes::<NONCE_LEN>().map_err(|_| VaultError::Random)?;
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce_bytes),
                Payload {
                    msg: plaintext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], owner: &str) -> Result<Vec<u8>, VaultError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(VaultError::Damaged);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_content_opens_only_for_its_owner_and_hides_the_plaintext() {
        let vault = Vault::from_shared_secret(b"0123456789abcdef0123456789abcdef");
        let sealed = vault.seal(b"canary-4711", "draft:a").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"canary-4711"));
        assert_eq!(vault.open(&sealed, "draft:a").unwrap(), b"canary-4711");
        assert!(vault.open(&sealed, "draft:b").is_err());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(vault.open(&flipped, "draft:a").is_err());
        let other = Vault::from_shared_secret(b"another secret entirely........!");
        assert!(other.open(&sealed, "draft:a").is_err());
    }
}
