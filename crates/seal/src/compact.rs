//! Reading the protected header of a compact JWE or JWS before any key is touched.
//!
//! josekit checks `alg` against the decrypter or verifier and would decompress `zip`; this crate
//! refuses everything outside its small profile here first, with a clear error.

use serde_json::{Map, Value};

use crate::SealError;
use crate::jwk::{decode_b64, escape};

/// Header parameters refused in both JWE and JWS: no compression (decompression bombs), no
/// critical extensions (including `b64`), no keys or key URLs carried by the message itself.
const REFUSED_PARAMS: [&str; 7] = ["zip", "crit", "b64", "jwk", "jku", "x5u", "x5c"];

/// The decoded protected header of a compact serialization with `parts` segments.
#[derive(Debug)]
pub(crate) struct Header {
    map: Map<String, Value>,
}

impl Header {
    /// Splits `input` into `parts` segments, checks the alphabet and decodes the header.
    pub fn read(input: &str, parts: usize, what: &str) -> Result<Self, SealError> {
        let segments: Vec<&str> = input.split('.').collect();
        if segments.len() != parts {
            return Err(SealError::MalformedMessage(format!(
                "a compact {what} has {parts} parts separated by `.`; found {}",
                segments.len()
            )));
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(SealError::MalformedMessage(format!(
                "a compact {what} contains only base64url characters and `.`"
            )));
        }
        let bytes = segments
            .first()
            .map(|s| decode_b64(s))
            .transpose()
            .map_err(|r| SealError::MalformedMessage(format!("header: {r}")))?
            .unwrap_or_default();
        let map: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
            SealError::MalformedMessage(format!("header is not a JSON object: {e}"))
        })?;
        if let Some(param) = REFUSED_PARAMS.iter().find(|p| map.contains_key(**p)) {
            return Err(SealError::HeaderParameterRefused((*param).to_string()));
        }
        Ok(Self { map })
    }

    /// Refuses unless `param` is exactly `expected`.
    pub fn require(&self, param: &'static str, expected: &'static str) -> Result<(), SealError> {
        match self.map.get(param) {
            Some(Value::String(v)) if v == expected => Ok(()),
            other => Err(SealError::HeaderRefused {
                param,
                value: shown(other),
                expected,
            }),
        }
    }

    /// The `kid`, which every message of this profile carries.
    pub fn kid(&self) -> Result<&str, SealError> {
        match self.map.get("kid") {
            Some(Value::String(kid)) if !kid.is_empty() => Ok(kid),
            _ => Err(SealError::MalformedMessage(
                "header has no `kid` string".into(),
            )),
        }
    }

    /// A string parameter, if present and a string.
    pub fn str(&self, param: &str) -> Option<&str> {
        self.map.get(param).and_then(Value::as_str)
    }

    /// A parameter as shown in an error message.
    pub fn shown(&self, param: &str) -> String {
        shown(self.map.get(param))
    }
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None => "(none)".into(),
        Some(Value::String(s)) => escape(s),
        Some(other) => escape(&other.to_string()),
    }
}
