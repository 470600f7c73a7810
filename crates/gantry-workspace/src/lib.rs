//! The Gantry workspace file, `gantry.yml`: parse it with spans, validate it (every
//! problem at once, each at its line and column with a suggestion), load it from a
//! workspace directory, and resolve its secret references.
//!
//! Layers, each in its own module: `parse` (the grammar, on the spanned YAML tree of
//! `gantry_pipeline::yaml`) into `model` (plain data); `load` (the only IO: reading the
//! file, resolving relative paths); `resolve` (secret references into values, with the
//! environment and file system passed in); `render` (diagnostics with secrets blanked).
#![forbid(unsafe_code)]

mod environment;
mod inventory;
mod load;
mod model;
mod parse;
mod render;
mod resolve;
mod secret_ref;
mod secret_use;
mod service;
mod url;
mod window;

pub use environment::{AutoDeploy, DEFAULT_LOCK_LEASE, Environment};
pub use inventory::{
    ALL_GROUP, Connection, DEFAULT_INFRA_GLOB, DEFAULT_SSH_PORT, DriftSchedule, Group, Host,
    Inventory, LOCAL_HOST, SshTarget,
};
pub use load::{FILE_NAME, Invalid, LoadError, Loaded, load};
pub use model::{
    DEFAULT_AGENT_LEASE, DEFAULT_BRANCH, DEFAULT_PIPELINES_DIR, DEFAULT_POLL, ForgeKind,
    ForgeSettings, MIN_POLL, Project, ProjectSource, ServerSettings, UnlabeledJobs, Workspace,
    format_duration,
};
pub use resolve::{ProjectSecrets, ResolvedSecrets};
pub use secret_ref::{SecretRef, SecretSource};
pub use secret_use::{SECRETS_VAR, SecretUse, secret_uses};
pub use service::{
    Analysis, Artifact, Batch, BlueGreen, Canary, CanaryStep, DEFAULT_DRAIN,
    DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT, DEFAULT_KEEP,
    DockerRun, Health, HealthCheck, Hooks, PrometheusCheck, Rolling, Run, Service, Strategy,
    SystemdRun,
};
pub use url::redact_url;
pub use window::{ALL_DAYS, DeployWindow};

/// The parsing context and YAML-to-JSON conversion, for other declaration files read
/// on the same spanned YAML tree (`gantry-infra`'s resource files).
pub mod grammar {
    pub use crate::parse::Cx;
    pub use crate::parse::to_json;
}

use gantry_core::{Diagnostic, Span};
use gantry_pipeline::yaml;

/// The result of parsing one workspace file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// `Some` exactly when no diagnostic is an error.
    pub workspace: Option<Workspace>,
    /// Every problem found, errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Source regions holding secret values, blanked by [`Parsed::render`].
    secret_spans: Vec<Span>,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Every diagnostic rendered against `source` (the text that was parsed), with each
    /// literal secret and URL password in the quoted source lines replaced by `*`.
    pub fn render(&self, source: &str, color: bool) -> String {
        render::render_all(&self.diagnostics, source, &self.secret_spans, color)
    }

    /// `source` with every literal secret and URL password replaced by `*` (same
    /// length, so spans still point at the right columns).
    pub fn redacted_source(&self, source: &str) -> String {
        render::redact(source, &self.secret_spans)
    }
}

/// Parses a workspace file. `file` is the name diagnostics carry. Pure: no IO (relative
/// paths stay as written; [`load`] resolves them), and never panics on any input.
pub fn parse(file: &str, source: &str) -> Parsed {
    // The layers below are written not to panic; this is the last line of defence for a
    // bug in them or in the YAML parser, so a bad file can never take the server down.
    match std::panic::catch_unwind(|| parse_inner(file, source)) {
        Ok(parsed) => parsed,
        Err(_) => Parsed {
            workspace: None,
            diagnostics: vec![
                Diagnostic::error(
                    file,
                    None,
                    "internal error: the workspace parser failed on this file",
                )
                .with_help("please report this with the file attached"),
            ],
            secret_spans: Vec::new(),
        },
    }
}

fn parse_inner(file: &str, source: &str) -> Parsed {
    let limits = yaml::Limits::default();
    let mut diagnostics = Vec::new();
    let index = yaml::LineIndex::new(
        source
            .get(..limits.max_bytes.saturating_add(1))
            .unwrap_or(source),
    );
    let root = yaml::parse(file, source, &index, &limits, &mut diagnostics);
    render::reword_yaml_diagnostics(&mut diagnostics);
    let Some(root) = root else {
        return Parsed {
            workspace: None,
            diagnostics,
            secret_spans: Vec::new(),
        };
    };
    let mut cx = parse::Cx::new(file);
    cx.diags = diagnostics;
    let workspace = parse::workspace(&mut cx, &root);
    let mut diagnostics = cx.diags;
    diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.offset));
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    Parsed {
        workspace: workspace.filter(|_| !has_errors),
        diagnostics,
        secret_spans: cx.secret_spans,
    }
}
