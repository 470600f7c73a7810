//! Resolving secret references into values, as a step separate from parsing so that
//! parsing stays pure: the environment and the file system are passed in.

use std::io;
use std::path::Path;

use gantry_core::{Diagnostic, Masker, Secret};
use indexmap::IndexMap;

use crate::model::Workspace;
use crate::secret_ref::{SecretRef, SecretSource};

/// The secret values of every project, after resolution. `Debug` shows `Secret(***)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedSecrets {
    /// Every project of the workspace, in file order, even those without secrets.
    pub projects: IndexMap<String, ProjectSecrets>,
}

/// One project's secret values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectSecrets {
    /// Verifies the project's webhooks.
    pub webhook_secret: Option<Secret>,
    /// Authenticates commit status reports to the forge.
    pub forge_token: Option<Secret>,
}

impl ResolvedSecrets {
    pub fn project(&self, name: &str) -> Option<&ProjectSecrets> {
        self.projects.get(name)
    }

    /// Every value, for masking them in logs.
    pub fn values(&self) -> impl Iterator<Item = &Secret> {
        self.projects
            .values()
            .flat_map(|p| p.webhook_secret.iter().chain(p.forge_token.iter()))
    }

    /// A masker for every value (the server adds it to the masks of every log).
    pub fn masker(&self) -> Masker {
        Masker::new(self.values().map(Secret::expose))
    }
}

impl Workspace {
    /// Resolves every secret reference. `lookup_env` reads the server's environment and
    /// `read_file` reads a file (the path as the workspace holds it: relative as written
    /// after [`crate::parse`], absolute after [`crate::load`]). Every missing variable,
    /// unreadable or empty file is reported, at the reference's line and column.
    pub fn resolve_secrets(
        &self,
        lookup_env: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&Path) -> io::Result<String>,
    ) -> Result<ResolvedSecrets, Vec<Diagnostic>> {
        let mut resolver = Resolver {
            file: &self.file,
            lookup_env: &lookup_env,
            read_file: &read_file,
            diags: Vec::new(),
        };
        let mut resolved = ResolvedSecrets::default();
        for (name, project) in &self.projects {
            let webhook_secret = project.webhook_secret.as_ref().and_then(|r| {
                resolver.resolve(r, &format!("the webhook secret of project '{name}'"))
            });
            let forge_token = project.forge.as_ref().and_then(|f| {
                resolver.resolve(&f.token, &format!("the forge token of project '{name}'"))
            });
            resolved.projects.insert(
                name.clone(),
                ProjectSecrets {
                    webhook_secret,
                    forge_token,
                },
            );
        }
        if resolver.diags.is_empty() {
            Ok(resolved)
        } else {
            Err(resolver.diags)
        }
    }
}

impl crate::inventory::Inventory {
    /// Resolves the `secrets:` of the inventory (for `gantry infra`), as
    /// [`Workspace::resolve_secrets`] does the projects'; `file` names gantry.yml in
    /// diagnostics.
    pub fn resolve_secrets(
        &self,
        file: &str,
        lookup_env: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&Path) -> io::Result<String>,
    ) -> Result<IndexMap<String, Secret>, Vec<Diagnostic>> {
        self.resolve_secrets_where(file, |_| true, lookup_env, read_file)
    }

    /// Resolves only the secrets named in `names` (a deploy needs the ones its
    /// service's env reads, not every secret of the workspace); names not declared
    /// are left out, for the caller to report.
    pub fn resolve_named_secrets(
        &self,
        file: &str,
        names: &[String],
        lookup_env: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&Path) -> io::Result<String>,
    ) -> Result<IndexMap<String, Secret>, Vec<Diagnostic>> {
        self.resolve_secrets_where(
            file,
            |n| names.iter().any(|x| x == n),
            lookup_env,
            read_file,
        )
    }

    fn resolve_secrets_where(
        &self,
        file: &str,
        wanted: impl Fn(&str) -> bool,
        lookup_env: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&Path) -> io::Result<String>,
    ) -> Result<IndexMap<String, Secret>, Vec<Diagnostic>> {
        let mut resolver = Resolver {
            file,
            lookup_env: &lookup_env,
            read_file: &read_file,
            diags: Vec::new(),
        };
        let mut out = IndexMap::new();
        for (name, reference) in self.secrets.iter().filter(|(n, _)| wanted(n)) {
            if let Some(value) = resolver.resolve(reference, &format!("secret '{name}'")) {
                out.insert(name.clone(), value);
            }
        }
        if resolver.diags.is_empty() {
            Ok(out)
        } else {
            Err(resolver.diags)
        }
    }
}

struct Resolver<'a, E, F> {
    file: &'a str,
    lookup_env: &'a E,
    read_file: &'a F,
    diags: Vec<Diagnostic>,
}

impl<E, F> Resolver<'_, E, F>
where
    E: Fn(&str) -> Option<String>,
    F: Fn(&Path) -> io::Result<String>,
{
    /// The value, or `None` with a diagnostic. Messages name the variable or the file,
    /// never a value.
    fn resolve(&mut self, reference: &SecretRef, what: &str) -> Option<Secret> {
        let error = |message: String| Diagnostic::error(self.file, Some(reference.span), message);
        let value = match &reference.source {
            SecretSource::Literal(secret) => return Some(secret.clone()),
            SecretSource::Env(name) => match (self.lookup_env)(name) {
                Some(value) if value.is_empty() => {
                    self.diags.push(
                        error(format!("environment variable '{name}' for {what} is empty"))
                            .with_help("set it to the secret's value where the server starts"),
                    );
                    return None;
                }
                Some(value) => value,
                None => {
                    self.diags.push(
                        error(format!("environment variable '{name}' for {what} is not set"))
                            .with_help(
                                "set it where the server starts, e.g. in its systemd unit, or use { file: PATH }",
                            ),
                    );
                    return None;
                }
            },
            SecretSource::File(path) => match (self.read_file)(path) {
                Ok(text) => {
                    // Editors and `echo` add a newline nobody means as part of a token.
                    let value = text.trim_end_matches(['\n', '\r']);
                    if value.is_empty() {
                        self.diags.push(error(format!(
                            "secret file '{}' for {what} is empty",
                            path.display()
                        )));
                        return None;
                    }
                    value.to_string()
                }
                Err(err) => {
                    self.diags.push(
                        error(format!(
                            "cannot read secret file '{}' for {what}: {}",
                            path.display(),
                            io_reason(&err)
                        ))
                        .with_help(
                            "a relative path is read from the workspace directory, where gantry.yml is",
                        ),
                    );
                    return None;
                }
            },
        };
        Some(Secret::new(value))
    }
}

/// The error's kind in words, without anything read from the file.
fn io_reason(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::InvalidData => "the file is not UTF-8 text".to_string(),
        _ => err.to_string(),
    }
}
