//! Syntax: tokens, precedence, literals, limits and syntax errors.

use super::super::{Expr, MAX_DEPTH, MAX_LIST_ENTRIES, MAX_SOURCE_BYTES, MAX_TOKENS};
use super::{Answers, assert_error, date, eval, expr};
use crate::expr::Value;

fn parse_error(source: &str) -> (usize, String) {
    let e = Expr::parse(source).expect_err(source);
    (e.offset, e.message)
}

#[track_caller]
fn assert_parse_error(source: &str, offset: usize, needle: &str) {
    let (at, message) = parse_error(source);
    assert!(
        message.contains(needle),
        "{source:?}: {message:?} lacks {needle:?}"
    );
    assert_eq!(at, offset, "{source:?}: {message}");
}

#[test]
fn the_examples_of_the_brief_parse_and_check() {
    for source in [
        "residence_kind == \"secondary\"",
        "move_in_date <= today() + 14",
        "breed in [\"pitbull_terrier\", \"bullterrier\"]",
        "count(persons) > 1 and not is_set(landlord_reference)",
        "age(child_birth_date) < 7",
        "days_between(start_date, end_date) >= 0",
        "new_address.postcode == \"10115\"",
    ] {
        let e = Expr::parse_condition(source, &super::scope).unwrap();
        assert_eq!(e.source(), source);
        assert_eq!(e.to_string(), source);
    }
}

#[test]
fn literals() {
    let env = Answers::new();
    assert_eq!(eval("14 == 14", &env), Value::Bool(true));
    assert_eq!(expr("3.5").eval(&env), Value::Number(3.5));
    assert_eq!(expr("007").eval(&env), Value::Number(7.0));
    assert_eq!(expr("true").eval(&env), Value::Bool(true));
    assert_eq!(expr("false").eval(&env), Value::Bool(false));
    assert_eq!(
        expr(r#""a \"quoted\" back\\slash""#).eval(&env),
        Value::Text("a \"quoted\" back\\slash".into())
    );
    assert_eq!(
        expr(r#""Grüße, 😀""#).eval(&env),
        Value::Text("Grüße, 😀".into())
    );
    assert_eq!(
        expr(r#"["a", "b"]"#).eval(&env),
        Value::List(vec!["a".into(), "b".into()])
    );
    assert_eq!(expr("[]").eval(&env), Value::List(vec![]));
    assert_eq!(
        expr(r#"date("2024-02-29")"#).eval(&env),
        Value::Date(date("2024-02-29"))
    );
    // Whitespace of every allowed kind.
    assert_eq!(expr(" \t\n\r1 +\n 2 ").eval(&env), Value::Number(3.0));
}

#[test]
fn precedence_and_associativity() {
    let env = Answers::new();
    // `-` is left-associative.
    assert_eq!(expr("10 - 3 - 2").eval(&env), Value::Number(5.0));
    assert_eq!(expr("10 - (3 - 2)").eval(&env), Value::Number(9.0));
    // `and` binds tighter than `or`.
    assert_eq!(eval("true or true and false", &env), Value::Bool(true));
    assert_eq!(eval("(true or true) and false", &env), Value::Bool(false));
    // `not` binds looser than comparisons: not (1 == 2).
    assert_eq!(eval("not 1 == 2", &env), Value::Bool(true));
    // `not` binds tighter than `and`.
    assert_eq!(eval("not false and false", &env), Value::Bool(false));
    // Arithmetic binds tighter than comparisons; prefix `-` tighter than `+`.
    assert_eq!(eval("1 + 2 == 3", &env), Value::Bool(true));
    assert_eq!(eval("-1 + 2 == 1", &env), Value::Bool(true));
    assert_eq!(eval("- - 2 == 2", &env), Value::Bool(true));
    assert_eq!(eval("not not true", &env), Value::Bool(true));
}

#[test]
fn names_may_have_dotted_parts_and_are_whole() {
    let e = expr("new_address.postcode == \"10115\" and is_set(new_address.postcode)");
    assert_eq!(e.references(), vec!["new_address.postcode"]);
    let e = Expr::parse("a.b_2.c3 == x").unwrap();
    assert_eq!(e.references(), vec!["a.b_2.c3", "x"]);
    // Keywords are fine as later parts.
    assert_eq!(Expr::parse("a.in").unwrap().references(), vec!["a.in"]);
}

#[test]
fn references_are_in_order_and_deduplicated() {
    let e = Expr::parse("n + m > n and is_set(name) or days_between(start_date, end_date) > m")
        .unwrap();
    assert_eq!(
        e.references(),
        vec!["n", "m", "name", "start_date", "end_date"]
    );
    assert!(Expr::parse("1 + 2").unwrap().references().is_empty());
}

#[test]
fn bad_names() {
    assert_parse_error("Name == 1", 0, "`Name` is not a valid name");
    assert_parse_error("a.Bc", 2, "`Bc` is not a valid name");
    assert_parse_error("_x", 0, "not a valid name");
    assert_parse_error("flag AND flag", 5, "write the keyword in lower case: `and`");
    assert_parse_error("True", 0, "lower case: `true`");
    assert_parse_error("a.", 2, "expected a name part after the `.`");
    assert_parse_error("a..b", 2, "expected a name part");
    assert_parse_error("a.1b", 2, "`1b` is not a valid name");
    let long = "a".repeat(101);
    assert_parse_error(&long, 0, "longer than 100 bytes");
    assert!(Expr::parse(&"a".repeat(100)).is_ok());
    let dotted = format!("{}.{}", "a".repeat(50), "b".repeat(50));
    assert_parse_error(&dotted, 0, "longer than 100 bytes");
}

#[test]
fn bad_numbers() {
    assert_parse_error("1.", 1, "expected a digit after the `.`");
    assert_parse_error("1.x", 1, "expected a digit");
    assert_parse_error(".5", 0, "numbers start with a digit");
    assert_parse_error("14days", 2, "after the number");
    assert_parse_error("1.5.3", 3, "after the number");
    let huge = "9".repeat(400);
    assert_parse_error(&huge, 0, "too large");
}

#[test]
fn bad_texts() {
    assert_parse_error("name == \"open", 8, "no closing `\"`");
    assert_parse_error("\"ends in backslash\\", 0, "no closing");
    assert_parse_error(r#""a\nb""#, 2, "unknown escape `\\n`");
}

#[test]
fn bad_characters_get_hints() {
    assert_parse_error("n = 1", 2, "write `==`");
    assert_parse_error("!flag", 0, "write `not`");
    assert_parse_error("flag && flag", 5, "write `and`");
    assert_parse_error("flag || flag", 5, "write `or`");
    assert_parse_error("name == 'x'", 8, "double quotes");
    assert_parse_error("n / 2", 2, "no `/`");
    assert_parse_error("n # 2", 2, "unexpected character `#`");
    assert_parse_error("n €", 2, "unexpected character `€`");
    assert_parse_error("n\u{a0}== 1", 1, "U+00A0");
    assert_parse_error("n\u{0}", 1, "control character U+0000");
}

#[test]
fn syntax_errors_point_at_the_culprit() {
    assert_parse_error("", 0, "empty");
    assert_parse_error("   ", 0, "empty");
    assert_parse_error("(1 + 2", 6, "expected `)`");
    assert_parse_error("(1 + 2 3)", 7, "expected `)`");
    assert_parse_error("1 + 2)", 5, "no matching `(`");
    assert_parse_error(
        "n m",
        2,
        "expected an operator or the end of the expression, found name `m`",
    );
    assert_parse_error("n ==", 4, "found the end of the expression");
    assert_parse_error("n == )", 5, "found `)`");
    assert_parse_error("n == not flag", 5, "`not` applies to a whole condition");
    assert_parse_error("age(n", 5, "expected `,` or `)`");
    assert_parse_error("age(n,)", 6, "expected a value");
    assert_parse_error("[\"a\" \"b\"]", 5, "expected `,` or `]`");
    assert_parse_error("[\"a\",]", 5, "a list holds only texts in double quotes");
    assert_parse_error("[n]", 1, "a list holds only texts");
    assert_parse_error("[\"a\"", 4, "expected `,` or `]`");
    assert_parse_error("foo(1)", 0, "unknown function `foo`");
    assert_parse_error("a.b(1)", 0, "unknown function `a.b`");
}

#[test]
fn comparisons_do_not_chain() {
    assert_parse_error("1 < n < 3", 6, "comparisons do not chain");
    assert_parse_error("n == m == flag", 7, "do not chain");
    assert_parse_error("name in choices == flag", 16, "do not chain");
    // With parentheses or `and` it is fine (syntactically).
    assert!(Expr::parse("(1 < n) == true").is_ok());
    assert!(Expr::parse("1 < n and n < 3").is_ok());
}

#[test]
fn date_literals_are_checked_when_parsed() {
    assert_parse_error(
        r#"date("2025-02-30")"#,
        5,
        "`2025-02-30` is not a valid date",
    );
    assert_parse_error(r#"date("2025-2-3")"#, 5, "YYYY-MM-DD");
    assert_parse_error(r#"date("31.01.2025")"#, 5, "not a valid date");
    assert_parse_error(r#"date("2025-01-31T00:00")"#, 5, "not a valid date");
    assert_parse_error(r#"date("+025-01-31")"#, 5, "not a valid date");
    assert_parse_error("date(start_date)", 5, "one date in double quotes");
    assert_parse_error("date()", 5, "one date in double quotes");
    assert_parse_error(
        r#"date("2025-01-31", "x")"#,
        17,
        "one date in double quotes",
    );
    assert!(Expr::parse(r#"date("0000-01-01")"#).is_ok());
    // `date` without parentheses is an ordinary name.
    assert_eq!(Expr::parse("date").unwrap().references(), vec!["date"]);
}

#[test]
fn source_limit() {
    let ok = format!("name == \"{}\"", "x".repeat(MAX_SOURCE_BYTES - 10));
    assert_eq!(ok.len(), MAX_SOURCE_BYTES);
    assert!(Expr::parse(&ok).is_ok());
    let long = format!("{ok} ");
    assert_parse_error(&long, MAX_SOURCE_BYTES, "longer than 2000 bytes");
    // The offset stays on a character boundary.
    let wide = format!("\"{}\"", "ü".repeat(1_000));
    let (at, _) = parse_error(&wide);
    assert!(wide.is_char_boundary(at) && at <= MAX_SOURCE_BYTES);
}

#[test]
fn token_limit() {
    // `1 + 1 + … + 1` with exactly MAX_TOKENS tokens parses; one more pair does not.
    let terms = MAX_TOKENS.div_ceil(2);
    let ok = vec!["1"; terms].join("+");
    assert!(Expr::parse(&ok).is_ok());
    let too_many = format!("{ok}+1+1");
    assert_parse_error(&too_many, MAX_TOKENS, "more than 300 tokens");
    // A long chain evaluates without trouble.
    assert_eq!(expr(&ok).eval(&Answers::new()), Value::Number(terms as f64));
}

#[test]
fn depth_limit() {
    let nested = |n: usize| format!("{}n{}", "(".repeat(n), ")".repeat(n));
    assert!(Expr::parse(&nested(MAX_DEPTH)).is_ok());
    assert_parse_error(&nested(MAX_DEPTH + 1), MAX_DEPTH, "nested too deeply");
    // Far beyond the token limit: an error, not a stack overflow.
    assert!(Expr::parse(&"(".repeat(10_000)).is_err());
    assert!(Expr::parse(&nested(10_000)).is_err());
    assert!(Expr::parse(&"not ".repeat(10_000)).is_err());
    assert!(Expr::parse(&format!("{}true", "not ".repeat(10_000))).is_err());
    assert!(Expr::parse(&"[".repeat(10_000)).is_err());
    // Unary chains count.
    let nots = |n: usize| format!("{}flag", "not ".repeat(n));
    assert!(Expr::parse(&nots(MAX_DEPTH)).is_ok());
    assert_parse_error(&nots(MAX_DEPTH + 1), 4 * MAX_DEPTH, "nested too deeply");
    let negs = |n: usize| format!("{}1", "-".repeat(n));
    assert!(Expr::parse(&negs(MAX_DEPTH)).is_ok());
    assert_parse_error(&negs(MAX_DEPTH + 1), MAX_DEPTH, "nested too deeply");
    // Calls and list literals count.
    let calls = |n: usize| format!("{}name{}", "len(".repeat(n), ")".repeat(n));
    assert!(Expr::parse(&calls(MAX_DEPTH)).is_ok());
    assert_parse_error(
        &calls(MAX_DEPTH + 1),
        4 * MAX_DEPTH + 3,
        "nested too deeply",
    );
    let list_in_parens = |n: usize| format!("{}[]{}", "(".repeat(n), ")".repeat(n));
    assert!(Expr::parse(&list_in_parens(MAX_DEPTH - 1)).is_ok());
    assert_parse_error(&list_in_parens(MAX_DEPTH), MAX_DEPTH, "nested too deeply");
}

#[test]
fn list_entry_limit() {
    let list = |n: usize| {
        let entries: Vec<String> = (0..n).map(|i| format!("\"{i}\"")).collect();
        format!("[{}]", entries.join(","))
    };
    assert!(Expr::parse(&list(MAX_LIST_ENTRIES)).is_ok());
    let too_long = list(MAX_LIST_ENTRIES + 1);
    let at = too_long.rfind('"').unwrap() - 3;
    assert_parse_error(&too_long, at, "at most 50 entries");
}

#[test]
fn errors_display_with_their_offset() {
    let e = Expr::parse("(1").unwrap_err();
    assert_eq!(e.to_string(), "expected `)` (at byte 2)");
    let _: &dyn std::error::Error = &e;
}

#[test]
fn errors_with_long_tokens_are_shortened() {
    let source = format!("n \"{}\"", "x".repeat(500));
    let (_, message) = parse_error(&source);
    assert!(message.len() < 120, "{message}");
    assert_error("n == m and", 10, "found the end of the expression");
}
