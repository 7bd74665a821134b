//! Properties: no input makes the parser, checker or evaluator panic, and well-typed expressions
//! evaluate to their type or to Missing.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use proptest::collection::vec;
use proptest::prelude::*;

use super::super::{Env, Expr, Type, Value};
use super::scope;

/// Every name of the test scope.
const NAMES: [&str; 18] = [
    "flag",
    "other_flag",
    "n",
    "m",
    "income",
    "name",
    "residence_kind",
    "breed",
    "landlord_reference",
    "new_address.postcode",
    "start_date",
    "end_date",
    "move_in_date",
    "child_birth_date",
    "choices",
    "other_choices",
    "persons",
    "children",
];

/// The language's tokens, some broken ones, and names in and out of scope.
const TOKENS: [&str; 52] = [
    "flag",
    "n",
    "m",
    "name",
    "choices",
    "persons",
    "start_date",
    "end_date",
    "nope",
    "a.b",
    "new_address.postcode",
    "1",
    "0",
    "14",
    "2.5",
    "\"x\"",
    "\"\"",
    "\"a\\\"b\"",
    "true",
    "false",
    "and",
    "or",
    "not",
    "in",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "(",
    ")",
    "[",
    "]",
    ",",
    "today(",
    "age(",
    "days_between(",
    "count(",
    "len(",
    "is_set(",
    "date(\"2024-02-29\")",
    "date(",
    "\"2025-13-01\"",
    "=",
    "!",
    ".",
    "\"",
    "\\",
    "ü",
];

fn token_soup() -> impl Strategy<Value = String> {
    let sep = prop::sample::select(&[" ", "", "\n"][..]);
    vec((prop::sample::select(&TOKENS[..]), sep), 0..60)
        .prop_map(|parts| parts.into_iter().map(|(t, s)| format!("{t}{s}")).collect())
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    let min = NaiveDate::MIN.num_days_from_ce();
    let max = NaiveDate::MAX.num_days_from_ce();
    let today = NaiveDate::from_ymd_opt(2025, 6, 15).map_or(0, |d| d.num_days_from_ce());
    prop_oneof![
        Just(min),
        Just(max),
        min..=max,
        (today - 40_000)..(today + 400),
    ]
    .prop_map(|days| NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default())
}

fn any_number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(-0.0),
        (-1000i32..1000).prop_map(f64::from),
        -1000.0..1000.0f64,
    ]
}

fn typed_value(ty: Type) -> BoxedStrategy<Value> {
    let value = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => any_number().prop_map(Value::Number).boxed(),
        Type::Text => "\\PC{0,6}|[ \t]{0,2}".prop_map(Value::Text).boxed(),
        Type::Date => any_date().prop_map(Value::Date).boxed(),
        Type::List => vec("[a-c ]{0,2}", 0..4).prop_map(Value::List).boxed(),
        Type::Group => prop_oneof![0..5usize, Just(usize::MAX)]
            .prop_map(Value::Items)
            .boxed(),
    };
    prop_oneof![1 => Just(Value::Missing), 4 => value].boxed()
}

fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        typed_value(Type::Bool),
        typed_value(Type::Number),
        typed_value(Type::Text),
        typed_value(Type::Date),
        typed_value(Type::List),
        typed_value(Type::Group),
    ]
    .boxed()
}

/// Answers for every name of the scope, and a date for today.
#[derive(Debug, Clone)]
struct RandomEnv {
    values: HashMap<&'static str, Value>,
    today: NaiveDate,
}

impl Env for RandomEnv {
    fn value(&self, name: &str) -> Value {
        self.values.get(name).cloned().unwrap_or(Value::Missing)
    }

    fn today(&self) -> NaiveDate {
        self.today
    }
}

/// Values of any variant for every name.
fn any_env() -> impl Strategy<Value = RandomEnv> {
    (vec(any_value(), NAMES.len()), any_date()).prop_map(|(values, today)| RandomEnv {
        values: NAMES.iter().copied().zip(values).collect(),
        today,
    })
}

/// Values of each name's own type (or Missing).
fn typed_env() -> impl Strategy<Value = RandomEnv> {
    let values: Vec<BoxedStrategy<Value>> = NAMES
        .iter()
        .map(|name| typed_value(scope(name).unwrap_or(Type::Bool)))
        .collect();
    (values, any_date()).prop_map(|(values, today)| RandomEnv {
        values: NAMES.iter().copied().zip(values).collect(),
        today,
    })
}

/// A small deterministic generator of well-typed expressions, driven by a seed.
struct Gen(u64);

impl Gen {
    fn pick(&mut self, n: usize) -> usize {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    fn one<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.pick(options.len())]
    }

    fn expr(&mut self, ty: Type, depth: u32) -> String {
        let leaf = depth == 0 || self.pick(3) == 0;
        match ty {
            Type::Bool if leaf => self.one(&["true", "false", "flag", "other_flag"]).into(),
            Type::Bool => match self.pick(9) {
                0 => format!(
                    "{} and {}",
                    self.expr(ty, depth - 1),
                    self.expr(ty, depth - 1)
                ),
                1 => format!(
                    "({} or {})",
                    self.expr(ty, depth - 1),
                    self.expr(ty, depth - 1)
                ),
                2 => format!("not {}", self.expr(ty, depth - 1)),
                3 => {
                    let op = self.one(&["==", "!=", "<", "<=", ">", ">="]);
                    let ty = [Type::Number, Type::Date][self.pick(2)];
                    format!(
                        "{} {op} {}",
                        self.expr(ty, depth - 1),
                        self.expr(ty, depth - 1)
                    )
                }
                4 => {
                    let op = self.one(&["==", "!="]);
                    let ty = [Type::Bool, Type::Text, Type::List][self.pick(3)];
                    format!(
                        "({}) {op} ({})",
                        self.expr(ty, depth - 1),
                        self.expr(ty, depth - 1)
                    )
                }
                5 => format!(
                    "{} in {}",
                    self.expr(Type::Text, depth - 1),
                    self.expr(Type::List, depth - 1)
                ),
                _ => {
                    let ty = [Type::Bool, Type::Number, Type::Text, Type::Date, Type::List]
                        [self.pick(5)];
                    format!("is_set({})", self.expr(ty, depth - 1))
                }
            },
            Type::Number if leaf => self
                .one(&["0", "1", "14", "100000000", "(2.5 + 0)", "n", "m", "income"])
                .into(),
            Type::Number => match self.pick(8) {
                0 => format!(
                    "{} + {}",
                    self.expr(ty, depth - 1),
                    self.expr(ty, depth - 1)
                ),
                1 => format!(
                    "{} - ({})",
                    self.expr(ty, depth - 1),
                    self.expr(ty, depth - 1)
                ),
                2 => format!("-({})", self.expr(ty, depth - 1)),
                3 => format!("age({})", self.expr(Type::Date, depth - 1)),
                4 => format!(
                    "days_between({}, {})",
                    self.expr(Type::Date, depth - 1),
                    self.expr(Type::Date, depth - 1)
                ),
                5 => format!("count({})", self.one(&["persons", "children"])),
                6 => {
                    let ty = [Type::Text, Type::List][self.pick(2)];
                    format!("len({})", self.expr(ty, depth - 1))
                }
                _ => format!(
                    "(({}) - ({}))",
                    self.expr(Type::Date, depth - 1),
                    self.expr(Type::Date, depth - 1)
                ),
            },
            Type::Date if leaf => self
                .one(&[
                    "today()",
                    "date(\"2024-02-29\")",
                    "date(\"0001-01-01\")",
                    "start_date",
                    "end_date",
                    "move_in_date",
                    "child_birth_date",
                ])
                .into(),
            Type::Date => {
                let op = self.one(&["+", "-"]);
                format!(
                    "{} {op} ({})",
                    self.expr(ty, depth - 1),
                    self.expr(Type::Number, depth - 1)
                )
            }
            Type::Text => self
                .one(&[
                    "\"\"",
                    "\"a\"",
                    "\" b \"",
                    "\"\\\"\"",
                    "name",
                    "breed",
                    "new_address.postcode",
                ])
                .into(),
            Type::List => self
                .one(&[
                    "[]",
                    "[\"a\", \"b\"]",
                    "[\"a\"]",
                    "choices",
                    "other_choices",
                ])
                .into(),
            Type::Group => self.one(&["persons", "children"]).into(),
        }
    }
}

fn value_has_type(value: &Value, ty: Type) -> bool {
    matches!(
        (value, ty),
        (Value::Missing, _)
            | (Value::Bool(_), Type::Bool)
            | (Value::Number(_), Type::Number)
            | (Value::Text(_), Type::Text)
            | (Value::Date(_), Type::Date)
            | (Value::List(_), Type::List)
    )
}

const TYPES: [Type; 5] = [Type::Bool, Type::Number, Type::Text, Type::Date, Type::List];

proptest! {
    #[test]
    fn parse_never_panics_on_any_string(source in any::<String>()) {
        let _ = Expr::parse(&source);
    }

    #[test]
    fn parse_never_panics_on_printable_strings(source in "[ -~]{0,80}") {
        if let Ok(e) = Expr::parse(&source) {
            prop_assert_eq!(e.source(), source.as_str());
            let _ = e.check(&scope);
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..200)) {
        let _ = Expr::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(source in token_soup(), env in any_env()) {
        if let Ok(e) = Expr::parse(&source) {
            prop_assert!(e.references().iter().all(|name| source.contains(name)));
            if e.check(&scope).is_ok() {
                let _ = e.eval(&env);
                let _ = e.holds(&env);
            }
        }
    }

    #[test]
    fn error_offsets_are_char_boundaries(source in "[a-z\"ü( )=<.\\\\]{0,30}") {
        if let Err(e) = Expr::parse(&source) {
            prop_assert!(source.is_char_boundary(e.offset), "{:?} {:?}", source, e);
        }
    }

    #[test]
    fn well_typed_expressions_check_and_never_panic(
        seed in any::<u64>(),
        ty in prop::sample::select(&TYPES[..]),
        env in any_env(),
    ) {
        let source = Gen(seed).expr(ty, 4);
        let e = Expr::parse(&source).map_err(|e| TestCaseError::fail(format!("{source}: {e}")))?;
        prop_assert_eq!(e.check(&scope), Ok(ty), "{}", source);
        let _ = e.eval(&env);
    }

    #[test]
    fn well_typed_expressions_evaluate_to_their_type_or_missing(
        seed in any::<u64>(),
        ty in prop::sample::select(&TYPES[..]),
        env in typed_env(),
    ) {
        let source = Gen(seed).expr(ty, 4);
        let e = Expr::parse(&source).map_err(|e| TestCaseError::fail(format!("{source}: {e}")))?;
        prop_assert_eq!(e.check(&scope), Ok(ty), "{}", source);
        let value = e.eval(&env);
        prop_assert!(value_has_type(&value, ty), "{} gave {:?}", source, value);
        if let Value::Number(n) = value {
            prop_assert!(n.is_finite());
        }
    }
}
