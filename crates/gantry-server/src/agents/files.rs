//! Files agents fetch and upload: a run's source as a tar (made once per run from the
//! same work directory template the server's own jobs use, then served to every agent
//! job of the run), the artifacts of the jobs a job needs, and a job's own artifacts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gantry_engine::fsutil::slug;
use gantry_engine::workdir::RunDirs;
use gantry_store::{Run, RunId};

use crate::state::ServerState;

/// Source tars being made or made, one per run (a lock so two jobs starting at once do
/// not both make it).
#[derive(Debug, Default)]
pub struct SourceCache {
    making: Mutex<HashMap<RunId, Arc<tokio::sync::Mutex<()>>>>,
}

fn sources_dir(state: &ServerState, run: RunId) -> PathBuf {
    state.data_dir.join("agent-sources").join(run.to_string())
}

/// `<data>/runs/<run>/artifacts`: where the server keeps a run's artifacts (the API
/// serves them from there; the engine's `ArtifactStore` layout).
pub fn run_artifacts(state: &ServerState, run: RunId) -> PathBuf {
    state
        .data_dir
        .join("runs")
        .join(run.to_string())
        .join("artifacts")
}

impl SourceCache {
    /// The path of the run's source tar, making it first if needed.
    pub async fn source_tar(&self, state: &ServerState, run: &Run) -> Result<PathBuf, String> {
        let dir = sources_dir(state, run.id);
        let tar = dir.join("source.tar");
        if tar.is_file() {
            return Ok(tar);
        }
        let lock = match self.making.lock() {
            Ok(mut m) => m.entry(run.id).or_default().clone(),
            Err(_) => Default::default(),
        };
        let _guard = lock.lock().await;
        if tar.is_file() {
            return Ok(tar);
        }
        let (source, commit) = state.prepare_source(run).await?;
        let out = tar.clone();
        tokio::task::spawn_blocking(move || make_tar(&source, commit.as_deref(), &dir, &out))
            .await
            .map_err(|e| e.to_string())??;
        Ok(tar)
    }

    /// Deletes a finished run's source tar.
    pub async fn forget(&self, state: &ServerState, run: RunId) {
        if let Ok(mut m) = self.making.lock() {
            m.remove(&run);
        }
        let dir = sources_dir(state, run);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    }
}

fn make_tar(source: &Path, commit: Option<&str>, dir: &Path, out: &Path) -> Result<(), String> {
    let build = dir.join("build");
    let _ = std::fs::remove_dir_all(&build);
    let dirs = match commit {
        Some(sha) => RunDirs::open_or_create_at(source, sha, &build),
        None => RunDirs::open_or_create(source, &build),
    }
    .map_err(|e| e.to_string())?;
    self_contained(&dirs.template)?;
    let bytes = gantry_agent::archive::pack_dir(&dirs.template)
        .map_err(|e| format!("packing the source: {e}"))?;
    let tmp = dir.join("source.tar.tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))?;
    let _ = std::fs::remove_dir_all(&build);
    Ok(())
}

/// Makes a checkout made with `git clone --shared` stand on its own: the template's
/// objects live in the server's mirror (`objects/info/alternates`), which an agent does
/// not have. Its history becomes shallow (the checked-out commit only, as a CI checkout
/// with depth 1), the objects of that commit are copied into one pack, and the link to
/// the mirror and the `origin` remote pointing at a server path go. Blocking.
fn self_contained(template: &Path) -> Result<(), String> {
    let git_dir = template.join(".git");
    if !git_dir.join("objects/info/alternates").exists() {
        return Ok(());
    }
    let head = git(template, &["rev-parse", "--verify", "HEAD"])?;
    // `remote remove` fails when there is no `origin`; nothing to remove then.
    let _ = git(template, &["remote", "remove", "origin"]);
    let shallow = git_dir.join("shallow");
    std::fs::write(&shallow, format!("{}\n", head.trim()))
        .map_err(|e| format!("{}: {e}", shallow.display()))?;
    // Without `-l`, repack copies the borrowed objects it needs into the new pack.
    git(template, &["repack", "-a", "-d", "-q"])?;
    let alternates = git_dir.join("objects/info/alternates");
    std::fs::remove_file(&alternates).map_err(|e| format!("{}: {e}", alternates.display()))
}

/// Runs `git ARGS` in `dir`; its standard output, or an error with its standard error.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A tar of `<job slug>/<path>` for each of `keys` that has artifacts. Blocking.
pub fn needs_tar(artifacts: &Path, keys: &[String]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    for key in keys {
        let dir = artifacts.join(slug(key));
        if dir.is_dir() {
            builder.append_dir_all(slug(key), &dir)?;
        }
    }
    builder.into_inner()
}

/// Replaces a job's artifacts with the uploaded tar. Blocking.
pub fn store_artifacts(artifacts: &Path, key: &str, tar: &[u8]) -> std::io::Result<()> {
    let dest = artifacts.join(slug(key));
    match std::fs::remove_dir_all(&dest) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    gantry_agent::archive::unpack(tar, &dest)
}
