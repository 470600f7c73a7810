//! The Gantry pipeline language: parse YAML with spans → validate → plan (matrix
//! expansion, DAG order). Pure: text in, `(Option<Plan>, Vec<Diagnostic>)` out, no IO,
//! never panics on any input.
#![forbid(unsafe_code)]

pub mod plan;
pub mod trigger;

pub use plan::*;
pub use trigger::*;
