//! The citizen's answers: typed values keyed by field name, their JSON form (the submission
//! document's `answers`, and how drafts are kept), and how expressions read them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::definition::{Field, FieldKind};
use crate::expr::{Env, Value};

/// An uploaded file as the answers refer to it; the content is kept beside the draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub id: uuid::Uuid,
    /// The sanitised file name.
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// Hex SHA-256 of the content, so the authority can check what it received.
    pub sha256: String,
}

/// One answer, already parsed into what the field asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Text, long text, choice, e-mail, phone, postcode and IBAN answers, in canonical form.
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
    Choices(Vec<String>),
    /// Address and person-name answers by part.
    Parts(BTreeMap<String, String>),
    Files(Vec<FileRef>),
    Items(Vec<Answers>),
}

/// Answers by field name. Only visible, valid, declared fields ever get in here.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answers(BTreeMap<String, Answer>);

impl Answers {
    pub fn get(&self, name: &str) -> Option<&Answer> {
        self.0.get(name)
    }

    pub fn insert(&mut self, name: &str, answer: Answer) {
        self.0.insert(name.to_owned(), answer);
    }

    pub fn remove(&mut self, name: &str) -> Option<Answer> {
        self.0.remove(name)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Answer)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn items(&self, group: &str) -> &[Answers] {
        match self.0.get(group) {
            Some(Answer::Items(items)) => items,
            _ => &[],
        }
    }

    /// Every file referred to, in groups too.
    pub fn files(&self) -> Vec<&FileRef> {
        let mut out = Vec::new();
        for answer in self.0.values() {
            match answer {
                Answer::Files(files) => out.extend(files),
                Answer::Items(items) => items.iter().for_each(|i| out.extend(i.files())),
                _ => {}
            }
        }
        out
    }

    /// The JSON object the submission document carries, in the shape of the published schema.
    pub fn to_json(&self) -> Json {
        Json::Object(
            self.0
                .iter()
                .map(|(name, answer)| (name.clone(), answer.to_json()))
                .collect(),
        )
    }

    /// Reads answers kept as JSON back, trusting only what still fits the definition: a value
    /// whose field was removed or changed type since the draft was saved is dropped.
    pub fn from_json(fields: &[&Field], json: &Json) -> Self {
        let mut answers = Self::default();
        let Some(object) = json.as_object() else {
            return answers;
        };
        for field in fields {
            if let Some(value) = object.get(field.name.as_str())
                && let Some(answer) = Answer::from_json(&field.kind, value)
            {
                answers.insert(field.name.as_str(), answer);
            }
        }
        answers
    }
}

impl Answer {
    pub fn to_json(&self) -> Json {
        match self {
            Self::Text(s) => Json::String(s.clone()),
            Self::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
            Self::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
            Self::Bool(b) => Json::Bool(*b),
            Self::Choices(c) => Json::Array(c.iter().cloned().map(Json::String).collect()),
            Self::Parts(parts) => Json::Object(
                parts
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                    .collect::<Map<_, _>>(),
            ),
            Self::Files(files) => serde_json::to_value(files).unwrap_or(Json::Null),
            Self::Items(items) => Json::Array(items.iter().map(Answers::to_json).collect()),
        }
    }

    fn from_json(kind: &FieldKind, json: &Json) -> Option<Self> {
        Some(match kind {
            FieldKind::Number { .. } => Self::Number(json.as_f64()?),
            FieldKind::Date { .. } | FieldKind::DateOfBirth => {
                Self::Date(NaiveDate::parse_from_str(json.as_str()?, "%Y-%m-%d").ok()?)
            }
            FieldKind::YesNo => Self::Bool(json.as_bool()?),
            FieldKind::MultiChoice { .. } => Self::Choices(
                json.as_array()?
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<_>>()?,
            ),
            FieldKind::Address | FieldKind::PersonName => {
                let object = json.as_object()?;
                Self::Parts(
                    kind.parts()
                        .iter()
                        .filter_map(|part| {
                            let v = object.get(*part)?.as_str()?;
                            Some(((*part).to_owned(), v.to_owned()))
                        })
                        .collect(),
                )
            }
            FieldKind::File { .. } => Self::Files(serde_json::from_value(json.clone()).ok()?),
            FieldKind::Group { fields, .. } => {
                let fields: Vec<&Field> = fields.iter().collect();
                Self::Items(
                    json.as_array()?
                        .iter()
                        .map(|item| Answers::from_json(&fields, item))
                        .collect(),
                )
            }
            FieldKind::Text { .. }
            | FieldKind::LongText { .. }
            | FieldKind::Choice { .. }
            | FieldKind::Email
            | FieldKind::Phone
            | FieldKind::Postcode
            | FieldKind::Iban => Self::Text(json.as_str()?.to_owned()),
        })
    }

    /// How an expression sees this answer.
    fn expr_value(&self) -> Value {
        match self {
            Self::Text(s) => Value::Text(s.clone()),
            Self::Number(n) => Value::Number(*n),
            Self::Date(d) => Value::Date(*d),
            Self::Bool(b) => Value::Bool(*b),
            Self::Choices(c) => Value::List(c.clone()),
            Self::Files(f) => Value::List(f.iter().map(|f| f.name.clone()).collect()),
            Self::Items(items) => Value::Items(items.len()),
            Self::Parts(_) => Value::Missing,
        }
    }
}

/// Answers as expressions read them: inside a group entry, sibling fields by bare name first,
/// then the form's top-level answers; composite parts as `field.part`.
#[derive(Debug, Clone, Copy)]
pub struct AnswerEnv<'a> {
    pub answers: &'a Answers,
    pub item: Option<&'a Answers>,
    pub today: NaiveDate,
}

impl AnswerEnv<'_> {
    fn lookup(answers: &Answers, name: &str) -> Option<Value> {
        if let Some(answer) = answers.get(name) {
            return Some(answer.expr_value());
        }
        let (field, part) = name.split_once('.')?;
        match answers.get(field)? {
            Answer::Parts(parts) => Some(
                parts
                    .get(part)
                    .map_or(Value::Missing, |v| Value::Text(v.clone())),
            ),
            _ => None,
        }
    }
}

impl Env for AnswerEnv<'_> {
    fn value(&self, name: &str) -> Value {
        self.item
            .and_then(|item| Self::lookup(item, name))
            .or_else(|| Self::lookup(self.answers, name))
            .unwrap_or(Value::Missing)
    }

    fn today(&self) -> NaiveDate {
        self.today
    }
}
