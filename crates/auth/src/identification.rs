//! One-time identification codes for the in-person check at an authority's counter
//! (SECURITY.md A6).
//!
//! The format is chosen for a clerk who types it from a phone screen or a printout:
//! `7K3Q-M9XD-2HBT-WR4C`, sixteen characters of Crockford's base32 in four groups. Fifteen
//! characters carry **75 random bits** from the operating system's CSPRNG, more than the 64
//! SECURITY.md asks for, so guessing stays hopeless even before the attempt limits of the
//! counter and the portal apply. The sixteenth is a check character (Damm's algorithm over
//! GF(32)): it catches
//! every single mistyped character and every swap of two neighbours at the counter, before
//! anything is sent, so a typo never costs the clerk one of the limited attempts.
//!
//! Crockford's alphabet has no `I`, `L`, `O` or `U`; reading is case-insensitive, takes `I`
//! and `L` as `1` and `O` as `0`, and ignores hyphens and spaces, so whatever a person reads
//! aloud or a scanner types is understood.
//!
//! The portal stores only a keyed digest of the code ([`IdentificationCode::digest`]): a copy
//! of the database alone does not allow trying codes offline.

use std::fmt;

use crate::tokens::{RandomError, random_bytes, sign};

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters carrying randomness (5 bits each).
const DATA_CHARS: usize = 15;
/// Random bits in a code.
pub const CODE_BITS: usize = DATA_CHARS * 5;
/// Characters per group when shown.
const GROUP: usize = 4;

// SECURITY.md A6: at least 64 bits, or strict attempt limits; this format needs no exception.
const _: () = assert!(CODE_BITS >= 64);

/// A well-formed identification code (random part and a matching check character). `Debug`
/// hides it: it is a secret until it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentificationCode([u8; DATA_CHARS + 1]);

/// Why typed text is not a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("an identification code has 16 characters")]
    Length,
    #[error("an identification code has only the letters A–Z (without U) and the digits 0–9")]
    Character,
    #[error("the identification code is mistyped (its check character does not match)")]
    Check,
}

impl IdentificationCode {
    /// A new code of [`CODE_BITS`] random bits from the operating system.
    pub fn generate() -> Result<Self, RandomError> {
        let random = random_bytes::<10>()?;
        // 80 bits in, the first 75 used: each character takes the next five bits.
        let bits = random
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        let mut values = [0u8; DATA_CHARS + 1];
        for (i, value) in values.iter_mut().take(DATA_CHARS).enumerate() {
            let shift = 80 - 5 * (i + 1);
            *value = u8::try_from((bits >> shift) & 0x1f).unwrap_or(0);
        }
        values[DATA_CHARS] = check_value(&values[..DATA_CHARS]);
        Ok(Self(values))
    }

    /// Reads a typed or scanned code: case, hyphens and spaces do not matter; `I`/`L` read as
    /// `1`, `O` as `0`.
    pub fn parse(typed: &str) -> Result<Self, CodeError> {
        let mut values = [0u8; DATA_CHARS + 1];
        let mut count = 0;
        for c in typed.chars() {
            if c == '-' || c == ' ' || c == '\u{a0}' {
                continue;
            }
            let value = value_of(c).ok_or(CodeError::Character)?;
            if count == values.len() {
                return Err(CodeError::Length);
            }
            values[count] = value;
            count += 1;
        }
        if count != values.len() {
            return Err(CodeError::Length);
        }
        if check_value(&values[..DATA_CHARS]) != values[DATA_CHARS] {
            return Err(CodeError::Check);
        }
        Ok(Self(values))
    }

    /// The code as people read it: `XXXX-XXXX-XXXX-XXXX`.
    pub fn expose(&self) -> String {
        let mut out = String::with_capacity(19);
        for (i, value) in self.0.iter().enumerate() {
            if i > 0 && i % GROUP == 0 {
                out.push('-');
            }
            out.push(char::from(ALPHABET[usize::from(*value)]));
        }
        out
    }

    /// What the portal stores and looks codes up by: HMAC-SHA-256 of the canonical form under
    /// `key` (a secret of the portal), so the digest is useless without the key.
    pub fn digest(&self, key: &[u8]) -> String {
        sign(
            key,
            format!("identification-code:{}", self.expose()).as_bytes(),
        )
    }
}

impl fmt::Debug for IdentificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentificationCode(***)")
    }
}

fn value_of(c: char) -> Option<u8> {
    let upper = match c.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|a| char::from(*a) == upper)
        .and_then(|p| u8::try_from(p).ok())
}

/// Damm's check over the quasigroup `x ∘ y = 2·x + y` of the field GF(32) (modulus
/// `t⁵ + t² + 1`): it is totally anti-symmetric, so a wrong character and a swap of two
/// neighbours always change the result (Luhn mod 32 misses swapping `0` and `Z`).
fn check_value(values: &[u8]) -> u8 {
    // The interim after the data; the check character is the one that brings it to 0, and in
    // GF(2⁵) adding is XOR, so that is `2·interim`.
    double(
        values
            .iter()
            .fold(0, |interim, value| double(interim) ^ value),
    )
}

/// Multiplication by `t` in GF(32).
fn double(value: u8) -> u8 {
    let shifted = (value << 1) & 0x1f;
    if value & 0x10 == 0 {
        shifted
    } else {
        shifted ^ 0x05
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a6_codes_carry_75_random_bits_and_read_back() {
        let a = IdentificationCode::generate().unwrap();
        let b = IdentificationCode::generate().unwrap();
        assert_ne!(a, b);
        // Every symbol turns up in the random part: no bits are stuck.
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let code = IdentificationCode::generate().unwrap();
            seen.extend(code.0[..DATA_CHARS].iter().copied());
        }
        assert_eq!(seen.len(), 32);
        let shown = a.expose();
        assert_eq!(shown.len(), 19);
        assert_eq!(shown.matches('-').count(), 3);
        assert_eq!(IdentificationCode::parse(&shown), Ok(a.clone()));
        assert_eq!(
            IdentificationCode::parse(&shown.to_lowercase().replace('-', " ")),
            Ok(a.clone())
        );
        assert_eq!(format!("{a:?}"), "IdentificationCode(***)");
        assert_ne!(a.digest(b"key"), b.digest(b"key"));
        assert_ne!(a.digest(b"key"), a.digest(b"other key"));
    }

    #[test]
    fn a6_every_single_typo_and_neighbour_swap_is_caught_before_sending() {
        for _ in 0..50 {
            let code = IdentificationCode::generate().unwrap();
            let plain: Vec<u8> = code.expose().bytes().filter(|b| *b != b'-').collect();
            for i in 0..plain.len() {
                for replacement in ALPHABET.iter().filter(|r| **r != plain[i]) {
                    let mut typo = plain.clone();
                    typo[i] = *replacement;
                    let typo = String::from_utf8(typo).unwrap();
                    assert_eq!(
                        IdentificationCode::parse(&typo),
                        Err(CodeError::Check),
                        "{typo}"
                    );
                }
                if i + 1 < plain.len() && plain[i] != plain[i + 1] {
                    let mut swapped = plain.clone();
                    swapped.swap(i, i + 1);
                    let swapped = String::from_utf8(swapped).unwrap();
                    assert_eq!(
                        IdentificationCode::parse(&swapped),
                        Err(CodeError::Check),
                        "{swapped}"
                    );
                }
            }
        }
    }

    #[test]
    fn look_alike_letters_read_as_digits_and_bad_input_is_refused() {
        // 0 and 1 in place: O, I and L read the same.
        let code = IdentificationCode::parse("0000-0000-0000-000").err();
        assert_eq!(code, Some(CodeError::Length));
        let zeros = {
            let mut values = [0u8; DATA_CHARS + 1];
            values[DATA_CHARS] = check_value(&values[..DATA_CHARS]);
            IdentificationCode(values)
        };
        assert_eq!(
            IdentificationCode::parse(&zeros.expose().replace('0', "o")),
            Ok(zeros.clone())
        );
        assert_eq!(
            IdentificationCode::parse("ABCD-EFGH-JKMN-PQRU"),
            Err(CodeError::Character)
        );
        assert_eq!(
            IdentificationCode::parse(&format!("{}0", zeros.expose())),
            Err(CodeError::Length)
        );
        assert_eq!(IdentificationCode::parse(""), Err(CodeError::Length));
        assert_eq!(
            IdentificationCode::parse("ABCD\r\nEFGH"),
            Err(CodeError::Character)
        );
    }
}
