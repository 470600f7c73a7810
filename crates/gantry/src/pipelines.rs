//! Finding pipeline files: `.gantry/pipelines/*.yml` in the checkout, or what the user named.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

pub const PIPELINE_DIR: &str = ".gantry/pipelines";

/// The project directory: the nearest directory at or above `cwd` that holds
/// `.gantry/` (stopping at the git checkout's top), else the checkout's top, else `cwd`.
/// A project may live in a subdirectory of a repository (a monorepo, or Gantry's own
/// `examples/`).
pub fn checkout_root(cwd: &Path) -> PathBuf {
    let top = git_toplevel(cwd);
    for dir in cwd.ancestors() {
        if dir.join(".gantry").is_dir() {
            return dir.to_path_buf();
        }
        if top.as_deref() == Some(dir) {
            break;
        }
    }
    top.unwrap_or_else(|| cwd.to_path_buf())
}

fn git_toplevel(cwd: &Path) -> Option<PathBuf> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(cwd)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
}

/// All pipeline files of the checkout, sorted.
pub fn discover(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(PIPELINE_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
        .collect();
    files.sort();
    files
}

/// Resolves what the user named: a path, or a pipeline name (`ci` for
/// `.gantry/pipelines/ci.yml`); with nothing named, the checkout's only pipeline.
pub fn resolve(root: &Path, named: Option<&str>) -> anyhow::Result<PathBuf> {
    match named {
        Some(name) => {
            let as_path = PathBuf::from(name);
            if as_path.is_file() {
                return Ok(as_path);
            }
            for ext in ["yml", "yaml"] {
                let p = root.join(PIPELINE_DIR).join(format!("{name}.{ext}"));
                if p.is_file() {
                    return Ok(p);
                }
            }
            let known = names(&discover(root));
            bail!(
                "no pipeline '{name}': not a file, and not in {PIPELINE_DIR}/{}",
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (pipelines there: {known})")
                }
            )
        }
        None => {
            let files = discover(root);
            match files.as_slice() {
                [one] => Ok(one.clone()),
                [] => bail!(
                    "no pipeline found in {}; create {PIPELINE_DIR}/ci.yml or name a file: gantry run path/to/pipeline.yml",
                    root.join(PIPELINE_DIR).display()
                ),
                _ => bail!(
                    "several pipelines in {PIPELINE_DIR} ({}); name one: gantry run NAME",
                    names(&files)
                ),
            }
        }
    }
}

fn names(files: &[PathBuf]) -> String {
    files
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a pipeline file, refusing huge files before reading them whole.
pub fn read(path: &Path) -> anyhow::Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > 4 * 1024 * 1024 {
        bail!(
            "{}: {} bytes is too large for a pipeline file (limit 1 MiB)",
            path.display(),
            meta.len()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// How a file is named in diagnostics: relative to the checkout when inside it.
pub fn display_name(root: &Path, path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    abs.strip_prefix(&root)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string())
}
