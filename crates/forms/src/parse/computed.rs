//! Reading `[[form.computed]]`: the rule is type-checked against the answers its step can see,
//! names are unique across fields and computed values, and lookup tables are well formed.

use std::collections::HashSet;
use std::ops::Range;

use rathaus_domain::{Euros, Text};
use serde::Deserialize;
use toml::Spanned;

use super::{Reader, Scope};
use crate::answers::Answer;
use crate::computed::{ComputedType, ComputedValue, Lookup, LookupRow, Rule, normalise_key};
use crate::definition::Name;
use crate::expr::{Expr, Type};
use rathaus_domain::SourceError;

const MAX_COMPUTED: usize = 50;
const MAX_CASES: usize = 50;
const MAX_ROWS: usize = 5_000;
const MAX_KEYS: usize = 4;
const MAX_VALUE_LEN: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawComputed {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    label: Text,
    #[serde(default)]
    hint: Option<Text>,
    step: String,
    #[serde(default)]
    purpose: Option<Text>,
    #[serde(default)]
    legal_basis: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    cases: Option<Vec<RawCase>>,
    #[serde(default)]
    lookup: Option<RawLookup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    when: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLookup {
    keys: Vec<String>,
    rows: Vec<RawRow>,
    none: Text,
    #[serde(default)]
    blocking: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    #[serde(rename = "match")]
    patterns: Vec<String>,
    value: String,
}

impl Reader<'_> {
    pub(super) fn computed(
        &self,
        raw: Vec<Spanned<RawComputed>>,
        step_scopes: &[(Name, Scope)],
        field_names: &HashSet<Name>,
    ) -> Result<Vec<ComputedValue>, SourceError> {
        let mut out: Vec<ComputedValue> = Vec::with_capacity(raw.len());
        if raw.len() > MAX_COMPUTED {
            let span = raw.first().map(Spanned::span).unwrap_or_default();
            return Err(self.error(
                span,
                format!("a form has at most {MAX_COMPUTED} computed values"),
            ));
        }
        for raw in raw {
            let span = raw.span();
            let raw = raw.into_inner();
            let at = |message: String| self.error(span.clone(), message);
            let name = self.name(&span, &raw.name, "computed value name")?;
            if field_names.contains(&name) || out.iter().any(|c| c.name == name) {
                return Err(at(format!(
                    "the computed value `{name}` has the name of a field or of another computed value"
                )));
            }
            let ty = match raw.kind.as_str() {
                "text" => ComputedType::Text,
                "number" => ComputedType::Number,
                "money" => ComputedType::Money,
                other => {
                    return Err(at(format!(
                        "the computed value `{name}` has the unknown type {other:?}; known types: text, number, money"
                    )));
                }
            };
            let Some(step_index) = step_scopes
                .iter()
                .position(|(id, _)| id.as_str() == raw.step)
            else {
                return Err(at(format!(
                    "the computed value `{name}` names the step {:?}, which the form does not have",
                    raw.step
                )));
            };
            let (step, step_scope) = &step_scopes[step_index];
            let Some(purpose) = raw.purpose else {
                return Err(at(format!(
                    "the computed value `{name}` needs a `purpose`: say in both languages why the authority gets it (R4)"
                )));
            };
            let legal_basis = match raw.legal_basis.as_deref().map(str::trim) {
                Some(basis) if !basis.is_empty() && basis.len() <= 300 => basis.to_owned(),
                _ => {
                    return Err(at(format!(
                        "the computed value `{name}` needs a `legal_basis` (1 to 300 characters)"
                    )));
                }
            };
            // A value reads the answers up to its step and the values declared before it.
            let mut scope = step_scope.clone();
            for earlier in &out {
                let visible = step_scopes
                    .iter()
                    .position(|(id, _)| *id == earlier.step)
                    .is_some_and(|i| i <= step_index);
                if visible {
                    scope
                        .names
                        .insert(earlier.name.to_string(), expr_type(earlier.ty));
                }
            }
            let rule = match (raw.value, raw.cases, raw.lookup) {
                (Some(source), None, None) => {
                    Rule::Expr(self.typed(&span, &name, &source, expr_type(ty), &scope)?)
                }
                (None, Some(cases), None) => {
                    if cases.is_empty() || cases.len() > MAX_CASES {
                        return Err(at(format!(
                            "the computed value `{name}` needs 1 to {MAX_CASES} cases"
                        )));
                    }
                    cases
                        .into_iter()
                        .map(|case| {
                            let when = self.condition(
                                &span,
                                &format!("a case of computed value `{name}`"),
                                &case.when,
                                &scope,
                            )?;
                            Ok((when, self.literal(&span, &name, ty, &case.value)?))
                        })
                        .collect::<Result<Vec<_>, SourceError>>()
                        .map(Rule::Cases)?
                }
                (None, None, Some(lookup)) => {
                    Rule::Lookup(self.lookup(&span, &name, ty, lookup, &scope)?)
                }
                _ => {
                    return Err(at(format!(
                        "the computed value `{name}` needs exactly one of `value`, `cases` and `lookup`"
                    )));
                }
            };
            out.push(ComputedValue {
                name,
                label: raw.label,
                hint: raw.hint,
                ty,
                step: step.clone(),
                rule,
                purpose,
                legal_basis,
            });
        }
        Ok(out)
    }

    fn typed(
        &self,
        span: &Range<usize>,
        name: &Name,
        source: &str,
        want: Type,
        scope: &Scope,
    ) -> Result<Expr, SourceError> {
        let lookup = scope.lookup();
        let expr = Expr::parse(source).map_err(|e| {
            self.error(
                span.clone(),
                format!(
                    "in the computed value `{name}` {source:?} at byte {}: {}",
                    e.offset, e.message
                ),
            )
        })?;
        let ty = expr.check(&lookup).map_err(|e| {
            self.error(
                span.clone(),
                format!(
                    "in the computed value `{name}` {source:?} at byte {}: {}",
                    e.offset, e.message
                ),
            )
        })?;
        if ty != want {
            return Err(self.error(
                span.clone(),
                format!("the computed value `{name}` needs {want} here, but {source:?} is {ty}"),
            ));
        }
        Ok(expr)
    }

    fn literal(
        &self,
        span: &Range<usize>,
        name: &Name,
        ty: ComputedType,
        raw: &str,
    ) -> Result<Answer, SourceError> {
        let at = |what: &str| {
            self.error(
                span.clone(),
                format!("the computed value `{name}` has the value {raw:?}, which is not {what}"),
            )
        };
        match ty {
            ComputedType::Money => raw
                .parse::<Euros>()
                .map(|e| Answer::Number(e.cents() as f64 / 100.0))
                .map_err(|_| at("an amount like \"65.00\"")),
            ComputedType::Number => raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Answer::Number)
                .ok_or_else(|| at("a number")),
            ComputedType::Text => {
                let text = raw.trim();
                if text.is_empty()
                    || text.chars().count() > MAX_VALUE_LEN
                    || text.chars().any(char::is_control)
                {
                    return Err(at(&format!(
                        "a text of 1 to {MAX_VALUE_LEN} characters on one line"
                    )));
                }
                Ok(Answer::Text(text.to_owned()))
            }
        }
    }

    fn lookup(
        &self,
        span: &Range<usize>,
        name: &Name,
        ty: ComputedType,
        raw: RawLookup,
        scope: &Scope,
    ) -> Result<Lookup, SourceError> {
        let at = |message: String| self.error(span.clone(), message);
        if raw.keys.is_empty() || raw.keys.len() > MAX_KEYS {
            return Err(at(format!(
                "the lookup of `{name}` needs 1 to {MAX_KEYS} keys"
            )));
        }
        let keys = raw
            .keys
            .iter()
            .map(|key| self.typed(span, name, key, Type::Text, scope))
            .collect::<Result<Vec<_>, _>>()?;
        if raw.rows.is_empty() || raw.rows.len() > MAX_ROWS {
            return Err(at(format!(
                "the lookup of `{name}` needs 1 to {MAX_ROWS} rows"
            )));
        }
        let rows = raw
            .rows
            .into_iter()
            .map(|row| {
                if row.patterns.len() != keys.len() {
                    return Err(at(format!(
                        "a row of the lookup of `{name}` has {} entries in `match`, but there are {} keys",
                        row.patterns.len(),
                        keys.len()
                    )));
                }
                Ok(LookupRow {
                    patterns: row
                        .patterns
                        .iter()
                        .map(|p| (p.trim() != "*").then(|| normalise_key(p)))
                        .collect(),
                    value: self.literal(span, name, ty, &row.value)?,
                })
            })
            .collect::<Result<Vec<_>, SourceError>>()?;
        Ok(Lookup {
            keys,
            rows,
            none: raw.none,
            blocking: raw.blocking,
        })
    }
}

fn expr_type(ty: ComputedType) -> Type {
    match ty {
        ComputedType::Text => Type::Text,
        ComputedType::Number | ComputedType::Money => Type::Number,
    }
}
