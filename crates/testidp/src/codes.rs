//! Authorization codes waiting to be exchanged: in memory, bounded, single use, 60 seconds.
//!
//! Codes are kept under the SHA-256 of their value, so a lookup reveals nothing through its
//! timing. Every insertion first drops the expired ones; when the table is still full, the new
//! authorization is refused (`temporarily_unavailable`) instead of growing without limit.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// How long a code may be exchanged after it was issued.
pub const CODE_LIFETIME: Duration = Duration::seconds(60);

/// At most this many codes wait at once.
pub const MAX_PENDING: usize = 10_000;

/// What an authorization code stands for.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    pub identity: &'static str,
    pub scopes: Vec<String>,
    /// Single claims asked for by name (the `claims` request parameter).
    pub claims: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub(crate) struct Codes {
    pending: Mutex<HashMap<[u8; 32], Grant>>,
}

fn key(code: &str) -> [u8; 32] {
    Sha256::digest(code.as_bytes()).into()
}

/// The table is full of live codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

impl Codes {
    /// Remembers `grant` under `code`.
    pub(crate) fn insert(&self, code: &str, grant: Grant, now: DateTime<Utc>) -> Result<(), Full> {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.retain(|_, g| now < g.issued_at + CODE_LIFETIME);
        if pending.len() >= MAX_PENDING {
            return Err(Full);
        }
        pending.insert(key(code), grant);
        Ok(())
    }

    /// Takes the grant of `code` out of the table: a code works once, whatever happens next.
    /// An expired code is gone too, and answers `None`.
    pub(crate) fn take(&self, code: &str, now: DateTime<Utc>) -> Option<Grant> {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let grant = pending.remove(&key(code))?;
        (now < grant.issued_at + CODE_LIFETIME).then_some(grant)
    }

    pub(crate) fn len(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn grant(at: DateTime<Utc>) -> Grant {
        Grant {
            client_id: "portal".into(),
            redirect_uri: "http://portal/cb".into(),
            identity: "erika",
            scopes: vec!["openid".into()],
            claims: Vec::new(),
            nonce: None,
            code_challenge: "x".into(),
            issued_at: at,
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn a_code_works_once_and_for_60_seconds() {
        let codes = Codes::default();
        codes.insert("a", grant(t0()), t0()).ok();
        assert!(codes.take("a", t0()).is_some());
        assert!(codes.take("a", t0()).is_none(), "second use");
        codes.insert("b", grant(t0()), t0()).ok();
        assert!(codes.take("b", t0() + Duration::seconds(59)).is_some());
        codes.insert("c", grant(t0()), t0()).ok();
        assert!(codes.take("c", t0() + CODE_LIFETIME).is_none(), "expired");
        assert_eq!(codes.len(), 0);
    }

    #[test]
    fn the_table_is_bounded_and_expired_codes_are_dropped() {
        let codes = Codes::default();
        for i in 0..MAX_PENDING {
            assert_eq!(codes.insert(&i.to_string(), grant(t0()), t0()), Ok(()));
        }
        assert_eq!(codes.insert("one more", grant(t0()), t0()), Err(Full));
        let later = t0() + CODE_LIFETIME;
        assert_eq!(codes.insert("later", grant(later), later), Ok(()));
        assert_eq!(codes.len(), 1);
    }
}
