//! Opening a case's envelope with the node's private key, and the submission document as the
//! clerk reads it: every answer under its field's label from the service definition, in the
//! order of the form's steps, groups as tables, files as download links.
//!
//! The plaintext lives in memory for one request only: it is never written to disk or to a log.
//! Errors say what failed, never what the content was (serde's messages can quote values, so
//! they are not passed on).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use rathaus_domain::Lang;
use rathaus_forms::definition::{FieldKind, FileType};
use rathaus_forms::{Answer, Answers, Field, FileRef, FormDefinition};
use rathaus_seal::PrivateKeySet;
use rathaus_store::CaseRecord;
use serde_json::{Map, Value as Json};

use super::texts::BoTexts;

/// An opened envelope: the submission document and its attachments, in memory only.
pub(crate) struct Opened {
    pub document: Json,
    attachments: Map<String, Json>,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("this node has no keys to open envelopes")]
    NoKeys,
    #[error("the envelope does not open: {0}")]
    Seal(#[from] rathaus_seal::SealError),
    #[error("the envelope does not hold a submission document")]
    Malformed,
    #[error("opening the envelope was interrupted")]
    Interrupted,
}

/// Opens a case's envelope on the blocking pool (RSA and AES over up to tens of megabytes).
pub(crate) async fn open(
    keys: Option<&crate::DeliveryKeys>,
    case: &CaseRecord,
) -> Result<Opened, OpenError> {
    let keys = keys.ok_or(OpenError::NoKeys)?;
    let own: Arc<PrivateKeySet> = Arc::clone(&keys.own);
    let now = keys.clock.now();
    let envelope = case.envelope.clone();
    tokio::task::spawn_blocking(move || {
        let jwe = std::str::from_utf8(&envelope).map_err(|_| OpenError::Malformed)?;
        let plain = rathaus_seal::open(jwe, &own, now)?;
        let Ok(Json::Object(mut content)) = serde_json::from_slice::<Json>(&plain) else {
            return Err(OpenError::Malformed);
        };
        let document = match content.remove("document") {
            Some(document @ Json::Object(_)) => document,
            _ => return Err(OpenError::Malformed),
        };
        let attachments = match content.remove("attachments") {
            Some(Json::Object(attachments)) => attachments,
            None => Map::new(),
            Some(_) => return Err(OpenError::Malformed),
        };
        Ok(Opened {
            document,
            attachments,
        })
    })
    .await
    .map_err(|_| OpenError::Interrupted)?
}

impl Opened {
    /// The files the document lists (`attachments` of the submission document).
    pub fn files(&self) -> Vec<FileRef> {
        self.document
            .get("attachments")
            .and_then(Json::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|f| serde_json::from_value(f.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One attachment: its description from the document and its content, if both are there.
    pub fn attachment(&self, id: uuid::Uuid) -> Option<(FileRef, Vec<u8>)> {
        let file = self.files().into_iter().find(|f| f.id == id)?;
        let encoded = self.attachments.get(&id.to_string())?.as_str()?;
        let content = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        Some((file, content))
    }

    /// A top-level text of the document (`reference`, `submitted_at`, `language`, …).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.document.get(name).and_then(Json::as_str)
    }
}

/// What a file may be served as: the type the portal recognised by its content, if it is one
/// the forms accept; anything else is served as opaque bytes.
pub(crate) fn served_media_type(declared: &str) -> &'static str {
    [
        FileType::Pdf,
        FileType::Png,
        FileType::Jpeg,
        FileType::Tiff,
        FileType::Zip,
    ]
    .into_iter()
    .map(FileType::media_type)
    .find(|known| *known == declared)
    .unwrap_or("application/octet-stream")
}

pub(crate) fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// A file as a download link.
#[derive(Debug, Clone)]
pub(crate) struct FileView {
    pub href: String,
    pub name: String,
    pub size: String,
}

impl FileView {
    pub fn new(case_id: uuid::Uuid, file: &FileRef) -> Self {
        Self {
            href: format!("/back-office/cases/{case_id}/attachments/{}", file.id),
            name: file.name.clone(),
            size: human_size(file.size),
        }
    }
}

/// One step of the form, with its answered fields.
#[derive(Debug, Clone)]
pub(crate) struct SectionView {
    pub title: String,
    pub rows: Vec<RowView>,
}

/// One answered field: a text, files, or (for a repeatable group) a table.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowView {
    pub label: String,
    pub value: String,
    pub files: Vec<FileView>,
    pub group: Option<GroupView>,
}

/// A repeatable group's answers: one row per entry, one column per field.
#[derive(Debug, Clone)]
pub(crate) struct GroupView {
    pub columns: Vec<String>,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone)]
pub(crate) struct ItemView {
    pub label: String,
    pub cells: Vec<CellView>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct CellView {
    pub value: String,
    pub files: Vec<FileView>,
}

/// The answers by step, labelled from `form`; answers the form does not know (it changed since,
/// or the service is unknown here) follow under their field names, so nothing is hidden.
pub(crate) fn sections(
    opened: &Opened,
    form: Option<&FormDefinition>,
    case_id: uuid::Uuid,
    lang: Lang,
    t: &BoTexts,
) -> Vec<SectionView> {
    let empty = Map::new();
    let answers = opened
        .document
        .get("answers")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let mut used: HashSet<&str> = HashSet::new();
    let mut sections = Vec::new();
    for step in form.map(|f| f.steps.as_slice()).unwrap_or_default() {
        let mut rows: Vec<RowView> = step
            .fields
            .iter()
            .filter_map(|field| {
                let value = answers.get(field.name.as_str())?;
                used.insert(field.name.as_str());
                Some(row(field, value, case_id, lang, t))
            })
            .collect();
        // Values the portal worked out (a fee, a zone) follow the answers that decide them.
        for computed in form
            .map(|f| f.computed_on(step.id.as_str()))
            .into_iter()
            .flatten()
        {
            let Some(value) = answers.get(computed.name.as_str()) else {
                continue;
            };
            used.insert(computed.name.as_str());
            let shown = match value {
                Json::Number(n) => n
                    .as_f64()
                    .map(rathaus_forms::Answer::Number)
                    .map(|a| computed.display(&a, lang))
                    .unwrap_or_else(|| raw(value)),
                Json::String(s) => s.clone(),
                other => raw(other),
            };
            rows.push(RowView {
                label: computed.label.get(lang).to_owned(),
                value: shown,
                ..RowView::default()
            });
        }
        if !rows.is_empty() {
            sections.push(SectionView {
                title: step.title.get(lang).to_owned(),
                rows,
            });
        }
    }
    let others: Vec<RowView> = answers
        .iter()
        .filter(|(name, _)| !used.contains(name.as_str()))
        .map(|(name, value)| RowView {
            label: name.clone(),
            value: raw(value),
            ..RowView::default()
        })
        .collect();
    if !others.is_empty() {
        sections.push(SectionView {
            title: t.other_answers.to_owned(),
            rows: others,
        });
    }
    sections
}

fn row(field: &Field, value: &Json, case_id: uuid::Uuid, lang: Lang, t: &BoTexts) -> RowView {
    let label = field.label.get(lang).to_owned();
    match (&field.kind, value) {
        (
            FieldKind::Group {
                fields, item_label, ..
            },
            Json::Array(items),
        ) => RowView {
            label,
            group: Some(GroupView {
                columns: fields
                    .iter()
                    .map(|f| f.label.get(lang).to_owned())
                    .collect(),
                items: items
                    .iter()
                    .enumerate()
                    .map(|(n, item)| ItemView {
                        label: format!("{} {}", item_label.get(lang), n + 1),
                        cells: fields
                            .iter()
                            .map(|inner| {
                                item.get(inner.name.as_str())
                                    .map(|v| cell(inner, v, case_id, lang, t))
                                    .unwrap_or_default()
                            })
                            .collect(),
                    })
                    .collect(),
            }),
            ..RowView::default()
        },
        _ => {
            let CellView { value, files } = cell(field, value, case_id, lang, t);
            RowView {
                label,
                value,
                files,
                group: None,
            }
        }
    }
}

fn cell(field: &Field, value: &Json, case_id: uuid::Uuid, lang: Lang, t: &BoTexts) -> CellView {
    let mut one = Map::new();
    one.insert(field.name.as_str().to_owned(), value.clone());
    let typed = Answers::from_json(&[field], &Json::Object(one));
    match typed.get(field.name.as_str()) {
        Some(Answer::Files(files)) => CellView {
            value: String::new(),
            files: files.iter().map(|f| FileView::new(case_id, f)).collect(),
        },
        Some(Answer::Items(_)) | None => CellView {
            value: raw(value),
            files: Vec::new(),
        },
        Some(answer) => CellView {
            value: display(field, answer, lang, t),
            files: Vec::new(),
        },
    }
}

/// A value as it arrived: a text as it is, anything else as compact JSON.
fn raw(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An answer as the clerk reads it: option labels instead of their values, dates and numbers
/// in the page's language, composite answers on one line.
fn display(field: &Field, answer: &Answer, lang: Lang, t: &BoTexts) -> String {
    let option_label = |value: &str| {
        field
            .kind
            .options()
            .iter()
            .find(|o| o.value.as_str() == value)
            .map_or_else(|| value.to_owned(), |o| o.label.get(lang).to_owned())
    };
    match answer {
        Answer::Text(s) => match &field.kind {
            FieldKind::Choice { .. } => option_label(s),
            _ => s.clone(),
        },
        Answer::Number(n) => {
            let number = match lang {
                Lang::De => n.to_string().replace('.', ","),
                Lang::En => n.to_string(),
            };
            match &field.kind {
                FieldKind::Number { unit: Some(u), .. } => format!("{number} {}", u.get(lang)),
                _ => number,
            }
        }
        Answer::Date(d) => match lang {
            Lang::De => d.format("%d.%m.%Y").to_string(),
            Lang::En => d.format("%-d %B %Y").to_string(),
        },
        Answer::Bool(b) => if *b { t.yes } else { t.no }.to_owned(),
        Answer::Choices(values) => values
            .iter()
            .map(|v| option_label(v))
            .collect::<Vec<_>>()
            .join(", "),
        Answer::Parts(parts) => {
            let join = |names: &[&str]| {
                names
                    .iter()
                    .filter_map(|p| parts.get(*p).filter(|v| !v.is_empty()))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            match field.kind {
                FieldKind::Address => [
                    join(&["street", "house_number"]),
                    join(&["postcode", "city"]),
                ]
                .into_iter()
                .filter(|line| !line.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
                _ => join(field.kind.parts()),
            }
        }
        Answer::Files(files) => files
            .iter()
            .map(|f| f.name.clone())
            .collect::<Vec<_>>()
            .join(", "),
        Answer::Items(items) => items.len().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_file_types_keep_their_media_type() {
        assert_eq!(served_media_type("application/pdf"), "application/pdf");
        assert_eq!(served_media_type("text/html"), "application/octet-stream");
        assert_eq!(
            served_media_type("image/svg+xml"),
            "application/octet-stream"
        );
        assert_eq!(human_size(1), "1 KB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MB");
    }

    #[test]
    fn computed_values_show_with_their_label_after_the_answers_of_their_step() {
        let source = r#"
[form]
declaration = { de = "Ja.", en = "Yes." }
[[form.steps]]
id = "permit"
title = { de = "Ausweis", en = "Permit" }
[[form.steps.fields]]
name = "duration"
type = "choice"
label = { de = "Dauer", en = "Period" }
options = [
  { value = "one_year", label = { de = "1 Jahr", en = "1 year" } },
  { value = "two_years", label = { de = "2 Jahre", en = "2 years" } },
]
purpose = { de = "Z", en = "P" }
legal_basis = "§ 1"
[[form.computed]]
name = "fee"
type = "money"
step = "permit"
label = { de = "Gebühr", en = "Fee" }
purpose = { de = "Z", en = "P" }
legal_basis = "§ 1"
cases = [{ when = 'duration == "two_years"', value = "130.00" }]
"#;
        let form = rathaus_forms::parse_form(std::path::Path::new("x.toml"), source)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| unreachable!());
        let opened = Opened {
            document: serde_json::json!({ "answers": { "duration": "two_years", "fee": 130.0 } }),
            attachments: Map::new(),
        };
        let sections = sections(
            &opened,
            Some(&form),
            uuid::Uuid::nil(),
            Lang::De,
            &super::super::texts::DE,
        );
        assert_eq!(sections.len(), 1, "no \"other answers\" section");
        let rows: Vec<(&str, &str)> = sections[0]
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(rows, [("Dauer", "2 Jahre"), ("Gebühr", "130,00\u{a0}€")]);
    }
}
