//! Evaluation: every operator and function, Missing semantics, wrong-typed values, overflow.

use chrono::NaiveDate;

use super::super::{Expr, Value};
use super::{Answers, date, eval, expr};

fn t() -> Value {
    Value::Bool(true)
}

fn f() -> Value {
    Value::Bool(false)
}

fn num(n: f64) -> Value {
    Value::Number(n)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn list(entries: &[&str]) -> Value {
    Value::List(entries.iter().map(|s| (*s).to_owned()).collect())
}

fn day(s: &str) -> Value {
    Value::Date(date(s))
}

#[test]
fn the_examples_of_the_brief() {
    let env = Answers::new()
        .with("residence_kind", text("secondary"))
        .with("move_in_date", day("2025-06-29"))
        .with("breed", text("bullterrier"))
        .with("persons", Value::Items(2))
        .with("child_birth_date", day("2018-06-16"))
        .with("start_date", day("2025-01-01"))
        .with("end_date", day("2025-01-01"));
    for source in [
        "residence_kind == \"secondary\"",
        "move_in_date <= today() + 14",
        "breed in [\"pitbull_terrier\", \"bullterrier\"]",
        "count(persons) > 1 and not is_set(landlord_reference)",
        "age(child_birth_date) < 7",
        "days_between(start_date, end_date) >= 0",
    ] {
        assert!(expr(source).holds(&env), "{source}");
    }
    let later = Answers::new()
        .with("move_in_date", day("2025-06-30"))
        .with("child_birth_date", day("2018-06-15"));
    assert!(!expr("move_in_date <= today() + 14").holds(&later));
    assert!(!expr("age(child_birth_date) < 7").holds(&later));
}

#[test]
fn arithmetic() {
    let env = Answers::new().with("n", num(2.5)).with("m", num(-1.0));
    assert_eq!(eval("n + m", &env), num(1.5));
    assert_eq!(eval("n - m", &env), num(3.5));
    assert_eq!(eval("-n", &env), num(-2.5));
    assert_eq!(eval("- -n", &env), num(2.5));
    assert_eq!(eval("0.1 + 0.2 > 0.3", &env), t());
    // Overflow to infinity is Missing, and so are values that are not finite.
    let big = format!("{} + {}", "9".repeat(308), "9".repeat(308));
    assert_eq!(eval(&big, &env), Value::Missing);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let env = Answers::new().with("n", num(bad));
        assert_eq!(eval("n", &env), Value::Missing);
        assert_eq!(eval("n + 1", &env), Value::Missing);
        assert_eq!(eval("n == n", &env), f());
        assert_eq!(eval("is_set(n)", &env), f());
    }
}

#[test]
fn date_arithmetic() {
    let env = Answers::new()
        .with("start_date", day("2024-02-28"))
        .with("end_date", day("2024-03-01"))
        .with("n", num(1.0));
    assert_eq!(eval("start_date + 1", &env), day("2024-02-29"));
    assert_eq!(eval("start_date + n + 1", &env), day("2024-03-01"));
    assert_eq!(eval("end_date - 1", &env), day("2024-02-29"));
    assert_eq!(eval("end_date + -1", &env), day("2024-02-29"));
    assert_eq!(eval("end_date - start_date", &env), num(2.0));
    assert_eq!(eval("start_date - end_date", &env), num(-2.0));
    assert_eq!(eval("today() - 365", &env), day("2024-06-15"));
    assert_eq!(eval("date(\"2025-01-31\") + 0", &env), day("2025-01-31"));
    // A fraction of a day at run time, and dates beyond chrono's range, are Missing.
    let half = Answers::new().with("n", num(0.5));
    assert_eq!(eval("today() + n", &half), Value::Missing);
    let far = Answers::new().with("n", num(1e300));
    assert_eq!(eval("today() + n", &far), Value::Missing);
    assert_eq!(eval("today() - n", &far), Value::Missing);
    let max = Answers::new().with("start_date", Value::Date(NaiveDate::MAX));
    assert_eq!(eval("start_date + 1", &max), Value::Missing);
    assert_eq!(
        eval("start_date - 1", &max),
        Value::Date(NaiveDate::MAX.pred_opt().unwrap())
    );
    let min = Answers::new().with("start_date", Value::Date(NaiveDate::MIN));
    assert_eq!(eval("start_date - 1", &min), Value::Missing);
    let both = Answers::new()
        .with("start_date", Value::Date(NaiveDate::MIN))
        .with("end_date", Value::Date(NaiveDate::MAX));
    assert!(matches!(eval("end_date - start_date", &both), Value::Number(n) if n > 1e8));
    assert!(
        matches!(eval("days_between(end_date, start_date)", &both), Value::Number(n) if n < -1e8)
    );
}

#[test]
fn comparisons() {
    let env = Answers::new()
        .with("n", num(3.0))
        .with("name", text("Anna"))
        .with("flag", t())
        .with("start_date", day("2025-01-01"))
        .with("choices", list(&["b", "a"]));
    let cases = [
        ("n == 3", true),
        ("n != 3", false),
        ("n < 3", false),
        ("n <= 3", true),
        ("n > 2.5", true),
        ("n >= 4", false),
        ("name == \"Anna\"", true),
        ("name == \"anna\"", false),
        ("name != \"anna\"", true),
        ("flag == true", true),
        ("flag != false", true),
        ("start_date == date(\"2025-01-01\")", true),
        ("start_date < date(\"2025-01-02\")", true),
        ("start_date >= date(\"2025-01-02\")", false),
        ("start_date <= today()", true),
        ("start_date > today()", false),
        ("choices == [\"a\", \"b\"]", true),
        ("choices == [\"a\", \"b\", \"a\"]", true),
        ("choices == [\"a\"]", false),
        ("choices != [\"a\"]", true),
        ("\"a\" in choices", true),
        ("\"c\" in choices", false),
        ("name in [\"Anna\", \"Berta\"]", true),
        ("name in []", false),
    ];
    for (source, expected) in cases {
        assert_eq!(eval(source, &env), Value::Bool(expected), "{source}");
    }
}

#[test]
fn logic() {
    let env = Answers::new().with("flag", t()).with("other_flag", f());
    let cases = [
        ("flag and other_flag", false),
        ("flag and flag", true),
        ("flag or other_flag", true),
        ("other_flag or other_flag", false),
        ("not flag", false),
        ("not other_flag", true),
        ("not (flag and other_flag)", true),
    ];
    for (source, expected) in cases {
        assert_eq!(eval(source, &env), Value::Bool(expected), "{source}");
        assert_eq!(expr(source).holds(&env), expected, "{source}");
    }
}

#[test]
fn missing_semantics() {
    let env = Answers::new();
    // Arithmetic and functions of Missing are Missing.
    for source in [
        "n + 1",
        "1 - n",
        "-n",
        "start_date + 1",
        "end_date - start_date",
        "age(child_birth_date)",
        "days_between(start_date, today())",
        "count(persons)",
        "len(name)",
        "len(choices)",
        "n",
    ] {
        assert_eq!(eval(source, &env), Value::Missing, "{source}");
        assert!(!expr(source).holds(&env));
    }
    // Comparisons and `in` with Missing are false; `!=` is true.
    let cases = [
        ("n == 1", false),
        ("n < 1", false),
        ("n <= 1", false),
        ("n > 1", false),
        ("n >= 1", false),
        ("n == m", false),
        ("name in choices", false),
        ("name in [\"a\"]", false),
        ("\"a\" in choices", false),
        ("n != 1", true),
        ("n != m", true),
        ("flag == true", false),
        ("flag != true", true),
        // `and`, `or`, `not` read Missing as false.
        ("not flag", true),
        ("flag and true", false),
        ("true and flag", false),
        ("flag or true", true),
        ("flag or false", false),
        ("not (n == 1)", true),
        ("is_set(name)", false),
        ("is_set(n)", false),
        ("is_set(choices)", false),
        ("is_set(start_date)", false),
        ("is_set(flag)", false),
    ];
    for (source, expected) in cases {
        assert_eq!(eval(source, &env), Value::Bool(expected), "{source}");
    }
    // A name on its own is its value; as a condition, Missing does not hold.
    assert_eq!(eval("flag", &env), Value::Missing);
    assert!(!expr("flag").holds(&env));
}

#[test]
fn functions() {
    let env = Answers::new()
        .today("2025-06-15")
        .with("child_birth_date", day("2019-06-15"))
        .with("start_date", day("2025-01-01"))
        .with("end_date", day("2024-12-25"))
        .with("persons", Value::Items(3))
        .with("children", Value::Items(0))
        .with("name", text(" Jürgen "))
        .with("choices", list(&["a", "b"]));
    assert_eq!(eval("today()", &env), day("2025-06-15"));
    assert_eq!(eval("age(child_birth_date)", &env), num(6.0));
    assert_eq!(eval("days_between(start_date, end_date)", &env), num(-7.0));
    assert_eq!(eval("days_between(end_date, start_date)", &env), num(7.0));
    assert_eq!(eval("count(persons)", &env), num(3.0));
    assert_eq!(eval("count(children)", &env), num(0.0));
    assert_eq!(eval("len(name)", &env), num(8.0));
    assert_eq!(eval("len(choices)", &env), num(2.0));
    assert_eq!(eval("len(\"\")", &env), num(0.0));
    assert_eq!(eval("len([])", &env), num(0.0));
}

#[test]
fn age_counts_full_years() {
    let age = |birth: &str, today: &str| {
        let env = Answers::new()
            .today(today)
            .with("child_birth_date", day(birth));
        eval("age(child_birth_date)", &env)
    };
    assert_eq!(age("2019-06-15", "2025-06-14"), num(5.0));
    assert_eq!(age("2019-06-15", "2025-06-15"), num(6.0));
    assert_eq!(age("2019-06-15", "2025-06-16"), num(6.0));
    assert_eq!(age("2025-06-15", "2025-06-15"), num(0.0));
    assert_eq!(age("2025-06-16", "2025-06-15"), num(-1.0));
    // Born on 29 February: a year is completed at the end of 28 February.
    assert_eq!(age("2020-02-29", "2021-02-28"), num(0.0));
    assert_eq!(age("2020-02-29", "2021-03-01"), num(1.0));
    assert_eq!(age("2020-02-29", "2024-02-28"), num(3.0));
    assert_eq!(age("2020-02-29", "2024-02-29"), num(4.0));
    let extreme = Answers::new()
        .with("child_birth_date", Value::Date(NaiveDate::MIN))
        .today("2025-01-01");
    assert!(matches!(eval("age(child_birth_date)", &extreme), Value::Number(n) if n > 2e5));
}

#[test]
fn is_set() {
    let cases = [
        (text("x"), true),
        (text("  \t"), false),
        (text(""), false),
        (list(&["a"]), true),
        (list(&[]), false),
        (num(0.0), true),
        (f(), true),
        (day("2025-01-01"), true),
        (Value::Missing, false),
    ];
    for (value, expected) in cases {
        let env = Answers::new().with("name", value.clone());
        assert_eq!(
            eval("is_set(name)", &env),
            Value::Bool(expected),
            "{value:?}"
        );
    }
}

#[test]
fn values_of_the_wrong_type_are_treated_as_missing() {
    // The environment answers with a value of another type than the scope promised.
    let env = Answers::new()
        .with("n", text("3"))
        .with("name", num(3.0))
        .with("flag", num(1.0))
        .with("start_date", text("2025-01-01"))
        .with("choices", Value::Items(2))
        .with("persons", list(&["a"]));
    let missing = [
        "n + 1",
        "-n",
        "start_date + 1",
        "today() - start_date",
        "age(start_date)",
        "days_between(start_date, today())",
        "count(persons)",
        "len(choices)",
    ];
    for source in missing {
        assert_eq!(eval(source, &env), Value::Missing, "{source}");
    }
    let cases = [
        ("n == 3", false),
        ("n != 3", true),
        ("n < 4", false),
        ("name == \"3\"", false),
        ("name in choices", false),
        ("not flag", true),
        ("flag or flag", false),
        ("is_set(choices)", false),
    ];
    for (source, expected) in cases {
        assert_eq!(eval(source, &env), Value::Bool(expected), "{source}");
    }
    // A name on its own is whatever the environment gives; it does not hold unless `true`.
    assert!(!expr("flag").holds(&env));
}

#[test]
fn holds_is_true_only_for_true() {
    let env = Answers::new().with("n", num(1.0));
    assert!(expr("n == 1").holds(&env));
    assert!(!expr("n == 2").holds(&env));
    assert!(!expr("n").holds(&env));
    assert!(!Expr::parse("missing_name").unwrap().holds(&env));
}
