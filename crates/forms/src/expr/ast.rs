//! The syntax tree the parser builds and the checker and evaluator walk.
//!
//! Every tree is bounded by the parser's limits (tokens, nesting), so the recursive walks over it
//! here and in `check`/`eval` have a bounded depth.

use chrono::NaiveDate;

/// A node with the byte offset where it starts in the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<String>),
    Date(NaiveDate),
    Name(String),
    Not(Box<Node>),
    Neg(Box<Node>),
    Binary {
        op: BinOp,
        /// Where the operator stands, for messages about the operation as a whole.
        op_offset: usize,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    Call {
        func: Func,
        args: Vec<Node>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
        }
    }
}

/// The functions of the language (`date("…")` is a literal, not a function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Today,
    Age,
    DaysBetween,
    Count,
    Len,
    IsSet,
}

impl Func {
    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "today" => Func::Today,
            "age" => Func::Age,
            "days_between" => Func::DaysBetween,
            "count" => Func::Count,
            "len" => Func::Len,
            "is_set" => Func::IsSet,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Today => "today",
            Func::Age => "age",
            Func::DaysBetween => "days_between",
            Func::Count => "count",
            Func::Len => "len",
            Func::IsSet => "is_set",
        }
    }

    pub fn arity(self) -> usize {
        match self {
            Func::Today => 0,
            Func::Age | Func::Count | Func::Len | Func::IsSet => 1,
            Func::DaysBetween => 2,
        }
    }
}

impl Node {
    /// Appends the names this node reads to `names`, in order, skipping those already there.
    pub fn collect_names<'a>(&'a self, names: &mut Vec<&'a str>) {
        match &self.kind {
            Kind::Name(name) => {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
            Kind::Not(inner) | Kind::Neg(inner) => inner.collect_names(names),
            Kind::Binary { lhs, rhs, .. } => {
                lhs.collect_names(names);
                rhs.collect_names(names);
            }
            Kind::Call { args, .. } => {
                for arg in args {
                    arg.collect_names(names);
                }
            }
            Kind::Bool(_) | Kind::Number(_) | Kind::Text(_) | Kind::List(_) | Kind::Date(_) => {}
        }
    }
}
