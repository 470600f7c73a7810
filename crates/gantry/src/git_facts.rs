//! Reading the checkout's git facts (commit, branch, tag, message, author) for a local run.

use gantry_engine::GitFacts;
use std::path::Path;
use std::process::Command;

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The facts of HEAD. `branch` overrides the checked-out branch (to rehearse a run for
/// another branch); a tag is looked up only for `tag` events.
pub fn read(root: &Path, event: &str, branch: Option<&str>) -> GitFacts {
    let tag = if event == "tag" {
        git(root, &["describe", "--tags", "--exact-match", "HEAD"])
    } else {
        None
    };
    GitFacts {
        sha: git(root, &["rev-parse", "HEAD"]).unwrap_or_default(),
        branch: branch
            .map(str::to_string)
            .or_else(|| git(root, &["symbolic-ref", "--quiet", "--short", "HEAD"])),
        tag,
        event: event.to_string(),
        message: git(root, &["log", "-1", "--format=%s"]).unwrap_or_default(),
        author: git(root, &["log", "-1", "--format=%an"]).unwrap_or_default(),
    }
}

/// Files changed in the working tree against HEAD plus those of the last commit: what a
/// path filter would compare for a push of this checkout.
pub fn changed_files(root: &Path) -> Option<Vec<String>> {
    let mut files: Vec<String> = Vec::new();
    for args in [
        &["diff", "--name-only", "HEAD~1", "HEAD"][..],
        &["diff", "--name-only", "HEAD"][..],
        &["ls-files", "--others", "--exclude-standard"][..],
    ] {
        if let Some(out) = git(root, args) {
            files.extend(out.lines().map(str::to_string));
        }
    }
    files.sort();
    files.dedup();
    (!files.is_empty()).then_some(files)
}
