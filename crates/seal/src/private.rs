//! Private key sets: an entity's own keys.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jwk::{self, MIN_RSA_BITS, PRIVATE_PARAMS, ParsedKey, Side, from_unix};
use crate::public::{RawKeySet, newest_valid, parse_all};
use crate::{KeyPurpose, PublicKeySet, SealError};

/// One private key. `Debug` shows the id and dates, never key material.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    pub(crate) inner: ParsedKey,
}

impl PrivateKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// What the key is for.
    pub fn purpose(&self) -> KeyPurpose {
        self.inner.purpose
    }

    /// When the key was made; published as `nbf`.
    pub fn created(&self) -> DateTime<Utc> {
        self.inner.not_before
    }

    /// Published as `exp`: after it, peers no longer seal to or accept this key.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.inner.expires
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kid", &self.inner.kid)
            .field("purpose", &self.inner.purpose)
            .field("created", &self.inner.not_before)
            .field("not_after", &self.inner.expires)
            .field("material", &"<redacted>")
            .finish()
    }
}

/// An entity's private keys: at least one encryption and one signing key when generated, and
/// after [`PrivateKeySet::rotate`] also the older ones, so that envelopes sealed to an older key
/// can still be opened.
///
/// The JSON form is a private JWKS (RSA parameters `d`, `p`, `q`, `dp`, `dq`, `qi` included;
/// `key_ops` `["unwrapKey"]` or `["sign"]`). Keep it in a file written by
/// [`crate::write_private`] (mode 0600). `Debug` never prints key material.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawKeySet", into = "RawKeySet")]
pub struct PrivateKeySet {
    keys: Vec<PrivateKey>,
}

impl PrivateKeySet {
    /// Generates an RSA 4096 encryption key and an RSA 4096 signing key for `owner`, valid from
    /// `now` (to the second) for `valid_for`. Each kid is `owner`, a dash and 12 random hex digits.
    ///
    /// Takes about a second or two of CPU: call it in `spawn_blocking` from async code.
    pub fn generate(
        owner: &str,
        now: DateTime<Utc>,
        valid_for: Duration,
    ) -> Result<Self, SealError> {
        let keys = vec![
            generate_key(owner, KeyPurpose::Encryption, now, valid_for)?,
            generate_key(owner, KeyPurpose::Signing, now, valid_for)?,
        ];
        Ok(Self { keys })
    }

    /// Adds a fresh encryption and signing key pair valid from `now`; the older keys stay, so that
    /// envelopes sealed to them can still be opened. New messages are signed with the new key at
    /// once: publish [`PrivateKeySet::public`] to the peers before (or while) using it.
    pub fn rotate(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        valid_for: Duration,
    ) -> Result<(), SealError> {
        let fresh = Self::generate(owner, now, valid_for)?;
        for key in fresh.keys {
            if self.keys.iter().any(|k| k.inner.kid == key.inner.kid) {
                return Err(SealError::DuplicateKid(key.inner.kid));
            }
            self.keys.push(key);
        }
        Ok(())
    }

    /// Removes keys that expired before `now - grace` and returns their ids. Use a grace period
    /// at least as long as envelopes may wait in a queue (R2: 14 days).
    pub fn drop_expired(&mut self, now: DateTime<Utc>, grace: Duration) -> Vec<String> {
        let cutoff = now - grace;
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.keys)
            .into_iter()
            .partition(|k| k.inner.expires < cutoff);
        self.keys = kept;
        gone.into_iter().map(|k| k.inner.kid).collect()
    }

    /// All keys, oldest first.
    pub fn keys(&self) -> &[PrivateKey] {
        &self.keys
    }

    /// The public half of every key, for publishing.
    pub fn public(&self) -> PublicKeySet {
        PublicKeySet::from_parsed(
            self.keys
                .iter()
                .map(|k| ParsedKey {
                    private: Vec::new(),
                    ..k.inner.clone()
                })
                .collect(),
        )
    }

    /// Parses and checks a private JWKS: every check of a public key, plus complete private
    /// parameters and `key_ops` `["unwrapKey"]`/`["sign"]`.
    pub fn from_json(json: &str) -> Result<Self, SealError> {
        let raw: RawKeySet =
            serde_json::from_str(json).map_err(|e| SealError::MalformedKeySet(e.to_string()))?;
        Self::try_from(raw)
    }

    /// The private JWKS as pretty-printed JSON. It contains the private keys: never log it.
    pub fn to_json(&self) -> Result<String, SealError> {
        serde_json::to_string_pretty(&RawKeySet::from(self.clone()))
            .map_err(|e| SealError::Encoding(e.to_string()))
    }

    /// The encryption key named in an envelope's header, whatever its dates: an envelope sealed
    /// before the key expired must stay readable. Retire keys with
    /// [`PrivateKeySet::drop_expired`].
    pub(crate) fn decryption_key(&self, kid: &str) -> Result<&PrivateKey, SealError> {
        self.keys
            .iter()
            .find(|k| k.inner.kid == kid && k.inner.purpose == KeyPurpose::Encryption)
            .ok_or_else(|| SealError::UnknownKey {
                kid: jwk::escape(kid),
                purpose: KeyPurpose::Encryption,
            })
    }

    /// The newest signing key valid at `now`.
    pub(crate) fn signing_key(&self, now: DateTime<Utc>) -> Result<&PrivateKey, SealError> {
        newest_valid(&self.keys, KeyPurpose::Signing, now, |k| &k.inner)
    }
}

impl fmt::Debug for PrivateKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKeySet")
            .field("keys", &self.keys)
            .finish()
    }
}

impl TryFrom<RawKeySet> for PrivateKeySet {
    type Error = SealError;

    fn try_from(raw: RawKeySet) -> Result<Self, SealError> {
        let keys = parse_all(&raw, Side::Private)?;
        Ok(Self {
            keys: keys.into_iter().map(|inner| PrivateKey { inner }).collect(),
        })
    }
}

impl From<PrivateKeySet> for RawKeySet {
    fn from(set: PrivateKeySet) -> Self {
        RawKeySet {
            keys: set
                .keys
                .iter()
                .map(|k| Value::Object(k.inner.to_map(Side::Private)))
                .collect(),
        }
    }
}

fn generate_key(
    owner: &str,
    purpose: KeyPurpose,
    now: DateTime<Utc>,
    valid_for: Duration,
) -> Result<PrivateKey, SealError> {
    if !is_owner(owner) {
        return Err(SealError::InvalidOwner(jwk::escape(owner)));
    }
    if valid_for <= Duration::zero() {
        return Err(SealError::InvalidValidity(valid_for.num_seconds()));
    }
    let not_before = from_unix(now.timestamp()).ok_or(SealError::InvalidValidity(0))?;
    let expires = not_before
        .checked_add_signed(valid_for)
        .and_then(|t| from_unix(t.timestamp()))
        .ok_or(SealError::InvalidValidity(valid_for.num_seconds()))?;
    if expires <= not_before {
        return Err(SealError::InvalidValidity(valid_for.num_seconds()));
    }

    let kid = format!("{owner}-{}", hex(&crate::random_bytes::<6>()?));
    let generated =
        josekit::jwk::Jwk::generate_rsa_key(MIN_RSA_BITS).map_err(|source| SealError::Crypto {
            operation: "generate an RSA key",
            source,
        })?;
    let param = |name: &'static str| -> Result<String, SealError> {
        match generated.parameter(name) {
            Some(Value::String(v)) => Ok(v.clone()),
            _ => Err(SealError::MissingPrivateMaterial {
                kid: kid.clone(),
                param: name,
            }),
        }
    };
    let n = param("n")?;
    let e = param("e")?;
    let private = PRIVATE_PARAMS
        .iter()
        .map(|p| param(p))
        .collect::<Result<Vec<_>, _>>()?;
    let bits = jwk::decode_b64(&n)
        .map(|b| jwk::bit_length(&b))
        .unwrap_or_default();

    let inner = ParsedKey {
        kid,
        purpose,
        not_before,
        expires,
        bits,
        n,
        e,
        private,
        x509: serde_json::Map::new(),
    };
    // What we generate must pass the same checks as what we read.
    let reparsed = jwk::parse_key(&Value::Object(inner.to_map(Side::Private)), Side::Private)?;
    Ok(PrivateKey { inner: reparsed })
}

fn is_owner(owner: &str) -> bool {
    !owner.is_empty()
        && owner.len() <= 64
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
