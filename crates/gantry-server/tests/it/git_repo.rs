//! Real local repositories for the server tests (the same helpers as gantry-scm's tests):
//! clone that commits and pushes to it, driven with the git CLI.

use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// Runs git in `cwd` with a fixed identity and no user or system config, and returns its
/// trimmed stdout.
pub fn git(cwd: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

pub struct TestRepo {
    /// Keeps the directories alive for the test.
    pub _root: TempDir,
    /// `<root>/srv`, the directory `git daemon` serves.
    pub srv: PathBuf,
    pub work: PathBuf,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let root = tempfile::tempdir().unwrap();
        let srv = root.path().join("srv");
        let bare = srv.join("app.git");
        let work = root.path().join("work");
        std::fs::create_dir_all(&bare).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        git(&bare, &["init", "--quiet", "--bare", "-b", "main"]);
        git(&work, &["init", "--quiet", "-b", "main"]);
        git(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
        TestRepo {
            _root: root,
            srv,
            work,
        }
    }

    /// Writes (or with `None`, deletes) files, commits everything and returns the commit id.
    pub fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> String {
        for (path, content) in files {
            let full = self.work.join(path);
            match content {
                Some(text) => {
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, text).unwrap();
                }
                None => std::fs::remove_file(&full).unwrap(),
            }
        }
        git(&self.work, &["add", "--all"]);
        git(&self.work, &["commit", "--quiet", "-m", message]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    pub fn push(&self, refspecs: &[&str]) {
        let mut args = vec!["push", "--quiet", "origin"];
        args.extend_from_slice(refspecs);
        git(&self.work, &args);
    }
}
