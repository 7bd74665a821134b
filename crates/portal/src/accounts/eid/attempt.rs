//! One eID sign-in in progress, kept in the browser between the start and the callback: state,
//! nonce, PKCE verifier, where to return and when it began, sealed (AES-256-GCM) in an
//! HttpOnly cookie and bound to the session that started it.
//!
//! Any portal node can open it (the key is derived from the secret every node shares), no node
//! stores anything (R10), and the cookie is useless elsewhere: it opens only with the session id
//! as associated data, and only for ten minutes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rathaus_domain::SessionId;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// An attempt older than this is refused.
pub(crate) const LIFETIME: Duration = Duration::minutes(10);

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// What the callback needs to finish the sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attempt {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    /// Unix seconds of the start.
    pub started: i64,
    /// The claims asked for to prefill a form (empty: the level only).
    #[serde(default)]
    pub claims: Vec<String>,
    /// Whether the citizen agreed to keep the attributes with the account.
    #[serde(default)]
    pub remember: bool,
}

/// Seals and opens attempts under a key derived from the portal's shared secret.
pub(crate) struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

fn aad(session: SessionId) -> String {
    format!("rathaus eid attempt for session {session}")
}

impl Sealer {
    pub(crate) fn new(shared_secret: &[u8]) -> Self {
        let key = <Hmac<Sha256> as Mac>::new_from_slice(shared_secret)
            .map(|mac| mac.chain_update(b"rathaus eid sign-in attempt cookie v1"))
            .map(|mac| mac.finalize().into_bytes())
            .unwrap_or_default();
        Self {
            cipher: Aes256Gcm::new(&key),
        }
    }

    /// The cookie value: version, nonce and ciphertext, base64url.
    pub(crate) fn seal(&self, attempt: &Attempt, session: SessionId) -> Option<String> {
        let plain = serde_json::to_vec(attempt).ok()?;
        let nonce = rathaus_auth::tokens::random_bytes::<NONCE_LEN>().ok()?;
        let aad = aad(session);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: aad.as_bytes(),
                },
            )
            .ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    /// The attempt in `cookie`, if it was sealed here for `session` and is not older than
    /// [`LIFETIME`] at `now`.
    pub(crate) fn open(
        &self,
        cookie: &str,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Option<Attempt> {
        if cookie.len() > 2048 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(cookie).ok()?;
        if bytes.len() < 1 + NONCE_LEN + 16 || bytes[0] != VERSION {
            return None;
        }
        let (nonce, sealed) = bytes[1..].split_at(NONCE_LEN);
        let aad = aad(session);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .ok()?;
        let attempt: Attempt = serde_json::from_slice(&plain).ok()?;
        let started = DateTime::from_timestamp(attempt.started, 0)?;
        (now >= started && now < started + LIFETIME).then_some(attempt)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn attempt(at: DateTime<Utc>) -> Attempt {
        Attempt {
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            return_to: "/services/x/form".into(),
            started: at.timestamp(),
            claims: Vec::new(),
            remember: false,
        }
    }

    #[test]
    fn an_attempt_opens_only_for_its_session_with_the_key_and_for_ten_minutes() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap();
        let sealer = Sealer::new(b"shared secret");
        let session = SessionId::random();
        let cookie = sealer.seal(&attempt(now), session).unwrap();
        assert_eq!(sealer.open(&cookie, session, now), Some(attempt(now)));
        assert_eq!(
            sealer.open(&cookie, session, now + LIFETIME - Duration::seconds(1)),
            Some(attempt(now))
        );
        assert_eq!(sealer.open(&cookie, session, now + LIFETIME), None);
        assert_eq!(sealer.open(&cookie, SessionId::random(), now), None);
        assert_eq!(
            Sealer::new(b"other secret").open(&cookie, session, now),
            None
        );
        let mut tampered = cookie.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            sealer.open(&String::from_utf8(tampered).unwrap(), session, now),
            None
        );
        assert_eq!(sealer.open("", session, now), None);
    }
}
