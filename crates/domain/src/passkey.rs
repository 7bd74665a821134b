//! Passkeys of an account, as the citizen names and lists them.

use std::fmt;

use serde::Serialize;

crate::id::uuid_id!(
    /// The id of one registered passkey in the portal (not the authenticator's credential id,
    /// which is only ever compared, never shown).
    PasskeyId
);

/// The longest name accepted, in characters.
pub const MAX_PASSKEY_NAME_CHARS: usize = 60;

/// What the citizen calls a passkey ("Laptop", "Telefon"), so that the list tells them apart:
/// trimmed, inner whitespace runs made one space, 1 to [`MAX_PASSKEY_NAME_CHARS`] characters,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PasskeyName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyNameError {
    #[error("the name is missing")]
    Empty,
    #[error("the name is longer than {MAX_PASSKEY_NAME_CHARS} characters")]
    TooLong,
    #[error("the name contains a control character")]
    ControlCharacter,
}

impl PasskeyName {
    pub fn parse(raw: &str) -> Result<Self, PasskeyNameError> {
        let Some((name, chars)) = crate::id::one_line_name(raw) else {
            return Err(PasskeyNameError::ControlCharacter);
        };
        match chars {
            0 => Err(PasskeyNameError::Empty),
            n if n > MAX_PASSKEY_NAME_CHARS => Err(PasskeyNameError::TooLong),
            _ => Ok(Self(name)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PasskeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            PasskeyName::parse("  Mein   Laptop ").unwrap().as_str(),
            "Mein Laptop"
        );
        assert_eq!(PasskeyName::parse(" \t "), Err(PasskeyNameError::Empty));
        assert_eq!(
            PasskeyName::parse(&"ü".repeat(MAX_PASSKEY_NAME_CHARS + 1)),
            Err(PasskeyNameError::TooLong)
        );
        assert!(PasskeyName::parse(&"ü".repeat(MAX_PASSKEY_NAME_CHARS)).is_ok());
        assert_eq!(
            PasskeyName::parse("Tele\u{0}fon"),
            Err(PasskeyNameError::ControlCharacter)
        );
    }

    #[test]
    fn ids_round_trip_and_reject_anything_else() {
        let id = PasskeyId::random();
        assert_eq!(id.to_string().parse::<PasskeyId>(), Ok(id));
        assert!("not-an-id".parse::<PasskeyId>().is_err());
    }
}
