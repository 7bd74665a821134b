//! Reading the `[form]` part of a service definition file, with every check a service author
//! needs: references in logic, types, steps that can never be shown, missing purpose or legal
//! basis (R3). Errors name the file and line.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::Path;

use rathaus_domain::{Position, SourceError, Text};
use serde::Deserialize;
use toml::Spanned;

use crate::definition::{
    Attribute, Check, ChoiceOption, Field, FieldKind, FileType, FormDefinition, Name, Note,
    NoteKind, Pattern, Requirement, Step,
};
use crate::expr::{Env, Expr, Type, Value};

mod computed;

const MAX_STEPS: usize = 30;
const MAX_FIELDS_PER_STEP: usize = 60;
const MAX_FIELDS: usize = 400;
const MAX_OPTIONS: usize = 200;
const MAX_GROUP_ITEMS: usize = 50;
const MAX_FILES: usize = 20;
const MAX_FILE_MB: u64 = 50;
const DEFAULT_FILE_MB: u64 = 10;
const DEFAULT_MEGAPIXELS: u64 = 50;
const DEFAULT_TEXT: usize = 200;
const MAX_TEXT: usize = 2_000;
const DEFAULT_LONG_TEXT: usize = 4_000;
const MAX_LONG_TEXT: usize = 20_000;
const DEFAULT_DRAFT_DAYS: u32 = 30;
const MAX_DRAFT_DAYS: u32 = 365;

/// Reads the `[form]` table of a definition file, if it has one.
pub fn parse_form(file: &Path, source: &str) -> Result<Option<FormDefinition>, SourceError> {
    let doc: RawDocument =
        toml::from_str(source).map_err(|e| SourceError::from_toml(file, source, &e))?;
    let Some(form) = doc.form else {
        return Ok(None);
    };
    let reader = Reader {
        file,
        source,
        total_fields: std::cell::Cell::new(0),
    };
    reader.form(form).map(Some)
}

// ---- the file format ------------------------------------------------------------------------

/// The whole file as this module sees it: only `[form]`; the rest belongs to the domain crate,
/// which refuses unknown keys there.
#[derive(Deserialize)]
struct RawDocument {
    #[serde(default)]
    form: Option<Spanned<RawForm>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    declaration: Text,
    #[serde(default)]
    draft_retention_days: Option<u32>,
    #[serde(default)]
    responsible_address: Option<String>,
    steps: Vec<Spanned<RawStep>>,
    #[serde(default)]
    computed: Vec<Spanned<computed::RawComputed>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: String,
    title: Text,
    #[serde(default)]
    intro: Option<Text>,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    notes: Vec<RawNote>,
    fields: Vec<Spanned<RawField>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNote {
    #[serde(default = "default_note_kind")]
    kind: NoteKind,
    #[serde(default)]
    title: Option<Text>,
    text: Text,
    #[serde(default)]
    when: Option<String>,
}

fn default_note_kind() -> NoteKind {
    NoteKind::Info
}

/// Notes per step; more is a wall of text nobody reads.
const MAX_NOTES_PER_STEP: usize = 5;

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRequired {
    Always(bool),
    When(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    rule: String,
    message: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    value: String,
    label: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    label: Text,
    #[serde(default)]
    hint: Option<Text>,
    #[serde(default)]
    required: Option<RawRequired>,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    checks: Vec<RawCheck>,
    #[serde(default)]
    purpose: Option<Text>,
    #[serde(default)]
    legal_basis: Option<String>,
    #[serde(default)]
    prefill: Option<Attribute>,
    // text
    #[serde(default)]
    min_length: Option<usize>,
    #[serde(default)]
    max_length: Option<usize>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    pattern_message: Option<Text>,
    // number
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    decimals: Option<u8>,
    #[serde(default)]
    unit: Option<Text>,
    // date
    #[serde(default)]
    min_days: Option<i64>,
    #[serde(default)]
    max_days: Option<i64>,
    // choices
    #[serde(default)]
    options: Option<Vec<RawOption>>,
    #[serde(default)]
    min_choices: Option<usize>,
    #[serde(default)]
    max_choices: Option<usize>,
    // files
    #[serde(default)]
    accept: Option<Vec<FileType>>,
    #[serde(default)]
    max_size_mb: Option<u64>,
    #[serde(default)]
    max_files: Option<usize>,
    #[serde(default)]
    max_megapixels: Option<u64>,
    // groups
    #[serde(default)]
    fields: Option<Vec<Spanned<RawField>>>,
    #[serde(default)]
    min_items: Option<usize>,
    #[serde(default)]
    max_items: Option<usize>,
    #[serde(default)]
    item_label: Option<Text>,
}

// ---- checking -------------------------------------------------------------------------------

struct Reader<'a> {
    file: &'a Path,
    source: &'a str,
    total_fields: std::cell::Cell<usize>,
}

/// The names an expression may read, with their types.
#[derive(Default, Clone)]
struct Scope {
    names: BTreeMap<String, Type>,
}

impl Scope {
    fn add_field(&mut self, field: &Field) {
        let name = field.name.as_str();
        match field.kind.expr_type() {
            Some(ty) => {
                self.names.insert(name.to_owned(), ty);
            }
            None => {
                for part in field.kind.parts() {
                    self.names.insert(format!("{name}.{part}"), Type::Text);
                }
            }
        }
    }

    fn lookup(&self) -> impl Fn(&str) -> Option<Type> + '_ {
        |name| self.names.get(name).copied()
    }
}

/// Stands in for the answers when a condition reads no answer at all, to find steps and fields
/// that could never be shown.
struct NoAnswers;

impl Env for NoAnswers {
    fn value(&self, _name: &str) -> Value {
        Value::Missing
    }
    fn today(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::default()
    }
}

impl Reader<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> SourceError {
        SourceError::new(
            self.file,
            Some(Position::of_span(self.source, &span)),
            message,
        )
    }

    fn form(&self, raw: Spanned<RawForm>) -> Result<FormDefinition, SourceError> {
        let span = raw.span();
        let raw = raw.into_inner();
        if raw.steps.is_empty() {
            return Err(self.error(span, "a form needs at least one step"));
        }
        if raw.steps.len() > MAX_STEPS {
            return Err(self.error(span, format!("a form has at most {MAX_STEPS} steps")));
        }
        let draft_retention_days = raw.draft_retention_days.unwrap_or(DEFAULT_DRAFT_DAYS);
        if !(1..=MAX_DRAFT_DAYS).contains(&draft_retention_days) {
            return Err(self.error(
                span,
                format!("`draft_retention_days` must be between 1 and {MAX_DRAFT_DAYS}"),
            ));
        }

        let mut steps: Vec<Step> = Vec::with_capacity(raw.steps.len());
        let mut step_ids = HashSet::new();
        let mut field_names = HashSet::new();
        // What a step's own `when` may read: fields of earlier steps only.
        let mut earlier = Scope::default();
        // What a computed value shown on a step may read: that step's fields and earlier ones.
        let mut step_scopes: Vec<(Name, Scope)> = Vec::with_capacity(raw.steps.len());
        for raw_step in raw.steps {
            let span = raw_step.span();
            let raw_step = raw_step.into_inner();
            let id = self.name(&span, &raw_step.id, "step id")?;
            if !step_ids.insert(id.clone()) {
                return Err(self.error(span, format!("the step id `{id}` is used twice")));
            }
            let when = raw_step
                .when
                .as_deref()
                .map(|src| self.condition(&span, &format!("`when` of step `{id}`"), src, &earlier))
                .transpose()?;
            if raw_step.notes.len() > MAX_NOTES_PER_STEP {
                return Err(self.error(
                    span,
                    format!("the step `{id}` has more than {MAX_NOTES_PER_STEP} notes"),
                ));
            }
            let notes = raw_step
                .notes
                .into_iter()
                .map(|note| {
                    let when = note
                        .when
                        .as_deref()
                        .map(|src| {
                            self.condition(
                                &span,
                                &format!("`when` of a note of step `{id}`"),
                                src,
                                &earlier,
                            )
                        })
                        .transpose()?;
                    Ok(Note {
                        kind: note.kind,
                        title: note.title,
                        text: note.text,
                        when,
                    })
                })
                .collect::<Result<Vec<_>, SourceError>>()?;
            if raw_step.fields.is_empty() {
                return Err(self.error(span, format!("the step `{id}` has no fields")));
            }
            if raw_step.fields.len() > MAX_FIELDS_PER_STEP {
                return Err(self.error(
                    span,
                    format!("the step `{id}` has more than {MAX_FIELDS_PER_STEP} fields"),
                ));
            }
            // Fields may read answers of earlier steps and of earlier fields on this step.
            let mut scope = earlier.clone();
            let mut fields = Vec::with_capacity(raw_step.fields.len());
            for raw_field in raw_step.fields {
                let field = self.field(raw_field, &scope, None)?;
                // Names are unique across the whole form, groups included, so a name in an
                // expression always means one field.
                let inner = match &field.kind {
                    FieldKind::Group { fields, .. } => fields.iter().collect(),
                    _ => Vec::new(),
                };
                for name in std::iter::once(&field.name).chain(inner.iter().map(|f| &f.name)) {
                    if !field_names.insert(name.clone()) {
                        return Err(self.error(
                            span.clone(),
                            format!("the field name `{name}` is used twice in this form"),
                        ));
                    }
                }
                scope.add_field(&field);
                fields.push(field);
            }
            step_scopes.push((id.clone(), scope.clone()));
            earlier = scope;
            steps.push(Step {
                id,
                title: raw_step.title,
                intro: raw_step.intro,
                when,
                notes,
                fields,
            });
        }
        let responsible_address = match raw.responsible_address {
            None => None,
            Some(name) => {
                let is_address = steps
                    .iter()
                    .flat_map(|s| &s.fields)
                    .any(|f| f.name.as_str() == name && matches!(f.kind, FieldKind::Address));
                if !is_address {
                    return Err(self.error(
                        span,
                        format!(
                            "`responsible_address` {name:?} must name an `address` field of the form outside a group"
                        ),
                    ));
                }
                Some(self.name(&span, &name, "field name")?)
            }
        };
        let computed = self.computed(raw.computed, &step_scopes, &field_names)?;
        Ok(FormDefinition {
            steps,
            declaration: raw.declaration,
            draft_retention_days,
            responsible_address,
            computed,
        })
    }

    fn name(&self, span: &Range<usize>, raw: &str, what: &str) -> Result<Name, SourceError> {
        Name::parse(raw).ok_or_else(|| {
            self.error(
                span.clone(),
                format!(
                    "the {what} {raw:?} must start with a lowercase letter and use only a–z, 0–9 and `_` (at most {} characters)",
                    Name::MAX_LEN
                ),
            )
        })
    }

    fn condition(
        &self,
        span: &Range<usize>,
        what: &str,
        source: &str,
        scope: &Scope,
    ) -> Result<Expr, SourceError> {
        let lookup = scope.lookup();
        let expr = Expr::parse_condition(source, &lookup).map_err(|e| {
            self.error(
                span.clone(),
                format!("in {what} {source:?} at byte {}: {}", e.offset, e.message),
            )
        })?;
        if expr.references().is_empty() && !expr.holds(&NoAnswers) && !uses_today(source) {
            return Err(self.error(
                span.clone(),
                format!("{what} {source:?} is never true, so this part could never be shown"),
            ));
        }
        Ok(expr)
    }

    fn field(
        &self,
        raw: Spanned<RawField>,
        outer: &Scope,
        group: Option<&Name>,
    ) -> Result<Field, SourceError> {
        let span = raw.span();
        let mut raw = raw.into_inner();
        self.total_fields.set(self.total_fields.get() + 1);
        if self.total_fields.get() > MAX_FIELDS {
            return Err(self.error(span, format!("a form has at most {MAX_FIELDS} fields")));
        }
        let name = self.name(&span, &raw.name, "field name")?;
        let at = |message: String| self.error(span.clone(), message);

        let Some(purpose) = raw.purpose.clone() else {
            return Err(at(format!(
                "the field `{name}` needs a `purpose`: say in both languages why the authority needs this answer (R4)"
            )));
        };
        let legal_basis = match raw.legal_basis.as_deref().map(str::trim) {
            Some(basis) if !basis.is_empty() && basis.len() <= 300 => basis.to_owned(),
            _ => {
                return Err(at(format!(
                    "the field `{name}` needs a `legal_basis` (1 to 300 characters) naming the law that allows collecting it"
                )));
            }
        };

        if group.is_some() && raw.kind == "group" {
            return Err(at(format!(
                "the group field `{name}` is inside another group; groups cannot be nested"
            )));
        }
        let kind = self.kind(&span, &name, &mut raw, outer)?;
        if group.is_some() && raw.prefill.is_some() {
            return Err(at(format!(
                "the field `{name}` is inside a group and cannot be prefilled: an entry of a group may be about someone else"
            )));
        }
        if let Some(attribute) = raw.prefill
            && !prefill_fits(attribute, &kind)
        {
            return Err(at(format!(
                "the field `{name}` of type `{}` cannot be prefilled from `{attribute:?}`",
                kind.type_name()
            )));
        }

        let when = raw
            .when
            .as_deref()
            .map(|src| self.condition(&span, &format!("`when` of field `{name}`"), src, outer))
            .transpose()?;
        if let Some(when) = &when
            && when.references().contains(&name.as_str())
        {
            return Err(at(format!(
                "the `when` of field `{name}` reads the field itself"
            )));
        }
        // Checks and `required` may read the field itself as well.
        let mut own = outer.clone();
        if !matches!(kind, FieldKind::Group { .. }) {
            own.add_field(&Field {
                name: name.clone(),
                label: raw.label.clone(),
                hint: None,
                kind: kind.clone(),
                required: Requirement::Optional,
                when: None,
                checks: Vec::new(),
                purpose: purpose.clone(),
                legal_basis: legal_basis.clone(),
                prefill: None,
            });
        }
        let required = match raw.required {
            None | Some(RawRequired::Always(false)) => Requirement::Optional,
            Some(RawRequired::Always(true)) => Requirement::Required,
            Some(RawRequired::When(src)) => Requirement::RequiredWhen(self.condition(
                &span,
                &format!("`required` of field `{name}`"),
                &src,
                outer,
            )?),
        };
        let checks = raw
            .checks
            .into_iter()
            .map(|check| {
                Ok(Check {
                    rule: self.condition(
                        &span,
                        &format!("a check of field `{name}`"),
                        &check.rule,
                        &own,
                    )?,
                    message: check.message,
                })
            })
            .collect::<Result<Vec<_>, SourceError>>()?;
        if matches!(kind, FieldKind::Group { .. }) && !checks.is_empty() {
            return Err(at(format!(
                "the group `{name}` cannot have checks; put them on the fields inside it"
            )));
        }

        Ok(Field {
            name,
            label: raw.label,
            hint: raw.hint,
            kind,
            required,
            when,
            checks,
            purpose,
            legal_basis,
            prefill: raw.prefill,
        })
    }

    fn kind(
        &self,
        span: &Range<usize>,
        name: &Name,
        raw: &mut RawField,
        outer: &Scope,
    ) -> Result<FieldKind, SourceError> {
        let at = |message: String| self.error(span.clone(), message);
        let type_name = raw.kind.as_str();
        // Options that only some types use; naming one on another type is a mistake.
        let used: &[(&str, bool)] = &[
            ("min_length", raw.min_length.is_some()),
            ("max_length", raw.max_length.is_some()),
            (
                "pattern",
                raw.pattern.is_some() || raw.pattern_message.is_some(),
            ),
            ("min", raw.min.is_some()),
            ("max", raw.max.is_some()),
            ("decimals", raw.decimals.is_some()),
            ("unit", raw.unit.is_some()),
            ("min_days", raw.min_days.is_some()),
            ("max_days", raw.max_days.is_some()),
            ("options", raw.options.is_some()),
            ("min_choices", raw.min_choices.is_some()),
            ("max_choices", raw.max_choices.is_some()),
            ("accept", raw.accept.is_some()),
            ("max_size_mb", raw.max_size_mb.is_some()),
            ("max_files", raw.max_files.is_some()),
            ("max_megapixels", raw.max_megapixels.is_some()),
            ("fields", raw.fields.is_some()),
            ("min_items", raw.min_items.is_some()),
            ("max_items", raw.max_items.is_some()),
            ("item_label", raw.item_label.is_some()),
        ];
        let allowed: &[&str] = match type_name {
            "text" => &["min_length", "max_length", "pattern"],
            "long_text" => &["max_length"],
            "number" => &["min", "max", "decimals", "unit"],
            "date" => &["min_days", "max_days"],
            "choice" => &["options"],
            "multi_choice" => &["options", "min_choices", "max_choices"],
            "file" => &["accept", "max_size_mb", "max_files", "max_megapixels"],
            "group" => &["fields", "min_items", "max_items", "item_label"],
            "yes_no" | "email" | "phone" | "postcode" | "address" | "iban" | "person_name"
            | "date_of_birth" => &[],
            other => {
                return Err(at(format!(
                    "the field `{name}` has the unknown type {other:?}; known types: text, long_text, number, date, yes_no, choice, multi_choice, email, phone, postcode, address, iban, person_name, date_of_birth, file, group"
                )));
            }
        };
        if let Some((option, _)) = used.iter().find(|(o, set)| *set && !allowed.contains(o)) {
            return Err(at(format!(
                "`{option}` does not apply to the field `{name}` of type `{type_name}`"
            )));
        }

        Ok(match type_name {
            "text" => {
                let max_length = raw.max_length.unwrap_or(DEFAULT_TEXT);
                let min_length = raw.min_length.unwrap_or(0);
                if max_length == 0 || max_length > MAX_TEXT || min_length > max_length {
                    return Err(at(format!(
                        "the field `{name}` needs 0 ≤ min_length ≤ max_length ≤ {MAX_TEXT}"
                    )));
                }
                let pattern = match (&raw.pattern, &raw.pattern_message) {
                    (None, None) => None,
                    (Some(pattern), Some(message)) => {
                        let anchored = format!("^(?:{pattern})$");
                        let regex = regex::RegexBuilder::new(&anchored)
                            .size_limit(1 << 20)
                            .build()
                            .map_err(|e| {
                                at(format!("the pattern of field `{name}` is invalid: {e}"))
                            })?;
                        Some(Pattern {
                            regex,
                            message: message.clone(),
                        })
                    }
                    _ => {
                        return Err(at(format!(
                            "the field `{name}` needs both `pattern` and `pattern_message`"
                        )));
                    }
                };
                FieldKind::Text {
                    min_length,
                    max_length,
                    pattern,
                }
            }
            "long_text" => {
                let max_length = raw.max_length.unwrap_or(DEFAULT_LONG_TEXT);
                if max_length == 0 || max_length > MAX_LONG_TEXT {
                    return Err(at(format!(
                        "the field `{name}` needs 1 ≤ max_length ≤ {MAX_LONG_TEXT}"
                    )));
                }
                FieldKind::LongText { max_length }
            }
            "number" => {
                if let (Some(min), Some(max)) = (raw.min, raw.max)
                    && min > max
                {
                    return Err(at(format!("the field `{name}` has min > max")));
                }
                let decimals = raw.decimals.unwrap_or(0);
                if decimals > 4 {
                    return Err(at(format!("the field `{name}` allows at most 4 decimals")));
                }
                FieldKind::Number {
                    min: raw.min,
                    max: raw.max,
                    decimals,
                    unit: raw.unit.clone(),
                }
            }
            "date" => {
                if let (Some(min), Some(max)) = (raw.min_days, raw.max_days)
                    && min > max
                {
                    return Err(at(format!("the field `{name}` has min_days > max_days")));
                }
                FieldKind::Date {
                    min_days: raw.min_days,
                    max_days: raw.max_days,
                }
            }
            "choice" | "multi_choice" => {
                let options = self.options(span, name, raw.options.as_deref())?;
                if type_name == "choice" {
                    FieldKind::Choice { options }
                } else {
                    let min = raw.min_choices.unwrap_or(0);
                    let max = raw.max_choices.unwrap_or(options.len());
                    if min > max || max > options.len() || max == 0 {
                        return Err(at(format!(
                            "the field `{name}` needs min_choices ≤ max_choices ≤ the number of options"
                        )));
                    }
                    FieldKind::MultiChoice { options, min, max }
                }
            }
            "file" => {
                let accept = raw.accept.clone().unwrap_or_default();
                if accept.is_empty() {
                    return Err(at(format!(
                        "the file field `{name}` needs `accept`, a list of file types (pdf, png, jpeg, tiff, zip)"
                    )));
                }
                let max_mb = raw.max_size_mb.unwrap_or(DEFAULT_FILE_MB);
                let max_files = raw.max_files.unwrap_or(1);
                if !(1..=MAX_FILE_MB).contains(&max_mb) || !(1..=MAX_FILES).contains(&max_files) {
                    return Err(at(format!(
                        "the file field `{name}` needs 1 ≤ max_size_mb ≤ {MAX_FILE_MB} and 1 ≤ max_files ≤ {MAX_FILES}"
                    )));
                }
                let megapixels = raw
                    .max_megapixels
                    .unwrap_or(DEFAULT_MEGAPIXELS)
                    .clamp(1, 200);
                FieldKind::File {
                    accept,
                    max_bytes: max_mb * 1024 * 1024,
                    max_files,
                    max_pixels: megapixels * 1_000_000,
                }
            }
            "group" => {
                let Some(item_label) = raw.item_label.clone() else {
                    return Err(at(format!(
                        "the group `{name}` needs an `item_label`, the name of one entry"
                    )));
                };
                let min_items = raw.min_items.unwrap_or(0);
                let max_items = raw.max_items.unwrap_or(10);
                if min_items > max_items || max_items == 0 || max_items > MAX_GROUP_ITEMS {
                    return Err(at(format!(
                        "the group `{name}` needs min_items ≤ max_items ≤ {MAX_GROUP_ITEMS}"
                    )));
                }
                let raw_fields = raw.fields.take().unwrap_or_default();
                if raw_fields.is_empty() {
                    return Err(at(format!("the group `{name}` has no fields")));
                }
                // Fields in a group read their siblings by bare name, and the outer answers.
                let mut scope = outer.clone();
                let mut seen = HashSet::new();
                let mut fields = Vec::with_capacity(raw_fields.len());
                for raw_field in raw_fields {
                    let field = self.field(raw_field, &scope, Some(name))?;
                    if !seen.insert(field.name.clone()) {
                        return Err(at(format!(
                            "the group `{name}` uses the field name `{}` twice",
                            field.name
                        )));
                    }
                    scope.add_field(&field);
                    fields.push(field);
                }
                FieldKind::Group {
                    fields,
                    min_items,
                    max_items,
                    item_label,
                }
            }
            "yes_no" => FieldKind::YesNo,
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "postcode" => FieldKind::Postcode,
            "address" => FieldKind::Address,
            "iban" => FieldKind::Iban,
            "person_name" => FieldKind::PersonName,
            _ => FieldKind::DateOfBirth,
        })
    }

    fn options(
        &self,
        span: &Range<usize>,
        name: &Name,
        raw: Option<&[RawOption]>,
    ) -> Result<Vec<ChoiceOption>, SourceError> {
        let raw = raw.unwrap_or_default();
        if raw.len() < 2 || raw.len() > MAX_OPTIONS {
            return Err(self.error(
                span.clone(),
                format!("the field `{name}` needs 2 to {MAX_OPTIONS} options"),
            ));
        }
        let mut seen = HashSet::new();
        raw.iter()
            .map(|option| {
                let value = self.name(span, &option.value, "option value")?;
                if !seen.insert(value.clone()) {
                    return Err(self.error(
                        span.clone(),
                        format!("the field `{name}` has the option `{value}` twice"),
                    ));
                }
                Ok(ChoiceOption {
                    value,
                    label: option.label.clone(),
                })
            })
            .collect()
    }
}

fn uses_today(source: &str) -> bool {
    source.contains("today(")
}

fn prefill_fits(attribute: Attribute, kind: &FieldKind) -> bool {
    match attribute {
        Attribute::Name => matches!(kind, FieldKind::PersonName),
        Attribute::GivenNames
        | Attribute::FamilyName
        | Attribute::BirthName
        | Attribute::PlaceOfBirth => matches!(kind, FieldKind::Text { .. }),
        Attribute::DateOfBirth => matches!(kind, FieldKind::DateOfBirth | FieldKind::Date { .. }),
        Attribute::Address => matches!(kind, FieldKind::Address),
        Attribute::Email => matches!(kind, FieldKind::Email),
    }
}

#[cfg(test)]
mod note_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::answers::{Answer, AnswerEnv, Answers};

    fn form(notes: &str) -> Result<FormDefinition, SourceError> {
        let source = format!(
            r#"
[form]
declaration = {{ de = "Ja.", en = "Yes." }}

[[form.steps]]
id = "first"
title = {{ de = "Erster", en = "First" }}

[[form.steps.fields]]
name = "kind"
type = "choice"
label = {{ de = "Art", en = "Kind" }}
options = [
  {{ value = "a", label = {{ de = "A", en = "A" }} }},
  {{ value = "b", label = {{ de = "B", en = "B" }} }},
]
purpose = {{ de = "Zweck.", en = "Purpose." }}
legal_basis = "§ 1"

[[form.steps]]
id = "second"
title = {{ de = "Zweiter", en = "Second" }}
{notes}
[[form.steps.fields]]
name = "more"
type = "text"
label = {{ de = "Mehr", en = "More" }}
purpose = {{ de = "Zweck.", en = "Purpose." }}
legal_basis = "§ 1"
"#
        );
        parse_form(Path::new("note.toml"), &source).map(Option::unwrap)
    }

    fn shown(note: &Note, answers: &Answers) -> bool {
        let env = AnswerEnv {
            answers,
            item: None,
            today: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        };
        note.when.as_ref().is_none_or(|when| when.holds(&env))
    }

    #[test]
    fn a_note_is_information_with_a_kind_and_a_condition_on_earlier_steps() {
        let form = form(
            r#"
[[form.steps.notes]]
kind = "warning"
title = { de = "Achtung", en = "Note" }
text = { de = "Nur für B.", en = "Only for B." }
when = 'kind == "b"'

[[form.steps.notes]]
text = { de = "Immer.", en = "Always." }
"#,
        )
        .unwrap();
        let notes = &form.steps[1].notes;
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0].kind, NoteKind::Warning);
        assert_eq!(notes[1].kind, NoteKind::Info, "info unless said otherwise");
        assert!(notes[1].when.is_none() && notes[1].title.is_none());
        let mut answers = Answers::default();
        answers.insert("kind", Answer::Text("b".into()));
        assert!(shown(&notes[0], &answers));
        answers.insert("kind", Answer::Text("a".into()));
        assert!(!shown(&notes[0], &answers));
        // A note is no field: nothing of it can be posted or referenced.
        assert!(
            form.steps[1]
                .fields
                .iter()
                .all(|f| f.name.as_str() == "more")
        );
    }

    #[test]
    fn a_wrong_note_is_refused_with_its_file_and_line() {
        let cases = [
            // Its own step's answers are not known when the page is drawn.
            (
                "[[form.steps.notes]]\ntext = { de = \"x\", en = \"x\" }\nwhen = 'more == \"x\"'\n",
                "more",
            ),
            (
                "[[form.steps.notes]]\ntext = { de = \"x\", en = \"x\" }\ncolour = \"red\"\n",
                "colour",
            ),
            ("[[form.steps.notes]]\ntext = { de = \"x\" }\n", "en"),
            (
                "[[form.steps.notes]]\nkind = \"shout\"\ntext = { de = \"x\", en = \"x\" }\n",
                "shout",
            ),
        ];
        for (notes, needle) in cases {
            let error = form(notes).unwrap_err();
            assert!(error.message.contains(needle), "{notes}: {}", error.message);
            assert!(error.position.is_some(), "{notes}: no position");
        }
        let many = "[[form.steps.notes]]\ntext = { de = \"x\", en = \"x\" }\n".repeat(6);
        assert!(
            form(&many)
                .unwrap_err()
                .message
                .contains("more than 5 notes")
        );
    }
}
