//! German postcodes (Postleitzahl).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A German postcode: exactly five ASCII digits, not starting with `00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Postcode([u8; 5]);

impl Postcode {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Finds the first postcode in a free-text address such as `Musterweg 1, 22765 Hamburg`.
    pub fn find_in(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            if bytes[start].is_ascii_digit() {
                let end = bytes[start..]
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .map_or(bytes.len(), |n| start + n);
                if end - start == 5
                    && let Ok(code) = text[start..end].parse()
                {
                    return Some(code);
                }
                start = end;
            } else {
                start += 1;
            }
        }
        None
    }
}

impl FromStr for Postcode {
    type Err = InvalidPostcode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.trim().as_bytes();
        if bytes.len() != 5 || !bytes.iter().all(u8::is_ascii_digit) || bytes.starts_with(b"00") {
            return Err(InvalidPostcode);
        }
        let mut code = [0u8; 5];
        code.copy_from_slice(bytes);
        Ok(Self(code))
    }
}

impl TryFrom<String> for Postcode {
    type Error = InvalidPostcode;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Postcode> for String {
    fn from(code: Postcode) -> Self {
        code.to_string()
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a German postcode has exactly five digits, for example 20095")]
pub struct InvalidPostcode;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn postcodes_have_five_digits() {
        assert_eq!("22765".parse::<Postcode>().unwrap().as_str(), "22765");
        assert_eq!(" 20095 ".parse::<Postcode>().unwrap().as_str(), "20095");
        for bad in ["2276", "227650", "2276a", "00123", "", "２２７６５"] {
            assert!(bad.parse::<Postcode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn postcodes_are_found_in_addresses() {
        let found = Postcode::find_in("Musterweg 12, 22765 Hamburg").unwrap();
        assert_eq!(found.as_str(), "22765");
        assert_eq!(
            Postcode::find_in("Hausnummer 123456, 20095"),
            "20095".parse().ok()
        );
        assert_eq!(Postcode::find_in("Musterweg 12"), None);
    }

    proptest! {
        #[test]
        fn finding_never_panics(s in "\\PC*") {
            let _ = Postcode::find_in(&s);
        }
    }
}
