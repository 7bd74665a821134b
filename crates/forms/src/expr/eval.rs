//! The evaluator. It never panics: a value of a type an operation cannot use is treated like
//! [`Value::Missing`] (see the module docs for what Missing does to each operation). The walk's
//! depth is bounded by the parser's limits.

use chrono::{Datelike, Days, NaiveDate};

use super::ast::{BinOp, Func, Kind, Node};
use super::{Env, Value};

pub(crate) fn eval(node: &Node, env: &dyn Env) -> Value {
    match &node.kind {
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Number(n) => number(*n),
        Kind::Text(text) => Value::Text(text.clone()),
        Kind::List(entries) => Value::List(entries.clone()),
        Kind::Date(date) => Value::Date(*date),
        Kind::Name(name) => match env.value(name) {
            Value::Number(n) => number(n),
            value => value,
        },
        Kind::Not(inner) => Value::Bool(!is_true(&eval(inner, env))),
        Kind::Neg(inner) => match eval(inner, env) {
            Value::Number(n) => number(-n),
            _ => Value::Missing,
        },
        Kind::Binary { op, lhs, rhs, .. } => match op {
            // `and` and `or` look at the right side only when they need to.
            BinOp::And => Value::Bool(is_true(&eval(lhs, env)) && is_true(&eval(rhs, env))),
            BinOp::Or => Value::Bool(is_true(&eval(lhs, env)) || is_true(&eval(rhs, env))),
            _ => binary(*op, eval(lhs, env), eval(rhs, env)),
        },
        Kind::Call { func, args } => {
            let values: Vec<Value> = args.iter().map(|arg| eval(arg, env)).collect();
            call(*func, &values, env)
        }
    }
}

fn is_true(value: &Value) -> bool {
    matches!(value, Value::Bool(true))
}

/// A number, or Missing when it is not finite (an overflow, or a NaN from the environment).
fn number(n: f64) -> Value {
    if n.is_finite() {
        Value::Number(n)
    } else {
        Value::Missing
    }
}

fn binary(op: BinOp, left: Value, right: Value) -> Value {
    use Value::{Date, Missing, Number};
    match op {
        BinOp::Eq => Value::Bool(equal(&left, &right)),
        BinOp::Ne => Value::Bool(!equal(&left, &right)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let order = match (&left, &right) {
                (Number(a), Number(b)) => a.partial_cmp(b),
                (Date(a), Date(b)) => Some(a.cmp(b)),
                _ => None,
            };
            Value::Bool(order.is_some_and(|order| match op {
                BinOp::Lt => order.is_lt(),
                BinOp::Le => order.is_le(),
                BinOp::Gt => order.is_gt(),
                _ => order.is_ge(),
            }))
        }
        BinOp::In => Value::Bool(match (&left, &right) {
            (Value::Text(text), Value::List(entries)) => entries.contains(text),
            _ => false,
        }),
        BinOp::Add => match (left, right) {
            (Number(a), Number(b)) => number(a + b),
            (Date(date), Number(days)) => add_days(date, days),
            _ => Missing,
        },
        BinOp::Sub => match (left, right) {
            (Number(a), Number(b)) => number(a - b),
            (Date(date), Number(days)) => add_days(date, -days),
            (Date(a), Date(b)) => days_from(b, a),
            _ => Missing,
        },
        // Handled with short-circuiting in `eval`.
        BinOp::And | BinOp::Or => Missing,
    }
}

/// `==`: false when either side is missing or the two are of different types. Lists are equal
/// when they hold the same entries, in any order.
fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => a == b,
        (Value::Text(a), Value::Text(b)) => a == b,
        (Value::Date(a), Value::Date(b)) => a == b,
        (Value::List(a), Value::List(b)) => entry_set(a) == entry_set(b),
        _ => false,
    }
}

/// The distinct entries of a list, sorted.
fn entry_set(list: &[String]) -> Vec<&str> {
    let mut set: Vec<&str> = list.iter().map(String::as_str).collect();
    set.sort_unstable();
    set.dedup();
    set
}

/// `date` moved by a whole number of days; Missing for a fraction or a date out of range.
fn add_days(date: NaiveDate, days: f64) -> Value {
    // Far beyond chrono's range of dates (about ±262,000 years), and exact in an i64.
    const TOO_MANY: f64 = 1e12;
    if !days.is_finite() || days.fract() != 0.0 || days.abs() > TOO_MANY {
        return Value::Missing;
    }
    let days = days as i64;
    let moved = if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.map_or(Value::Missing, Value::Date)
}

/// The days from `from` to `to` (negative when `to` is earlier).
fn days_from(from: NaiveDate, to: NaiveDate) -> Value {
    // Every difference of two dates fits a TimeDelta, and its days an f64, exactly.
    Value::Number(to.signed_duration_since(from).num_days() as f64)
}

/// Full years completed at `today` by someone born on `birth`. Someone born on 29 February
/// completes a year at the end of 28 February in other years (§ 188 BGB).
fn age(birth: NaiveDate, today: NaiveDate) -> f64 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    f64::from(years)
}

fn call(func: Func, args: &[Value], env: &dyn Env) -> Value {
    match (func, args) {
        (Func::Today, _) => Value::Date(env.today()),
        (Func::Age, [Value::Date(birth)]) => Value::Number(age(*birth, env.today())),
        (Func::DaysBetween, [Value::Date(from), Value::Date(to)]) => days_from(*from, *to),
        (Func::Count, [Value::Items(n)]) => Value::Number(*n as f64),
        (Func::Len, [Value::Text(text)]) => Value::Number(text.chars().count() as f64),
        (Func::Len, [Value::List(entries)]) => Value::Number(entries.len() as f64),
        (Func::IsSet, [value]) => Value::Bool(match value {
            Value::Missing | Value::Items(_) => false,
            Value::Text(text) => !text.trim().is_empty(),
            Value::List(entries) => !entries.is_empty(),
            Value::Bool(_) | Value::Number(_) | Value::Date(_) => true,
        }),
        _ => Value::Missing,
    }
}
