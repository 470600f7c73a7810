//! Loading a workspace from its directory: the only IO of this crate. Reads
//! `gantry.yml`, parses it, and resolves relative paths (`path:` projects, `{ file: }`
//! secrets) against the workspace directory.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use gantry_core::{Diagnostic, SourceFile, Span};

use crate::model::{ProjectSource, Workspace};
use crate::render;
use crate::resolve::ResolvedSecrets;
use crate::secret_ref::{SecretRef, SecretSource};

/// The workspace file's name in the workspace directory.
pub const FILE_NAME: &str = "gantry.yml";

/// A workspace read from its directory, with no error.
#[derive(Clone)]
pub struct Loaded {
    /// The workspace directory, canonicalised.
    pub dir: PathBuf,
    /// The workspace file as the caller named it (`<dir>/gantry.yml`).
    pub path: PathBuf,
    pub workspace: Workspace,
    /// Warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The text of the file, for rendering diagnostics (see [`Loaded::render`], which
    /// blanks the secrets it may hold).
    pub source: String,
    secret_spans: Vec<Span>,
}

// By hand: the source text may hold literal secrets.
impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("dir", &self.dir)
            .field("path", &self.path)
            .field("workspace", &self.workspace)
            .field("diagnostics", &self.diagnostics)
            .field("source", &format_args!("<{} bytes>", self.source.len()))
            .finish()
    }
}

impl Loaded {
    /// `diagnostics` about this file (its warnings, or the errors of
    /// [`Loaded::resolve_secrets`]) rendered with source lines, secrets blanked.
    pub fn render(&self, diagnostics: &[Diagnostic], color: bool) -> String {
        render::render_all(diagnostics, &self.source, &self.secret_spans, color)
    }

    /// The source with its secrets blanked, for callers rendering diagnostics themselves.
    pub fn source_file(&self) -> SourceFile {
        SourceFile::new(
            self.path.display().to_string(),
            render::redact(&self.source, &self.secret_spans),
        )
    }

    /// Resolves the secret references from the server's process environment and files.
    pub fn resolve_secrets(&self) -> Result<ResolvedSecrets, Vec<Diagnostic>> {
        self.workspace.resolve_secrets(
            |name| std::env::var(name).ok(),
            |path: &Path| std::fs::read_to_string(path),
        )
    }
}

/// Why a workspace could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no workspace file {} (create it with a `projects:` section, see docs/workspace.md)", .path.display())]
    Missing { path: PathBuf },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Invalid(Box<Invalid>),
}

/// A workspace file with errors: all of its diagnostics, and what is needed to render them.
#[derive(Clone)]
pub struct Invalid {
    pub path: PathBuf,
    /// Errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
    pub source: String,
    secret_spans: Vec<Span>,
}

impl Invalid {
    /// Every diagnostic with its source line, secrets blanked.
    pub fn render(&self, color: bool) -> String {
        render::render_all(&self.diagnostics, &self.source, &self.secret_spans, color)
    }
}

impl fmt::Debug for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invalid")
            .field("path", &self.path)
            .field("diagnostics", &self.diagnostics)
            .finish_non_exhaustive()
    }
}

/// The one-line form of each error; diagnostics never quote a secret, so this is safe to log.
impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<&Diagnostic> = self.diagnostics.iter().filter(|d| d.is_error()).collect();
        write!(f, "{} has {} error(s)", self.path.display(), errors.len())?;
        for d in errors {
            write!(f, "\n  {}", d.one_line())?;
        }
        Ok(())
    }
}

/// Reads and checks `dir/gantry.yml`. Relative `path:` projects become canonical
/// absolute directories (a missing one is an error at its `path:`), and `{ file: }`
/// secrets become absolute paths (read later, by [`Loaded::resolve_secrets`]).
pub fn load(dir: &Path) -> Result<Loaded, LoadError> {
    let path = dir.join(FILE_NAME);
    let source = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => LoadError::Missing { path: path.clone() },
        _ => LoadError::Read {
            path: path.clone(),
            source,
        },
    })?;
    let canonical_dir = dir.canonicalize().map_err(|source| LoadError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let file = path.display().to_string();
    let parsed = crate::parse(&file, &source);
    let mut diagnostics = parsed.diagnostics.clone();
    let secret_spans = parsed.secret_spans.clone();
    let invalid = |diagnostics: Vec<Diagnostic>, source: String| {
        LoadError::Invalid(Box::new(Invalid {
            path: path.clone(),
            diagnostics,
            source,
            secret_spans: secret_spans.clone(),
        }))
    };
    let Some(mut workspace) = parsed.workspace else {
        return Err(invalid(diagnostics, source));
    };
    resolve_paths(&mut workspace, &canonical_dir, &mut diagnostics);
    diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.offset));
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(invalid(diagnostics, source));
    }
    Ok(Loaded {
        dir: canonical_dir,
        path,
        workspace,
        diagnostics,
        source,
        secret_spans,
    })
}

fn resolve_paths(workspace: &mut Workspace, dir: &Path, diags: &mut Vec<Diagnostic>) {
    for secret in workspace.inventory.secrets.values_mut() {
        absolute_file(secret, dir);
    }
    let file = workspace.file.clone();
    for project in workspace.projects.values_mut() {
        if let ProjectSource::Path(relative) = &project.source {
            let joined = dir.join(relative);
            let at = |message: String| Diagnostic::error(&file, Some(project.source_span), message);
            match joined.canonicalize() {
                Ok(abs) if abs.is_dir() => {
                    if !abs.join(&project.pipelines_dir).is_dir() {
                        diags.push(
                            Diagnostic::warning(
                                &file,
                                Some(project.source_span),
                                format!(
                                    "project '{}' has no pipeline directory '{}' in {}",
                                    project.name,
                                    project.pipelines_dir.display(),
                                    abs.display()
                                ),
                            )
                            .with_help(
                                "add pipeline files there, or set `pipelines:` to where they are",
                            ),
                        );
                    }
                    project.source = ProjectSource::Path(abs);
                }
                Ok(abs) => diags.push(at(format!(
                    "'path' of project '{}' is not a directory: {}",
                    project.name,
                    abs.display()
                ))),
                Err(err) => diags.push(
                    at(format!(
                        "directory '{}' of project '{}' {} (looked for {})",
                        relative.display(),
                        project.name,
                        if err.kind() == io::ErrorKind::NotFound {
                            "does not exist".to_string()
                        } else {
                            format!("cannot be opened: {err}")
                        },
                        joined.display()
                    ))
                    .with_help(
                        "a relative path is read from the workspace directory, where gantry.yml is",
                    ),
                ),
            }
        }
        if let Some(secret) = &mut project.webhook_secret {
            absolute_file(secret, dir);
        }
        if let Some(forge) = &mut project.forge {
            absolute_file(&mut forge.token, dir);
        }
    }
}

fn absolute_file(secret: &mut SecretRef, dir: &Path) {
    if let SecretSource::File(path) = &mut secret.source {
        *path = dir.join(&*path);
    }
}
