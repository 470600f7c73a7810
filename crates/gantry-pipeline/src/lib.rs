//! The Gantry pipeline language: parse YAML with spans → validate → plan (matrix
//! expansion, DAG order). Pure: text in, `(Option<Plan>, Vec<Diagnostic>)` out, no IO,
//! never panics on any input.
//!
//! Layers, each in its own module: `yaml` (spanned tree under budgets), `parse` (the
//! grammar into `model`), `validate` (cross-references, expressions, graph), `matrix`
//! and `planner` (the [`Plan`]), `trigger` (event matching) and `inputs` (manual-run
//! inputs).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod inputs;
mod matrix;
mod model;
mod parse;
pub mod plan;
mod planner;
pub mod trigger;
mod validate;
pub mod yaml;

pub use inputs::resolve_inputs;
pub use plan::*;
pub use trigger::*;
pub use validate::MAX_MATRIX_CELLS;
pub use validate::schedule::cron_problem;

use gantry_core::Diagnostic;

/// The result of compiling one pipeline file.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// `Some` exactly when no diagnostic is an error.
    pub plan: Option<Plan>,
    /// Every problem found, errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles a pipeline file. `file` is the name diagnostics carry (and the plan's name
/// when the file has no `name:`). Never panics and does no IO.
pub fn compile(file: &str, source: &str) -> Compiled {
    // The layers below are written not to panic; this is the last line of defence for
    // a bug in them or in the YAML parser, so a bad file can never take a server down.
    match std::panic::catch_unwind(|| compile_inner(file, source)) {
        Ok(compiled) => compiled,
        Err(_) => Compiled {
            plan: None,
            diagnostics: vec![
                Diagnostic::error(
                    file,
                    None,
                    "internal error: the pipeline compiler failed on this file",
                )
                .with_help("please report this with the file attached"),
            ],
        },
    }
}

fn compile_inner(file: &str, source: &str) -> Compiled {
    let limits = yaml::Limits::default();
    let mut diagnostics = Vec::new();
    let index = yaml::LineIndex::new(
        source
            .get(..limits.max_bytes.saturating_add(1))
            .unwrap_or(source),
    );
    let Some(root) = yaml::parse(file, source, &index, &limits, &mut diagnostics) else {
        return Compiled {
            plan: None,
            diagnostics,
        };
    };
    let mut cx = parse::Cx::new(file);
    cx.diags = diagnostics;
    let model = parse::pipeline(&mut cx, &root);
    validate::pipeline(&mut cx, source, &index, &model);
    let mut diagnostics = cx.diags;
    diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.offset));
    let plan = (!diagnostics.iter().any(Diagnostic::is_error)).then(|| planner::plan(file, &model));
    Compiled { plan, diagnostics }
}
