//! The syntax tree of one expression, and the static facts read off it without evaluating:
//! the context paths it references and whether it calls a status function.

use crate::functions::Func;
use crate::value::number_to_string;
use crate::{Reference, Value};

/// A parsed expression. Offsets are byte offsets into the string given to the parse function.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub(crate) kind: Kind,
    pub(crate) offset: usize,
    pub(crate) len: usize,
    /// Levels of nesting below and including this node; the parser refuses trees taller than
    /// [`crate::MAX_DEPTH`], which bounds every recursive walk (eval, drop, references).
    pub(crate) height: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Literal(Value),
    /// A top-level context name such as `git`.
    Context(String),
    /// `base.a['b'][0]`: a chain kept flat, so a long path does not make the tree tall.
    Access {
        base: Box<Expr>,
        segments: Vec<Segment>,
    },
    Not(Box<Expr>),
    Compare {
        op: CmpOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `a && b && c`, kept flat for the same reason as `Access`.
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Call {
        func: Func,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// `.name`; `end` is the byte offset just past the name.
    Property { name: String, end: usize },
    /// `[index]`; `end` is the byte offset just past the `]`.
    Index { index: Expr, end: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Expr {
    pub(crate) fn new(kind: Kind, offset: usize, len: usize) -> Expr {
        let below = match &kind {
            Kind::Literal(_) | Kind::Context(_) => 0,
            Kind::Access { base, segments } => segments
                .iter()
                .filter_map(|s| match s {
                    Segment::Index { index, .. } => Some(index.height),
                    Segment::Property { .. } => None,
                })
                .fold(base.height, usize::max),
            Kind::Not(e) => e.height,
            Kind::Compare { lhs, rhs, .. } => lhs.height.max(rhs.height),
            Kind::And(items) | Kind::Or(items) | Kind::Call { args: items, .. } => {
                items.iter().map(|e| e.height).max().unwrap_or(0)
            }
        };
        Expr {
            kind,
            offset,
            len,
            height: below + 1,
        }
    }

    /// The byte range `(offset, len)` of this expression in the parsed string.
    pub fn span(&self) -> (usize, usize) {
        (self.offset, self.len)
    }

    /// The static context paths this expression reads, in source order: for each use of a
    /// context, its name followed by the leading run of constant property names and indices
    /// (`needs.build.outputs['version']` → `needs, build, outputs, version`;
    /// `matrix[format('x')]` → `matrix`).
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        self.collect_references(&mut out);
        out.sort_by_key(|r| r.offset);
        out
    }

    fn collect_references(&self, out: &mut Vec<Reference>) {
        match &self.kind {
            Kind::Literal(_) => {}
            Kind::Context(name) => out.push(Reference {
                path: vec![name.clone()],
                offset: self.offset,
                len: self.len,
            }),
            Kind::Access { base, segments } => {
                if let Kind::Context(name) = &base.kind {
                    let mut path = vec![name.clone()];
                    let mut end = base.offset + base.len;
                    for segment in segments {
                        let (key, seg_end) = match segment {
                            Segment::Property { name, end } => (name.clone(), *end),
                            Segment::Index { index, end } => match &index.kind {
                                Kind::Literal(Value::String(s)) => (s.clone(), *end),
                                Kind::Literal(Value::Number(n)) => (number_to_string(n), *end),
                                _ => break,
                            },
                        };
                        path.push(key);
                        end = seg_end;
                    }
                    out.push(Reference {
                        path,
                        offset: base.offset,
                        len: end.saturating_sub(base.offset),
                    });
                } else {
                    base.collect_references(out);
                }
                for segment in segments {
                    if let Segment::Index { index, .. } = segment {
                        index.collect_references(out);
                    }
                }
            }
            Kind::Not(e) => e.collect_references(out),
            Kind::Compare { lhs, rhs, .. } => {
                lhs.collect_references(out);
                rhs.collect_references(out);
            }
            Kind::And(items) | Kind::Or(items) | Kind::Call { args: items, .. } => {
                items.iter().for_each(|e| e.collect_references(out));
            }
        }
    }

    /// Whether `success()`, `failure()`, `always()` or `cancelled()` appears anywhere. A job or
    /// step condition that uses none of them runs only when everything before succeeded.
    pub fn uses_status_function(&self) -> bool {
        match &self.kind {
            Kind::Literal(_) | Kind::Context(_) => false,
            Kind::Access { base, segments } => {
                base.uses_status_function()
                    || segments.iter().any(|s| match s {
                        Segment::Index { index, .. } => index.uses_status_function(),
                        Segment::Property { .. } => false,
                    })
            }
            Kind::Not(e) => e.uses_status_function(),
            Kind::Compare { lhs, rhs, .. } => {
                lhs.uses_status_function() || rhs.uses_status_function()
            }
            Kind::And(items) | Kind::Or(items) => items.iter().any(Expr::uses_status_function),
            Kind::Call { func, args } => {
                func.is_status() || args.iter().any(Expr::uses_status_function)
            }
        }
    }
}
