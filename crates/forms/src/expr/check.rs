//! The type checker: finds the type of every node, or the first error with the offset of its
//! culprit. The walk's depth is bounded by the parser's limits.

use super::ast::{BinOp, Func, Kind, Node};
use super::{ExprError, Type};

type Scope<'a> = &'a dyn Fn(&str) -> Option<Type>;

/// The type of a whole expression; a group on its own is an error, as everywhere but `count()`.
pub(crate) fn check(node: &Node, scope: Scope<'_>) -> Result<Type, ExprError> {
    operand(node, scope)
}

/// The type of a node used as a value: anything but a group.
fn operand(node: &Node, scope: Scope<'_>) -> Result<Type, ExprError> {
    let ty = node_type(node, scope)?;
    if ty == Type::Group {
        let name = match &node.kind {
            Kind::Name(name) => name.as_str(),
            _ => "group",
        };
        return Err(ExprError::new(
            node.offset,
            format!(
                "`{name}` is a repeatable group; an expression can only count its entries, \
                 like `count({name})`"
            ),
        ));
    }
    Ok(ty)
}

/// The type of a node, which is a group only for the name of a group.
fn node_type(node: &Node, scope: Scope<'_>) -> Result<Type, ExprError> {
    match &node.kind {
        Kind::Bool(_) => Ok(Type::Bool),
        Kind::Number(_) => Ok(Type::Number),
        Kind::Text(_) => Ok(Type::Text),
        Kind::List(_) => Ok(Type::List),
        Kind::Date(_) => Ok(Type::Date),
        Kind::Name(name) => scope(name).ok_or_else(|| {
            let hint = match Func::from_name(name) {
                Some(Func::Today) => "; to call the function, write `today()`".to_owned(),
                Some(func) => format!("; to call the function, write `{}(…)`", func.name()),
                None => String::new(),
            };
            ExprError::new(node.offset, format!("unknown name `{name}`{hint}"))
        }),
        Kind::Not(inner) => {
            let ty = operand(inner, scope)?;
            if ty != Type::Bool {
                return Err(ExprError::new(
                    inner.offset,
                    format!("`not` needs yes/no, but this is {}", ty.article()),
                ));
            }
            Ok(Type::Bool)
        }
        Kind::Neg(inner) => {
            let ty = operand(inner, scope)?;
            if ty != Type::Number {
                return Err(ExprError::new(
                    inner.offset,
                    format!("`-` needs a number, but this is {}", ty.article()),
                ));
            }
            Ok(Type::Number)
        }
        Kind::Binary {
            op,
            op_offset,
            lhs,
            rhs,
        } => {
            let left = operand(lhs, scope)?;
            let right = operand(rhs, scope)?;
            binary(*op, *op_offset, (lhs, left), (rhs, right))
        }
        Kind::Call { func, args } => call(*func, node.offset, args, scope),
    }
}

fn binary(
    op: BinOp,
    op_offset: usize,
    (lhs, left): (&Node, Type),
    (rhs, right): (&Node, Type),
) -> Result<Type, ExprError> {
    let sym = op.symbol();
    let at = |node: &Node, message: String| Err(ExprError::new(node.offset, message));
    match op {
        BinOp::And | BinOp::Or => {
            for (node, ty) in [(lhs, left), (rhs, right)] {
                if ty != Type::Bool {
                    return at(
                        node,
                        format!(
                            "`{sym}` needs yes/no on both sides, but this is {}",
                            ty.article()
                        ),
                    );
                }
            }
            Ok(Type::Bool)
        }
        BinOp::Eq | BinOp::Ne => {
            if left != right {
                return Err(ExprError::new(
                    op_offset,
                    format!(
                        "`{sym}` cannot compare {} with {}",
                        left.article(),
                        right.article()
                    ),
                ));
            }
            Ok(Type::Bool)
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            for (node, ty) in [(lhs, left), (rhs, right)] {
                if !matches!(ty, Type::Number | Type::Date) {
                    return at(
                        node,
                        format!("`{sym}` compares numbers or dates, not {}", ty.article()),
                    );
                }
            }
            if left != right {
                return Err(ExprError::new(
                    op_offset,
                    format!(
                        "`{sym}` cannot compare {} with {}",
                        left.article(),
                        right.article()
                    ),
                ));
            }
            Ok(Type::Bool)
        }
        BinOp::In => {
            if left != Type::Text {
                return at(
                    lhs,
                    format!(
                        "`in` needs text on its left, but this is {}",
                        left.article()
                    ),
                );
            }
            if right != Type::List {
                return at(
                    rhs,
                    format!(
                        "`in` needs a list on its right, like `[\"a\", \"b\"]`, but this is {}",
                        right.article()
                    ),
                );
            }
            Ok(Type::Bool)
        }
        BinOp::Add | BinOp::Sub => arithmetic(op, op_offset, (lhs, left), (rhs, right)),
    }
}

fn arithmetic(
    op: BinOp,
    op_offset: usize,
    (lhs, left): (&Node, Type),
    (rhs, right): (&Node, Type),
) -> Result<Type, ExprError> {
    for (node, ty) in [(lhs, left), (rhs, right)] {
        if !matches!(ty, Type::Number | Type::Date) {
            let what = if op == BinOp::Add {
                "`+` adds numbers, or a number of days to a date"
            } else {
                "`-` subtracts numbers, a number of days from a date, or two dates"
            };
            return Err(ExprError::new(
                node.offset,
                format!("{what}, not {}", ty.article()),
            ));
        }
    }
    match (op, left, right) {
        (_, Type::Number, Type::Number) => Ok(Type::Number),
        (_, Type::Date, Type::Number) => {
            if literal_number(rhs).is_some_and(|n| n.fract() != 0.0) {
                return Err(ExprError::new(
                    rhs.offset,
                    "a number of days must be a whole number",
                ));
            }
            Ok(Type::Date)
        }
        (BinOp::Sub, Type::Date, Type::Date) => Ok(Type::Number),
        (BinOp::Add, Type::Date, Type::Date) => Err(ExprError::new(
            op_offset,
            "`+` cannot add two dates; `-` gives the days between them",
        )),
        (BinOp::Add, _, _) => Err(ExprError::new(
            op_offset,
            "`+` cannot add a date to a number; write the date first, like `today() + 14`",
        )),
        _ => Err(ExprError::new(
            op_offset,
            "`-` cannot subtract a date from a number",
        )),
    }
}

/// The value of a number literal, possibly negated, known before evaluation.
fn literal_number(node: &Node) -> Option<f64> {
    match &node.kind {
        Kind::Number(n) => Some(*n),
        Kind::Neg(inner) => literal_number(inner).map(|n| -n),
        _ => None,
    }
}

fn call(func: Func, offset: usize, args: &[Node], scope: Scope<'_>) -> Result<Type, ExprError> {
    let name = func.name();
    let wrong = |arg: &Node, wanted: &str, ty: Type| {
        Err(ExprError::new(
            arg.offset,
            format!("`{name}` needs {wanted}, but this is {}", ty.article()),
        ))
    };
    match (func, args) {
        (Func::Today, []) => Ok(Type::Date),
        (Func::Age, [_]) | (Func::DaysBetween, [_, _]) => {
            for arg in args {
                let ty = operand(arg, scope)?;
                if ty != Type::Date {
                    return wrong(arg, "a date", ty);
                }
            }
            Ok(Type::Number)
        }
        (Func::Count, [arg]) => match node_type(arg, scope)? {
            Type::Group => Ok(Type::Number),
            ty => wrong(arg, "a repeatable group", ty),
        },
        (Func::Len, [arg]) => match operand(arg, scope)? {
            Type::Text | Type::List => Ok(Type::Number),
            ty => wrong(arg, "text or a list", ty),
        },
        (Func::IsSet, [arg]) => match node_type(arg, scope)? {
            Type::Group => Err(ExprError::new(
                arg.offset,
                "`is_set` cannot take a repeatable group; `count(…) > 0` tells whether it \
                 has entries",
            )),
            _ => Ok(Type::Bool),
        },
        _ => {
            let wanted = match func.arity() {
                0 => "no arguments".to_owned(),
                1 => "1 argument".to_owned(),
                n => format!("{n} arguments"),
            };
            let given = match args.len() {
                0 => "none was".to_owned(),
                1 => "1 was".to_owned(),
                n => format!("{n} were"),
            };
            Err(ExprError::new(
                offset,
                format!("`{name}` takes {wanted}, but {given} given"),
            ))
        }
    }
}
