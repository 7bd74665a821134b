//! Reading a posted step, keeping the answers consistent with the logic, and finding where a
//! citizen may go next. Pure: no I/O, time passed in as `today`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::answers::{Answer, AnswerEnv, Answers, FileRef};
use crate::computed;
use crate::definition::{Field, FieldKind, FormDefinition, Requirement, Step};
use crate::message::Msg;
use crate::uploads::{self, Upload};
use crate::values::{self, Input};

/// Names a step page posts besides the fields.
pub const CONTROL_INPUTS: [&str; 3] = ["csrf", "action", "step"];
/// Most values one post may carry; a real step has a few dozen.
pub const MAX_POSTED_VALUES: usize = 2_000;

/// The values of a form post by input name, in the order posted.
#[derive(Debug, Clone, Default)]
pub struct Posted(BTreeMap<String, Vec<String>>);

impl Posted {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            map.entry(k).or_default().push(v);
        }
        Self(map)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The raw values, to show them again next to an error.
    pub fn raw(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }
}

impl Input for Posted {
    fn values(&self, input: &str) -> &[String] {
        self.0.get(input).map_or(&[], Vec::as_slice)
    }
}

/// What the citizen pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Next,
    Back,
    /// Save and leave; the draft stays in the account.
    Save,
    /// Add an entry to a repeatable group.
    Add(String),
    /// Remove entry `n` of a group.
    Remove(String, usize),
    /// Remove an uploaded file from the field with this input name.
    RemoveFile(String, uuid::Uuid),
    /// Fill the step's declared fields from verified attributes: the citizen's consent.
    Prefill,
}

impl Action {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "" | "next" => Some(Self::Next),
            "back" => Some(Self::Back),
            "save" => Some(Self::Save),
            "prefill" => Some(Self::Prefill),
            _ => {
                let (verb, rest) = raw.split_once(':')?;
                match verb {
                    "add" => Some(Self::Add(rest.to_owned())),
                    "remove" => {
                        let (group, n) = rest.rsplit_once(':')?;
                        Some(Self::Remove(group.to_owned(), n.parse().ok()?))
                    }
                    "remove-file" => {
                        let (input, id) = rest.rsplit_once(':')?;
                        Some(Self::RemoveFile(input.to_owned(), id.parse().ok()?))
                    }
                    _ => None,
                }
            }
        }
    }

    /// Whether the step's errors block the way (only moving forward does).
    pub fn validates(&self) -> bool {
        matches!(self, Self::Next)
    }
}

/// Which steps are done; kept with the draft.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub completed: BTreeSet<String>,
}

/// A message for one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The input name (`persons.0.given_names`); the page links the summary to it.
    pub input: String,
    pub message: Msg,
}

/// Why a post was refused as a whole: it is not what the page sent (Z3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    #[error("the form does not ask for `{0}` on this step")]
    Undeclared(String),
    #[error("too many values in one post")]
    TooManyValues,
    #[error("the action `{0}` is not known")]
    UnknownAction(String),
}

/// The result of reading a step.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// All answers, this step's replaced by the valid part of the post, hidden ones removed.
    pub answers: Answers,
    pub errors: Vec<FieldError>,
    /// Files uploaded with this post and accepted, to be stored beside the draft.
    pub new_files: Vec<(FileRef, Vec<u8>)>,
    /// Files no longer referred to, to be deleted.
    pub dropped_files: Vec<uuid::Uuid>,
}

/// Whether a step is shown with these answers.
pub fn step_visible(step: &Step, answers: &Answers, today: NaiveDate) -> bool {
    step.when.as_ref().is_none_or(|when| {
        when.holds(&AnswerEnv {
            answers,
            item: None,
            today,
        })
    })
}

/// The indexes of the steps shown with these answers, in order.
pub fn visible_steps(form: &FormDefinition, answers: &Answers, today: NaiveDate) -> Vec<usize> {
    (0..form.steps.len())
        .filter(|&i| step_visible(&form.steps[i], answers, today))
        .collect()
}

/// The first shown step not yet completed; `None` when the form is ready for review.
pub fn first_incomplete(
    form: &FormDefinition,
    answers: &Answers,
    progress: &Progress,
    today: NaiveDate,
) -> Option<usize> {
    visible_steps(form, answers, today)
        .into_iter()
        .find(|&i| !progress.completed.contains(form.steps[i].id.as_str()))
}

/// A citizen may open a shown step that is done or the first one not done; steps cannot be
/// skipped by typing a URL (S4).
pub fn may_open(
    form: &FormDefinition,
    index: usize,
    answers: &Answers,
    progress: &Progress,
    today: NaiveDate,
) -> bool {
    let Some(step) = form.steps.get(index) else {
        return false;
    };
    step_visible(step, answers, today)
        && (progress.completed.contains(step.id.as_str())
            || first_incomplete(form, answers, progress, today) == Some(index))
}

pub fn next_visible(
    form: &FormDefinition,
    index: usize,
    answers: &Answers,
    today: NaiveDate,
) -> Option<usize> {
    visible_steps(form, answers, today)
        .into_iter()
        .find(|&i| i > index)
}

pub fn previous_visible(
    form: &FormDefinition,
    index: usize,
    answers: &Answers,
    today: NaiveDate,
) -> Option<usize> {
    visible_steps(form, answers, today)
        .into_iter()
        .rev()
        .find(|&i| i < index)
}

/// Removes every answer the logic hides now: of hidden steps, hidden fields and hidden group
/// fields (R4: hidden answers are never stored or sent). Returns the files no longer used.
pub fn prune(form: &FormDefinition, answers: &mut Answers, today: NaiveDate) -> Vec<uuid::Uuid> {
    let before: BTreeSet<uuid::Uuid> = answers.files().iter().map(|f| f.id).collect();
    for step in &form.steps {
        let shown = step_visible(step, answers, today);
        for field in &step.fields {
            let env = AnswerEnv {
                answers,
                item: None,
                today,
            };
            if !shown || !field_visible(field, &env) {
                answers.remove(field.name.as_str());
                continue;
            }
            if let FieldKind::Group { fields, .. } = &field.kind {
                let mut items = answers.items(field.name.as_str()).to_vec();
                for item in &mut items {
                    for inner in fields {
                        let env = AnswerEnv {
                            answers,
                            item: Some(item),
                            today,
                        };
                        if !field_visible(inner, &env) {
                            item.remove(inner.name.as_str());
                        }
                    }
                }
                answers.insert(field.name.as_str(), Answer::Items(items));
            }
        }
    }
    let after: BTreeSet<uuid::Uuid> = answers.files().iter().map(|f| f.id).collect();
    before.difference(&after).copied().collect()
}

fn field_visible(field: &Field, env: &AnswerEnv<'_>) -> bool {
    field.when.as_ref().is_none_or(|when| when.holds(env))
}

/// Every input name a step may post, so anything else is refused (Z3).
fn declared(step: &Step, name: &str) -> bool {
    if CONTROL_INPUTS.contains(&name) {
        return true;
    }
    step.fields.iter().any(|field| {
        let base = field.name.as_str();
        match &field.kind {
            FieldKind::Group {
                fields, max_items, ..
            } => {
                let Some(rest) = name.strip_prefix(base).and_then(|r| r.strip_prefix('.')) else {
                    return false;
                };
                if rest == "count" {
                    return true;
                }
                let Some((index, inner)) = rest.split_once('.') else {
                    return false;
                };
                index.parse::<usize>().is_ok_and(|i| i < *max_items)
                    && !index.starts_with('+')
                    && fields.iter().any(|f| input_matches(f, inner))
            }
            _ => input_matches(field, name),
        }
    })
}

fn input_matches(field: &Field, name: &str) -> bool {
    let base = field.name.as_str();
    if field.kind.parts().is_empty() {
        name == base
    } else {
        name.strip_prefix(base)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(|part| field.kind.parts().contains(&part))
    }
}

/// How many entries a group shows: what the page said, within the group's limits, changed by
/// an add or remove action.
fn group_count(
    field: &Field,
    posted: &Posted,
    action: &Action,
    min_items: usize,
    max_items: usize,
) -> usize {
    let key = format!("{}.count", field.name);
    let shown = posted
        .first(&key)
        .parse::<usize>()
        .unwrap_or(min_items.max(1))
        .min(max_items);
    match action {
        Action::Add(group) if group == field.name.as_str() => (shown + 1).min(max_items),
        _ => shown,
    }
}

/// Reads one step's post against the draft's answers.
pub fn read_step(
    form: &FormDefinition,
    index: usize,
    posted: &Posted,
    uploaded: Vec<Upload>,
    action: &Action,
    previous: &Answers,
    today: NaiveDate,
) -> Result<StepOutcome, PostError> {
    let step = &form.steps[index.min(form.steps.len().saturating_sub(1))];
    if posted.raw().values().map(Vec::len).sum::<usize>() > MAX_POSTED_VALUES {
        return Err(PostError::TooManyValues);
    }
    if let Some(name) = posted
        .names()
        .chain(uploaded.iter().map(|u| u.input.as_str()))
        .find(|name| !declared(step, name))
    {
        return Err(PostError::Undeclared(name.chars().take(100).collect()));
    }
    match action {
        Action::Add(group) | Action::Remove(group, _)
            if !step
                .fields
                .iter()
                .any(|f| f.name.as_str() == group && matches!(f.kind, FieldKind::Group { .. })) =>
        {
            return Err(PostError::UnknownAction(group.chars().take(100).collect()));
        }
        _ => {}
    }

    let mut answers = previous.clone();
    let mut errors = Vec::new();
    let mut new_files = Vec::new();
    let mut uploaded = uploaded;
    for field in &step.fields {
        let old = answers.remove(field.name.as_str());
        let env = AnswerEnv {
            answers: &answers,
            item: None,
            today,
        };
        if !field_visible(field, &env) {
            continue;
        }
        match &field.kind {
            FieldKind::Group {
                fields,
                min_items,
                max_items,
                ..
            } => {
                let count = group_count(field, posted, action, *min_items, *max_items);
                let old_items = match old {
                    Some(Answer::Items(items)) => items,
                    _ => Vec::new(),
                };
                let mut items = Vec::with_capacity(count);
                for i in 0..count {
                    let prefix = format!("{}.{i}.", field.name);
                    let mut item = Answers::default();
                    let old_item = old_items.get(i);
                    for inner in fields {
                        let env = AnswerEnv {
                            answers: &answers,
                            item: Some(&item),
                            today,
                        };
                        if !field_visible(inner, &env) {
                            continue;
                        }
                        let old_inner = old_item.and_then(|o| o.get(inner.name.as_str()));
                        read_one(
                            inner,
                            &prefix,
                            posted,
                            &mut uploaded,
                            action,
                            old_inner,
                            today,
                            &mut item,
                            &mut errors,
                            &mut new_files,
                        );
                    }
                    items.push(item);
                }
                if let Action::Remove(group, n) = action
                    && group == field.name.as_str()
                    && *n < items.len()
                {
                    items.remove(*n);
                    // The removed entry's messages no longer belong to anything on the page.
                    let prefix = format!("{}.", field.name);
                    errors.retain(|e: &FieldError| !e.input.starts_with(&prefix));
                }
                answers.insert(field.name.as_str(), Answer::Items(items));
            }
            _ => read_one(
                field,
                "",
                posted,
                &mut uploaded,
                action,
                old.as_ref(),
                today,
                &mut answers,
                &mut errors,
                &mut new_files,
            ),
        }
    }
    compute(form, &mut answers, today);
    errors.extend(check_step(step, &answers, today, &errors));
    errors.extend(computed_errors(form, step, &answers, today));
    // The summary lists the messages in the order of the fields on the page.
    errors.sort_by_key(|e| position(step, &e.input));

    let mut dropped_files = prune(form, &mut answers, today);
    compute(form, &mut answers, today);
    // Files replaced or removed on this step are gone too.
    let kept: BTreeSet<uuid::Uuid> = answers.files().iter().map(|f| f.id).collect();
    dropped_files.extend(
        previous
            .files()
            .iter()
            .map(|f| f.id)
            .filter(|id| !kept.contains(id)),
    );
    dropped_files.sort();
    dropped_files.dedup();
    new_files.retain(|(f, _): &(FileRef, Vec<u8>)| kept.contains(&f.id));
    Ok(StepOutcome {
        answers,
        errors,
        new_files,
        dropped_files,
    })
}

/// Where an input sits on its step's page: the field, then the group entry and the field in
/// the entry (a group's own message, at `group.count`, comes before its entries).
fn position(step: &Step, input: &str) -> (usize, usize, usize) {
    let mut names = input.split('.');
    let first = names.next().unwrap_or_default();
    let Some(index) = step.fields.iter().position(|f| f.name.as_str() == first) else {
        return (usize::MAX, 0, 0);
    };
    let item = names.next().and_then(|n| n.parse::<usize>().ok());
    match (&step.fields[index].kind, item, names.next()) {
        (FieldKind::Group { fields, .. }, Some(item), Some(inner)) => (
            index,
            item + 1,
            fields
                .iter()
                .position(|f| f.name.as_str() == inner)
                .unwrap_or(usize::MAX),
        ),
        _ => (index, 0, 0),
    }
}

/// Reads one non-group field into `into`, recording its error.
#[allow(clippy::too_many_arguments)]
fn read_one(
    field: &Field,
    prefix: &str,
    posted: &Posted,
    uploaded: &mut Vec<Upload>,
    action: &Action,
    old: Option<&Answer>,
    today: NaiveDate,
    into: &mut Answers,
    errors: &mut Vec<FieldError>,
    new_files: &mut Vec<(FileRef, Vec<u8>)>,
) {
    let input = format!("{prefix}{}", field.name);
    if let FieldKind::File {
        accept,
        max_bytes,
        max_files,
        max_pixels,
    } = &field.kind
    {
        let mut files = match old {
            Some(Answer::Files(files)) => files.clone(),
            _ => Vec::new(),
        };
        if let Action::RemoveFile(target, id) = action
            && *target == input
        {
            files.retain(|f| f.id != *id);
        }
        let (mine, rest): (Vec<Upload>, Vec<Upload>) = std::mem::take(uploaded)
            .into_iter()
            .partition(|u| u.input == input);
        *uploaded = rest;
        for upload in mine {
            if upload.content.is_empty() && upload.file_name.is_empty() {
                continue; // the browser sends an empty part when no file was chosen
            }
            if files.len() >= *max_files {
                errors.push(FieldError {
                    input: input.clone(),
                    message: uploads::too_many(&field.label, *max_files),
                });
                break;
            }
            match uploads::accept(&upload, accept, *max_bytes, *max_pixels, &field.label) {
                Ok(file) => {
                    files.push(file.clone());
                    new_files.push((file, upload.content));
                }
                Err(message) => errors.push(FieldError {
                    input: input.clone(),
                    message,
                }),
            }
        }
        if !files.is_empty() {
            into.insert(field.name.as_str(), Answer::Files(files));
        }
        return;
    }
    match values::read(field, posted, prefix, today) {
        Ok(Some(answer)) => into.insert(field.name.as_str(), answer),
        Ok(None) => {}
        Err(message) => errors.push(FieldError { input, message }),
    }
}

/// `required`, group sizes and the author's rules for a step's shown fields; fields that
/// already have a message get no second one.
fn check_step(
    step: &Step,
    answers: &Answers,
    today: NaiveDate,
    existing: &[FieldError],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let env = AnswerEnv {
        answers,
        item: None,
        today,
    };
    for field in &step.fields {
        if !field_visible(field, &env) {
            continue;
        }
        if let FieldKind::Group {
            fields,
            min_items,
            max_items,
            item_label,
        } = &field.kind
        {
            let items = answers.items(field.name.as_str());
            let count_input = format!("{}.count", field.name);
            if items.len() < *min_items {
                errors.push(FieldError {
                    input: count_input,
                    message: Msg::items_min(&field.label, item_label, *min_items),
                });
            } else if items.len() > *max_items {
                errors.push(FieldError {
                    input: count_input,
                    message: Msg::items_max(&field.label, item_label, *max_items),
                });
            }
            for (i, item) in items.iter().enumerate() {
                let env = AnswerEnv {
                    answers,
                    item: Some(item),
                    today,
                };
                for inner in fields {
                    if field_visible(inner, &env) {
                        let input = format!("{}.{i}.{}", field.name, inner.name);
                        check_field(inner, item, &env, input, existing, &mut errors);
                    }
                }
            }
            continue;
        }
        check_field(
            field,
            answers,
            &env,
            field.name.to_string(),
            existing,
            &mut errors,
        );
    }
    errors
}

fn check_field(
    field: &Field,
    holder: &Answers,
    env: &AnswerEnv<'_>,
    input: String,
    existing: &[FieldError],
    errors: &mut Vec<FieldError>,
) {
    if existing.iter().any(|e| e.input == input) {
        return;
    }
    let answered = holder.get(field.name.as_str()).is_some();
    if !answered {
        let required = match &field.required {
            Requirement::Optional => false,
            Requirement::Required => true,
            Requirement::RequiredWhen(rule) => rule.holds(env),
        };
        if required {
            let message = match &field.kind {
                FieldKind::YesNo | FieldKind::Choice { .. } | FieldKind::MultiChoice { .. } => {
                    Msg::choose(&field.label)
                }
                FieldKind::File { .. } => uploads::missing(&field.label),
                _ => Msg::required(&field.label),
            };
            errors.push(FieldError { input, message });
        }
        return;
    }
    if let Some(check) = field.checks.iter().find(|c| !c.rule.holds(env)) {
        errors.push(FieldError {
            input,
            message: Msg::text(&check.message),
        });
    }
}

/// Works every computed value out again for these answers (values of hidden steps are left
/// out). Run after every change of the answers and whenever a draft is loaded; computed
/// values are never kept or read from a post.
pub fn compute(form: &FormDefinition, answers: &mut Answers, today: NaiveDate) {
    if form.computed.is_empty() {
        return;
    }
    let hidden: Vec<&str> = form
        .steps
        .iter()
        .filter(|s| !step_visible(s, answers, today))
        .map(|s| s.id.as_str())
        .collect();
    computed::refresh(&form.computed, &|id| !hidden.contains(&id), answers, today);
}

/// A blocking lookup of this step without a match ("no residents' parking zone at this
/// address") keeps the step from being completed; the message is anchored at the value.
fn computed_errors(
    form: &FormDefinition,
    step: &Step,
    answers: &Answers,
    today: NaiveDate,
) -> Vec<FieldError> {
    form.computed_on(step.id.as_str())
        .filter(|value| value.blocking())
        .filter_map(|value| {
            let env = AnswerEnv {
                answers,
                item: None,
                today,
            };
            match (value.evaluate(&env), value.none_text()) {
                (computed::Outcome::NoMatch, Some(none)) => Some(FieldError {
                    input: value.name.to_string(),
                    message: Msg::text(none),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Checks every shown step again before submit: the answers of an earlier step may have
/// changed what a later rule says. Returns the first step with problems and its messages.
pub fn check_all(
    form: &FormDefinition,
    answers: &Answers,
    today: NaiveDate,
) -> Option<(usize, Vec<FieldError>)> {
    visible_steps(form, answers, today)
        .into_iter()
        .find_map(|i| {
            let mut errors = check_step(&form.steps[i], answers, today, &[]);
            errors.extend(computed_errors(form, &form.steps[i], answers, today));
            (!errors.is_empty()).then_some((i, errors))
        })
}
