//! Accounts (Servicekonto): the e-mail address an account is known by, and its id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest address SMTP can carry (RFC 5321: a 256-octet path minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

/// An e-mail address, parsed: trimmed, at most 254 bytes, exactly one `@`, a local part without
/// spaces, control characters or the characters that would need quoting in a mail header, and a
/// domain of at least two dot-separated labels, written in lowercase.
///
/// The local part keeps its case (RFC 5321 lets a server tell `Anna` from `anna`); accounts are
/// nevertheless unique by [`Email::key`], the whole address in lowercase, because practically every
/// mail server treats both as one mailbox.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(EmailError::Malformed);
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::Malformed);
        };
        if local.is_empty()
            || local.len() > MAX_LOCAL_LEN
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || local.chars().any(|c| "\"(),:;<>[\\]".contains(c))
        {
            return Err(EmailError::Malformed);
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            !label.is_empty()
                && label.len() <= MAX_LABEL_LEN
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(EmailError::Malformed);
        }
        let address = format!("{local}@{domain}");
        if address.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key accounts are unique by: the whole address in lowercase.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An address is personal data: debug output (and so most logs) shows only its domain.
        let domain = self.0.rsplit_once('@').map_or("", |(_, d)| d);
        write!(f, "Email(…@{domain})")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the e-mail address is missing")]
    Empty,
    #[error("the e-mail address is longer than 254 characters")]
    TooLong,
    #[error("this is not an e-mail address such as name@example.org")]
    Malformed,
}

crate::id::uuid_id!(
    /// The id of an account: a random UUID, never derived from personal data. It is also the
    /// user handle of the account's passkeys.
    AccountId
);

crate::id::uuid_id!(
    /// The public id of one session, shown in the list of sessions so that one can be ended.
    /// It is not the session's secret: the cookie's token is never shown, and its digest never
    /// leaves the database.
    SessionId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct InvalidId;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_trimmed_and_their_domain_lowercased() {
        let email = Email::parse("  Anna.Schmidt@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Anna.Schmidt@example.org");
        assert_eq!(email.key(), "anna.schmidt@example.org");
        assert_eq!(format!("{email:?}"), "Email(…@example.org)");
        assert!(Email::parse("jörg@müller.de").is_ok());
        assert!(Email::parse("a+tag@sub.example.de").is_ok());
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "anna",
            "anna@",
            "@example.org",
            "anna@example",
            "anna@@example.org",
            "an@na@example.org",
            "an na@example.org",
            "anna@exa mple.org",
            "anna@example.org\r\nBcc: x@y.de",
            "anna\0@example.org",
            "<anna@example.org>",
            "anna@-example.org",
            "anna@example..org",
            ".anna@example.org",
            "an..na@example.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.org", "a".repeat(64));
        assert!(Email::parse(&long).is_ok());
        let too_long = format!("a@{}.org", "b".repeat(250));
        assert_eq!(Email::parse(&too_long), Err(EmailError::TooLong));
    }

    #[test]
    fn account_ids_round_trip() {
        let id = AccountId::random();
        assert_eq!(id.to_string().parse::<AccountId>(), Ok(id));
        assert!("nope".parse::<AccountId>().is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_results_parse_again(s in "\\PC{0,300}") {
            if let Ok(email) = Email::parse(&s) {
                prop_assert!(email.as_str().len() <= MAX_EMAIL_LEN);
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
            }
        }
    }
}
