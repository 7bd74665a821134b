//! Authentication building blocks of rathaus, free of HTTP and storage:
//!
//! - [`hashing`]: argon2id password hashes (SECURITY.md A3) on a bounded blocking pool (F6),
//!   with a dummy hash for unknown accounts so timing reveals nothing (A5);
//! - [`tokens`]: random tokens from the operating system's CSPRNG, their SHA-256 digests (what
//!   the database stores) and HMAC signatures (S3, S4);
//! - [`throttle`]: the rule for rising delays after failed sign-ins (A4), as a pure function of
//!   the failures' times;
//! - [`identification`]: one-time codes for the in-person check at a counter (A6);
//! - [`passkeys`]: the portal as a WebAuthn relying party (passkeys instead of a password).

pub mod hashing;
pub mod identification;
pub mod passkeys;
pub mod throttle;
pub mod tokens;

pub use hashing::{HashError, Hasher, PasswordHash, Policy, Verification};
pub use identification::{CodeError, IdentificationCode};
pub use passkeys::{PasskeyError, PasskeyRelyingParty};
pub use throttle::{Throttle, ThrottleRule};
pub use tokens::{RandomError, SecretToken};
