//! Artifacts: files a job saves (`artifacts:` paths and globs, relative to its work
//! directory) so that every job that needs it gets them in its own work directory.

use globset::{Glob, GlobSetBuilder};
use std::path::{Path, PathBuf};

use crate::fsutil::{contained, copy_entry, copy_tree, slug};

/// Where a run's artifacts live: `<run root>/artifacts/<job slug>/<relative path>`.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
}

/// What saving found.
#[derive(Debug, Default)]
pub struct Saved {
    /// Saved files, relative to the work directory, sorted.
    pub files: Vec<String>,
    /// Patterns that matched nothing, or were refused (outside the work directory).
    pub problems: Vec<String>,
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

impl ArtifactStore {
    pub fn new(root: PathBuf) -> Self {
        ArtifactStore { root }
    }

    pub fn dir(&self, job_key: &str) -> PathBuf {
        self.root.join(slug(job_key))
    }

    /// Copies the files named by `patterns` from `workspace` into the job's artifact
    /// directory. Blocking.
    pub fn save(&self, job_key: &str, workspace: &Path, patterns: &[String]) -> Saved {
        let dest = self.dir(job_key);
        let mut saved = Saved::default();
        let mut globs = GlobSetBuilder::new();
        let mut glob_patterns = Vec::new();
        for pattern in patterns {
            let Some(path) = contained(workspace, pattern.trim_end_matches('/')) else {
                saved.problems.push(format!(
                    "artifact path '{pattern}' is outside the work directory"
                ));
                continue;
            };
            if is_glob(pattern) {
                match Glob::new(pattern) {
                    Ok(g) => {
                        globs.add(g);
                        glob_patterns.push(pattern.clone());
                    }
                    Err(e) => saved
                        .problems
                        .push(format!("artifact pattern '{pattern}': {e}")),
                }
                continue;
            }
            match path.symlink_metadata() {
                Ok(meta) if meta.is_dir() => {
                    for entry in walkdir::WalkDir::new(&path)
                        .follow_links(false)
                        .into_iter()
                        .flatten()
                    {
                        if !entry.file_type().is_dir() {
                            self.copy_one(workspace, entry.path(), &dest, &mut saved);
                        }
                    }
                }
                Ok(meta) => {
                    let _ = meta;
                    self.copy_one(workspace, &path, &dest, &mut saved);
                }
                Err(_) => saved
                    .problems
                    .push(format!("artifact path '{pattern}' does not exist")),
            }
        }
        if !glob_patterns.is_empty() {
            match globs.build() {
                Ok(set) => {
                    let before = saved.files.len();
                    let walker = walkdir::WalkDir::new(workspace)
                        .follow_links(false)
                        .into_iter()
                        .filter_entry(|e| e.file_name() != ".git");
                    for entry in walker.flatten() {
                        if entry.file_type().is_dir() {
                            continue;
                        }
                        if let Ok(rel) = entry.path().strip_prefix(workspace)
                            && set.is_match(rel)
                        {
                            self.copy_one(workspace, entry.path(), &dest, &mut saved);
                        }
                    }
                    if saved.files.len() == before {
                        saved.problems.push(format!(
                            "artifact pattern(s) {} matched no file",
                            glob_patterns.join(", ")
                        ));
                    }
                }
                Err(e) => saved.problems.push(format!("artifact patterns: {e}")),
            }
        }
        saved.files.sort();
        saved.files.dedup();
        saved
    }

    fn copy_one(&self, workspace: &Path, file: &Path, dest: &Path, saved: &mut Saved) {
        let Ok(rel) = file.strip_prefix(workspace) else {
            return;
        };
        let is_link = file
            .symlink_metadata()
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        match copy_entry(file, &dest.join(rel), is_link) {
            Ok(()) => saved.files.push(rel.to_string_lossy().into_owned()),
            Err(e) => saved
                .problems
                .push(format!("saving artifact {}: {e}", rel.display())),
        }
    }

    /// Copies a job's saved artifacts into `workspace` (same relative paths). Blocking.
    pub fn restore(&self, job_key: &str, workspace: &Path) -> std::io::Result<u64> {
        let dir = self.dir(job_key);
        if !dir.exists() {
            return Ok(0);
        }
        copy_tree(&dir, workspace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_paths_dirs_and_globs_then_restores() {
        let ws = tempfile::tempdir().unwrap();
        let store_dir = tempfile::tempdir().unwrap();
        let w = ws.path();
        std::fs::create_dir_all(w.join("target/release")).unwrap();
        std::fs::write(w.join("target/release/app"), "bin").unwrap();
        std::fs::create_dir_all(w.join("reports")).unwrap();
        std::fs::write(w.join("reports/a.xml"), "a").unwrap();
        std::fs::write(w.join("reports/b.txt"), "b").unwrap();
        std::fs::write(w.join("notes.md"), "n").unwrap();
        let store = ArtifactStore::new(store_dir.path().to_path_buf());
        let saved = store.save(
            "build",
            w,
            &[
                "target/release/app".into(),
                "reports/*.xml".into(),
                "notes.md".into(),
                "missing".into(),
                "../x".into(),
            ],
        );
        assert_eq!(
            saved.files,
            ["notes.md", "reports/a.xml", "target/release/app"]
        );
        assert_eq!(saved.problems.len(), 2, "{:?}", saved.problems);
        let other = tempfile::tempdir().unwrap();
        assert_eq!(store.restore("build", other.path()).unwrap(), 3);
        assert_eq!(
            std::fs::read_to_string(other.path().join("target/release/app")).unwrap(),
            "bin"
        );
        assert!(!other.path().join("reports/b.txt").exists());
    }
}
