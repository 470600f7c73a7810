//! Integration tests of the pipeline compiler, one binary (STYLE.md): malformed files as
//! snapshot cases, valid pipelines and their plans, matrices, triggers, inputs, budgets
//! and property tests.
#![allow(clippy::unwrap_used)]

mod cases;
mod inputs;
mod limits;
mod matrix;
mod props;
mod triggers;
mod valid;

use gantry_core::SourceFile;
use gantry_pipeline::{Compiled, compile};

/// Compiles `source` as `ci.yml`, checking the invariant every result must keep.
pub fn compile_ok(source: &str) -> Compiled {
    let compiled = compile("ci.yml", source);
    assert_eq!(
        compiled.plan.is_some(),
        !compiled.has_errors(),
        "plan must be Some exactly when there is no error"
    );
    compiled
}

/// Every diagnostic rendered against its source, as a user sees them.
pub fn render_all(name: &str, source: &str, compiled: &Compiled) -> String {
    let file = SourceFile::new(name, source);
    compiled
        .diagnostics
        .iter()
        .map(|d| d.render(Some(&file), false))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A compiled plan, or a panic showing the diagnostics.
pub fn plan_of(source: &str) -> gantry_pipeline::Plan {
    let compiled = compile_ok(source);
    match compiled.plan {
        Some(plan) => plan,
        None => panic!(
            "expected a plan, got:\n{}",
            render_all("ci.yml", source, &compiled)
        ),
    }
}
