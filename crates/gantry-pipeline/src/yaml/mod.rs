//! A YAML tree with the span of every key and value, built from `saphyr-parser` events
//! under fixed budgets, so the pipeline parser can report every problem at its place.

mod builder;
mod position;
mod scalar;

pub use builder::{Limits, parse};
pub use position::LineIndex;

use gantry_core::Span;

/// How a scalar was written. Only plain scalars are typed (YAML 1.2 core schema); every
/// other style is a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
    /// A sequence or mapping.
    Collection,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// One YAML node. Scalars keep their text as written (for plain scalars, the raw source
/// text, so `1.10` stays `1.10` when a string field reads it).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub span: Span,
    pub text: String,
    pub style: Style,
}

impl Node {
    /// What the node is, for messages: "found a map".
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "nothing",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self.kind, Kind::Seq(_) | Kind::Map(_))
    }

    /// The entries of a map node.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence node.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key` in a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }

    /// The JSON value of a scalar (`None` for collections).
    pub fn scalar_json(&self) -> Option<serde_json::Value> {
        use serde_json::Value;
        Some(match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Value::String(self.text.clone()), Value::Number),
            Kind::Str => Value::String(self.text.clone()),
            Kind::Seq(_) | Kind::Map(_) => return None,
        })
    }

    /// Number of nodes in this subtree, and its depth (a scalar has depth 1).
    pub fn size_and_depth(&self) -> (usize, usize) {
        match &self.kind {
            Kind::Seq(items) => items.iter().fold((1, 1), |(n, d), item| {
                let (n2, d2) = item.size_and_depth();
                (n + n2, d.max(d2 + 1))
            }),
            Kind::Map(entries) => entries.iter().fold((1, 1), |(n, d), (k, v)| {
                let (nk, dk) = k.size_and_depth();
                let (nv, dv) = v.size_and_depth();
                (n + nk + nv, d.max(dk + 1).max(dv + 1))
            }),
            _ => (1, 1),
        }
    }
}
