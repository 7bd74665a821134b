//! Ids that are random UUIDs (accounts, sessions, organisations, passkeys, clerks): one newtype each,
//! so that an account id can never be passed where an organisation id is meant.

/// Declares a newtype over a random UUID with `random`, `from_uuid`, `as_uuid`, `Display`
/// (hyphenated) and `FromStr` (any UUID spelling; anything else is [`crate::account::InvalidId`]).
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new random id (UUID version 4, from the operating system's random source).
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            pub fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::account::InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| $crate::account::InvalidId)
            }
        }
    };
}

pub(crate) use uuid_id;

/// A name as people type it, made one line: `None` when it holds a control character (other
/// than whitespace); otherwise trimmed, inner whitespace runs made one space, with its length
/// in characters. Organisation and passkey names check the length against their own bounds.
pub(crate) fn one_line_name(raw: &str) -> Option<(String, usize)> {
    if raw.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return None;
    }
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = name.chars().count();
    Some((name, chars))
}
