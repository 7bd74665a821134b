//! Types: what each operator and function accepts, and the messages when it does not.

use super::super::{Expr, Type};
use super::{assert_error, expr, scope};

fn ty(source: &str) -> Type {
    expr(source).check(&scope).unwrap()
}

#[test]
fn types_of_literals_names_and_operators() {
    assert_eq!(ty("1"), Type::Number);
    assert_eq!(ty("\"x\""), Type::Text);
    assert_eq!(ty("true"), Type::Bool);
    assert_eq!(ty("[\"a\"]"), Type::List);
    assert_eq!(ty("date(\"2025-01-01\")"), Type::Date);
    assert_eq!(ty("choices"), Type::List);
    assert_eq!(ty("n + 1"), Type::Number);
    assert_eq!(ty("n - m"), Type::Number);
    assert_eq!(ty("-n"), Type::Number);
    assert_eq!(ty("start_date + 1"), Type::Date);
    assert_eq!(ty("start_date - -1"), Type::Date);
    assert_eq!(ty("start_date - n"), Type::Date);
    assert_eq!(ty("end_date - start_date"), Type::Number);
    for source in [
        "flag == other_flag",
        "n != 1",
        "name == \"x\"",
        "start_date != end_date",
        "choices == [\"a\"]",
        "n < 1",
        "n <= m",
        "start_date > end_date",
        "start_date >= today()",
        "name in choices",
        "\"a\" in [\"a\"]",
        "flag and other_flag",
        "flag or other_flag",
        "not flag",
    ] {
        assert_eq!(ty(source), Type::Bool, "{source}");
    }
}

#[test]
fn types_of_functions() {
    assert_eq!(ty("today()"), Type::Date);
    assert_eq!(ty("age(child_birth_date)"), Type::Number);
    assert_eq!(ty("days_between(start_date, end_date)"), Type::Number);
    assert_eq!(ty("count(persons)"), Type::Number);
    assert_eq!(ty("len(name)"), Type::Number);
    assert_eq!(ty("len(choices)"), Type::Number);
    assert_eq!(ty("len([\"a\"])"), Type::Number);
    for arg in ["flag", "n", "name", "start_date", "choices"] {
        assert_eq!(ty(&format!("is_set({arg})")), Type::Bool);
    }
}

#[test]
fn unknown_names() {
    assert_error("move_date <= today()", 0, "unknown name `move_date`");
    assert_error("n + 1 > other", 8, "unknown name `other`");
    assert_error(
        "is_set(new_address.street)",
        7,
        "unknown name `new_address.street`",
    );
    assert_error(
        "today + 1",
        0,
        "unknown name `today`; to call the function, write `today()`",
    );
    assert_error("age > 1", 0, "write `age(…)`");
}

#[test]
fn logic_needs_yes_no() {
    assert_error(
        "flag and n",
        9,
        "`and` needs yes/no on both sides, but this is a number",
    );
    assert_error(
        "name or flag",
        0,
        "`or` needs yes/no on both sides, but this is text",
    );
    assert_error(
        "not start_date",
        4,
        "`not` needs yes/no, but this is a date",
    );
    assert_error("not choices", 4, "but this is a list");
}

#[test]
fn equality_needs_equal_types() {
    assert_error("n == \"1\"", 2, "`==` cannot compare a number with text");
    assert_error("flag != 1", 5, "`!=` cannot compare yes/no with a number");
    assert_error("start_date == name", 11, "cannot compare a date with text");
    assert_error("choices == name", 8, "cannot compare a list with text");
}

#[test]
fn ordering_needs_numbers_or_dates() {
    assert_error("name < \"b\"", 0, "`<` compares numbers or dates, not text");
    assert_error("1 <= flag", 5, "`<=` compares numbers or dates, not yes/no");
    assert_error(
        "choices > 1",
        0,
        "`>` compares numbers or dates, not a list",
    );
    assert_error(
        "start_date >= 1",
        11,
        "`>=` cannot compare a date with a number",
    );
}

#[test]
fn membership_needs_text_in_list() {
    assert_error(
        "n in choices",
        0,
        "`in` needs text on its left, but this is a number",
    );
    assert_error("name in name", 8, "`in` needs a list on its right");
    assert_error(
        "choices in choices",
        0,
        "needs text on its left, but this is a list",
    );
}

#[test]
fn arithmetic_types() {
    assert_error(
        "name + 1",
        0,
        "`+` adds numbers, or a number of days to a date, not text",
    );
    assert_error(
        "1 - flag",
        4,
        "`-` subtracts numbers, a number of days from a date, or two dates, not yes/no",
    );
    assert_error("start_date + end_date", 11, "`+` cannot add two dates");
    assert_error("14 + today()", 3, "write the date first");
    assert_error("1 - today()", 2, "`-` cannot subtract a date from a number");
    assert_error("-start_date", 1, "`-` needs a number, but this is a date");
    assert_error("-name", 1, "but this is text");
    assert_error(
        "today() + 1.5",
        10,
        "a number of days must be a whole number",
    );
    assert_error("today() - -0.5", 10, "whole number");
    // Only literals are known; a fraction at run time gives Missing (see the eval tests).
    assert_eq!(ty("today() + n"), Type::Date);
}

#[test]
fn function_arities() {
    assert_error("today(1)", 0, "`today` takes no arguments, but 1 was given");
    assert_error("n + age()", 4, "`age` takes 1 argument, but none was given");
    assert_error(
        "days_between(start_date)",
        0,
        "`days_between` takes 2 arguments, but 1 was given",
    );
    assert_error(
        "days_between(start_date, end_date, today())",
        0,
        "takes 2 arguments, but 3 were given",
    );
    assert_error("count()", 0, "`count` takes 1 argument");
    assert_error(
        "len(name, name)",
        0,
        "`len` takes 1 argument, but 2 were given",
    );
    assert_error("is_set()", 0, "`is_set` takes 1 argument");
}

#[test]
fn function_argument_types() {
    assert_error("age(n)", 4, "`age` needs a date, but this is a number");
    assert_error(
        "days_between(start_date, name)",
        25,
        "`days_between` needs a date, but this is text",
    );
    assert_error(
        "days_between(1, name)",
        13,
        "needs a date, but this is a number",
    );
    assert_error(
        "count(n)",
        6,
        "`count` needs a repeatable group, but this is a number",
    );
    assert_error(
        "count(choices)",
        6,
        "needs a repeatable group, but this is a list",
    );
    assert_error(
        "len(n)",
        4,
        "`len` needs text or a list, but this is a number",
    );
    assert_error("len(start_date)", 4, "but this is a date");
    assert_error("age(nope)", 4, "unknown name `nope`");
}

#[test]
fn groups_are_only_counted() {
    assert_error(
        "persons",
        0,
        "`persons` is a repeatable group; an expression can only count its entries, like `count(persons)`",
    );
    assert_error("persons == children", 0, "like `count(persons)`");
    assert_error("1 + children", 4, "`children` is a repeatable group");
    assert_error(
        "is_set(persons)",
        7,
        "`is_set` cannot take a repeatable group",
    );
    assert_error("len(persons)", 4, "repeatable group");
    assert_eq!(ty("count((persons))"), Type::Number);
    assert_eq!(ty("count(persons) + count(children) > 2"), Type::Bool);
}

#[test]
fn conditions_must_be_yes_no() {
    let e = Expr::parse_condition("n + 1", &scope).unwrap_err();
    assert_eq!(
        e.message,
        "this condition must be yes/no, but it is a number"
    );
    assert_eq!(e.offset, 0);
    let e = Expr::parse_condition("name", &scope).unwrap_err();
    assert_eq!(e.message, "this condition must be yes/no, but it is text");
    let e = Expr::parse_condition("today()", &scope).unwrap_err();
    assert_eq!(e.message, "this condition must be yes/no, but it is a date");
    let e = Expr::parse_condition("choices", &scope).unwrap_err();
    assert!(e.message.ends_with("but it is a list"));
    // Errors from parsing and checking come first.
    let e = Expr::parse_condition("(", &scope).unwrap_err();
    assert!(e.message.contains("expected a value"));
    let e = Expr::parse_condition("move_date", &scope).unwrap_err();
    assert_eq!(e.message, "unknown name `move_date`");
    assert!(Expr::parse_condition("flag", &scope).is_ok());
}

#[test]
fn type_display() {
    let shown: Vec<String> = [
        Type::Bool,
        Type::Number,
        Type::Text,
        Type::Date,
        Type::List,
        Type::Group,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(shown, ["yes/no", "number", "text", "date", "list", "group"]);
}
