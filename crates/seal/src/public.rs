//! Public key sets: what a node publishes and what its peers pin.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jwk::{ParsedKey, Side, parse_key};
use crate::{KeyPurpose, SealError};

/// One checked public key: RSA ≥ 4096 bits, allowlisted `alg`, exact `key_ops`, no private
/// material. It can only be obtained through [`PublicKeySet`], so these always hold.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) inner: ParsedKey,
}

impl PublicKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// What the key is for.
    pub fn purpose(&self) -> KeyPurpose {
        self.inner.purpose
    }

    /// `nbf`: the key is not used before this instant.
    pub fn not_before(&self) -> DateTime<Utc> {
        self.inner.not_before
    }

    /// `exp`: the key is not used at or after this instant.
    pub fn expires(&self) -> DateTime<Utc> {
        self.inner.expires
    }

    /// The RSA modulus length.
    pub fn bits(&self) -> u32 {
        self.inner.bits
    }

    /// Whether `nbf <= now < exp`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.inner.is_valid_at(now)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.inner.kid)
            .field("purpose", &self.inner.purpose)
            .field("bits", &self.inner.bits)
            .field("not_before", &self.inner.not_before)
            .field("expires", &self.inner.expires)
            .finish_non_exhaustive()
    }
}

/// A node's public keys as a JWKS: `{"keys":[{"kty":"RSA","kid":…,"use":…,"alg":…,
/// "key_ops":[…],"nbf":…,"exp":…,"n":…,"e":…}]}` with `nbf`/`exp` in unix seconds.
///
/// Several keys per purpose are allowed, so that a node can rotate with overlap: it publishes
/// the new key next to the old one, senders pick the newest valid key
/// ([`PublicKeySet::encryption_key`]), and verifiers accept any pinned key that is valid at the
/// time of use ([`PublicKeySet::key`]).
///
/// Every key is checked when the set is parsed (structure, size, algorithm, operations, no
/// private material: see [`crate::jwk`]); validity in time is checked when a key is used.
/// Deserializing with serde runs the same checks as [`PublicKeySet::from_json`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawKeySet", into = "RawKeySet")]
pub struct PublicKeySet {
    keys: Vec<PublicKey>,
}

impl PublicKeySet {
    /// Parses and checks a JWKS. Refuses an empty set, duplicate `kid`s and any key that fails a
    /// check; does not look at the time (see [`PublicKeySet::pin`]).
    pub fn from_json(json: &str) -> Result<Self, SealError> {
        let raw: RawKeySet =
            serde_json::from_str(json).map_err(|e| SealError::MalformedKeySet(e.to_string()))?;
        Self::try_from(raw)
    }

    /// Parses a JWKS that is about to be pinned for a peer: like [`PublicKeySet::from_json`], and
    /// additionally refuses a set that holds an expired key, since pinning one is always a
    /// mistake (publish the set again without it). Keys not yet valid are accepted (announced
    /// rotation).
    pub fn pin(json: &str, now: DateTime<Utc>) -> Result<Self, SealError> {
        let set = Self::from_json(json)?;
        if let Some(key) = set.keys.iter().find(|k| now >= k.inner.expires) {
            return Err(SealError::KeyExpired {
                kid: key.inner.kid.clone(),
                expired: key.inner.expires,
            });
        }
        Ok(set)
    }

    /// The set as pretty-printed JWKS JSON.
    pub fn to_json(&self) -> Result<String, SealError> {
        serde_json::to_string_pretty(&RawKeySet::from(self.clone()))
            .map_err(|e| SealError::Encoding(e.to_string()))
    }

    /// All keys, in the order of the set.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The encryption key to seal to at `now`: among the keys valid at `now`, the one with the
    /// latest `nbf`.
    pub fn encryption_key(&self, now: DateTime<Utc>) -> Result<&PublicKey, SealError> {
        newest_valid(&self.keys, KeyPurpose::Encryption, now, |k| &k.inner)
    }

    /// A pinned key by id, refused if unknown, of the other purpose, not yet valid or expired.
    pub fn key(
        &self,
        kid: &str,
        purpose: KeyPurpose,
        now: DateTime<Utc>,
    ) -> Result<&PublicKey, SealError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.inner.kid == kid)
            .ok_or_else(|| SealError::UnknownKey {
                kid: crate::jwk::escape(kid),
                purpose,
            })?;
        key.inner.ensure_usable(purpose, now)?;
        Ok(key)
    }

    pub(crate) fn from_parsed(keys: Vec<ParsedKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|inner| PublicKey { inner }).collect(),
        }
    }
}

impl fmt::Debug for PublicKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKeySet")
            .field("keys", &self.keys)
            .finish()
    }
}

/// Picks the key of `purpose` valid at `now` with the latest `nbf`, and re-checks it.
pub(crate) fn newest_valid<T>(
    keys: &[T],
    purpose: KeyPurpose,
    now: DateTime<Utc>,
    inner: impl Fn(&T) -> &ParsedKey,
) -> Result<&T, SealError> {
    let key = keys
        .iter()
        .filter(|k| inner(k).purpose == purpose && inner(k).is_valid_at(now))
        .max_by_key(|k| inner(k).not_before)
        .ok_or(SealError::NoValidKey { purpose, at: now })?;
    inner(key).ensure_usable(purpose, now)?;
    Ok(key)
}

/// Parses every entry of a raw set and refuses empty sets and duplicate ids.
pub(crate) fn parse_all(raw: &RawKeySet, side: Side) -> Result<Vec<ParsedKey>, SealError> {
    if raw.keys.is_empty() {
        return Err(SealError::EmptyKeySet);
    }
    let mut seen = HashSet::new();
    let mut keys = Vec::with_capacity(raw.keys.len());
    for value in &raw.keys {
        let key = parse_key(value, side)?;
        if !seen.insert(key.kid.clone()) {
            return Err(SealError::DuplicateKid(key.kid));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The wire form of a JWKS, before any check.
#[derive(Serialize, Deserialize)]
pub(crate) struct RawKeySet {
    pub keys: Vec<Value>,
}

impl TryFrom<RawKeySet> for PublicKeySet {
    type Error = SealError;

    fn try_from(raw: RawKeySet) -> Result<Self, SealError> {
        parse_all(&raw, Side::Public).map(Self::from_parsed)
    }
}

impl From<PublicKeySet> for RawKeySet {
    fn from(set: PublicKeySet) -> Self {
        RawKeySet {
            keys: set
                .keys
                .iter()
                .map(|k| Value::Object(k.inner.to_map(Side::Public)))
                .collect(),
        }
    }
}
