//! Computed values: what the portal works out from the answers and shows before submit, such
//! as a fee that depends on the chosen period or the residents' parking zone of an address.
//!
//! A computed value is declared in `[[form.computed]]` with exactly one of three forms:
//!
//! * `value = "<expression>"`: an expression of the expression language ([`crate::expr`]);
//! * `cases = [{ when = "<condition>", value = "65.00" }, …]`: the value of the first case whose
//!   condition holds;
//! * `lookup = { keys = ["address.postcode", "address.street"], rows = […] }`: a table from the
//!   answers named by `keys` to a value, with `"*"` matching anything; `none` says what it
//!   means when no row matches, and `blocking = true` makes that an error of its step.
//!
//! Computed values are never read from a post (Z3): the engine puts them into the answers
//! itself, after every post and whenever a draft is loaded, so a citizen cannot set a fee.

use rathaus_domain::{Euros, Lang, Text};

use crate::answers::{Answer, AnswerEnv, Answers};
use crate::definition::Name;
use crate::expr::{Expr, Value};

/// How a computed value is typed, shown and written into the submission document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputedType {
    Text,
    Number,
    /// An amount in euros, with cents; a number in expressions and in the document.
    Money,
}

impl ComputedType {
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Money => "money",
        }
    }
}

/// One row of a lookup table: a pattern per key (`"*"` for any) and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupRow {
    /// Normalised patterns; `None` matches anything.
    pub patterns: Vec<Option<String>>,
    pub value: Answer,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// Text expressions whose values are looked up (`address.postcode`).
    pub keys: Vec<Expr>,
    pub rows: Vec<LookupRow>,
    /// What it means when every key is answered but no row matches.
    pub none: Text,
    /// Whether no match stops the citizen at the value's step.
    pub blocking: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Expr(Expr),
    Cases(Vec<(Expr, Answer)>),
    Lookup(Lookup),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComputedValue {
    pub name: Name,
    pub label: Text,
    pub hint: Option<Text>,
    pub ty: ComputedType,
    /// The id of the step that shows the value (it appears on the review page as well).
    pub step: Name,
    pub rule: Rule,
    /// Why the authority gets the value, and the legal basis (R3), as for fields.
    pub purpose: Text,
    pub legal_basis: String,
}

/// The result of working a value out.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Value(Answer),
    /// A lookup whose keys are all answered found no row.
    NoMatch,
    /// Not (yet) determined: an answer it needs is missing, or no case holds.
    Undetermined,
}

/// How lookup keys and patterns are compared: case, spacing and the spellings of "Straße"
/// do not matter, so "Kirchenallee", "kirchenallee " and "Hauptstr." match as people expect.
pub fn normalise_key(raw: &str) -> String {
    let lower = raw.trim().to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let joined = words.join(" ");
    let mut out = joined.replace("straße", "str").replace("strasse", "str");
    out = out.replace("str.", "str");
    out
}

impl ComputedValue {
    pub fn evaluate(&self, env: &AnswerEnv<'_>) -> Outcome {
        match &self.rule {
            Rule::Expr(expr) => match (self.ty, expr.eval(env)) {
                (ComputedType::Text, Value::Text(s)) if !s.trim().is_empty() => {
                    Outcome::Value(Answer::Text(s))
                }
                (ComputedType::Number, Value::Number(n)) if n.is_finite() => {
                    Outcome::Value(Answer::Number(n))
                }
                (ComputedType::Money, Value::Number(n)) if n.is_finite() && n >= 0.0 => {
                    Outcome::Value(Answer::Number((n * 100.0).round() / 100.0))
                }
                _ => Outcome::Undetermined,
            },
            Rule::Cases(cases) => cases
                .iter()
                .find(|(when, _)| when.holds(env))
                .map_or(Outcome::Undetermined, |(_, value)| {
                    Outcome::Value(value.clone())
                }),
            Rule::Lookup(lookup) => {
                let mut keys = Vec::with_capacity(lookup.keys.len());
                for key in &lookup.keys {
                    match key.eval(env) {
                        Value::Text(s) if !s.trim().is_empty() => keys.push(normalise_key(&s)),
                        _ => return Outcome::Undetermined,
                    }
                }
                lookup
                    .rows
                    .iter()
                    .find(|row| {
                        row.patterns
                            .iter()
                            .zip(&keys)
                            .all(|(pattern, key)| pattern.as_ref().is_none_or(|p| p == key))
                    })
                    .map_or(Outcome::NoMatch, |row| Outcome::Value(row.value.clone()))
            }
        }
    }

    /// What a lookup without a match means, for the page.
    pub fn none_text(&self) -> Option<&Text> {
        match &self.rule {
            Rule::Lookup(lookup) => Some(&lookup.none),
            _ => None,
        }
    }

    pub fn blocking(&self) -> bool {
        matches!(&self.rule, Rule::Lookup(lookup) if lookup.blocking)
    }

    /// The value as the review page, the step page and the receipt show it.
    pub fn display(&self, answer: &Answer, lang: Lang) -> String {
        match (self.ty, answer) {
            (ComputedType::Money, Answer::Number(n)) => {
                Euros::from_cents((n * 100.0).round().max(0.0) as u64).format(lang)
            }
            (_, Answer::Number(n)) => match lang {
                Lang::De => n.to_string().replace('.', ","),
                Lang::En => n.to_string(),
            },
            (_, Answer::Text(s)) => s.clone(),
            _ => String::new(),
        }
    }
}

/// Puts every computed value into `answers` afresh, in the order they are declared (a value
/// may read earlier ones); values of steps the logic hides are left out.
pub fn refresh(
    computed: &[ComputedValue],
    shown: &dyn Fn(&str) -> bool,
    answers: &mut Answers,
    today: chrono::NaiveDate,
) {
    for value in computed {
        answers.remove(value.name.as_str());
    }
    for value in computed {
        if !shown(value.step.as_str()) {
            continue;
        }
        let env = AnswerEnv {
            answers,
            item: None,
            today,
        };
        if let Outcome::Value(answer) = value.evaluate(&env) {
            answers.insert(value.name.as_str(), answer);
        }
    }
}
