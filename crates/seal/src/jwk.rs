//! Parsing and checking single JSON Web Keys (C2).
//!
//! A key is checked completely before anything else sees it: type RSA, modulus between
//! [`MIN_RSA_BITS`] and [`MAX_RSA_BITS`], an odd public exponent ≥ 65537, `alg` on the allowlist,
//! `key_ops` exactly right for the purpose and the side (public or private), `use` consistent,
//! `nbf` before `exp`, no unknown parameters and — for public keys — no private material.
//! Only then does it become a [`crate::PublicKey`] or [`crate::PrivateKey`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::SealError;

/// Smallest accepted RSA modulus, in bits (FIT-Connect: 4096).
pub const MIN_RSA_BITS: u32 = 4096;
/// Largest accepted RSA modulus, in bits; larger keys would make each operation a denial of service.
pub const MAX_RSA_BITS: u32 = 8192;
/// The only key-management algorithm for envelopes.
pub const ENCRYPTION_ALG: &str = "RSA-OAEP-256";
/// The only content-encryption algorithm for envelopes.
pub const CONTENT_ENCRYPTION: &str = "A256GCM";
/// The only signature algorithm for messages.
pub const SIGNING_ALG: &str = "PS512";

/// What a key is for. Each key has exactly one purpose, given by its `alg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// `RSA-OAEP-256` key wrapping for JWE envelopes (`use` `enc`).
    Encryption,
    /// `PS512` signatures on JWS messages (`use` `sig`).
    Signing,
}

impl KeyPurpose {
    /// The one `alg` a key of this purpose declares.
    pub fn alg(self) -> &'static str {
        match self {
            Self::Encryption => ENCRYPTION_ALG,
            Self::Signing => SIGNING_ALG,
        }
    }

    /// The JWK `use` value of this purpose.
    pub fn use_value(self) -> &'static str {
        match self {
            Self::Encryption => "enc",
            Self::Signing => "sig",
        }
    }

    /// The one `key_ops` entry of a public key of this purpose.
    pub fn public_op(self) -> &'static str {
        match self {
            Self::Encryption => "wrapKey",
            Self::Signing => "verify",
        }
    }

    /// The one `key_ops` entry of a private key of this purpose.
    pub fn private_op(self) -> &'static str {
        match self {
            Self::Encryption => "unwrapKey",
            Self::Signing => "sign",
        }
    }

    fn from_alg(alg: &str) -> Option<Self> {
        match alg {
            ENCRYPTION_ALG => Some(Self::Encryption),
            SIGNING_ALG => Some(Self::Signing),
            _ => None,
        }
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Encryption => "encryption",
            Self::Signing => "signing",
        })
    }
}

/// Which side of a key pair a JWK is expected to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Public,
    Private,
}

/// The private RSA parameters, base64url as in the JWK.
pub(crate) const PRIVATE_PARAMS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];
/// Parameters that only ever carry private or symmetric key material.
const SECRET_PARAMS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/// Parameters every key of ours has.
const COMMON_PARAMS: [&str; 9] = [
    "kty", "kid", "use", "alg", "key_ops", "n", "e", "nbf", "exp",
];
/// Certificate parameters: kept as they are, not validated (no PKI in this crate).
pub(crate) const X509_PARAMS: [&str; 3] = ["x5c", "x5t", "x5t#S256"];

/// A key that passed every check of [`parse_key`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ParsedKey {
    pub kid: String,
    pub purpose: KeyPurpose,
    pub not_before: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub bits: u32,
    pub n: String,
    pub e: String,
    /// `d, p, q, dp, dq, qi` in this order; empty for public keys.
    pub private: Vec<String>,
    /// `x5c`, `x5t`, `x5t#S256` if present.
    pub x509: Map<String, Value>,
}

impl ParsedKey {
    /// The JWK as stored: our parameters in a fixed order, `nbf`/`exp` as unix seconds.
    pub fn to_map(&self, side: Side) -> Map<String, Value> {
        let op = match side {
            Side::Public => self.purpose.public_op(),
            Side::Private => self.purpose.private_op(),
        };
        let mut map = Map::new();
        map.insert("kty".into(), "RSA".into());
        map.insert("kid".into(), self.kid.clone().into());
        map.insert("use".into(), self.purpose.use_value().into());
        map.insert("alg".into(), self.purpose.alg().into());
        map.insert("key_ops".into(), Value::Array(vec![op.into()]));
        map.insert("nbf".into(), self.not_before.timestamp().into());
        map.insert("exp".into(), self.expires.timestamp().into());
        map.insert("n".into(), self.n.clone().into());
        map.insert("e".into(), self.e.clone().into());
        if side == Side::Private {
            for (name, value) in PRIVATE_PARAMS.iter().zip(&self.private) {
                map.insert((*name).into(), value.clone().into());
            }
        }
        for (name, value) in &self.x509 {
            map.insert(name.clone(), value.clone());
        }
        map
    }

    /// A minimal JWK for josekit: `kty`, `kid`, `n`, `e` (and the private parameters).
    ///
    /// `use`, `alg` and `key_ops` are left out on purpose: they were checked here already, and
    /// josekit would insist on `encrypt`/`decrypt` where FIT-Connect says `wrapKey`/`unwrapKey`.
    pub fn to_josekit(&self, side: Side) -> Result<josekit::jwk::Jwk, SealError> {
        let mut map = Map::new();
        map.insert("kty".into(), "RSA".into());
        map.insert("kid".into(), self.kid.clone().into());
        map.insert("n".into(), self.n.clone().into());
        map.insert("e".into(), self.e.clone().into());
        if side == Side::Private {
            for (name, value) in PRIVATE_PARAMS.iter().zip(&self.private) {
                map.insert((*name).into(), value.clone().into());
            }
        }
        josekit::jwk::Jwk::from_map(map).map_err(|source| SealError::Crypto {
            operation: "load a checked key",
            source,
        })
    }

    /// Refuses the key at `now` if it is not yet or no longer valid, or has the wrong purpose.
    /// The size check is repeated so that no path can use a key that skipped parsing.
    pub fn ensure_usable(&self, purpose: KeyPurpose, now: DateTime<Utc>) -> Result<(), SealError> {
        if self.purpose != purpose {
            return Err(SealError::WrongPurpose {
                kid: self.kid.clone(),
                wanted: purpose,
                actual: self.purpose,
            });
        }
        if self.bits < MIN_RSA_BITS {
            return Err(SealError::WeakKey {
                kid: self.kid.clone(),
                bits: self.bits,
                min: MIN_RSA_BITS,
            });
        }
        if now < self.not_before {
            return Err(SealError::KeyNotYetValid {
                kid: self.kid.clone(),
                not_before: self.not_before,
            });
        }
        if now >= self.expires {
            return Err(SealError::KeyExpired {
                kid: self.kid.clone(),
                expired: self.expires,
            });
        }
        Ok(())
    }

    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.not_before <= now && now < self.expires
    }
}

/// Checks one JWK object completely; see the module documentation for the list.
pub(crate) fn parse_key(value: &Value, side: Side) -> Result<ParsedKey, SealError> {
    let Value::Object(map) = value else {
        return Err(SealError::MalformedKeySet(
            "each entry of `keys` must be a JSON object".into(),
        ));
    };
    let kid = parse_kid(map)?;
    let malformed = |reason: String| SealError::MalformedKey {
        kid: kid.clone(),
        reason,
    };

    if side == Side::Public
        && let Some(param) = SECRET_PARAMS.iter().find(|p| map.contains_key(**p))
    {
        return Err(SealError::PrivateMaterialInPublicSet {
            kid,
            param: (*param).to_string(),
        });
    }

    let kty = opt_str(map, "kty").map_err(&malformed)?.unwrap_or("(none)");
    if kty != "RSA" {
        let kty = match opt_str(map, "crv") {
            Ok(Some(crv)) => format!("{kty} ({crv})"),
            _ => kty.to_string(),
        };
        return Err(SealError::UnsupportedKeyType { kid, kty });
    }

    let alg = opt_str(map, "alg").map_err(&malformed)?;
    let Some(purpose) = alg.and_then(KeyPurpose::from_alg) else {
        return Err(SealError::AlgorithmNotAllowed {
            kid,
            alg: alg.unwrap_or("(none)").to_string(),
        });
    };

    if let Some(found) = opt_str(map, "use").map_err(&malformed)?
        && found != purpose.use_value()
    {
        return Err(SealError::WrongUse {
            kid,
            found: found.to_string(),
            purpose,
            expected: purpose.use_value(),
        });
    }

    let expected_op = match side {
        Side::Public => purpose.public_op(),
        Side::Private => purpose.private_op(),
    };
    let ops_ok = matches!(
        map.get("key_ops"),
        Some(Value::Array(ops)) if ops.len() == 1 && ops[0].as_str() == Some(expected_op)
    );
    if !ops_ok {
        let found = map
            .get("key_ops")
            .map_or_else(|| "(none)".to_string(), Value::to_string);
        return Err(SealError::WrongKeyOps {
            kid,
            found,
            purpose,
            expected: expected_op,
        });
    }

    let n = req_str(map, "n").map_err(&malformed)?;
    let e = req_str(map, "e").map_err(&malformed)?;
    let n_bytes = decode_b64(n).map_err(|r| malformed(format!("parameter `n`: {r}")))?;
    let e_bytes = decode_b64(e).map_err(|r| malformed(format!("parameter `e`: {r}")))?;
    let bits = bit_length(&n_bytes);
    if bits < MIN_RSA_BITS {
        return Err(SealError::WeakKey {
            kid,
            bits,
            min: MIN_RSA_BITS,
        });
    }
    if bits > MAX_RSA_BITS {
        return Err(SealError::OversizedKey {
            kid,
            bits,
            max: MAX_RSA_BITS,
        });
    }
    check_exponent(&kid, &e_bytes)?;

    let mut private = Vec::new();
    if side == Side::Private {
        for param in PRIVATE_PARAMS {
            match map.get(param) {
                Some(Value::String(v)) if decode_b64(v).is_ok_and(|b| !b.is_empty()) => {
                    private.push(v.clone());
                }
                Some(_) => {
                    return Err(malformed(format!(
                        "parameter `{param}` must be non-empty base64url"
                    )));
                }
                None => {
                    return Err(SealError::MissingPrivateMaterial { kid, param });
                }
            }
        }
    }

    let not_before = req_time(map, "nbf").map_err(&malformed)?;
    let expires = req_time(map, "exp").map_err(&malformed)?;
    if not_before >= expires {
        return Err(malformed(format!(
            "`nbf` ({not_before}) must be before `exp` ({expires})"
        )));
    }

    let mut x509 = Map::new();
    for (name, value) in map {
        let name = name.as_str();
        let known = COMMON_PARAMS.contains(&name)
            || (side == Side::Private && PRIVATE_PARAMS.contains(&name));
        if X509_PARAMS.contains(&name) {
            x509.insert(name.to_string(), value.clone());
        } else if !known {
            return Err(SealError::UnknownKeyParameter {
                kid,
                param: name.to_string(),
            });
        }
    }

    Ok(ParsedKey {
        kid,
        purpose,
        not_before,
        expires,
        bits,
        n: n.to_string(),
        e: e.to_string(),
        private,
        x509,
    })
}

/// A key id must be 1 to 128 printable ASCII characters: it ends up in headers and logs.
fn parse_kid(map: &Map<String, Value>) -> Result<String, SealError> {
    match map.get("kid") {
        Some(Value::String(kid)) if is_label(kid, 128) => Ok(kid.clone()),
        Some(other) => Err(SealError::MalformedKey {
            kid: escape(&other.to_string()),
            reason: "`kid` must be 1 to 128 printable ASCII characters".into(),
        }),
        None => Err(SealError::MalformedKey {
            kid: "(no kid)".into(),
            reason: "every key needs a `kid`".into(),
        }),
    }
}

fn check_exponent(kid: &str, e: &[u8]) -> Result<(), SealError> {
    let trimmed: Vec<u8> = e.iter().copied().skip_while(|b| *b == 0).collect();
    let odd = trimmed.last().is_some_and(|b| b & 1 == 1);
    let value = if trimmed.len() <= 8 {
        trimmed
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    } else {
        u64::MAX
    };
    if !odd || value < 65_537 {
        let shown = if trimmed.len() <= 8 {
            value.to_string()
        } else {
            "(very long)".to_string()
        };
        return Err(SealError::WeakExponent {
            kid: kid.to_string(),
            e: shown,
        });
    }
    Ok(())
}

fn opt_str<'a>(map: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("parameter `{name}` must be a string")),
    }
}

fn req_str<'a>(map: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    opt_str(map, name)?.ok_or_else(|| format!("parameter `{name}` is required"))
}

fn req_time(map: &Map<String, Value>, name: &str) -> Result<DateTime<Utc>, String> {
    let secs = map
        .get(name)
        .ok_or_else(|| format!("parameter `{name}` (unix seconds) is required"))?
        .as_i64()
        .ok_or_else(|| format!("parameter `{name}` must be an integer (unix seconds)"))?;
    from_unix(secs).ok_or_else(|| format!("parameter `{name}` is out of range"))
}

/// Number of significant bits of a big-endian unsigned integer.
pub(crate) fn bit_length(bytes: &[u8]) -> u32 {
    let Some(pos) = bytes.iter().position(|b| *b != 0) else {
        return 0;
    };
    let significant = u32::try_from(bytes.len() - pos).unwrap_or(u32::MAX / 8);
    significant.saturating_mul(8) - bytes[pos].leading_zeros()
}

/// Strict base64url without padding (non-canonical trailing bits are refused).
pub(crate) fn decode_b64(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| format!("not base64url: {e}"))
}

pub(crate) fn encode_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn from_unix(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// 1 to `max` printable ASCII characters (no spaces at the ends, no control characters).
pub(crate) fn is_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !s.starts_with(' ')
        && !s.ends_with(' ')
}

/// Escapes a value for an error message: control characters and non-ASCII become `\u{..}`, and
/// long values are cut, so that no message can forge log lines (L2).
pub(crate) fn escape(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_default).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_significant_bits() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f; 512]), 4095);
        assert_eq!(bit_length(&[0xff; 512]), 4096);
    }

    #[test]
    fn exponent_rules() {
        assert!(check_exponent("k", &[1, 0, 1]).is_ok());
        assert!(check_exponent("k", &[0, 1, 0, 1]).is_ok());
        assert!(check_exponent("k", &[3]).is_err());
        assert!(check_exponent("k", &[1, 0, 2]).is_err());
        assert!(check_exponent("k", &[]).is_err());
    }

    #[test]
    fn labels_and_escaping() {
        assert!(is_label("application/json", 255));
        assert!(!is_label("", 255));
        assert!(!is_label("a\nb", 255));
        assert!(!is_label("ä", 255));
        assert_eq!(escape("a\nb"), "a\\nb");
    }
}
