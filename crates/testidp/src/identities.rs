//! The test identities, modelled on the test cards of the German eID (Personalausweis): names,
//! a birth name, a doctoral degree, places of birth in Germany and abroad, one minor. Every
//! person here is fictitious; Erika Mustermann is the name on the official specimen card.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

/// A postal address, as the eID card holds it (the standard OpenID Connect `address` claim).
#[derive(Debug, Clone, Copy)]
pub struct Address {
    pub street: &'static str,
    pub postal_code: &'static str,
    pub locality: &'static str,
    pub country: &'static str,
}

/// One test identity with the attributes an eID card can release.
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    /// Stable key, used in the form and (with the client) for the pseudonym.
    pub key: &'static str,
    pub given_name: &'static str,
    pub family_name: &'static str,
    pub birth_name: Option<&'static str>,
    pub doctoral_degree: Option<&'static str>,
    /// `YYYY-MM-DD`.
    pub birthdate: &'static str,
    pub place_of_birth: &'static str,
    /// ISO 3166-1 alpha-2 country of the place of birth.
    pub birth_country: &'static str,
    pub address: Address,
    /// What this identity is good for testing, German and English.
    pub note_de: &'static str,
    pub note_en: &'static str,
}

/// Every test identity the provider offers.
pub const IDENTITIES: &[Identity] = &[
    Identity {
        key: "erika",
        given_name: "Erika",
        family_name: "Mustermann",
        birth_name: Some("Gabler"),
        doctoral_degree: None,
        birthdate: "1964-08-12",
        place_of_birth: "Berlin",
        birth_country: "DE",
        address: Address {
            street: "Heidestraße 17",
            postal_code: "51147",
            locality: "Köln",
            country: "DE",
        },
        note_de: "Die Musterperson des Personalausweises, mit Geburtsname.",
        note_en: "The specimen person of the German ID card, with a birth name.",
    },
    Identity {
        key: "ludwig",
        given_name: "Ludwig",
        family_name: "Großkopf-Bäumler",
        birth_name: None,
        doctoral_degree: Some("Dr."),
        birthdate: "1951-03-01",
        place_of_birth: "München",
        birth_country: "DE",
        address: Address {
            street: "Kirchenallee 1",
            postal_code: "20099",
            locality: "Hamburg",
            country: "DE",
        },
        note_de: "Mit Doktorgrad, Doppelname mit ß und Umlaut.",
        note_en: "With a doctoral degree, a double surname with ß and an umlaut.",
    },
    Identity {
        key: "anna-lena",
        given_name: "Anna-Lena",
        family_name: "Schröder",
        birth_name: Some("Krüger"),
        doctoral_degree: None,
        birthdate: "1988-11-30",
        place_of_birth: "Lübeck",
        birth_country: "DE",
        address: Address {
            street: "Museumstraße 23",
            postal_code: "22765",
            locality: "Hamburg",
            country: "DE",
        },
        note_de: "Verheiratet, mit Geburtsname; wohnt in Altona.",
        note_en: "Married, with a birth name; lives in Altona.",
    },
    Identity {
        key: "oemer",
        given_name: "Ömer Çağrı",
        family_name: "Yılmaz",
        birth_name: None,
        doctoral_degree: None,
        birthdate: "1979-02-28",
        place_of_birth: "İzmir",
        birth_country: "TR",
        address: Address {
            street: "Tarpenbekstraße 67",
            postal_code: "20251",
            locality: "Hamburg",
            country: "DE",
        },
        note_de: "Im Ausland geboren; Zeichen außerhalb des deutschen Alphabets.",
        note_en: "Born abroad; letters beyond the German alphabet.",
    },
    Identity {
        key: "lea",
        given_name: "Lea Sophie",
        family_name: "Müller",
        birth_name: None,
        doctoral_degree: None,
        birthdate: "2011-05-17",
        place_of_birth: "Hamburg",
        birth_country: "DE",
        address: Address {
            street: "Grindelallee 100",
            postal_code: "20146",
            locality: "Hamburg",
            country: "DE",
        },
        note_de: "Minderjährig (geboren 2011).",
        note_en: "A minor (born 2011).",
    },
];

/// The identity with `key`.
pub fn find(key: &str) -> Option<&'static Identity> {
    IDENTITIES.iter().find(|i| i.key == key)
}

/// Attributes a client can ask for, each through a scope of the same name except the standard
/// `profile` (names and date of birth) and `address`.
/// Single claims a client can ask for through the `claims` request parameter.
pub const RELEASABLE_CLAIMS: &[&str] = &[
    "given_name",
    "family_name",
    "birthdate",
    "address",
    "birth_name",
    "place_of_birth",
    "doctoral_degree",
];

pub const ATTRIBUTE_SCOPES: &[&str] = &[
    "profile",
    "address",
    "birth_name",
    "place_of_birth",
    "doctoral_degree",
];

impl Identity {
    /// "Dr. Ludwig Großkopf-Bäumler".
    pub fn display_name(&self) -> String {
        match self.doctoral_degree {
            Some(degree) => format!("{degree} {} {}", self.given_name, self.family_name),
            None => format!("{} {}", self.given_name, self.family_name),
        }
    }

    /// The date of birth as Germans write it: `12.08.1964`.
    pub fn birthdate_de(&self) -> String {
        NaiveDate::parse_from_str(self.birthdate, "%Y-%m-%d").map_or_else(
            |_| self.birthdate.to_owned(),
            |d| d.format("%d.%m.%Y").to_string(),
        )
    }

    /// The address on one line: "Heidestraße 17, 51147 Köln".
    pub fn address_line(&self) -> String {
        format!(
            "{}, {} {}",
            self.address.street, self.address.postal_code, self.address.locality
        )
    }

    /// The claims released for `scopes`: only what a scope asks for (data minimisation, R4).
    /// An attribute the identity does not have (no doctoral degree) is left out.
    pub fn claims(&self, scopes: &[&str]) -> Map<String, Value> {
        self.release(scopes, &[])
    }

    /// The claims released for `scopes` and for the single claims asked for by name in the
    /// request's `claims` parameter (OpenID Connect Core 5.5), and nothing else.
    pub fn release(&self, scopes: &[&str], requested: &[&str]) -> Map<String, Value> {
        let mut claims = Map::new();
        let asked = |scope: &str| scopes.contains(&scope);
        let profile = asked("profile");
        let claim = |name: &str| requested.contains(&name);
        if profile || claim("given_name") {
            claims.insert("given_name".into(), json!(self.given_name));
        }
        if profile || claim("family_name") {
            claims.insert("family_name".into(), json!(self.family_name));
        }
        if profile || claim("birthdate") {
            claims.insert("birthdate".into(), json!(self.birthdate));
        }
        let asked = |scope: &str| scopes.contains(&scope) || requested.contains(&scope);
        if asked("address") {
            let formatted = format!(
                "{}\n{} {}",
                self.address.street, self.address.postal_code, self.address.locality
            );
            claims.insert(
                "address".into(),
                json!({
                    "formatted": formatted,
                    "street_address": self.address.street,
                    "postal_code": self.address.postal_code,
                    "locality": self.address.locality,
                    "country": self.address.country,
                }),
            );
        }
        if asked("birth_name")
            && let Some(name) = self.birth_name
        {
            claims.insert("birth_name".into(), json!(name));
        }
        if asked("place_of_birth") {
            claims.insert(
                "place_of_birth".into(),
                json!({ "locality": self.place_of_birth, "country": self.birth_country }),
            );
        }
        if asked("doctoral_degree")
            && let Some(degree) = self.doctoral_degree
        {
            claims.insert("doctoral_degree".into(), json!(degree));
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erika_is_the_specimen_card() {
        let erika = find("erika").unwrap_or_else(|| unreachable!());
        assert_eq!(erika.display_name(), "Erika Mustermann");
        assert_eq!(erika.birthdate_de(), "12.08.1964");
        assert_eq!(erika.place_of_birth, "Berlin");
        assert_eq!(erika.address_line(), "Heidestraße 17, 51147 Köln");
    }

    #[test]
    fn r4_only_the_attributes_of_the_requested_scopes_are_released() {
        let ludwig = find("ludwig").unwrap_or_else(|| unreachable!());
        assert!(ludwig.claims(&["openid"]).is_empty());
        let profile = ludwig.claims(&["openid", "profile"]);
        let mut keys: Vec<&str> = profile.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["birthdate", "family_name", "given_name"]);
        let degree = ludwig.claims(&["doctoral_degree"]);
        assert_eq!(degree["doctoral_degree"], "Dr.");
        // Erika has no degree: nothing is made up.
        let erika = find("erika").unwrap_or_else(|| unreachable!());
        assert!(erika.claims(&["doctoral_degree"]).is_empty());
        assert_eq!(erika.claims(&["birth_name"])["birth_name"], "Gabler");
        assert_eq!(erika.claims(&["address"])["address"]["locality"], "Köln");
    }

    #[test]
    fn r3_single_claims_asked_for_are_released_and_nothing_more() {
        let erika = find("erika").unwrap_or_else(|| unreachable!());
        let released = erika.release(&["openid"], &["birthdate", "address"]);
        let mut keys: Vec<&str> = released.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["address", "birthdate"]);
        assert_eq!(released["birthdate"], "1964-08-12");
        let names = erika.release(&["openid"], &["family_name"]);
        assert_eq!(names.len(), 1);
        assert_eq!(names["family_name"], "Mustermann");
        assert!(erika.release(&["openid"], &[]).is_empty());
    }

    #[test]
    fn keys_are_unique_and_there_is_a_minor() {
        let mut keys: Vec<&str> = IDENTITIES.iter().map(|i| i.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), IDENTITIES.len());
        assert!(IDENTITIES.iter().any(|i| i.birthdate > "2008-12-31"));
    }
}
