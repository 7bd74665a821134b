//! A software authenticator for tests: what a browser with a platform authenticator answers to
//! `navigator.credentials.create()` and `.get()`, built from the specification (W3C Web
//! Authentication level 3, §6.1 authenticator data, §8.7 the `none` attestation format), with
//! P-256 keys (COSE algorithm -7, ES256).
//!
//! It takes the options JSON exactly as the portal puts it on the page and returns the JSON the
//! page's script posts back, so tests drive the same two requests a browser does. It keeps
//! discoverable credentials per RP id, counts signatures, and refuses an excluded credential
//! like a real authenticator.
#![allow(clippy::missing_panics_doc)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::{MessageDigest, hash};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use serde_json::json;

/// What the soft authenticator could not do (a test's setup is wrong, or the options ask for
/// something it refuses on purpose).
#[derive(Debug, thiserror::Error)]
pub enum SoftError {
    #[error("options: {0}")]
    Options(String),
    #[error("a credential in excludeCredentials is on this authenticator")]
    Excluded,
    #[error("no credential for this site")]
    NoCredential,
    #[error("crypto: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

struct SoftCredential {
    id: Vec<u8>,
    rp_id: String,
    user: Vec<u8>,
    key: PKey<Private>,
    counter: u32,
}

/// A platform authenticator in memory.
pub struct SoftAuthenticator {
    credentials: Vec<SoftCredential>,
    /// Whether the person passes the authenticator's own check (PIN, fingerprint); off, the
    /// answers lack the UV flag.
    pub user_verification: bool,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("credentials", &self.credentials.len())
            .finish_non_exhaustive()
    }
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        Self::new()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, SoftError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| SoftError::Options(e.to_string()))
}

fn field<'a>(value: &'a serde_json::Value, path: &[&str]) -> Result<&'a str, SoftError> {
    let mut at = value;
    for key in path {
        at = &at[*key];
    }
    at.as_str()
        .ok_or_else(|| SoftError::Options(format!("no {}", path.join("."))))
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

fn sha256(data: &[u8]) -> Result<Vec<u8>, SoftError> {
    Ok(hash(MessageDigest::sha256(), data)?.to_vec())
}

impl SoftAuthenticator {
    pub fn new() -> Self {
        Self {
            credentials: Vec::new(),
            user_verification: true,
        }
    }

    /// How many credentials it holds.
    pub fn len(&self) -> usize {
        self.credentials.len()
    }

    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty()
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut flags = 0x01; // UP: the person touched it
        if self.user_verification {
            flags |= 0x04; // UV
        }
        if attested {
            flags |= 0x40; // AT: attested credential data follows
        }
        flags
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": challenge,
            "origin": origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    /// Answers `navigator.credentials.create(options)` on a page of `origin`.
    pub fn create(&mut self, options_json: &str, origin: &str) -> Result<String, SoftError> {
        let options: serde_json::Value =
            serde_json::from_str(options_json).map_err(|e| SoftError::Options(e.to_string()))?;
        let challenge = field(&options, &["publicKey", "challenge"])?;
        let rp_id = field(&options, &["publicKey", "rp", "id"])?.to_owned();
        let user = unb64(field(&options, &["publicKey", "user", "id"])?)?;
        if let Some(excluded) = options["publicKey"]["excludeCredentials"].as_array() {
            for descriptor in excluded {
                let id = unb64(descriptor["id"].as_str().unwrap_or_default())?;
                if self
                    .credentials
                    .iter()
                    .any(|c| c.id == id && c.rp_id == rp_id)
                {
                    return Err(SoftError::Excluded);
                }
            }
        }

        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        let ec = EcKey::generate(&group)?;
        let mut ctx = BigNumContext::new()?;
        let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
        ec.public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)?;
        let cose_key = cbor(&Value::Map(vec![
            (int(1), int(2)),  // kty: EC2
            (int(3), int(-7)), // alg: ES256
            (int(-1), int(1)), // crv: P-256
            (int(-2), Value::Bytes(x.to_vec_padded(32)?)),
            (int(-3), Value::Bytes(y.to_vec_padded(32)?)),
        ]));
        let mut id = [0u8; 16];
        openssl::rand::rand_bytes(&mut id)?;

        let mut auth_data = sha256(rp_id.as_bytes())?;
        auth_data.push(self.flags(true));
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth_data.extend_from_slice(&16u16.to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cose_key);
        let attestation = cbor(&Value::Map(vec![
            (Value::Text("fmt".into()), Value::Text("none".into())),
            (Value::Text("attStmt".into()), Value::Map(Vec::new())),
            (Value::Text("authData".into()), Value::Bytes(auth_data)),
        ]));
        let client_data = Self::client_data("webauthn.create", challenge, origin);

        self.credentials.push(SoftCredential {
            id: id.to_vec(),
            rp_id,
            user,
            key: PKey::from_ec_key(ec)?,
            counter: 0,
        });
        Ok(json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
        .to_string())
    }

    /// Answers `navigator.credentials.get(options)` on a page of `origin` with the newest
    /// matching credential (the one a person would pick).
    pub fn get(&mut self, options_json: &str, origin: &str) -> Result<String, SoftError> {
        let options: serde_json::Value =
            serde_json::from_str(options_json).map_err(|e| SoftError::Options(e.to_string()))?;
        let challenge = field(&options, &["publicKey", "challenge"])?.to_owned();
        let rp_id = field(&options, &["publicKey", "rpId"])?.to_owned();
        let allowed: Vec<Vec<u8>> = options["publicKey"]["allowCredentials"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|d| d["id"].as_str().and_then(|id| unb64(id).ok()))
                    .collect()
            })
            .unwrap_or_default();
        let flags = self.flags(false);
        let credential = self
            .credentials
            .iter_mut()
            .rev()
            .find(|c| c.rp_id == rp_id && (allowed.is_empty() || allowed.contains(&c.id)))
            .ok_or(SoftError::NoCredential)?;
        credential.counter += 1;

        let mut auth_data = sha256(rp_id.as_bytes())?;
        auth_data.push(flags);
        auth_data.extend_from_slice(&credential.counter.to_be_bytes());
        let client_data = Self::client_data("webauthn.get", &challenge, origin);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(&client_data)?);
        let mut signer = Signer::new(MessageDigest::sha256(), &credential.key)?;
        signer.update(&signed)?;
        let signature = signer.sign_to_vec()?;
        Ok(json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(&signature),
                "userHandle": b64(&credential.user),
            },
            "clientExtensionResults": {},
        })
        .to_string())
    }
}
