//! The one error type of this crate.
//!
//! Every message is written for an operator: it names the key id, the file or the header value
//! that is wrong and what is expected instead. Messages never contain key material or payloads.
//! Web layers must still map these errors to a generic response: a sender learns nothing from
//! "decryption failed" that it did not know, but a stack of internal detail helps nobody.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::KeyPurpose;

/// Everything that can go wrong while handling keys, envelopes and signed messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The owner name given to [`crate::PrivateKeySet::generate`] cannot become part of a key id.
    #[error(
        "owner name `{0}` cannot be used in a key id: use 1 to 64 characters of A-Z, a-z, 0-9, `.`, `_` or `-`"
    )]
    InvalidOwner(String),

    /// A validity period of zero or less was asked for.
    #[error("a key must be valid for a positive period; {0} seconds were given")]
    InvalidValidity(i64),

    /// The text is not a JSON Web Key Set at all.
    #[error("not a usable JSON Web Key Set: {0}")]
    MalformedKeySet(String),

    /// A key set without keys.
    #[error("the key set contains no keys")]
    EmptyKeySet,

    /// Two keys of one set share a `kid`.
    #[error("the key set contains the key id `{0}` twice; key ids must be unique")]
    DuplicateKid(String),

    /// A key is structurally broken (missing or ill-typed parameter, bad base64, bad `kid`).
    #[error("key `{kid}` is not usable: {reason}")]
    MalformedKey {
        /// The key id, or `(no kid)`.
        kid: String,
        /// What is wrong.
        reason: String,
    },

    /// An RSA modulus below the minimum (C2).
    #[error("key `{kid}` is RSA {bits} bits; at least {min} are required")]
    WeakKey {
        /// The key id.
        kid: String,
        /// The modulus length found.
        bits: u32,
        /// The minimum, [`crate::MIN_RSA_BITS`].
        min: u32,
    },

    /// An RSA modulus so large that using it would be a denial of service.
    #[error("key `{kid}` is RSA {bits} bits; more than {max} are not accepted")]
    OversizedKey {
        /// The key id.
        kid: String,
        /// The modulus length found.
        bits: u32,
        /// The maximum, [`crate::MAX_RSA_BITS`].
        max: u32,
    },

    /// A weak or unusual RSA public exponent.
    #[error(
        "key `{kid}` has the public exponent {e}; an odd exponent of at least 65537 is required"
    )]
    WeakExponent {
        /// The key id.
        kid: String,
        /// The exponent as found (hex for long ones).
        e: String,
    },

    /// A key that is not RSA (C2: the FIT-Connect profile uses RSA only).
    #[error(
        "key `{kid}` is of type {kty}; only RSA keys of at least 4096 bits are supported \
         (RSA-OAEP-256 for encryption, PS512 for signing)"
    )]
    UnsupportedKeyType {
        /// The key id.
        kid: String,
        /// The key type, with the curve for EC keys, e.g. `EC (P-256)`.
        kty: String,
    },

    /// The key's `alg` is not on the allowlist.
    #[error(
        "key `{kid}` declares alg `{alg}`; only `RSA-OAEP-256` (encryption) and `PS512` (signing) are accepted"
    )]
    AlgorithmNotAllowed {
        /// The key id.
        kid: String,
        /// The algorithm found, or `(none)`.
        alg: String,
    },

    /// The key's `key_ops` are not exactly what its purpose needs.
    #[error(
        "key `{kid}` has key_ops {found}; a {purpose} key here must have exactly [\"{expected}\"]"
    )]
    WrongKeyOps {
        /// The key id.
        kid: String,
        /// The operations found, as JSON, or `(none)`.
        found: String,
        /// The purpose given by the key's `alg`.
        purpose: KeyPurpose,
        /// The one operation expected.
        expected: &'static str,
    },

    /// The key's `use` contradicts its `alg`.
    #[error("key `{kid}` has use `{found}`; a {purpose} key must have use `{expected}` or none")]
    WrongUse {
        /// The key id.
        kid: String,
        /// The `use` found.
        found: String,
        /// The purpose given by the key's `alg`.
        purpose: KeyPurpose,
        /// The expected `use`.
        expected: &'static str,
    },

    /// A public key set carries private key material (C2).
    #[error(
        "key `{kid}` in a public key set contains private key material (`{param}`); publish only \
         the public part, and treat this key as compromised"
    )]
    PrivateMaterialInPublicSet {
        /// The key id.
        kid: String,
        /// The first private parameter found.
        param: String,
    },

    /// A private key set lacks private material.
    #[error("private key `{kid}` lacks the private parameter `{param}`")]
    MissingPrivateMaterial {
        /// The key id.
        kid: String,
        /// The missing parameter.
        param: &'static str,
    },

    /// A key parameter that this profile does not know.
    #[error("key `{kid}` has the parameter `{param}`, which is not accepted here")]
    UnknownKeyParameter {
        /// The key id.
        kid: String,
        /// The parameter name.
        param: String,
    },

    /// A key asked for one purpose has the other.
    #[error("key `{kid}` is a {actual} key, not a {wanted} key")]
    WrongPurpose {
        /// The key id.
        kid: String,
        /// What the caller needed.
        wanted: KeyPurpose,
        /// What the key is.
        actual: KeyPurpose,
    },

    /// A key used before its `nbf` (C2).
    #[error("key `{kid}` is not valid before {not_before} (UTC)")]
    KeyNotYetValid {
        /// The key id.
        kid: String,
        /// Its `nbf`.
        not_before: DateTime<Utc>,
    },

    /// A key used at or after its `exp` (C2).
    #[error("key `{kid}` expired at {expired} (UTC)")]
    KeyExpired {
        /// The key id.
        kid: String,
        /// Its `exp`.
        expired: DateTime<Utc>,
    },

    /// A `kid` that is not in the pinned or private set (C2, C3).
    #[error("no {purpose} key with id `{kid}` is known here")]
    UnknownKey {
        /// The key id from the message.
        kid: String,
        /// The purpose it was looked up for.
        purpose: KeyPurpose,
    },

    /// No key of the purpose is valid at the given time.
    #[error("the key set has no {purpose} key that is valid at {at} (UTC)")]
    NoValidKey {
        /// The purpose asked for.
        purpose: KeyPurpose,
        /// The time asked for.
        at: DateTime<Utc>,
    },

    /// A message header names an algorithm or encoding outside the allowlist (C2, C3).
    #[error("message header {param} `{value}` is refused; only `{expected}` is accepted")]
    HeaderRefused {
        /// `alg` or `enc`.
        param: &'static str,
        /// The value found, or `(none)`.
        value: String,
        /// The one accepted value.
        expected: &'static str,
    },

    /// A message header carries a parameter this profile refuses (`zip`, `crit`, `jwk`, …).
    #[error("message header parameter `{0}` is refused")]
    HeaderParameterRefused(String),

    /// The JWS `typ` is not the one the caller expects (C3).
    #[error("message type `{found}` was received where `{expected}` was expected")]
    WrongType {
        /// The expected `typ`.
        expected: String,
        /// The `typ` found, or `(none)`.
        found: String,
    },

    /// Not a compact JWE/JWS, or its header or payload cannot be read.
    #[error("malformed message: {0}")]
    MalformedMessage(String),

    /// AES-GCM or RSA-OAEP failed. Deliberately says nothing about which step failed.
    #[error(
        "the message could not be decrypted with key `{kid}`: it was altered, or it was not sealed to this key"
    )]
    DecryptionFailed {
        /// The key id from the header.
        kid: String,
        /// The library's error, for logs only.
        #[source]
        source: josekit::JoseError,
    },

    /// The signature does not verify (C3).
    #[error(
        "the signature does not verify with key `{kid}`: the message was altered, or signed with another key"
    )]
    BadSignature {
        /// The key id from the header.
        kid: String,
        /// The library's error, for logs only.
        #[source]
        source: josekit::JoseError,
    },

    /// `iat` older than the allowed age (C3).
    #[error(
        "the message was issued at {issued_at} (UTC), more than {max_age_secs} s before {now} (UTC); refused as stale"
    )]
    Stale {
        /// The message's `iat`.
        issued_at: DateTime<Utc>,
        /// The verifier's clock.
        now: DateTime<Utc>,
        /// The allowed age in seconds.
        max_age_secs: i64,
    },

    /// `iat` more than [`crate::MAX_CLOCK_SKEW_SECS`] in the future (C3).
    #[error(
        "the message claims to be issued at {issued_at} (UTC), more than {skew_secs} s after {now} (UTC); \
         check the clocks of both nodes"
    )]
    IssuedInFuture {
        /// The message's `iat`.
        issued_at: DateTime<Utc>,
        /// The verifier's clock.
        now: DateTime<Utc>,
        /// The tolerated skew in seconds.
        skew_secs: i64,
    },

    /// The payload handed to [`crate::sign`] is not acceptable.
    #[error("cannot sign this payload: {0}")]
    InvalidPayload(String),

    /// A `cty` or `typ` value that is empty, too long or not printable ASCII.
    #[error("{what} `{value}` is not acceptable: use 1 to {max} printable ASCII characters")]
    InvalidLabel {
        /// `content type` or `message type`.
        what: &'static str,
        /// The value given (escaped).
        value: String,
        /// The length limit.
        max: usize,
    },

    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Randomness(String),

    /// The JOSE library refused an operation that should not fail (key generation, encryption).
    #[error("the JOSE library failed to {operation}: {source}")]
    Crypto {
        /// What was being done.
        operation: &'static str,
        /// The library's error.
        source: josekit::JoseError,
    },

    /// JSON could not be written.
    #[error("cannot encode JSON: {0}")]
    Encoding(String),

    /// A key file exists and `overwrite` was not passed.
    #[error("key file `{}` already exists; refusing to overwrite it", path.display())]
    FileExists {
        /// The file.
        path: PathBuf,
    },

    /// Reading or writing a key file failed.
    #[error("cannot {action} key file `{}`: {error}", path.display())]
    Io {
        /// What was being done, e.g. `read`, `create`, `rename`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },

    /// A key file was read but its content is refused; `error` says why.
    #[error("key file `{}`: {error}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// Why its content is refused.
        error: Box<SealError>,
    },
}
