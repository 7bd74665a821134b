//! Business accounts (Unternehmenskonten): an organisation with members, each an owner or a
//! member. Services for businesses can be applied for in the organisation's name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::account::InvalidId;

crate::id::uuid_id!(
    /// The id of an organisation: a random UUID.
    OrganisationId
);

/// What a member may do. Owners invite, remove, change roles and act like members; members
/// apply in the organisation's name and see its applications. An organisation always keeps at
/// least one owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrganisationRole {
    Owner,
    Member,
}

impl OrganisationRole {
    pub const ALL: [Self; 2] = [Self::Owner, Self::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Member => "member",
        }
    }
}

impl FromStr for OrganisationRole {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(InvalidId)
    }
}

impl fmt::Display for OrganisationRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest name accepted, in characters (the commercial register allows far less).
pub const MAX_NAME_CHARS: usize = 200;

/// An organisation's name as registered: trimmed, inner whitespace runs made one space, 2 to
/// [`MAX_NAME_CHARS`] characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrganisationName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrganisationNameError {
    #[error("the name is missing")]
    Empty,
    #[error("the name is too short")]
    TooShort,
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error("the name contains a control character")]
    ControlCharacter,
}

impl OrganisationName {
    pub fn parse(raw: &str) -> Result<Self, OrganisationNameError> {
        let Some((name, chars)) = crate::id::one_line_name(raw) else {
            return Err(OrganisationNameError::ControlCharacter);
        };
        match chars {
            0 => Err(OrganisationNameError::Empty),
            1 => Err(OrganisationNameError::TooShort),
            n if n > MAX_NAME_CHARS => Err(OrganisationNameError::TooLong),
            _ => Ok(Self(name)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrganisationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            OrganisationName::parse("  Bäckerei   Müller\tGmbH ")
                .unwrap()
                .as_str(),
            "Bäckerei Müller GmbH"
        );
        assert_eq!(
            OrganisationName::parse("   "),
            Err(OrganisationNameError::Empty)
        );
        assert_eq!(
            OrganisationName::parse("X"),
            Err(OrganisationNameError::TooShort)
        );
        assert_eq!(
            OrganisationName::parse(&"a".repeat(MAX_NAME_CHARS + 1)),
            Err(OrganisationNameError::TooLong)
        );
        assert_eq!(
            OrganisationName::parse("Evil\u{1b}[31m GmbH"),
            Err(OrganisationNameError::ControlCharacter)
        );
    }

    #[test]
    fn roles_and_ids_round_trip() {
        for role in OrganisationRole::ALL {
            assert_eq!(role.as_str().parse::<OrganisationRole>(), Ok(role));
        }
        assert!("admin".parse::<OrganisationRole>().is_err());
        let id = OrganisationId::random();
        assert_eq!(id.to_string().parse::<OrganisationId>(), Ok(id));
    }

    proptest! {
        #[test]
        fn a_parsed_name_parses_to_itself(s in "\\PC{0,300}") {
            if let Ok(name) = OrganisationName::parse(&s) {
                prop_assert_eq!(OrganisationName::parse(name.as_str()), Ok(name.clone()));
                prop_assert!(name.as_str().chars().count() <= MAX_NAME_CHARS);
            }
        }
    }
}
