//! The `${{ … }}` expression language of Gantry pipelines: templates (text with embedded
//! expressions), conditions, their static references (for validation), and evaluation
//! against a `Scope` of contexts. Pure: no IO, never panics on any input.
//!
//! API CONTRACT (used by gantry-pipeline and gantry-engine; keep it stable):
//! - `parse(src)` / `parse_condition(src)` / `parse_template(src)` → AST or `ExprError`
//!   with byte offsets relative to `src`.
//! - `Expr::eval`, `Template::render`, `Template::eval` against a `Scope`.
//! - `references()` lists the static context paths an expression reads, for validation;
//!   `uses_status_function()` tells whether an `if:` needs the implicit `success() &&`.
//! - `truthy` and `to_display_string` define how values act as conditions and as text.
//!
//! Hostile input is bounded by [`MAX_EXPR_LEN`], [`MAX_TEMPLATE_LEN`], [`MAX_DEPTH`] and
//! [`MAX_STRING_LEN`]. The user reference is docs/expressions.md.
#![forbid(unsafe_code)]

mod ast;
mod eval;
mod functions;
mod lexer;
mod parser;
mod template;
mod value;

pub use ast::Expr;
pub use parser::{parse, parse_condition};
pub use serde_json::Value;
pub use template::{Template, parse_template};
pub use value::{to_display_string, truthy};

/// The longest expression (the text of one bare expression or one `${{ … }}`), in bytes.
pub const MAX_EXPR_LEN: usize = 64 * 1024;
/// The longest template text, in bytes (a `run:` script is a template).
pub const MAX_TEMPLATE_LEN: usize = 1024 * 1024;
/// The deepest nesting of parentheses, brackets, calls and operators an expression may have.
pub const MAX_DEPTH: usize = 64;
/// The longest string `format`, `join`, `to_json` or a template rendering may produce, in bytes.
pub const MAX_STRING_LEN: usize = 1024 * 1024;

/// The context names an expression may read.
pub const CONTEXTS: &[&str] = &[
    "git", "env", "matrix", "needs", "steps", "inputs", "secrets", "run", "job",
];

/// The functions an expression may call.
pub const FUNCTIONS: &[&str] = &[
    "contains",
    "starts_with",
    "ends_with",
    "format",
    "join",
    "to_json",
    "from_json",
    "hash_files",
    "success",
    "failure",
    "always",
    "cancelled",
];

/// A parse or static-check error, with a byte range into the parsed text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
    pub offset: usize,
    pub len: usize,
    /// What to do about it, e.g. "did you mean 'starts_with'?"
    pub help: Option<String>,
}

/// An evaluation error (a function given the wrong types, hash_files failing, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

/// A static context path read by an expression, e.g. `needs.build.outputs.version`
/// is `["needs", "build", "outputs", "version"]` (only the leading chain of constant
/// property names/indices). `offset`/`len` locate it in the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: Vec<String>,
    pub offset: usize,
    pub len: usize,
}

/// Run state visible to the status functions `success()`, `failure()`, `cancelled()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// An earlier step of this job (for step conditions) or a needed job, directly or
    /// transitively (for job conditions), failed.
    pub failed: bool,
    /// The run is being cancelled.
    pub cancelled: bool,
}

/// Computes `hash_files(patterns…)`: the engine supplies it, because it needs the file system.
pub type HashFiles<'a> = &'a (dyn Fn(&[String]) -> Result<String, String> + Sync);

/// Everything an expression can see.
#[derive(Default)]
pub struct Scope<'a> {
    /// Top-level contexts by name (`git`, `env`, `matrix`, `needs`, `steps`, `inputs`,
    /// `secrets`, `run`, `job`). A context that is absent reads as an empty object.
    pub contexts: serde_json::Map<String, Value>,
    pub status: Status,
    pub hash_files: Option<HashFiles<'a>>,
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Contexts hold secrets: never print their values.
        f.debug_struct("Scope")
            .field("contexts", &self.contexts.keys().collect::<Vec<_>>())
            .field("status", &self.status)
            .finish()
    }
}
