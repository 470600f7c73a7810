//! Evaluating an expression against a [`Scope`]. Values are borrowed from the scope where
//! possible, so reading `secrets.token` or a large `needs` object does not copy it.

use std::borrow::Cow;

use crate::ast::{CmpOp, Expr, Kind, Segment};
use crate::value::{compare, loose_eq, truthy};
use crate::{EvalError, Scope, Value, functions};

impl Expr {
    /// Evaluates the expression. Reading a property of null or a missing key gives null;
    /// errors come only from functions (wrong argument types, `hash_files` failing, a result
    /// over the size limit).
    pub fn eval(&self, scope: &Scope<'_>) -> Result<Value, EvalError> {
        Ok(self.eval_cow(scope)?.into_owned())
    }

    fn eval_cow<'s>(&'s self, scope: &'s Scope<'_>) -> Result<Cow<'s, Value>, EvalError> {
        Ok(match &self.kind {
            Kind::Literal(v) => Cow::Borrowed(v),
            Kind::Context(name) => match scope.contexts.get(name) {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(Value::Object(serde_json::Map::new())),
            },
            Kind::Access { base, segments } => {
                let mut v = base.eval_cow(scope)?;
                for segment in segments {
                    v = match segment {
                        Segment::Property { name, .. } => member(v, name),
                        Segment::Index { index, .. } => match index.eval_cow(scope)?.as_ref() {
                            Value::String(key) => member(v, key),
                            Value::Number(n) => match array_index(n) {
                                Some(i) => element(v, i),
                                None => Cow::Owned(Value::Null),
                            },
                            _ => Cow::Owned(Value::Null),
                        },
                    };
                }
                v
            }
            Kind::Not(e) => Cow::Owned(Value::Bool(!truthy(e.eval_cow(scope)?.as_ref()))),
            Kind::Compare { op, lhs, rhs } => {
                let (a, b) = (lhs.eval_cow(scope)?, rhs.eval_cow(scope)?);
                let ord = || compare(&a, &b);
                Cow::Owned(Value::Bool(match op {
                    CmpOp::Eq => loose_eq(&a, &b),
                    CmpOp::Ne => !loose_eq(&a, &b),
                    CmpOp::Lt => ord().is_some_and(|o| o.is_lt()),
                    CmpOp::Le => ord().is_some_and(|o| o.is_le()),
                    CmpOp::Gt => ord().is_some_and(|o| o.is_gt()),
                    CmpOp::Ge => ord().is_some_and(|o| o.is_ge()),
                }))
            }
            // Both return the operand that decided the result, not a bool: `a || 'default'`.
            Kind::And(items) => short_circuit(items, scope, false)?,
            Kind::Or(items) => short_circuit(items, scope, true)?,
            Kind::Call { func, args } => {
                let values = args
                    .iter()
                    .map(|a| a.eval_cow(scope))
                    .collect::<Result<Vec<_>, _>>()?;
                Cow::Owned(functions::call(*func, &values, scope)?)
            }
        })
    }
}

/// `&&` (stop_on = false) returns the first falsy operand, `||` (stop_on = true) the first
/// truthy one; otherwise the last operand.
fn short_circuit<'s>(
    items: &'s [Expr],
    scope: &'s Scope<'_>,
    stop_on: bool,
) -> Result<Cow<'s, Value>, EvalError> {
    let mut last = Cow::Owned(Value::Null);
    for item in items {
        last = item.eval_cow(scope)?;
        if truthy(&last) == stop_on {
            break;
        }
    }
    Ok(last)
}

fn member<'s>(v: Cow<'s, Value>, key: &str) -> Cow<'s, Value> {
    match v {
        Cow::Borrowed(b) => b.get(key).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        Cow::Owned(Value::Object(mut map)) => Cow::Owned(map.remove(key).unwrap_or(Value::Null)),
        Cow::Owned(_) => Cow::Owned(Value::Null),
    }
}

/// A number usable as an array index: a non-negative whole number (`1` or `1.0`).
fn array_index(n: &serde_json::Number) -> Option<usize> {
    if let Some(i) = n.as_u64() {
        return usize::try_from(i).ok();
    }
    let f = n.as_f64()?;
    // The range check keeps the cast exact; larger indices are out of any real array anyway.
    (f.fract() == 0.0 && (0.0..4_294_967_296.0).contains(&f)).then_some(f as usize)
}

fn element(v: Cow<'_, Value>, i: usize) -> Cow<'_, Value> {
    match v {
        Cow::Borrowed(b) => b.get(i).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        Cow::Owned(Value::Array(mut items)) if i < items.len() => Cow::Owned(items.swap_remove(i)),
        Cow::Owned(_) => Cow::Owned(Value::Null),
    }
}
