//! JWS-signed messages between nodes: `PS512`, compact serialization, `iat` + `nonce` (C3).

use chrono::{DateTime, Duration, Utc};
use josekit::jws::{self, JwsHeader, PS512};
use serde_json::Value;

use crate::compact::Header;
use crate::jwk::{SIGNING_ALG, Side, decode_b64, encode_b64, escape, from_unix, is_label};
use crate::{KeyPurpose, PrivateKeySet, PublicKeySet, SealError};

/// How far in the future an `iat` may lie, in seconds (clock skew between nodes).
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;
/// Longest accepted `typ`.
const MAX_TYPE: usize = 64;
/// Bytes of randomness in a `nonce`.
const NONCE_BYTES: usize = 16;

/// A message whose signature, key, type and age have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The signer's key id.
    pub kid: String,
    /// The whole payload as signed, including `iat` and `nonce`.
    pub payload: Value,
    /// The payload's `iat`.
    pub issued_at: DateTime<Utc>,
    /// The payload's `nonce`: 128 random bits, base64url without padding (22 characters).
    ///
    /// This crate does not remember nonces. The caller must refuse a message whose nonce (per
    /// signer `kid`) it has already accepted, and may forget nonces older than the `max_age`
    /// it passed to [`verify`], since older messages are refused here anyway. A unique index
    /// on `(kid, nonce)` in the receiving node's database does both.
    pub nonce: String,
}

/// Signs a JSON object as a compact JWS with the newest signing key of `keys` valid at `now`.
///
/// `payload` must be a JSON object without `iat` and `nonce`: they are added here (`iat` in unix
/// seconds from `now`, `nonce` 128 random bits in base64url). The header is
/// `{"alg":"PS512","kid":…,"typ":typ}`; `typ` must be 1 to 64 printable ASCII characters, for
/// example `rathaus-receipt+jws`.
pub fn sign(
    payload: &Value,
    typ: &str,
    keys: &PrivateKeySet,
    now: DateTime<Utc>,
) -> Result<String, SealError> {
    check_type(typ)?;
    let Value::Object(fields) = payload else {
        return Err(SealError::InvalidPayload("it must be a JSON object".into()));
    };
    for reserved in ["iat", "nonce"] {
        if fields.contains_key(reserved) {
            return Err(SealError::InvalidPayload(format!(
                "`{reserved}` is added by the signer and must not be set by the caller"
            )));
        }
    }
    let mut fields = fields.clone();
    fields.insert("iat".into(), now.timestamp().into());
    fields.insert(
        "nonce".into(),
        encode_b64(&crate::random_bytes::<NONCE_BYTES>()?).into(),
    );
    let bytes = serde_json::to_vec(&Value::Object(fields))
        .map_err(|e| SealError::Encoding(e.to_string()))?;

    let key = keys.signing_key(now)?;
    let signer = PS512
        .signer_from_jwk(&key.inner.to_josekit(Side::Private)?)
        .map_err(|source| SealError::Crypto {
            operation: "load our signing key",
            source,
        })?;
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(key.kid());
    jws::serialize_compact(&bytes, &header, &signer).map_err(|source| SealError::Crypto {
        operation: "sign a message",
        source,
    })
}

/// Verifies a compact JWS against the pinned keys of its signer.
///
/// Refused: anything but three base64url parts; a header `alg` other than `PS512` (so `none`,
/// `HS*`, `RS*`, `ES*`); `crit`/`b64`/`zip` and keys carried in the header; a `kid` not in
/// `signer`, of the wrong purpose, not yet valid or expired at `now`; any altered byte (bad
/// signature); a `typ` other than `expected_typ`; a payload that is not an object with an
/// integer `iat` and a 128-bit `nonce`; an `iat` more than `max_age` before `now` or more than
/// [`MAX_CLOCK_SKEW_SECS`] after it. The signature is checked before `typ` and payload are read.
///
/// Replay: the caller must check [`Verified::nonce`] against what it has seen (see there).
pub fn verify(
    jws: &str,
    expected_typ: &str,
    signer: &PublicKeySet,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<Verified, SealError> {
    let header = Header::read(jws, 3, "JWS")?;
    header.require("alg", SIGNING_ALG)?;
    let kid = header.kid()?;
    let key = signer.key(kid, KeyPurpose::Signing, now)?;
    let verifier = PS512
        .verifier_from_jwk(&key.inner.to_josekit(Side::Public)?)
        .map_err(|source| SealError::Crypto {
            operation: "load the signer's pinned key",
            source,
        })?;
    let (bytes, _) =
        jws::deserialize_compact(jws, &verifier).map_err(|source| SealError::BadSignature {
            kid: escape(kid),
            source,
        })?;

    if header.str("typ") != Some(expected_typ) {
        return Err(SealError::WrongType {
            expected: escape(expected_typ),
            found: header.shown("typ"),
        });
    }

    let payload: Value = serde_json::from_slice(&bytes)
        .map_err(|e| SealError::MalformedMessage(format!("payload is not JSON: {e}")))?;
    let iat = payload
        .get("iat")
        .and_then(Value::as_i64)
        .and_then(from_unix)
        .ok_or_else(|| {
            SealError::MalformedMessage("payload has no integer `iat` (unix seconds)".into())
        })?;
    let nonce = payload
        .get("nonce")
        .and_then(Value::as_str)
        .filter(|n| decode_b64(n).is_ok_and(|b| b.len() == NONCE_BYTES))
        .ok_or_else(|| {
            SealError::MalformedMessage("payload has no 128-bit base64url `nonce`".into())
        })?
        .to_string();

    if now.signed_duration_since(iat) > max_age {
        return Err(SealError::Stale {
            issued_at: iat,
            now,
            max_age_secs: max_age.num_seconds(),
        });
    }
    if iat.signed_duration_since(now) > Duration::seconds(MAX_CLOCK_SKEW_SECS) {
        return Err(SealError::IssuedInFuture {
            issued_at: iat,
            now,
            skew_secs: MAX_CLOCK_SKEW_SECS,
        });
    }

    Ok(Verified {
        kid: key.kid().to_string(),
        payload,
        issued_at: iat,
        nonce,
    })
}

fn check_type(typ: &str) -> Result<(), SealError> {
    if is_label(typ, MAX_TYPE) {
        Ok(())
    } else {
        Err(SealError::InvalidLabel {
            what: "message type",
            value: escape(typ),
            max: MAX_TYPE,
        })
    }
}
