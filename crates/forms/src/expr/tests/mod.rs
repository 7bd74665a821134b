//! Tests of the expression language: parsing, checking, evaluation, and properties.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod check;
mod eval;
mod parse;
mod props;

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{Env, Expr, ExprError, Type, Value};

/// The names every test may use, and their types.
pub(super) fn scope(name: &str) -> Option<Type> {
    Some(match name {
        "flag" | "other_flag" => Type::Bool,
        "n" | "m" | "income" => Type::Number,
        "name" | "residence_kind" | "breed" | "landlord_reference" | "new_address.postcode" => {
            Type::Text
        }
        "start_date" | "end_date" | "move_in_date" | "child_birth_date" => Type::Date,
        "choices" | "other_choices" => Type::List,
        "persons" | "children" => Type::Group,
        _ => return None,
    })
}

pub(super) fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Answers by name; today is 2025-06-15 unless set.
pub(super) struct Answers {
    values: HashMap<String, Value>,
    today: NaiveDate,
}

impl Answers {
    pub fn new() -> Self {
        Self {
            values: HashMap::new(),
            today: date("2025-06-15"),
        }
    }

    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.values.insert(name.to_owned(), value);
        self
    }

    pub fn today(mut self, today: &str) -> Self {
        self.today = date(today);
        self
    }
}

impl Env for Answers {
    fn value(&self, name: &str) -> Value {
        self.values.get(name).cloned().unwrap_or(Value::Missing)
    }

    fn today(&self) -> NaiveDate {
        self.today
    }
}

/// Parses and checks `source`, which must succeed.
pub(super) fn expr(source: &str) -> Expr {
    let expr = Expr::parse(source).unwrap_or_else(|e| panic!("{source:?}: {e}"));
    expr.check(&scope)
        .unwrap_or_else(|e| panic!("{source:?}: {e}"));
    expr
}

/// The error parsing and checking `source`, which must fail.
pub(super) fn error(source: &str) -> ExprError {
    match Expr::parse(source).and_then(|e| e.check(&scope).map(|_| e)) {
        Ok(_) => panic!("{source:?} was accepted"),
        Err(e) => e,
    }
}

/// Asserts that `source` fails at `offset` with a message containing `needle`.
#[track_caller]
pub(super) fn assert_error(source: &str, offset: usize, needle: &str) {
    let e = error(source);
    assert!(
        e.message.contains(needle),
        "{source:?}: message {:?} lacks {needle:?}",
        e.message
    );
    assert_eq!(e.offset, offset, "{source:?}: {}", e.message);
}

/// Evaluates `source` over `env`.
pub(super) fn eval(source: &str, env: &Answers) -> Value {
    expr(source).eval(env)
}
