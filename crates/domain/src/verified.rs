//! Verified attributes of a person: what an identity check confirmed (the eID card through the
//! eID service, or a clerk at an authority's counter), used to prefill forms with the
//! citizen's consent (issue 4, R4).
//!
//! The portal keeps them for the current session only, unless the citizen ticks "remember for
//! prefill"; then they are kept with the account, sealed at rest, until the citizen deletes
//! them or the account. Whoever produces them builds a [`VerifiedAttributes`] with the
//! attributes the check really confirmed and nothing else, and hands it to the store
//! (`Store::save_verified_attributes`).

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where verified attributes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeSource {
    /// Read from the German eID card through the eID service (OpenID Connect).
    Eid,
    /// Checked by a clerk against an ID document at an authority's counter.
    Counter,
}

impl AttributeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eid => "eid",
            Self::Counter => "counter",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "eid" => Some(Self::Eid),
            "counter" => Some(Self::Counter),
            _ => None,
        }
    }
}

impl fmt::Display for AttributeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A postal address as an ID document holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedAddress {
    pub street: String,
    /// Empty when the document holds street and number as one line that cannot be split.
    pub house_number: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

impl VerifiedAddress {
    /// Splits an address line as the eID card gives it ("Heidestraße 17", "Am Markt 3a")
    /// into street and house number.
    pub fn from_line(line: &str, postcode: &str, city: &str, country: &str) -> Self {
        let line = line.trim();
        let (street, number) = match line.rsplit_once(' ') {
            Some((street, number))
                if number.starts_with(|c: char| c.is_ascii_digit())
                    && !street.trim().is_empty() =>
            {
                (street.trim(), number)
            }
            _ => (line, ""),
        };
        Self {
            street: street.to_owned(),
            house_number: number.to_owned(),
            postcode: postcode.trim().to_owned(),
            city: city.trim().to_owned(),
            country: country.trim().to_owned(),
        }
    }
}

/// The attributes one identity check confirmed. Each is optional: a check confirms only what
/// was asked for (R3: requested ⊆ declared) and what the document holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedAttributes {
    pub source: AttributeSource,
    /// When the check took place.
    pub verified_at: DateTime<Utc>,
    #[serde(default)]
    pub given_names: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub birth_name: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default)]
    pub place_of_birth: Option<String>,
    #[serde(default)]
    pub address: Option<VerifiedAddress>,
}

/// The longest text attribute accepted; an ID document holds far less.
pub const MAX_ATTRIBUTE_LEN: usize = 200;

impl VerifiedAttributes {
    /// Attributes of a check with nothing confirmed yet.
    pub fn new(source: AttributeSource, verified_at: DateTime<Utc>) -> Self {
        Self {
            source,
            verified_at,
            given_names: None,
            family_name: None,
            birth_name: None,
            date_of_birth: None,
            place_of_birth: None,
            address: None,
        }
    }

    /// Whether nothing was confirmed.
    pub fn is_empty(&self) -> bool {
        self.given_names.is_none()
            && self.family_name.is_none()
            && self.birth_name.is_none()
            && self.date_of_birth.is_none()
            && self.place_of_birth.is_none()
            && self.address.is_none()
    }

    /// Drops texts that are empty, too long or hold control characters: whatever a provider
    /// or a clerk sent, only plausible values are used to fill a form.
    pub fn sanitised(mut self) -> Self {
        fn ok(value: &str) -> bool {
            !value.trim().is_empty()
                && value.chars().count() <= MAX_ATTRIBUTE_LEN
                && !value.chars().any(char::is_control)
        }
        for slot in [
            &mut self.given_names,
            &mut self.family_name,
            &mut self.birth_name,
            &mut self.place_of_birth,
        ] {
            if slot.as_deref().is_some_and(|v| !ok(v)) {
                *slot = None;
            }
        }
        if let Some(address) = &self.address {
            let parts = [
                &address.street,
                &address.postcode,
                &address.city,
                &address.country,
            ];
            let number_ok = address.house_number.is_empty() || ok(&address.house_number);
            if !parts.iter().all(|p| ok(p)) || !number_ok {
                self.address = None;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_line_splits_into_street_and_number() {
        let a = VerifiedAddress::from_line("Heidestraße 17", "51147", "Köln", "DE");
        assert_eq!(
            (a.street.as_str(), a.house_number.as_str()),
            ("Heidestraße", "17")
        );
        let b = VerifiedAddress::from_line("Am Alten Markt 3a", "20095", "Hamburg", "DE");
        assert_eq!(
            (b.street.as_str(), b.house_number.as_str()),
            ("Am Alten Markt", "3a")
        );
        let c = VerifiedAddress::from_line("Hauptstraße", "20095", "Hamburg", "DE");
        assert_eq!(
            (c.street.as_str(), c.house_number.as_str()),
            ("Hauptstraße", "")
        );
    }

    #[test]
    fn implausible_values_are_dropped() {
        let now = DateTime::<Utc>::default();
        let mut attributes = VerifiedAttributes::new(AttributeSource::Eid, now);
        attributes.given_names = Some("Erika".into());
        attributes.family_name = Some("Muster\u{0}mann".into());
        attributes.birth_name = Some("   ".into());
        attributes.address = Some(VerifiedAddress::from_line("", "51147", "Köln", "DE"));
        let clean = attributes.sanitised();
        assert_eq!(clean.given_names.as_deref(), Some("Erika"));
        assert_eq!(clean.family_name, None);
        assert_eq!(clean.birth_name, None);
        assert_eq!(clean.address, None);
        assert!(!clean.is_empty());
        assert_eq!(
            AttributeSource::parse("counter"),
            Some(AttributeSource::Counter)
        );
        assert_eq!(AttributeSource::parse("x"), None);
    }
}
