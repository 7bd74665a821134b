//! The safe expression language of form definitions: conditions (`when`, `required`) and
//! validation rules (`check`) that service authors write in TOML.
//!
//! ```text
//! residence_kind == "secondary"
//! move_in_date <= today() + 14
//! breed in ["pitbull_terrier", "bullterrier"]
//! count(persons) > 1 and not is_set(landlord_reference)
//! age(child_birth_date) < 7
//! days_between(start_date, end_date) >= 0
//! ```
//!
//! An expression is parsed and type-checked once, when the definition is loaded
//! ([`Expr::parse_condition`]), and evaluated many times over a citizen's answers
//! ([`Expr::eval`], [`Expr::holds`]). Nothing is ever handed to an interpreter of a general
//! language; the evaluator only knows the operators and functions below.
//!
//! # The language
//!
//! * **Literals**: numbers (`14`, `3.5`); texts in double quotes with the escapes `\"` and `\\`;
//!   `true` and `false`; lists of texts `["a", "b"]`; dates `date("2025-01-31")` (the argument must
//!   be a text literal holding a valid date written `YYYY-MM-DD`).
//! * **Names**: `[a-z][a-z0-9_]*`, optionally followed by `.part`s of the same form
//!   (`new_address.postcode`); the whole dotted name is one name, at most 100 bytes.
//! * **Operators**, lowest precedence first: `or`; `and`; prefix `not`; the comparisons
//!   `==`, `!=`, `<`, `<=`, `>`, `>=` and `in` (which do not chain: `a < b < c` is an error);
//!   `+` and `-`; prefix `-`. Parentheses group. There is no division.
//! * **Types** ([`Type`]): `==`/`!=` compare two values of the same type (yes/no, number, text,
//!   date or list; lists are equal when they hold the same entries, in any order); `<`, `<=`, `>`,
//!   `>=` compare numbers or dates; `number ± number` is a number, `date ± number` is a date that
//!   many days later or earlier (the number must be whole), `date - date` is the number of days
//!   between them; `text in list` is yes/no; `and`, `or`, `not` take yes/no.
//! * **Functions**: `today()` is a date; `age(date)` the full years completed at today;
//!   `days_between(from, to)` the days from `from` to `to`; `count(group)` the entries of a
//!   repeatable group (a group is usable only here); `len(text or list)` the characters or entries;
//!   `is_set(x)` whether `x` was answered (for text: not blank, for a list: not empty).
//!
//! # Missing answers
//!
//! A question the citizen has not answered is [`Value::Missing`], and so is every value of a type
//! the operation cannot use (the evaluator never panics, whatever the environment returns):
//!
//! * arithmetic with a missing operand is missing, and so is a result that is not a finite number
//!   or a date out of range;
//! * `==`, `<`, `<=`, `>`, `>=` and `in` with a missing operand are false; `!=` is true (it is
//!   always the opposite of `==`);
//! * `and`, `or` and `not` read anything but `true` as false, so `not x` is true when `x` is missing;
//! * functions of a missing argument are missing, except `is_set`, which is then false.
//!
//! A condition [`holds`](Expr::holds) only when it evaluates to `true`.
//!
//! # Limits
//!
//! Each of these is an [`ExprError`], never a panic: the source is at most 2,000 bytes and 300
//! tokens; parentheses, calls, list literals, `not` and prefix `-` nest at most 32 levels deep; a
//! list literal holds at most 50 entries. Because every tree the parser builds is bounded by these,
//! checking and evaluating it recurse a bounded number of times.

mod ast;
mod check;
mod eval;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

use std::fmt;

use chrono::NaiveDate;

use ast::Node;

/// The most bytes an expression's source may have.
pub const MAX_SOURCE_BYTES: usize = 2_000;
/// The most tokens an expression may have.
pub const MAX_TOKENS: usize = 300;
/// The deepest nesting of parentheses, calls, list literals, `not` and prefix `-`.
pub const MAX_DEPTH: usize = 32;
/// The most entries of a list literal.
pub const MAX_LIST_ENTRIES: usize = 50;
/// The longest name, in bytes.
pub const MAX_NAME_BYTES: usize = 100;

/// The type of an expression or of a named answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Yes or no.
    Bool,
    /// A finite number.
    Number,
    /// A text.
    Text,
    /// A calendar date.
    Date,
    /// A list of texts: the answer of a multiple choice, or a list literal.
    List,
    /// A repeatable group; usable only as the argument of `count()`.
    Group,
}

impl Type {
    /// The type with its article, for messages: "a number", "text", "yes/no".
    pub(crate) fn article(self) -> &'static str {
        match self {
            Type::Bool => "yes/no",
            Type::Number => "a number",
            Type::Text => "text",
            Type::Date => "a date",
            Type::List => "a list",
            Type::Group => "a group",
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Bool => "yes/no",
            Type::Number => "number",
            Type::Text => "text",
            Type::Date => "date",
            Type::List => "list",
            Type::Group => "group",
        })
    }
}

/// A value an expression reads or produces.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Not answered (or, inside the evaluator, of a type the operation cannot use).
    Missing,
    /// Yes or no.
    Bool(bool),
    /// A number; a value that is not finite is read as missing.
    Number(f64),
    /// A text.
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
    /// A list of texts.
    List(Vec<String>),
    /// A repeatable group with this many entries.
    Items(usize),
}

/// Why an expression could not be parsed or type-checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct ExprError {
    /// The byte offset of the culprit in the expression's source.
    pub offset: usize,
    /// A message for the service author, in English.
    pub message: String,
}

impl ExprError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Self {
        Self {
            offset,
            message: message.into(),
        }
    }
}

/// What an expression reads at run time: the answers by name, and the date of today.
pub trait Env {
    /// The value of the answer called `name`, or [`Value::Missing`].
    fn value(&self, name: &str) -> Value;
    /// Today's date (injected, so tests control it).
    fn today(&self) -> NaiveDate;
}

/// A parsed expression, with its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    source: String,
    root: Node,
}

impl Expr {
    /// Parses an expression; syntax errors and exceeded limits are errors.
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        let root = parser::parse(source)?;
        Ok(Expr {
            source: source.to_owned(),
            root,
        })
    }

    /// Type-checks against the names in scope; returns the expression's type. Unknown names,
    /// wrong operand types and wrong function arities are errors with the offset of the culprit.
    pub fn check(&self, scope: &dyn Fn(&str) -> Option<Type>) -> Result<Type, ExprError> {
        check::check(&self.root, scope)
    }

    /// Parses, checks and demands the result type is yes/no — what `when`, `required` and
    /// `check` use.
    pub fn parse_condition(
        source: &str,
        scope: &dyn Fn(&str) -> Option<Type>,
    ) -> Result<Expr, ExprError> {
        let expr = Expr::parse(source)?;
        let ty = expr.check(scope)?;
        if ty != Type::Bool {
            return Err(ExprError::new(
                0,
                format!("this condition must be yes/no, but it is {}", ty.article()),
            ));
        }
        Ok(expr)
    }

    /// Every name the expression reads, in order of appearance, deduplicated.
    pub fn references(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.root.collect_names(&mut names);
        names
    }

    /// Evaluates over `env`; never panics, even on a value of the wrong type (which is treated
    /// like [`Value::Missing`]).
    pub fn eval(&self, env: &dyn Env) -> Value {
        eval::eval(&self.root, env)
    }

    /// Evaluates a condition: `true` only when the expression evaluates to `Value::Bool(true)`.
    pub fn holds(&self, env: &dyn Env) -> bool {
        matches!(self.eval(env), Value::Bool(true))
    }

    /// The source the expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}
