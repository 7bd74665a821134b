//! Time-based one-time passwords (RFC 6238 over RFC 4226) and recovery codes: pure functions,
//! no I/O, time passed in.
//!
//! The parameters are the ones every authenticator app understands without asking: HMAC-SHA-1,
//! six digits, 30-second steps, a 160-bit secret. A code is accepted for the current step and
//! one step either side (clocks of phones drift, and typing takes time); which step matched is
//! returned, so that the caller can refuse that step and every older one afterwards (replay).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rathaus_auth::tokens;
use sha1::Sha1;

/// Seconds per time step (RFC 6238 `X`).
pub(crate) const STEP_SECONDS: i64 = 30;
/// Digits of a code.
const DIGITS: u32 = 6;
/// Steps accepted before and after the current one.
const SKEW: i64 = 1;
/// Bytes of a secret: 160 bits, as RFC 4226 recommends for HMAC-SHA-1.
const SECRET_LEN: usize = 20;
/// Recovery codes handed out at enrolment.
pub(crate) const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (base32: 50 bits).
const RECOVERY_LEN: usize = 10;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An authenticator's shared secret. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    pub(crate) fn generate() -> Result<Self, rathaus_auth::RandomError> {
        tokens::random_bytes::<SECRET_LEN>().map(|b| Self(b.to_vec()))
    }

    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32 (RFC 4648, no padding), as authenticator apps take it.
    pub(crate) fn base32(&self) -> String {
        base32(&self.0)
    }

    /// The base32 text in groups of four, easier to type by hand.
    pub(crate) fn grouped(&self) -> String {
        let plain = self.base32();
        let groups: Vec<&str> = plain
            .as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        groups.join(" ")
    }

    /// The `otpauth://` URI of the key, for the QR code (the de-facto format of Google
    /// Authenticator, which every common app reads).
    pub(crate) fn uri(&self, issuer: &str, account: &str) -> String {
        let issuer = uri_encode(issuer);
        format!(
            "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            uri_encode(account),
            self.base32()
        )
    }

    /// The code of time step `step`.
    pub(crate) fn code_at_step(&self, step: i64) -> String {
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.0) else {
            return String::new(); // HMAC takes keys of any length
        };
        mac.update(&step.to_be_bytes());
        let hash = mac.finalize().into_bytes();
        let offset = usize::from(hash[hash.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            hash[offset] & 0x7f,
            hash[offset + 1],
            hash[offset + 2],
            hash[offset + 3],
        ]);
        format!(
            "{:0width$}",
            binary % 10u32.pow(DIGITS),
            width = DIGITS as usize
        )
    }

    /// The time step whose code `code` is, among the steps around `now`; `None` if none.
    pub(crate) fn verify(&self, code: &TotpCode, now: DateTime<Utc>) -> Option<i64> {
        let current = step_of(now);
        // Every candidate is compared (in constant time), so the answer's timing does not say
        // which step nearly matched.
        let mut found = None;
        for step in (current - SKEW)..=(current + SKEW) {
            if tokens::same(&self.code_at_step(step), &code.0) {
                found = Some(step);
            }
        }
        found
    }
}

/// Percent-encoding for the label and the issuer: `%20` for a space (apps differ on `+`).
fn uri_encode(value: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, UNRESERVED).to_string()
}

/// The RFC 6238 time step of `now`.
pub(crate) fn step_of(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(STEP_SECONDS)
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Six digits as typed (spaces removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TotpCode(String);

/// A recovery code, normalised to lowercase without separators.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RecoveryCode(String);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// What a citizen typed into the code field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnteredCode {
    Totp(TotpCode),
    Recovery(RecoveryCode),
}

impl EnteredCode {
    /// Six digits are an authenticator code, ten base32 characters (with or without the dash,
    /// any case) a recovery code; anything else is `None`.
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        if raw.len() > 64 {
            return None;
        }
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.len() == DIGITS as usize && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::Totp(TotpCode(compact)));
        }
        RecoveryCode::parse(&compact).map(Self::Recovery)
    }
}

impl TotpCode {
    /// Only six digits are a code (the confirmation at enrolment takes no recovery code).
    pub(crate) fn parse(raw: &str) -> Option<Self> {
        match EnteredCode::parse(raw)? {
            EnteredCode::Totp(code) => Some(code),
            EnteredCode::Recovery(_) => None,
        }
    }
}

impl RecoveryCode {
    fn parse(compact: &str) -> Option<Self> {
        let lower = compact.to_ascii_lowercase();
        (lower.len() == RECOVERY_LEN
            && lower
                .bytes()
                .all(|b| BASE32.contains(&b.to_ascii_uppercase())))
        .then_some(Self(lower))
    }

    pub(crate) fn generate() -> Result<Self, rathaus_auth::RandomError> {
        let bytes = tokens::random_bytes::<RECOVERY_LEN>()?;
        Ok(Self(
            bytes
                .iter()
                .map(|b| char::from(BASE32[usize::from(b & 31)]).to_ascii_lowercase())
                .collect(),
        ))
    }

    /// As shown to the citizen: two groups of five.
    pub(crate) fn shown(&self) -> String {
        let (a, b) = self.0.split_at(RECOVERY_LEN / 2);
        format!("{a}-{b}")
    }

    /// The keyed digest the store keeps, bound to the account: a copy of the database alone
    /// does not allow trying codes offline, and a code of one account means nothing for another.
    pub(crate) fn digest(&self, key: &[u8], account: &rathaus_domain::AccountId) -> String {
        tokens::sign(key, format!("recovery:{account}:{}", self.0).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    /// The SHA-1 test vectors of RFC 6238, appendix B (eight digits there; six are its tail).
    #[test]
    fn rfc6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let now = Utc.timestamp_opt(time, 0).unwrap();
            assert_eq!(secret.code_at_step(step_of(now)), eight[2..], "{time}");
        }
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn codes_of_the_neighbouring_steps_are_accepted_and_no_further() {
        let secret = TotpSecret::generate().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 10).unwrap();
        let step = step_of(now);
        for offset in -1..=1 {
            let code = TotpCode::parse(&secret.code_at_step(step + offset)).unwrap();
            assert_eq!(secret.verify(&code, now), Some(step + offset));
        }
        for offset in [-2, 2] {
            let code = TotpCode::parse(&secret.code_at_step(step + offset)).unwrap();
            // A far step may share its code with a near one by chance (1 in 10⁶ each).
            if secret.code_at_step(step + offset) != secret.code_at_step(step) {
                assert_eq!(secret.verify(&code, now), None);
            }
        }
    }

    #[test]
    fn typed_codes_are_recognised() {
        assert_eq!(
            EnteredCode::parse(" 123 456 "),
            Some(EnteredCode::Totp(TotpCode("123456".into())))
        );
        assert!(matches!(
            EnteredCode::parse("ABCDE-23456"),
            Some(EnteredCode::Recovery(_))
        ));
        for bad in [
            "12345",
            "1234567",
            "abcde-1234",
            "abcde-2345!",
            "",
            "１２３４５６",
        ] {
            assert_eq!(EnteredCode::parse(bad), None, "{bad:?}");
        }
        assert_eq!(TotpCode::parse("abcde-23456"), None);
        let code = RecoveryCode::generate().unwrap();
        assert_eq!(
            EnteredCode::parse(&code.shown().to_uppercase()),
            Some(EnteredCode::Recovery(code.clone()))
        );
        let a = rathaus_domain::AccountId::random();
        let b = rathaus_domain::AccountId::random();
        assert_ne!(code.digest(b"k", &a), code.digest(b"k", &b));
        assert!(!format!("{code:?}").contains(&code.0));
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let uri = secret.uri("Hamburg Service", "anna@example.org");
        assert!(uri.starts_with("otpauth://totp/Hamburg%20Service:anna%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Hamburg%20Service"), "{uri}");
        assert!(uri.ends_with("&algorithm=SHA1&digits=6&period=30"));
        assert_eq!(secret.grouped().split(' ').count(), 8);
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
    }
}
