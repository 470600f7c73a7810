//! The projects the server builds, as the running server sees them: the workspace's
//! declarations with secrets resolved, and each project's pipelines read at a commit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gantry_core::{Diagnostic, Secret};
use gantry_pipeline::Plan;
use gantry_scm::Forge;
use serde::Serialize;

/// Where status reports go.
#[derive(Debug, Clone)]
pub struct ForgeTarget {
    pub forge: Forge,
    pub api_url: String,
    pub repo: String,
    pub token: Option<Secret>,
}

/// One project, ready to use.
#[derive(Clone)]
pub struct Project {
    pub name: String,
    /// The URL `git` fetches from (`file://…` for a local repository).
    pub git_url: String,
    /// For `path:` projects: the directory itself (runs use its current files).
    pub local_dir: Option<PathBuf>,
    pub branch: String,
    pub poll: Option<Duration>,
    /// Directory of pipeline files inside the repository.
    pub pipelines_dir: String,
    pub webhook_secret: Option<Secret>,
    pub forge: Option<ForgeTarget>,
}

// By hand: `git_url` may carry credentials (`https://user:token@host/…`).
impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("name", &self.name)
            .field("git_url", &gantry_scm::redact_url(&self.git_url))
            .field("local_dir", &self.local_dir)
            .field("branch", &self.branch)
            .field("poll", &self.poll)
            .field("pipelines_dir", &self.pipelines_dir)
            .field("webhook_secret", &self.webhook_secret)
            .field("forge", &self.forge)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_url_credentials_and_secrets() {
        let p = Project {
            name: "web".into(),
            git_url: "https://ci:s3cr3t-token@git.example.com/team/web.git".into(),
            local_dir: None,
            branch: "main".into(),
            poll: None,
            pipelines_dir: ".gantry/pipelines".into(),
            webhook_secret: Some(Secret::new("hook-s3cr3t")),
            forge: None,
        };
        let text = format!("{p:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("git.example.com"), "{text}");
    }
}

/// One pipeline file of a project, compiled.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineFile {
    /// Path inside the repository (`.gantry/pipelines/ci.yml`).
    pub path: String,
    /// The pipeline's name (its `name:`, else the file stem).
    pub name: String,
    #[serde(skip)]
    pub plan: Option<Plan>,
    /// Rendered diagnostics (errors and warnings), empty when clean.
    pub diagnostics: String,
    #[serde(skip)]
    pub has_errors: bool,
}

/// Compiles pipeline files given as (path, text).
pub fn compile_files(files: Vec<(String, String)>) -> Vec<PipelineFile> {
    files
        .into_iter()
        .map(|(path, text)| {
            let compiled = gantry_pipeline::compile(&path, &text);
            let source = gantry_core::SourceFile::new(path.clone(), text.clone());
            let diagnostics: String = compiled
                .diagnostics
                .iter()
                .map(|d: &Diagnostic| d.render(Some(&source), false))
                .collect::<Vec<_>>()
                .join("\n");
            let has_errors = compiled.has_errors();
            let name = compiled.plan.as_ref().map_or_else(
                || {
                    Path::new(&path)
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| path.clone())
                },
                |p| p.name.clone(),
            );
            PipelineFile {
                path,
                name,
                plan: compiled.plan,
                diagnostics,
                has_errors,
            }
        })
        .collect()
}

/// The pipeline files of a local directory project (`<dir>/<pipelines_dir>/*.y{a,}ml`).
pub fn read_local_pipelines(
    dir: &Path,
    pipelines_dir: &str,
) -> std::io::Result<Vec<(String, String)>> {
    let base = dir.join(pipelines_dir);
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(&base) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
        if is_yaml && path.is_file() {
            let text = std::fs::read_to_string(&path)?;
            let rel = format!(
                "{}/{}",
                pipelines_dir.trim_end_matches('/'),
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            files.push((rel, text));
        }
    }
    files.sort();
    Ok(files)
}
