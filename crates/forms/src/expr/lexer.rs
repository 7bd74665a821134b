//! Splits an expression's source into tokens, enforcing the source, token and name limits.

use super::{ExprError, MAX_NAME_BYTES, MAX_SOURCE_BYTES, MAX_TOKENS};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Number(f64),
    Text(String),
    /// A name, or the name of a function when a `(` follows.
    Word(String),
    True,
    False,
    And,
    Or,
    Not,
    In,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset of the token's first byte.
    pub offset: usize,
    /// Byte length of the token in the source.
    pub len: usize,
}

impl Token {
    /// How a message names this token: "`)`", "name `x`", "number `14`".
    pub fn describe(&self, source: &str) -> String {
        let text = source
            .get(self.offset..self.offset + self.len)
            .unwrap_or_default();
        let text = shorten(text);
        match self.tok {
            Tok::Word(_) => format!("name `{text}`"),
            Tok::Number(_) => format!("number `{text}`"),
            Tok::Text(_) => format!("text `{text}`"),
            _ => format!("`{text}`"),
        }
    }
}

/// Cuts a long token to its first 30 characters for a message.
pub(crate) fn shorten(text: &str) -> String {
    const KEEP: usize = 30;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The largest char boundary at or below `at`.
fn floor_boundary(source: &str, at: usize) -> usize {
    let mut at = at.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    at
}

pub(crate) fn lex(source: &str) -> Result<Vec<Token>, ExprError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(ExprError::new(
            floor_boundary(source, MAX_SOURCE_BYTES),
            format!("the expression is longer than {MAX_SOURCE_BYTES} bytes"),
        ));
    }
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        if tokens.len() == MAX_TOKENS {
            return Err(ExprError::new(
                i,
                format!("the expression has more than {MAX_TOKENS} tokens"),
            ));
        }
        let start = i;
        let tok = match b {
            b'0'..=b'9' => {
                let (tok, end) = number(source, start)?;
                i = end;
                tok
            }
            b'"' => {
                let (text, end) = text(source, start)?;
                i = end;
                Tok::Text(text)
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let (tok, end) = word(source, start)?;
                i = end;
                tok
            }
            _ => {
                let next = bytes.get(i + 1).copied();
                let (tok, len) = match (b, next) {
                    (b'=', Some(b'=')) => (Tok::Eq, 2),
                    (b'!', Some(b'=')) => (Tok::Ne, 2),
                    (b'<', Some(b'=')) => (Tok::Le, 2),
                    (b'>', Some(b'=')) => (Tok::Ge, 2),
                    (b'<', _) => (Tok::Lt, 1),
                    (b'>', _) => (Tok::Gt, 1),
                    (b'+', _) => (Tok::Plus, 1),
                    (b'-', _) => (Tok::Minus, 1),
                    (b'(', _) => (Tok::LParen, 1),
                    (b')', _) => (Tok::RParen, 1),
                    (b'[', _) => (Tok::LBracket, 1),
                    (b']', _) => (Tok::RBracket, 1),
                    (b',', _) => (Tok::Comma, 1),
                    _ => return Err(unexpected(source, start)),
                };
                i += len;
                tok
            }
        };
        tokens.push(Token {
            tok,
            offset: start,
            len: i - start,
        });
    }
    Ok(tokens)
}

/// The error for a character that starts no token, with a hint for the usual slips.
fn unexpected(source: &str, at: usize) -> ExprError {
    let c = source
        .get(at..)
        .and_then(|s| s.chars().next())
        .unwrap_or(' ');
    let message = match c {
        '=' => "unexpected `=`: write `==` to compare".to_owned(),
        '!' => "unexpected `!`: write `not` to negate, or `!=` to compare".to_owned(),
        '&' => "unexpected `&`: write `and`".to_owned(),
        '|' => "unexpected `|`: write `or`".to_owned(),
        '\'' => "unexpected `'`: texts are written in double quotes".to_owned(),
        '/' | '*' | '%' => format!("unexpected `{c}`: the expression language has no `{c}`"),
        '.' => "unexpected `.`: numbers start with a digit (`0.5`), names with a letter".to_owned(),
        c if c.is_whitespace() => {
            format!("unexpected whitespace character U+{:04X}", u32::from(c))
        }
        c if c.is_control() => format!("unexpected control character U+{:04X}", u32::from(c)),
        c => format!("unexpected character `{c}`"),
    };
    ExprError::new(at, message)
}

fn number(source: &str, start: usize) -> Result<(Tok, usize), ExprError> {
    let bytes = source.as_bytes();
    let digits = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut end = digits(start);
    if bytes.get(end) == Some(&b'.') {
        if !bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            return Err(ExprError::new(end, "expected a digit after the `.`"));
        }
        end = digits(end + 1);
    }
    if bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
    {
        return Err(ExprError::new(
            end,
            "expected a space or an operator after the number",
        ));
    }
    let text = source.get(start..end).unwrap_or_default();
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok((Tok::Number(n), end)),
        _ => Err(ExprError::new(start, "this number is too large")),
    }
}

fn text(source: &str, start: usize) -> Result<(String, usize), ExprError> {
    let mut out = String::new();
    let rest = source.get(start + 1..).unwrap_or_default();
    let mut chars = rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + 1 + at + 1)),
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, other)) => {
                    return Err(ExprError::new(
                        start + 1 + at,
                        format!("unknown escape `\\{other}`: only `\\\"` and `\\\\` are allowed"),
                    ));
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(ExprError::new(start, "this text has no closing `\"`"))
}

const KEYWORDS: [(&str, Tok); 6] = [
    ("and", Tok::And),
    ("or", Tok::Or),
    ("not", Tok::Not),
    ("in", Tok::In),
    ("true", Tok::True),
    ("false", Tok::False),
];

fn word(source: &str, start: usize) -> Result<(Tok, usize), ExprError> {
    let bytes = source.as_bytes();
    let part_end = |mut i: usize| {
        while bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            i += 1;
        }
        i
    };
    let mut end = part_end(start);
    let first = source.get(start..end).unwrap_or_default();
    if let Some((_, tok)) = KEYWORDS.iter().find(|(k, _)| *k == first) {
        return Ok((tok.clone(), end));
    }
    check_part(source, start, end)?;
    while bytes.get(end) == Some(&b'.') {
        let part_start = end + 1;
        end = part_end(part_start);
        if end == part_start {
            return Err(ExprError::new(
                part_start,
                "expected a name part after the `.`",
            ));
        }
        check_part(source, part_start, end)?;
    }
    if end - start > MAX_NAME_BYTES {
        return Err(ExprError::new(
            start,
            format!("this name is longer than {MAX_NAME_BYTES} bytes"),
        ));
    }
    let name = source.get(start..end).unwrap_or_default().to_owned();
    Ok((Tok::Word(name), end))
}

/// A part of a name starts with a lower-case letter and has only lower-case letters, digits
/// and `_`.
fn check_part(source: &str, start: usize, end: usize) -> Result<(), ExprError> {
    let part = source.get(start..end).unwrap_or_default();
    let starts_well = part.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    let well_formed = part
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if starts_well && well_formed {
        return Ok(());
    }
    let lower = part.to_ascii_lowercase();
    if KEYWORDS.iter().any(|(k, _)| *k == lower) {
        return Err(ExprError::new(
            start,
            format!("`{part}` is not a valid name; write the keyword in lower case: `{lower}`"),
        ));
    }
    Err(ExprError::new(
        start,
        format!(
            "`{}` is not a valid name: names start with a lower-case letter and have only \
             lower-case letters, digits and `_`",
            shorten(part)
        ),
    ))
}
