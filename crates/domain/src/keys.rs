//! Identifiers of services: the national LeiKa key, or a clearly marked local key.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A 14-digit key of the national service catalogue (Leistungsschlüssel, LeiKa).
///
/// The first 8 digits name the service object (Leistungsobjekt), the last 6 the action
/// (Verrichtung) and its detail. A key ending in `000000` is the object itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeikaKey([u8; 14]);

impl LeikaKey {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The 8-digit service object (Leistungsobjekt) this key belongs to.
    pub fn object(&self) -> &str {
        &self.as_str()[..8]
    }
}

impl FromStr for LeikaKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 14 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(KeyError::Leika(truncate_for_message(s)));
        }
        let mut key = [0u8; 14];
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }
}

impl fmt::Display for LeikaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key for a service the national catalogue does not (yet) list, chosen by the tenant.
///
/// Always written with the prefix `local-` so nobody mistakes it for a LeiKa key, followed by
/// 3–60 lowercase ASCII letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalKey(String);

impl LocalKey {
    pub const PREFIX: &'static str = "local-";

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LocalKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(slug) = s.strip_prefix(Self::PREFIX) else {
            return Err(KeyError::Local(truncate_for_message(s)));
        };
        if !is_slug(slug, 3, 60) {
            return Err(KeyError::Local(truncate_for_message(s)));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for LocalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity of a service in this portal: its LeiKa key or a local key.
///
/// This is also the service's id in URLs and in the API.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ServiceKey {
    Leika(LeikaKey),
    Local(LocalKey),
}

impl ServiceKey {
    pub fn leika(&self) -> Option<LeikaKey> {
        match self {
            Self::Leika(key) => Some(*key),
            Self::Local(_) => None,
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Self::Local(_))
    }
}

impl FromStr for ServiceKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with(LocalKey::PREFIX) {
            s.parse().map(Self::Local)
        } else if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map(Self::Leika)
        } else {
            Err(KeyError::Service(truncate_for_message(s)))
        }
    }
}

impl TryFrom<String> for ServiceKey {
    type Error = KeyError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ServiceKey> for String {
    fn from(key: ServiceKey) -> Self {
        key.to_string()
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Leika(key) => key.fmt(f),
            Self::Local(key) => key.fmt(f),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("`{0}` is not a LeiKa key: it must have exactly 14 digits")]
    Leika(String),
    #[error(
        "`{0}` is not a local key: it must be `local-` followed by 3 to 60 lowercase letters, digits and single hyphens"
    )]
    Local(String),
    #[error(
        "`{0}` is not a service key: use a 14-digit LeiKa key or a local key such as `local-resident-parking`"
    )]
    Service(String),
    #[error(
        "`{0}` is not a valid identifier: use 2 to 60 lowercase letters, digits and single hyphens"
    )]
    Slug(String),
}

/// Lowercase ASCII letters and digits separated by single hyphens, no hyphen at either end.
pub fn is_slug(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Error messages quote the rejected input, but never more than a short, printable prefix.
pub(crate) fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = s
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// Declares a validated slug newtype (`[a-z0-9-]`, 2–60 characters), used for the ids that
/// operators choose in configuration: authorities, authority kinds, districts, tenants.
macro_rules! slug_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::keys::KeyError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if $crate::keys::is_slug(s, 2, 60) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err($crate::keys::KeyError::Slug($crate::keys::truncate_for_message(s)))
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::keys::KeyError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use slug_id;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn leika_keys_have_fourteen_digits() {
        let key: LeikaKey = "99001001000000".parse().unwrap();
        assert_eq!(key.as_str(), "99001001000000");
        assert_eq!(key.object(), "99001001");
        assert!("9900100100000".parse::<LeikaKey>().is_err());
        assert!("990010010000000".parse::<LeikaKey>().is_err());
        assert!("9900100100000a".parse::<LeikaKey>().is_err());
        assert!("٩9001001000000".parse::<LeikaKey>().is_err());
    }

    #[test]
    fn local_keys_are_marked_and_slugged() {
        assert!("local-resident-parking".parse::<LocalKey>().is_ok());
        assert!("resident-parking".parse::<LocalKey>().is_err());
        assert!("local-Resident".parse::<LocalKey>().is_err());
        assert!("local--x".parse::<LocalKey>().is_err());
        assert!("local-ab".parse::<LocalKey>().is_err());
        assert!("local-abc-".parse::<LocalKey>().is_err());
    }

    #[test]
    fn service_keys_round_trip_through_strings() {
        for raw in ["99001001000000", "local-dog-registration"] {
            let key: ServiceKey = raw.parse().unwrap();
            assert_eq!(key.to_string(), raw);
            let json = serde_json::to_string(&key).unwrap();
            assert_eq!(serde_json::from_str::<ServiceKey>(&json).unwrap(), key);
        }
        let err = "../etc/passwd".parse::<ServiceKey>().unwrap_err();
        assert!(err.to_string().contains("not a service key"));
    }

    #[test]
    fn error_messages_quote_only_a_printable_prefix() {
        let long = format!("x\u{0}{}", "y".repeat(10_000));
        let message = long.parse::<ServiceKey>().unwrap_err().to_string();
        assert!(message.len() < 200);
        assert!(!message.contains('\u{0}'));
    }

    proptest! {
        #[test]
        fn parsing_any_string_never_panics(s in "\\PC*") {
            let _ = s.parse::<ServiceKey>();
        }

        #[test]
        fn every_accepted_key_displays_as_its_input(s in "(local-[a-z0-9]{3,8}(-[a-z0-9]{1,8}){0,3}|[0-9]{14})") {
            let key: ServiceKey = s.parse().unwrap();
            prop_assert_eq!(key.to_string(), s);
        }
    }
}
