//! Keys generated once per test binary, a fixed clock, and helpers to craft bad input.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use rathaus_seal::{KeyPurpose, PrivateKeySet};
use serde_json::Value;

/// The fixed "now" at which every fixture key is created.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

pub fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// The authority node's keys: valid from `t0` for 365 days.
pub fn authority() -> &'static PrivateKeySet {
    static KEYS: OnceLock<PrivateKeySet> = OnceLock::new();
    KEYS.get_or_init(|| PrivateKeySet::generate("authority-berlin", t0(), days(365)).unwrap())
}

/// The authority's keys after a rotation at `t0 + 300 days` (new keys valid for 365 days).
pub fn rotated() -> &'static PrivateKeySet {
    static KEYS: OnceLock<PrivateKeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = authority().clone();
        keys.rotate("authority-berlin", t0() + days(300), days(365))
            .unwrap();
        keys
    })
}

/// Another entity's keys (the portal), for wrong-key tests.
pub fn portal() -> &'static PrivateKeySet {
    static KEYS: OnceLock<PrivateKeySet> = OnceLock::new();
    KEYS.get_or_init(|| PrivateKeySet::generate("portal", t0(), days(365)).unwrap())
}

/// The public JWK of an RSA 2048 key, dressed as a proper encryption key of ours.
pub fn rsa_2048_public_jwk() -> &'static Value {
    static JWK: OnceLock<Value> = OnceLock::new();
    JWK.get_or_init(|| {
        let jwk = josekit::jwk::Jwk::generate_rsa_key(2048).unwrap();
        let mut map = serde_json::Map::new();
        map.insert("kty".into(), "RSA".into());
        map.insert("kid".into(), "k1".into());
        map.insert("use".into(), "enc".into());
        map.insert("alg".into(), "RSA-OAEP-256".into());
        map.insert("key_ops".into(), serde_json::json!(["wrapKey"]));
        map.insert("nbf".into(), t0().timestamp().into());
        map.insert("exp".into(), (t0() + days(365)).timestamp().into());
        map.insert("n".into(), jwk.parameter("n").unwrap().clone());
        map.insert("e".into(), jwk.parameter("e").unwrap().clone());
        Value::Object(map)
    })
}

/// The kid of the key of `purpose` in `keys` created at `created`.
pub fn kid_of(keys: &PrivateKeySet, purpose: KeyPurpose, created: DateTime<Utc>) -> String {
    keys.keys()
        .iter()
        .find(|k| k.purpose() == purpose && k.created() == created)
        .unwrap()
        .kid()
        .to_string()
}

/// `keys` as a JSON value, for editing.
pub fn as_value(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

/// The public set of `keys` with the first key of `purpose` edited by `edit`.
pub fn edited_public(
    keys: &PrivateKeySet,
    purpose: KeyPurpose,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> String {
    let mut set = as_value(&keys.public().to_json().unwrap());
    let use_value = match purpose {
        KeyPurpose::Encryption => "enc",
        KeyPurpose::Signing => "sig",
    };
    let key = set["keys"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|k| k["use"] == use_value)
        .unwrap()
        .as_object_mut()
        .unwrap();
    edit(key);
    set.to_string()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// The decoded protected header of a compact JWE or JWS.
pub fn header_of(compact: &str) -> Value {
    serde_json::from_slice(&unb64(compact.split('.').next().unwrap())).unwrap()
}

/// `compact` with its protected header replaced by `header`, other parts kept.
pub fn with_header(compact: &str, header: &Value) -> String {
    let mut parts: Vec<String> = compact.split('.').map(str::to_string).collect();
    parts[0] = b64(header.to_string().as_bytes());
    parts.join(".")
}

/// `compact` with the character at `index` replaced by another base64url character.
pub fn flipped(compact: &str, index: usize) -> String {
    let mut bytes = compact.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}
