//! Turning a step of a form, the answers and the messages into what the templates show.

use std::collections::BTreeMap;

use rathaus_domain::Lang;
use rathaus_forms::definition::{Field, FieldKind, Requirement};
use rathaus_forms::prefill::{Mark, Marks, Provenance};
use rathaus_forms::{Answer, Answers, FieldError, FormDefinition, Step};

use crate::form_texts::FormTexts;

/// One input part of an address or name.
#[derive(Debug)]
pub(crate) struct PartView {
    pub input: String,
    pub id: String,
    pub label: &'static str,
    pub value: String,
    pub autocomplete: &'static str,
    pub width: &'static str,
}

#[derive(Debug)]
pub(crate) struct OptionView {
    pub value: String,
    pub label: String,
    pub checked: bool,
    pub id: String,
}

#[derive(Debug)]
pub(crate) struct FileView {
    pub name: String,
    pub size: String,
    pub remove_action: String,
}

/// A non-group field.
#[derive(Debug)]
pub(crate) struct FieldView {
    /// How to render: text, textarea, radio, checkbox, parts, file.
    pub widget: &'static str,
    /// `type` of an `<input>`: text, email, tel, date, number.
    pub input_type: &'static str,
    pub input: String,
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub purpose: String,
    pub legal_basis: String,
    pub optional: bool,
    pub value: String,
    pub error: Option<String>,
    pub options: Vec<OptionView>,
    pub parts: Vec<PartView>,
    pub files: Vec<FileView>,
    pub accept: String,
    pub file_rules: String,
    pub unit: Option<String>,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
    pub max_length: usize,
    /// "Verified: eID, 23.11.2026" when the answer was prefilled and is unchanged.
    pub verified: Option<String>,
}

impl FieldView {
    /// The ids that describe the input: hint, verified mark, message, and why we ask.
    pub fn described(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.verified.is_some() {
            ids.push(format!("{}-verified", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.push(format!("{}-purpose", self.id));
        ids.join(" ")
    }
}

#[derive(Debug)]
pub(crate) struct ItemView {
    pub title: String,
    pub fields: Vec<FieldView>,
    pub remove_action: Option<String>,
}

/// A field on a step: either one field or a repeatable group.
#[derive(Debug)]
pub(crate) struct BlockView {
    pub field: Option<FieldView>,
    pub group: Option<GroupView>,
}

#[derive(Debug)]
pub(crate) struct GroupView {
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub purpose: String,
    pub legal_basis: String,
    pub count_input: String,
    pub count: usize,
    pub items: Vec<ItemView>,
    pub add_action: Option<String>,
    pub add_label: String,
    pub error: Option<String>,
}

#[derive(Debug)]
pub(crate) struct ErrorView {
    pub anchor: String,
    pub message: String,
}

/// The HTML id of an input.
pub(crate) fn input_id(input: &str) -> String {
    format!("f-{}", input.replace('.', "-"))
}

/// What the page shows in an input: what was just posted (so nothing typed is lost when a
/// message appears), or else the stored answer.
pub(crate) struct Values<'a> {
    pub raw: Option<&'a BTreeMap<String, Vec<String>>>,
    pub lang: Lang,
}

impl Values<'_> {
    fn posted(&self, input: &str) -> Option<Vec<String>> {
        self.raw
            .map(|raw| raw.get(input).cloned().unwrap_or_default())
    }
}

pub(crate) fn errors_view(step: &Step, errors: &[FieldError], lang: Lang) -> Vec<ErrorView> {
    errors
        .iter()
        .map(|e| ErrorView {
            anchor: anchor(step, &e.input),
            message: e.message.get(lang).to_owned(),
        })
        .collect()
}

/// Where the summary's link for a message leads: the input, or for an address or a name
/// (`owner_name`, `persons.0.other_guardian_address`) its first part, as the page has no
/// element for the whole.
fn anchor(step: &Step, input: &str) -> String {
    let names: Vec<&str> = input.split('.').collect();
    let field = match names.as_slice() {
        [name] => step.fields.iter().find(|f| f.name.as_str() == *name),
        [group, _, name] => step
            .fields
            .iter()
            .filter(|f| f.name.as_str() == *group)
            .find_map(|f| match &f.kind {
                FieldKind::Group { fields, .. } => {
                    fields.iter().find(|inner| inner.name.as_str() == *name)
                }
                _ => None,
            }),
        _ => None,
    };
    match field.and_then(|f| f.kind.parts().first()) {
        Some(part) => input_id(&format!("{input}.{part}")),
        None => input_id(input),
    }
}

fn error_for(errors: &[FieldError], input: &str, lang: Lang) -> Option<String> {
    errors
        .iter()
        .find(|e| e.input == input)
        .map(|e| e.message.get(lang).to_owned())
}

pub(crate) fn step_blocks(
    step: &Step,
    answers: &Answers,
    marks: &Marks,
    values: &Values<'_>,
    errors: &[FieldError],
    t: &FormTexts,
) -> Vec<BlockView> {
    let lang = values.lang;
    step.fields
        .iter()
        .map(|field| match &field.kind {
            FieldKind::Group {
                fields,
                min_items,
                max_items,
                item_label,
            } => {
                let items = answers.items(field.name.as_str());
                let shown_count = values
                    .raw
                    .and_then(|r| r.get(&format!("{}.count", field.name)))
                    .and_then(|v| v.first())
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(items.len())
                    .max(*min_items)
                    .max(1)
                    .min(*max_items);
                let empty = Answers::default();
                let item_views = (0..shown_count)
                    .map(|i| {
                        let item = items.get(i).unwrap_or(&empty);
                        let prefix = format!("{}.{i}.", field.name);
                        ItemView {
                            title: format!("{} {}", item_label.get(lang), i + 1),
                            fields: fields
                                .iter()
                                .map(|inner| field_view(inner, &prefix, item, values, errors, t))
                                .collect(),
                            remove_action: (shown_count > *min_items.max(&1))
                                .then(|| format!("remove:{}:{i}", field.name)),
                        }
                    })
                    .collect();
                let count_input = format!("{}.count", field.name);
                BlockView {
                    field: None,
                    group: Some(GroupView {
                        id: input_id(&count_input),
                        label: field.label.get(lang).to_owned(),
                        hint: field.hint.as_ref().map(|h| h.get(lang).to_owned()),
                        purpose: field.purpose.get(lang).to_owned(),
                        legal_basis: field.legal_basis.clone(),
                        error: error_for(errors, &count_input, lang),
                        count_input,
                        count: shown_count,
                        items: item_views,
                        add_action: (shown_count < *max_items)
                            .then(|| format!("add:{}", field.name)),
                        add_label: format!("{} {}", t.add_item, item_label.get(lang)),
                    }),
                }
            }
            _ => {
                let mut view = field_view(field, "", answers, values, errors, t);
                // A value typed over the filled one is not the verified one any more; the
                // mark shows only while the page shows the stored answer.
                if values.raw.is_none() {
                    view.verified = marks
                        .get(field.name.as_str())
                        .map(|mark| verified_label(mark, t, lang));
                }
                BlockView {
                    field: Some(view),
                    group: None,
                }
            }
        })
        .collect()
}

fn field_view(
    field: &Field,
    prefix: &str,
    holder: &Answers,
    values: &Values<'_>,
    errors: &[FieldError],
    t: &FormTexts,
) -> FieldView {
    let lang = values.lang;
    let input = format!("{prefix}{}", field.name);
    let answer = holder.get(field.name.as_str());
    let posted = values.posted(&input);
    let value = match &posted {
        Some(v) => v.first().cloned().unwrap_or_default(),
        None => answer.map(|a| input_value(a, lang)).unwrap_or_default(),
    };
    let chosen: Vec<String> = match (&posted, answer) {
        (Some(v), _) => v.clone(),
        (None, Some(Answer::Choices(c))) => c.clone(),
        (None, Some(Answer::Text(s))) => vec![s.clone()],
        (None, Some(Answer::Bool(b))) => vec![if *b { "yes" } else { "no" }.to_owned()],
        _ => Vec::new(),
    };
    let option_base = input.clone();
    let option = |value: &str, label: String| OptionView {
        checked: chosen.iter().any(|c| c == value),
        id: input_id(&format!("{option_base}.{value}")),
        value: value.to_owned(),
        label,
    };
    let mut view = FieldView {
        widget: "text",
        input_type: "text",
        id: input_id(&input),
        label: field.label.get(lang).to_owned(),
        hint: field.hint.as_ref().map(|h| h.get(lang).to_owned()),
        purpose: field.purpose.get(lang).to_owned(),
        legal_basis: field.legal_basis.clone(),
        optional: matches!(field.required, Requirement::Optional),
        value,
        error: error_for(errors, &input, lang),
        options: Vec::new(),
        parts: Vec::new(),
        files: Vec::new(),
        accept: String::new(),
        file_rules: String::new(),
        unit: None,
        autocomplete: "off",
        inputmode: "",
        max_length: 200,
        verified: None,
        input,
    };
    match &field.kind {
        FieldKind::Text { max_length, .. } => view.max_length = *max_length,
        FieldKind::LongText { max_length } => {
            view.widget = "textarea";
            view.max_length = *max_length;
        }
        FieldKind::Number { unit, decimals, .. } => {
            view.inputmode = if *decimals == 0 { "numeric" } else { "decimal" };
            view.unit = unit.as_ref().map(|u| u.get(lang).to_owned());
            view.max_length = 20;
        }
        FieldKind::Date { .. } => {
            view.input_type = "date";
            view.max_length = 10;
        }
        FieldKind::DateOfBirth => {
            view.input_type = "date";
            view.autocomplete = "bday";
            view.max_length = 10;
        }
        FieldKind::YesNo => {
            view.widget = "radio";
            view.options = vec![
                option("yes", t.yes.to_owned()),
                option("no", t.no.to_owned()),
            ];
        }
        FieldKind::Choice { options } => {
            view.widget = "radio";
            view.options = options
                .iter()
                .map(|o| option(o.value.as_str(), o.label.get(lang).to_owned()))
                .collect();
        }
        FieldKind::MultiChoice { options, .. } => {
            view.widget = "checkbox";
            view.options = options
                .iter()
                .map(|o| option(o.value.as_str(), o.label.get(lang).to_owned()))
                .collect();
        }
        FieldKind::Email => {
            view.input_type = "email";
            view.autocomplete = "email";
        }
        FieldKind::Phone => {
            view.input_type = "tel";
            view.autocomplete = "tel";
            view.max_length = 40;
        }
        FieldKind::Postcode => {
            view.autocomplete = "postal-code";
            view.inputmode = "numeric";
            view.max_length = 5;
        }
        FieldKind::Iban => {
            view.max_length = 42;
        }
        FieldKind::Address | FieldKind::PersonName => {
            view.widget = "parts";
            let parts = match answer {
                Some(Answer::Parts(p)) => Some(p),
                _ => None,
            };
            view.parts = field
                .kind
                .parts()
                .iter()
                .map(|part| {
                    let part_input = format!("{}.{part}", view.input);
                    let (label, autocomplete, width) = match *part {
                        "street" => (t.street, "address-line1", "wide"),
                        "house_number" => (t.house_number, "off", "narrow"),
                        "postcode" => (t.postcode, "postal-code", "narrow"),
                        "city" => (t.city, "address-level2", "wide"),
                        "given_names" => (t.given_names, "given-name", "wide"),
                        _ => (t.family_name, "family-name", "wide"),
                    };
                    let value = match values.posted(&part_input) {
                        Some(v) => v.first().cloned().unwrap_or_default(),
                        None => parts
                            .and_then(|p| p.get(*part))
                            .cloned()
                            .unwrap_or_default(),
                    };
                    PartView {
                        id: input_id(&part_input),
                        input: part_input,
                        label,
                        value,
                        autocomplete,
                        width,
                    }
                })
                .collect();
            // The summary links to the first part.
            view.id = view.parts.first().map(|p| p.id.clone()).unwrap_or(view.id);
        }
        FieldKind::File {
            accept,
            max_bytes,
            max_files,
            ..
        } => {
            view.widget = "file";
            view.accept = accept
                .iter()
                .map(|a| format!(".{},{}", a.extension(), a.media_type()))
                .collect::<Vec<_>>()
                .join(",");
            view.file_rules = format!(
                "{}: {}; {}",
                t.file_types,
                accept
                    .iter()
                    .map(|a| a.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                t.file_max
                    .replace("{size}", &(max_bytes / (1024 * 1024)).to_string())
                    .replace("{count}", &max_files.to_string())
            );
            if let Some(Answer::Files(files)) = answer {
                view.files = files
                    .iter()
                    .map(|f| FileView {
                        name: f.name.clone(),
                        size: human_size(f.size),
                        remove_action: format!("remove-file:{}:{}", view.input, f.id),
                    })
                    .collect();
            }
        }
        FieldKind::Group { .. } => {}
    }
    view
}

/// An answer as an input's `value`.
fn input_value(answer: &Answer, lang: Lang) -> String {
    match answer {
        Answer::Text(s) => s.clone(),
        Answer::Number(n) => match lang {
            Lang::De => n.to_string().replace('.', ","),
            Lang::En => n.to_string(),
        },
        Answer::Date(d) => d.format("%Y-%m-%d").to_string(),
        Answer::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        _ => String::new(),
    }
}

pub(crate) fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// An answer as the review page and the receipt show it.
pub(crate) fn display(field: &Field, answer: &Answer, lang: Lang, t: &FormTexts) -> String {
    match answer {
        Answer::Text(s) => match &field.kind {
            FieldKind::Choice { options } => options
                .iter()
                .find(|o| o.value.as_str() == s)
                .map_or_else(|| s.clone(), |o| o.label.get(lang).to_owned()),
            FieldKind::Iban => rathaus_domain::Iban::parse(s)
                .map(|i| i.to_string())
                .unwrap_or_else(|_| s.clone()),
            _ => s.clone(),
        },
        Answer::Number(n) => {
            // As many decimals as the field allows (3200,50 €, not 3200,5), with the
            // language's decimal separator.
            let decimals = match &field.kind {
                FieldKind::Number { decimals, .. } => usize::from(*decimals),
                _ => 0,
            };
            let plain = format!("{n:.decimals$}");
            let number = match lang {
                Lang::De => plain.replace('.', ","),
                Lang::En => plain,
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
            .map(|v| {
                field
                    .kind
                    .options()
                    .iter()
                    .find(|o| o.value.as_str() == v)
                    .map_or_else(|| v.clone(), |o| o.label.get(lang).to_owned())
            })
            .collect::<Vec<_>>()
            .join(", "),
        Answer::Parts(parts) => {
            let get = |k: &str| parts.get(k).map(String::as_str).unwrap_or_default();
            match field.kind {
                FieldKind::Address => format!(
                    "{} {}, {} {}",
                    get("street"),
                    get("house_number"),
                    get("postcode"),
                    get("city")
                ),
                _ => format!("{} {}", get("given_names"), get("family_name")),
            }
        }
        Answer::Files(files) => files
            .iter()
            .map(|f| format!("{} ({})", f.name, human_size(f.size)))
            .collect::<Vec<_>>()
            .join(", "),
        Answer::Items(items) => items.len().to_string(),
    }
}

/// An information block of a step, as shown.
#[derive(Debug)]
pub(crate) struct NoteView {
    /// `info` or `warning`, for the KERN alert's modifier class.
    pub kind: &'static str,
    pub title: Option<String>,
    pub paragraphs: Vec<String>,
}

/// The notes of `step` whose conditions hold for the answers so far.
pub(crate) fn note_views(
    step: &Step,
    answers: &Answers,
    lang: Lang,
    today: chrono::NaiveDate,
) -> Vec<NoteView> {
    let env = rathaus_forms::AnswerEnv {
        answers,
        item: None,
        today,
    };
    step.notes
        .iter()
        .filter(|note| note.when.as_ref().is_none_or(|when| when.holds(&env)))
        .map(|note| NoteView {
            kind: match note.kind {
                rathaus_forms::definition::NoteKind::Info => "info",
                rathaus_forms::definition::NoteKind::Warning => "warning",
            },
            title: note.title.as_ref().map(|t| t.get(lang).to_owned()),
            paragraphs: note
                .text
                .get(lang)
                .split("\n\n")
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        })
        .collect()
}

/// A computed value on its step: the value, or why there is none yet.
#[derive(Debug)]
pub(crate) struct ComputedView {
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub value: Option<String>,
    /// Shown instead of a value: "determined once …", or the lookup's "no zone here".
    pub missing: String,
    pub error: bool,
}

pub(crate) fn computed_views(
    form: &FormDefinition,
    step: &Step,
    answers: &Answers,
    errors: &[FieldError],
    t: &FormTexts,
    lang: Lang,
    today: chrono::NaiveDate,
) -> Vec<ComputedView> {
    let env = rathaus_forms::AnswerEnv {
        answers,
        item: None,
        today,
    };
    form.computed_on(step.id.as_str())
        .map(|value| {
            let shown = answers
                .get(value.name.as_str())
                .map(|a| value.display(a, lang));
            let no_match = shown.is_none()
                && matches!(
                    value.evaluate(&env),
                    rathaus_forms::computed::Outcome::NoMatch
                );
            let missing = match value.none_text() {
                Some(none) if no_match => none.get(lang).to_owned(),
                _ => t.computed_pending.to_owned(),
            };
            ComputedView {
                id: input_id(value.name.as_str()),
                label: value.label.get(lang).to_owned(),
                hint: value.hint.as_ref().map(|h| h.get(lang).to_owned()),
                value: shown,
                missing,
                error: errors.iter().any(|e| e.input == value.name.as_str()),
            }
        })
        .collect()
}

/// The prefill box of a step.
#[derive(Debug)]
pub(crate) struct PrefillView {
    /// What can be filled, and that it happens only on request.
    pub text: String,
    /// Whether something available fills at least one of them.
    pub can_apply: bool,
    /// Where the available attributes come from, and when they were verified.
    pub available: Option<String>,
    /// Whether the eID sign-in is offered to read what is missing.
    pub eid: bool,
    /// What the eID sign-in would read: this form's declared attributes.
    pub eid_text: String,
    pub return_to: String,
    pub service_key: String,
}

pub(crate) fn source_label(source: Provenance, t: &FormTexts) -> &'static str {
    match source {
        Provenance::Eid => t.source_eid,
        Provenance::Counter => t.source_counter,
        Provenance::Account => t.source_account,
    }
}

pub(crate) fn date(day: chrono::NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::De => day.format("%d.%m.%Y").to_string(),
        Lang::En => day.format("%-d %B %Y").to_string(),
    }
}

/// "Verified: online ID card (eID), 23.11.2026".
pub(crate) fn verified_label(mark: &Mark, t: &FormTexts, lang: Lang) -> String {
    t.verified_mark
        .replace("{source}", source_label(mark.source, t))
        .replace("{date}", &date(mark.verified_at.date_naive(), lang))
}
