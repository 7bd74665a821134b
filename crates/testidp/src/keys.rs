//! The provider's signing key: RSA 2048, generated at start-up (a test provider needs no key
//! that survives a restart; relying parties fetch the JWKS again when the key id is new).

use josekit::jwk::Jwk;
use josekit::jwk::KeyPair;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::alg::rsassa::RsassaJwsSigner;
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::JwtPayload;
use serde_json::{Map, Value};

use crate::Error;

/// A key that signs ID tokens, and its public half as a JWK.
pub(crate) struct SigningKey {
    signer: RsassaJwsSigner,
    public: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.key_id())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh RS256 key with a random key id.
    pub(crate) fn generate() -> Result<Self, Error> {
        Self::generate_with_kid(&crate::random_token::<12>()?)
    }

    /// A fresh RS256 key with the key id `kid` (an impostor key reuses the real one's id).
    pub(crate) fn generate_with_kid(kid: &str) -> Result<Self, Error> {
        let mut pair: RsaKeyPair = RS256.generate_key_pair(2048).map_err(Error::Key)?;
        pair.set_key_id(Some(kid));
        let signer = RS256
            .signer_from_jwk(&pair.to_jwk_private_key())
            .map_err(Error::Key)?;
        let mut public = pair.to_jwk_public_key();
        public.set_key_use("sig");
        Ok(Self { signer, public })
    }

    pub(crate) fn kid(&self) -> &str {
        self.public.key_id().unwrap_or_default()
    }

    /// The public key as a JWK (`kty`, `n`, `e`, `kid`, `alg`, `use`).
    pub(crate) fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// A compact JWS of `claims` with `typ: JWT` and this key's `kid`.
    pub(crate) fn sign(&self, claims: Map<String, Value>) -> Result<String, Error> {
        let payload = JwtPayload::from_map(claims).map_err(Error::Key)?;
        let mut header = JwsHeader::new();
        header.set_token_type("JWT");
        josekit::jwt::encode_with_signer(&payload, &header, &self.signer).map_err(Error::Key)
    }
}
