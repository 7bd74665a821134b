//! Envelopes and signed messages for rathaus, following the FIT-Connect crypto profile.
//!
//! * **Envelopes (C1, C2)**: on submit the portal seals an application (the JSON submission
//!   document and each attachment) to the responsible authority node with [`seal`]: a compact
//!   JWE with `alg` `RSA-OAEP-256` and `enc` `A256GCM`, to an RSA key of at least 4096 bits whose
//!   `key_ops` are `["wrapKey"]`. The authority node [`open`]s it with its [`PrivateKeySet`].
//! * **Signed messages (C3)**: delivery metadata, receipts, status changes and identity
//!   assertions travel as compact JWS with `alg` `PS512` ([`sign`], [`verify`]), verified
//!   against the sender's pinned [`PublicKeySet`] (`key_ops` `["verify"]`), with `iat` and a
//!   random `nonce` against replay. **The caller checks the nonce** against its database:
//!   see [`Verified::nonce`].
//! * **Keys**: [`PrivateKeySet::generate`] makes one encryption and one signing key (RSA 4096),
//!   [`PrivateKeySet::rotate`] adds newer ones while the old ones can still open envelopes, and
//!   [`PrivateKeySet::public`] gives the JWKS to publish. Key files are written atomically,
//!   the private one with mode 0600 ([`write_private`], [`read_private`]).
//!
//! Every key is checked when it is parsed and again when it is used; see [`jwk`] for the rules
//! and [`SealError`] for the refusals. Only RSA keys are supported: EC keys are refused with a
//! clear message. The cryptography is josekit's, on OpenSSL; this crate only restricts what
//! josekit would accept. No function reads the clock: time is passed in as `now`.
//!
//! RSA key generation takes a second or more and sealing large attachments tens of
//! milliseconds: call these through `spawn_blocking` from async code.

mod compact;
mod envelope;
mod error;
pub mod jwk;
mod keyfile;
mod private;
pub mod protocol;
mod public;
mod signed;

pub use envelope::{Sealed, open, seal};
pub use error::SealError;
pub use jwk::{KeyPurpose, MAX_RSA_BITS, MIN_RSA_BITS};
pub use keyfile::{read_private, read_public, write_private, write_public};
pub use private::{PrivateKey, PrivateKeySet};
pub use public::{PublicKey, PublicKeySet};
pub use signed::{MAX_CLOCK_SKEW_SECS, Verified, sign, verify};

/// `N` bytes from the operating system's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], SealError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SealError::Randomness(e.to_string()))?;
    Ok(bytes)
}
