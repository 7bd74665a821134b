//! The validated form of an online service: steps, fields, logic and rules.
//!
//! These types are built only by [`crate::parse`], which checks every reference and every
//! expression when the definition is loaded; the engine can therefore rely on them.

use std::fmt;

use rathaus_domain::Text;
use serde::Serialize;

use crate::computed::ComputedValue;
use crate::expr::{Expr, Type};

/// The name of a step or field: `[a-z][a-z0-9_]*`, at most 40 bytes. Field names are what the
/// submission document and the expressions use, so they are stable identifiers, not labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX_LEN: usize = 40;

    pub fn parse(s: &str) -> Option<Self> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        (first_ok && rest_ok && s.len() <= Self::MAX_LEN).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A whole form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormDefinition {
    pub steps: Vec<Step>,
    /// What the citizen confirms on the review page before submitting.
    pub declaration: Text,
    /// How long an unfinished draft is kept (R4); 30 days unless the service says otherwise.
    pub draft_retention_days: u32,
    /// The address field whose answer decides the responsible authority (the plot of a
    /// building permit); without it, the first address of the form that lies in the area.
    pub responsible_address: Option<Name>,
    /// Values the portal works out from the answers (a fee, a zone), in declaration order.
    pub computed: Vec<ComputedValue>,
}

impl FormDefinition {
    pub fn step(&self, id: &str) -> Option<(usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.id.as_str() == id)
    }

    /// Every top-level field with the step it is on.
    pub fn fields(&self) -> impl Iterator<Item = (&Step, &Field)> {
        self.steps
            .iter()
            .flat_map(|step| step.fields.iter().map(move |f| (step, f)))
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields()
            .map(|(_, f)| f)
            .find(|f| f.name.as_str() == name)
    }

    /// Every attribute the form declares for prefill, once each, in a stable order: what an
    /// identity check for this form may ask for (R3: requested ⊆ declared).
    pub fn prefill_attributes(&self) -> Vec<Attribute> {
        let mut out: Vec<Attribute> = self.fields().filter_map(|(_, f)| f.prefill).collect();
        out.sort_by_key(|a| *a as u8);
        out.dedup();
        out
    }

    /// The computed values shown on a step.
    pub fn computed_on<'a>(&'a self, step: &'a str) -> impl Iterator<Item = &'a ComputedValue> {
        self.computed
            .iter()
            .filter(move |c| c.step.as_str() == step)
    }

    /// Whether any step asks for files (the step page then posts multipart).
    pub fn has_uploads(&self) -> bool {
        self.fields().any(|(_, f)| f.kind.has_uploads())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: Name,
    pub title: Text,
    pub intro: Option<Text>,
    /// The step is shown only when this holds.
    pub when: Option<Expr>,
    /// Information shown above the fields, each only when its condition holds.
    pub notes: Vec<Note>,
    pub fields: Vec<Field>,
}

/// An information block on a step (`[[form.steps.notes]]`): text for the citizen, never an
/// input; nothing of it is posted, stored or sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub kind: NoteKind,
    pub title: Option<Text>,
    /// Paragraphs separated by an empty line.
    pub text: Text,
    /// Shown only when this holds; it may read answers of earlier steps, which are known when
    /// the page is drawn (the page works without JavaScript).
    pub when: Option<Expr>,
}

/// How a note is shown: plain information, or a warning that stands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Info,
    Warning,
}

impl Step {
    pub fn has_uploads(&self) -> bool {
        self.fields.iter().any(|f| f.kind.has_uploads())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: Name,
    pub label: Text,
    pub hint: Option<Text>,
    pub kind: FieldKind,
    pub required: Requirement,
    /// The field is shown (and its answer kept) only when this holds.
    pub when: Option<Expr>,
    pub checks: Vec<Check>,
    /// Why the authority needs the answer (R4); shown on the page.
    pub purpose: Text,
    /// The legal basis for collecting it (R3).
    pub legal_basis: String,
    /// A verified account attribute that may fill the field, with the citizen's consent.
    pub prefill: Option<Attribute>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    Optional,
    Required,
    /// Required when the expression holds.
    RequiredWhen(Expr),
}

/// A rule over the answers that must hold, with the message shown at the field otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub rule: Expr,
    pub message: Text,
}

/// A verified attribute from the Servicekonto that can prefill a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// Given and family names together, for a `person_name` field.
    Name,
    GivenNames,
    FamilyName,
    BirthName,
    DateOfBirth,
    PlaceOfBirth,
    Address,
    Email,
}

/// A file type recognised by its content (magic bytes), never by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
    Tiff,
    /// ZIP archives, refused unless a service lists them (U1).
    Zip,
}

impl FileType {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Tiff => "image/tiff",
            Self::Zip => "application/zip",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Tiff => "tif",
            Self::Zip => "zip",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::Tiff => "TIFF",
            Self::Zip => "ZIP",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceOption {
    pub value: Name,
    pub label: Text,
}

/// A regular expression the whole answer must match; `regex` runs in linear time, so an
/// author's pattern cannot be turned into a denial of service.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub regex: regex::Regex,
    pub message: Text,
}

/// Patterns compare by their source, which is all the definitions need.
impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_str() == other.regex.as_str() && self.message == other.message
    }
}

/// What a field asks for. Composite kinds (address, person name) have fixed parts that
/// expressions reach as `field.part`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text {
        min_length: usize,
        max_length: usize,
        pattern: Option<Pattern>,
    },
    LongText {
        max_length: usize,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
        /// Digits allowed after the decimal separator; 0 means whole numbers.
        decimals: u8,
        unit: Option<Text>,
    },
    Date {
        /// Earliest and latest dates as days relative to today (for example `-36500`, `0`).
        min_days: Option<i64>,
        max_days: Option<i64>,
    },
    YesNo,
    Choice {
        options: Vec<ChoiceOption>,
    },
    MultiChoice {
        options: Vec<ChoiceOption>,
        min: usize,
        max: usize,
    },
    Email,
    Phone,
    Postcode,
    Address,
    Iban,
    PersonName,
    DateOfBirth,
    File {
        accept: Vec<FileType>,
        max_bytes: u64,
        max_files: usize,
        /// Largest image accepted, in pixels (width × height), against decompression bombs.
        max_pixels: u64,
    },
    Group {
        fields: Vec<Field>,
        min_items: usize,
        max_items: usize,
        /// How one entry is called ("Person"), numbered on the page.
        item_label: Text,
    },
}

/// The parts of an address answer, in the order they are asked.
pub const ADDRESS_PARTS: [&str; 4] = ["street", "house_number", "postcode", "city"];
/// The parts of a person-name answer.
pub const NAME_PARTS: [&str; 2] = ["given_names", "family_name"];

impl FieldKind {
    pub fn has_uploads(&self) -> bool {
        match self {
            Self::File { .. } => true,
            Self::Group { fields, .. } => fields.iter().any(|f| f.kind.has_uploads()),
            _ => false,
        }
    }

    /// The short name service authors write in `type = "…"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::LongText { .. } => "long_text",
            Self::Number { .. } => "number",
            Self::Date { .. } => "date",
            Self::YesNo => "yes_no",
            Self::Choice { .. } => "choice",
            Self::MultiChoice { .. } => "multi_choice",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Postcode => "postcode",
            Self::Address => "address",
            Self::Iban => "iban",
            Self::PersonName => "person_name",
            Self::DateOfBirth => "date_of_birth",
            Self::File { .. } => "file",
            Self::Group { .. } => "group",
        }
    }

    /// The parts a composite answer has.
    pub fn parts(&self) -> &'static [&'static str] {
        match self {
            Self::Address => &ADDRESS_PARTS,
            Self::PersonName => &NAME_PARTS,
            _ => &[],
        }
    }

    /// How expressions see the answer (`None` for composites, which are reached by part).
    pub fn expr_type(&self) -> Option<Type> {
        Some(match self {
            Self::Text { .. }
            | Self::LongText { .. }
            | Self::Choice { .. }
            | Self::Email
            | Self::Phone
            | Self::Postcode
            | Self::Iban => Type::Text,
            Self::Number { .. } => Type::Number,
            Self::Date { .. } | Self::DateOfBirth => Type::Date,
            Self::YesNo => Type::Bool,
            Self::MultiChoice { .. } | Self::File { .. } => Type::List,
            Self::Group { .. } => Type::Group,
            Self::Address | Self::PersonName => return None,
        })
    }

    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            Self::Choice { options } | Self::MultiChoice { options, .. } => options,
            _ => &[],
        }
    }
}
