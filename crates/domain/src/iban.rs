//! International bank account numbers, checked by their ISO 13616 checksum.

use std::fmt;

/// An IBAN in its electronic form: uppercase, without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    #[error("an IBAN starts with a two-letter country code and two check digits")]
    Shape,
    #[error("an IBAN from this country has a different length")]
    Length,
    #[error("the check digits do not match; the IBAN has a typo")]
    Checksum,
}

/// Lengths of IBANs in the SEPA countries; others are checked for 15 to 34 characters.
#[rustfmt::skip]
const LENGTHS: &[(&str, usize)] = &[
    ("AT", 20), ("BE", 16), ("BG", 22), ("CH", 21), ("CY", 28), ("CZ", 24), ("DE", 22),
    ("DK", 18), ("EE", 20), ("ES", 24), ("FI", 18), ("FR", 27), ("GB", 22), ("GR", 27),
    ("HR", 21), ("HU", 28), ("IE", 22), ("IS", 26), ("IT", 27), ("LI", 21), ("LT", 20),
    ("LU", 20), ("LV", 21), ("MC", 27), ("MT", 31), ("NL", 18), ("NO", 15), ("PL", 28),
    ("PT", 25), ("RO", 24), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27),
];

impl Iban {
    /// Accepts the printed form with spaces and lowercase letters.
    pub fn parse(raw: &str) -> Result<Self, IbanError> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = compact.as_bytes();
        if bytes.len() < 5
            || !bytes[..2].iter().all(u8::is_ascii_uppercase)
            || !bytes[2..4].iter().all(u8::is_ascii_digit)
            || !bytes.iter().all(u8::is_ascii_alphanumeric)
        {
            return Err(IbanError::Shape);
        }
        let expected = LENGTHS
            .iter()
            .find(|(country, _)| country.as_bytes() == &bytes[..2])
            .map(|(_, len)| *len);
        match expected {
            Some(len) if len != bytes.len() => return Err(IbanError::Length),
            None if !(15..=34).contains(&bytes.len()) => return Err(IbanError::Length),
            _ => {}
        }
        // Move the first four characters to the end, letters become 10..35, remainder mod 97.
        let mut remainder: u32 = 0;
        for &b in bytes[4..].iter().chain(&bytes[..4]) {
            let digits = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                u32::from(b - b'A') + 10
            };
            remainder = if digits >= 10 {
                (remainder * 100 + digits) % 97
            } else {
                (remainder * 10 + digits) % 97
            };
        }
        if remainder != 1 {
            return Err(IbanError::Checksum);
        }
        Ok(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The printed form in groups of four.
impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, chunk) in self.0.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(std::str::from_utf8(chunk).unwrap_or_default())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ibans_are_accepted_in_printed_form() {
        let iban = Iban::parse("de89 3704 0044 0532 0130 00").unwrap();
        assert_eq!(iban.as_str(), "DE89370400440532013000");
        assert_eq!(iban.to_string(), "DE89 3704 0044 0532 0130 00");
        assert!(Iban::parse("GB82WEST12345698765432").is_ok());
        assert!(Iban::parse("NL91ABNA0417164300").is_ok());
    }

    #[test]
    fn typos_and_wrong_shapes_are_refused() {
        assert_eq!(
            Iban::parse("DE89370400440532013001"),
            Err(IbanError::Checksum)
        );
        assert_eq!(Iban::parse("DE8937040044053201300"), Err(IbanError::Length));
        assert_eq!(Iban::parse("1234"), Err(IbanError::Shape));
        assert_eq!(Iban::parse("DE89-3704"), Err(IbanError::Shape));
        assert_eq!(Iban::parse(""), Err(IbanError::Shape));
    }
}
