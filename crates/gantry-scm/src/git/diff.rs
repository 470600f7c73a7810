//! The files changed between two commits, for a pipeline's `paths` filters.

use super::command::Invocation;
use super::error::excerpt;
use super::{Git, GitError};
use std::ffi::OsString;
use std::path::Path;

impl Git {
    /// Paths that differ between `before` and `after` in the repository at `repo_dir`
    /// (both commits must be present). A rename counts as its old and its new path, so a
    /// filter on either matches.
    pub async fn changed_files(
        &self,
        repo_dir: &Path,
        before: &str,
        after: &str,
    ) -> Result<Vec<String>, GitError> {
        check_rev(before)?;
        check_rev(after)?;
        let args: Vec<OsString> = [
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
            "--end-of-options",
            before,
            after,
            "--",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let dir = repo_dir.to_string_lossy();
        let stdout = self
            .run(Invocation {
                command: "diff",
                args,
                cwd: Some(repo_dir),
                target: &dir,
            })
            .await?;
        // `-z` output is NUL-separated and unquoted, so any file name comes through as is.
        Ok(stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }
}

/// A revision git will not read as an option or a range: shas, branch and tag names.
fn check_rev(rev: &str) -> Result<(), GitError> {
    let invalid = |reason| GitError::InvalidRev {
        rev: excerpt(rev),
        reason,
    };
    if rev.is_empty() {
        return Err(invalid("empty"));
    }
    if rev.starts_with('-') {
        return Err(invalid("starts with '-'"));
    }
    if rev.len() > 256
        || rev.chars().any(|c| c.is_control() || c.is_whitespace())
        || rev.contains("..")
    {
        return Err(invalid("not a single revision"));
    }
    Ok(())
}
