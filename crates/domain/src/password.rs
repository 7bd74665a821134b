//! The password policy (SECURITY.md A1, A2): at least 12 and at most 1024 characters counted as
//! Unicode scalar values, never truncated, no composition rules, no control characters, not on
//! the shipped list of common and breached passwords, not the account's own e-mail address.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use crate::account::Email;

/// Fewest characters a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most characters a password may have: long enough for any passphrase, short enough that
/// hashing it costs nothing extra.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The shipped list, embedded at build time.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// Passwords that are refused because attackers try them first. Compared case-insensitively.
#[derive(Clone, Default)]
pub struct Blocklist(HashSet<String>);

impl Blocklist {
    /// The list shipped with rathaus (`crates/domain/data/common-passwords.txt`).
    pub fn shipped() -> &'static Blocklist {
        static LIST: OnceLock<Blocklist> = OnceLock::new();
        LIST.get_or_init(|| Blocklist::from_lines(COMMON_PASSWORDS))
    }

    /// One password per line; empty lines and lines starting with `#` are skipped.
    pub fn from_lines(text: &str) -> Self {
        Self(
            text.lines()
                .map(|line| line.trim_end_matches('\r'))
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_lowercase)
                .collect(),
        )
    }

    pub fn contains(&self, password: &str) -> bool {
        self.0.contains(&password.to_lowercase())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Blocklist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blocklist({} entries)", self.0.len())
    }
}

/// A password that meets the policy and may be hashed and stored. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// Checks `raw` exactly as typed (no trimming, no normalisation, no truncation).
    /// `email` is the address of the account the password is for, when known.
    pub fn parse(
        raw: &str,
        blocklist: &Blocklist,
        email: Option<&Email>,
    ) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(PasswordError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        if blocklist.contains(raw) {
            return Err(PasswordError::Common);
        }
        if email.is_some_and(|email| email.as_str().to_lowercase() == raw.to_lowercase()) {
            return Err(PasswordError::IsEmail);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// A password typed at sign-in: anything from 1 to 1024 characters, checked only against the
/// stored hash. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordAttempt(String);

impl PasswordAttempt {
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        if raw.is_empty() {
            return Err(PasswordError::TooShort);
        }
        if raw.chars().count() > MAX_PASSWORD_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<NewPassword> for PasswordAttempt {
    fn from(password: NewPassword) -> Self {
        Self(password.0)
    }
}

impl fmt::Debug for PasswordAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordAttempt(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password has fewer than 12 characters")]
    TooShort,
    #[error("the password has more than 1024 characters")]
    TooLong,
    #[error("the password contains a control character")]
    ControlCharacter,
    #[error("the password is on the list of common passwords")]
    Common,
    #[error("the password is the e-mail address")]
    IsEmail,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a2_listed_passwords_are_refused_in_any_case() {
        let list = Blocklist::shipped();
        assert!(list.len() > 300, "{list:?}");
        for listed in [
            "123456789012",
            "password1234",
            "Password1234",
            "PASSWORT1234",
            "qwertyuiopas",
            "iloveyou1234",
            "hallo1234567",
        ] {
            assert_eq!(
                NewPassword::parse(listed, list, None),
                Err(PasswordError::Common),
                "{listed}"
            );
        }
        assert!(NewPassword::parse("Kartoffelsalat mit Gurke", list, None).is_ok());
    }

    #[test]
    fn a1_length_is_counted_in_characters_and_never_truncated() {
        let list = Blocklist::default();
        assert_eq!(
            NewPassword::parse("elf zeichen", &list, None),
            Err(PasswordError::TooShort)
        );
        // 12 characters, 24 bytes: accepted.
        assert!(NewPassword::parse("ääääääääääää", &list, None).is_ok());
        let long = "x".repeat(MAX_PASSWORD_CHARS);
        let kept = NewPassword::parse(&long, &list, None).unwrap();
        assert_eq!(kept.expose().len(), MAX_PASSWORD_CHARS);
        assert_eq!(
            NewPassword::parse(&format!("{long}y"), &list, None),
            Err(PasswordError::TooLong)
        );
        // Spaces at either end are part of the password.
        assert_eq!(
            NewPassword::parse("  leerzeichen  ", &list, None)
                .unwrap()
                .expose(),
            "  leerzeichen  "
        );
    }

    #[test]
    fn a1_control_characters_and_the_own_address_are_refused() {
        let list = Blocklist::default();
        for bad in ["abcdefghijkl\0", "abcdef\nghijkl", "abcdef\tghijkl"] {
            assert_eq!(
                NewPassword::parse(bad, &list, None),
                Err(PasswordError::ControlCharacter),
                "{bad:?}"
            );
        }
        let email = Email::parse("anna.schmidt@example.org").unwrap();
        assert_eq!(
            NewPassword::parse("Anna.Schmidt@example.org", &list, Some(&email)),
            Err(PasswordError::IsEmail)
        );
        assert!(NewPassword::parse("Anna.Schmidt@example.org!", &list, Some(&email)).is_ok());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let list = Blocklist::default();
        let password = NewPassword::parse("geheim-und-lang", &list, None).unwrap();
        assert_eq!(format!("{password:?}"), "NewPassword(***)");
        let attempt = PasswordAttempt::parse("geheim").unwrap();
        assert_eq!(format!("{attempt:?}"), "PasswordAttempt(***)");
    }

    proptest! {
        #[test]
        fn a1_any_unicode_string_of_12_to_200_characters_not_on_the_list_is_accepted(
            raw in "\\PC{12,200}"
        ) {
            let list = Blocklist::shipped();
            prop_assume!(!list.contains(&raw));
            let parsed = NewPassword::parse(&raw, list, None);
            prop_assert!(parsed.is_ok(), "{:?}", parsed);
            let kept = parsed.unwrap();
            prop_assert_eq!(kept.expose(), raw.as_str());
        }

        #[test]
        fn a1_the_policy_is_exactly_length_control_characters_and_the_list(raw in any::<String>()) {
            let list = Blocklist::shipped();
            let n = raw.chars().count();
            let expected = (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n)
                && !raw.chars().any(char::is_control)
                && !list.contains(&raw);
            prop_assert_eq!(NewPassword::parse(&raw, list, None).is_ok(), expected);
        }
    }
}
