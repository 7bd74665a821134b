//! Prefill from verified attributes, only after the citizen agreed on the page (issue 4, R4).
//!
//! A field declares the attribute that may fill it (`prefill = "birth_date"`); [`apply`] fills
//! a step's declared fields from what an identity check confirmed and records a [`Mark`] per
//! filled answer. Marks travel with the draft, show on the step, the review page and the
//! receipt, and go into the submission document's `verified` part. [`keep_unchanged`] drops
//! the mark of every answer the citizen changed afterwards: a changed value is no longer the
//! verified one.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use rathaus_domain::{AttributeSource, VerifiedAttributes};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::answers::{Answer, Answers};
use crate::definition::{Attribute, FieldKind, Step};

/// Where a prefilled value was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// The German eID card, through the eID service.
    Eid,
    /// A clerk at an authority's counter, against an ID document.
    Counter,
    /// The account's e-mail address, confirmed through a link.
    Account,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eid => "eid",
            Self::Counter => "counter",
            Self::Account => "account",
        }
    }
}

impl From<AttributeSource> for Provenance {
    fn from(source: AttributeSource) -> Self {
        match source {
            AttributeSource::Eid => Self::Eid,
            AttributeSource::Counter => Self::Counter,
        }
    }
}

/// The mark of one prefilled answer: where and when it was verified, and the value as filled,
/// to notice a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub source: Provenance,
    pub verified_at: DateTime<Utc>,
    pub value: Json,
}

/// The marks of a draft, by field name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Marks(BTreeMap<String, Mark>);

impl Marks {
    pub fn get(&self, field: &str) -> Option<&Mark> {
        self.0.get(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Mark)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The submission document's `verified` part: which answers came verified from where.
    pub fn to_json(&self) -> Json {
        Json::Object(
            self.0
                .iter()
                .map(|(name, mark)| {
                    (
                        name.clone(),
                        json!({
                            "source": mark.source.as_str(),
                            "verified_at": mark.verified_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                        }),
                    )
                })
                .collect(),
        )
    }
}

/// The OpenID Connect claims that carry an attribute (empty: not on an ID card).
pub fn claims(attribute: Attribute) -> &'static [&'static str] {
    match attribute {
        Attribute::Name => &["given_name", "family_name"],
        Attribute::GivenNames => &["given_name"],
        Attribute::FamilyName => &["family_name"],
        Attribute::BirthName => &["birth_name"],
        Attribute::DateOfBirth => &["birthdate"],
        Attribute::PlaceOfBirth => &["place_of_birth"],
        Attribute::Address => &["address"],
        Attribute::Email => &[],
    }
}

/// The claims an identity check for these attributes asks for, once each, sorted.
pub fn claims_for(attributes: &[Attribute]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = attributes
        .iter()
        .flat_map(|a| claims(*a))
        .copied()
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The answer an attribute gives a field of this kind, if the check confirmed it.
pub fn value(
    attribute: Attribute,
    verified: &VerifiedAttributes,
    kind: &FieldKind,
) -> Option<Answer> {
    let text = |value: &Option<String>| value.clone().map(Answer::Text);
    match (attribute, kind) {
        (Attribute::GivenNames, FieldKind::Text { .. }) => text(&verified.given_names),
        (Attribute::FamilyName, FieldKind::Text { .. }) => text(&verified.family_name),
        (Attribute::BirthName, FieldKind::Text { .. }) => text(&verified.birth_name),
        (Attribute::PlaceOfBirth, FieldKind::Text { .. }) => text(&verified.place_of_birth),
        (Attribute::DateOfBirth, FieldKind::DateOfBirth | FieldKind::Date { .. }) => {
            verified.date_of_birth.map(Answer::Date)
        }
        (Attribute::Name, FieldKind::PersonName) => {
            let given = verified.given_names.clone()?;
            let family = verified.family_name.clone()?;
            Some(Answer::Parts(BTreeMap::from([
                ("given_names".to_owned(), given),
                ("family_name".to_owned(), family),
            ])))
        }
        (Attribute::Address, FieldKind::Address) => {
            let address = verified.address.as_ref()?;
            // The form asks for a German address; a foreign one is not filled in.
            if !(address.country.is_empty() || address.country.eq_ignore_ascii_case("DE")) {
                return None;
            }
            Some(Answer::Parts(BTreeMap::from([
                ("street".to_owned(), address.street.clone()),
                ("house_number".to_owned(), address.house_number.clone()),
                ("postcode".to_owned(), address.postcode.clone()),
                ("city".to_owned(), address.city.clone()),
            ])))
        }
        _ => None,
    }
}

/// A value to fill in, with where and when it was verified.
pub type Filled = (Answer, Provenance, DateTime<Utc>);

/// Where [`apply`] gets the value of an attribute for a field of some kind.
pub type Source<'a> = dyn Fn(Attribute, &FieldKind) -> Option<Filled> + 'a;

/// The top-level fields of a step that declare an attribute.
pub fn prefillable(step: &Step) -> impl Iterator<Item = (&crate::Field, Attribute)> {
    step.fields
        .iter()
        .filter_map(|field| field.prefill.map(|attribute| (field, attribute)))
}

/// Fills the step's declared fields from `source` and marks them; returns the names filled.
/// Called only when the citizen asked for it on the page.
pub fn apply(
    step: &Step,
    answers: &mut Answers,
    marks: &mut Marks,
    source: &Source<'_>,
) -> Vec<String> {
    let mut filled = Vec::new();
    for (field, attribute) in prefillable(step) {
        let Some((answer, provenance, verified_at)) = source(attribute, &field.kind) else {
            continue;
        };
        marks.0.insert(
            field.name.to_string(),
            Mark {
                source: provenance,
                verified_at,
                value: answer.to_json(),
            },
        );
        answers.insert(field.name.as_str(), answer);
        filled.push(field.name.to_string());
    }
    filled
}

/// Drops the mark of every answer that is no longer the value filled in (changed by the
/// citizen, or removed because the logic hides it now).
pub fn keep_unchanged(marks: &mut Marks, answers: &Answers) {
    marks
        .0
        .retain(|name, mark| answers.get(name).is_some_and(|a| a.to_json() == mark.value));
}
