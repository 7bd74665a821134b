//! A recursive-descent parser over the tokens, one function per precedence level.
//!
//! Recursion happens only where nesting does (parentheses, calls, list literals, `not`, prefix
//! `-`), and every such level is counted against [`MAX_DEPTH`]; chains of binary operators are
//! loops. So no input can exhaust the stack.

use chrono::NaiveDate;

use super::ast::{BinOp, Func, Kind, Node};
use super::lexer::{Tok, Token, lex, shorten};
use super::{ExprError, MAX_DEPTH, MAX_LIST_ENTRIES};

pub(crate) fn parse(source: &str) -> Result<Node, ExprError> {
    let tokens = lex(source)?;
    if tokens.is_empty() {
        return Err(ExprError::new(0, "the expression is empty"));
    }
    let mut parser = Parser {
        source,
        tokens: &tokens,
        pos: 0,
        depth: 0,
    };
    let node = parser.or()?;
    if let Some(token) = parser.peek() {
        let message = if token.tok == Tok::RParen {
            "this `)` has no matching `(`".to_owned()
        } else {
            format!(
                "expected an operator or the end of the expression, found {}",
                token.describe(source)
            )
        };
        return Err(ExprError::new(token.offset, message));
    }
    Ok(node)
}

struct Parser<'a> {
    source: &'a str,
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    /// The offset of the next token, or the end of the source.
    fn here(&self) -> usize {
        self.peek().map_or(self.source.len(), |t| t.offset)
    }

    /// "found …" for messages.
    fn found(&self) -> String {
        match self.peek() {
            Some(token) => token.describe(self.source),
            None => "the end of the expression".to_owned(),
        }
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn expect(&mut self, tok: &Tok, shown: &str) -> Result<(), ExprError> {
        if self.peek_tok() == Some(tok) {
            self.pos += 1;
            Ok(())
        } else {
            Err(ExprError::new(self.here(), format!("expected `{shown}`")))
        }
    }

    /// Enters one level of nesting at `offset`.
    fn enter(&mut self, offset: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new(
                offset,
                format!(
                    "the expression is nested too deeply (at most {MAX_DEPTH} levels of \
                     parentheses, lists, calls, `not` and `-`)"
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn binary(op: BinOp, op_offset: usize, lhs: Node, rhs: Node) -> Node {
        Node {
            offset: lhs.offset,
            kind: Kind::Binary {
                op,
                op_offset,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        }
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.and()?;
        while self.peek_tok() == Some(&Tok::Or) {
            let op_offset = self.here();
            self.pos += 1;
            let rhs = self.and()?;
            lhs = Self::binary(BinOp::Or, op_offset, lhs, rhs);
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.not()?;
        while self.peek_tok() == Some(&Tok::And) {
            let op_offset = self.here();
            self.pos += 1;
            let rhs = self.not()?;
            lhs = Self::binary(BinOp::And, op_offset, lhs, rhs);
        }
        Ok(lhs)
    }

    fn not(&mut self) -> Result<Node, ExprError> {
        if self.peek_tok() != Some(&Tok::Not) {
            return self.comparison();
        }
        let offset = self.here();
        self.pos += 1;
        self.enter(offset)?;
        let inner = self.not()?;
        self.leave();
        Ok(Node {
            kind: Kind::Not(Box::new(inner)),
            offset,
        })
    }

    fn comparison_op(&self) -> Option<BinOp> {
        Some(match self.peek_tok()? {
            Tok::Eq => BinOp::Eq,
            Tok::Ne => BinOp::Ne,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            Tok::In => BinOp::In,
            _ => return None,
        })
    }

    fn comparison(&mut self) -> Result<Node, ExprError> {
        let lhs = self.sum()?;
        let Some(op) = self.comparison_op() else {
            return Ok(lhs);
        };
        let op_offset = self.here();
        self.pos += 1;
        let rhs = self.sum()?;
        if let Some(second) = self.comparison_op() {
            return Err(ExprError::new(
                self.here(),
                format!(
                    "comparisons do not chain: `{}` cannot follow `{}` here; combine two \
                     comparisons with `and`",
                    second.symbol(),
                    op.symbol()
                ),
            ));
        }
        Ok(Self::binary(op, op_offset, lhs, rhs))
    }

    fn sum(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek_tok() {
                Some(Tok::Plus) => BinOp::Add,
                Some(Tok::Minus) => BinOp::Sub,
                _ => return Ok(lhs),
            };
            let op_offset = self.here();
            self.pos += 1;
            let rhs = self.unary()?;
            lhs = Self::binary(op, op_offset, lhs, rhs);
        }
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        if self.peek_tok() != Some(&Tok::Minus) {
            return self.primary();
        }
        let offset = self.here();
        self.pos += 1;
        self.enter(offset)?;
        let inner = self.unary()?;
        self.leave();
        Ok(Node {
            kind: Kind::Neg(Box::new(inner)),
            offset,
        })
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let offset = self.here();
        let found = self.found();
        let Some(token) = self.next() else {
            return Err(ExprError::new(
                offset,
                "expected a value, a name or `(`, found the end of the expression",
            ));
        };
        let kind = match token.tok {
            Tok::Number(n) => Kind::Number(n),
            Tok::Text(text) => Kind::Text(text),
            Tok::True => Kind::Bool(true),
            Tok::False => Kind::Bool(false),
            Tok::LBracket => self.list(offset)?,
            Tok::LParen => {
                self.enter(offset)?;
                let inner = self.or()?;
                self.expect(&Tok::RParen, ")")?;
                self.leave();
                return Ok(inner);
            }
            Tok::Word(name) => {
                if self.peek_tok() == Some(&Tok::LParen) {
                    self.call(&name, offset)?
                } else {
                    Kind::Name(name)
                }
            }
            Tok::Not => {
                return Err(ExprError::new(
                    offset,
                    "`not` applies to a whole condition: put it in parentheses here, \
                     like `(not x)`",
                ));
            }
            _ => {
                return Err(ExprError::new(
                    offset,
                    format!("expected a value, a name or `(`, found {found}"),
                ));
            }
        };
        Ok(Node { kind, offset })
    }

    /// A list literal after its `[`.
    fn list(&mut self, offset: usize) -> Result<Kind, ExprError> {
        self.enter(offset)?;
        let mut entries = Vec::new();
        if self.peek_tok() == Some(&Tok::RBracket) {
            self.pos += 1;
            self.leave();
            return Ok(Kind::List(entries));
        }
        loop {
            let at = self.here();
            match self.peek_tok() {
                Some(Tok::Text(text)) => {
                    if entries.len() == MAX_LIST_ENTRIES {
                        return Err(ExprError::new(
                            at,
                            format!("a list holds at most {MAX_LIST_ENTRIES} entries"),
                        ));
                    }
                    entries.push(text.clone());
                    self.pos += 1;
                }
                _ => {
                    return Err(ExprError::new(
                        at,
                        format!(
                            "a list holds only texts in double quotes, like `[\"a\", \"b\"]`, \
                             but found {}",
                            self.found()
                        ),
                    ));
                }
            }
            match self.peek_tok() {
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::RBracket) => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(ExprError::new(self.here(), "expected `,` or `]`")),
            }
        }
        self.leave();
        Ok(Kind::List(entries))
    }

    /// A call after its name; `date("…")` becomes a date literal.
    fn call(&mut self, name: &str, offset: usize) -> Result<Kind, ExprError> {
        if name == "date" {
            return self.date_literal();
        }
        let Some(func) = Func::from_name(name) else {
            return Err(ExprError::new(
                offset,
                format!(
                    "unknown function `{name}`; the functions are today, age, days_between, \
                     count, len, is_set and date"
                ),
            ));
        };
        let paren = self.here();
        self.pos += 1;
        self.enter(paren)?;
        let mut args = Vec::new();
        if self.peek_tok() == Some(&Tok::RParen) {
            self.pos += 1;
        } else {
            loop {
                args.push(self.or()?);
                match self.peek_tok() {
                    Some(Tok::Comma) => self.pos += 1,
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(ExprError::new(self.here(), "expected `,` or `)`")),
                }
            }
        }
        self.leave();
        Ok(Kind::Call { func, args })
    }

    fn date_literal(&mut self) -> Result<Kind, ExprError> {
        const HINT: &str = "`date` takes one date in double quotes, like `date(\"2025-01-31\")`";
        self.pos += 1; // the `(`
        let at = self.here();
        let text = match self.peek_tok() {
            Some(Tok::Text(text)) => text.clone(),
            _ => return Err(ExprError::new(at, HINT)),
        };
        self.pos += 1;
        if self.peek_tok() != Some(&Tok::RParen) {
            return Err(ExprError::new(self.here(), HINT));
        }
        self.pos += 1;
        match parse_iso_date(&text) {
            Some(date) => Ok(Kind::Date(date)),
            None => Err(ExprError::new(
                at,
                format!(
                    "`{}` is not a valid date: write it as YYYY-MM-DD, like `2025-01-31`",
                    shorten(&text)
                ),
            )),
        }
    }
}

/// Parses exactly `YYYY-MM-DD` into an existing date.
pub(crate) fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let year = text.get(0..4)?.parse().ok()?;
    let month = text.get(5..7)?.parse().ok()?;
    let day = text.get(8..10)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}
