//! Getting one commit into a directory: a shallow fetch of just that commit, or a full
//! fetch when the server refuses to serve an unadvertised commit.

use super::command::Invocation;
use super::error::excerpt;
use super::url::check_url;
use super::{Git, GitError, redact_url};
use crate::refs::is_object_id;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A working tree at one commit (detached HEAD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub dir: PathBuf,
    pub sha: String,
    /// Whether only that commit was fetched (`--depth 1`); `false` after the fallback to a
    /// full fetch.
    pub shallow: bool,
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

impl Git {
    /// Fetches commit `sha` from `url` into the repository at `repo_dir`. Returns whether
    /// the shallow fetch worked (`true`) or the full fetch was needed (`false`).
    pub async fn fetch(&self, repo_dir: &Path, url: &str, sha: &str) -> Result<bool, GitError> {
        check_url(url)?;
        check_sha(sha)?;
        let shallow = self
            .run(Invocation {
                command: "fetch",
                args: args(&[
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "--depth",
                    "1",
                    "--",
                    url,
                    sha,
                ]),
                cwd: Some(repo_dir),
                target: url,
            })
            .await;
        let was_shallow = match shallow {
            Ok(_) => true,
            // Servers speaking protocol v0 (or configured strictly) refuse a commit that
            // is not a branch or tag tip; fetching everything then finds it.
            Err(GitError::Failed { .. }) => {
                self.run(Invocation {
                    command: "fetch",
                    args: args(&[
                        "fetch",
                        "--quiet",
                        "--tags",
                        "--",
                        url,
                        "+refs/heads/*:refs/remotes/origin/*",
                    ]),
                    cwd: Some(repo_dir),
                    target: url,
                })
                .await?;
                false
            }
            Err(other) => return Err(other),
        };
        let has_commit = self
            .run(Invocation {
                command: "cat-file",
                args: args(&["cat-file", "-e", &format!("{sha}^{{commit}}")]),
                cwd: Some(repo_dir),
                target: url,
            })
            .await;
        match has_commit {
            Ok(_) => Ok(was_shallow),
            Err(GitError::Failed { .. }) => Err(GitError::CommitNotFound {
                sha: sha.to_string(),
                url: redact_url(url),
            }),
            Err(other) => Err(other),
        }
    }

    /// Creates `dest` (which must be missing or empty), fetches `sha` from `url` and
    /// checks it out. The `origin` remote is recorded without credentials, so steps that
    /// read `.git/config` do not see them. On error `dest` may hold a partial repository;
    /// remove it before trying again.
    pub async fn checkout_at(
        &self,
        url: &str,
        sha: &str,
        dest: &Path,
    ) -> Result<Checkout, GitError> {
        check_url(url)?;
        check_sha(sha)?;
        let io = |e: std::io::Error| GitError::Io {
            path: dest.display().to_string(),
            message: e.to_string(),
        };
        if dest.exists() {
            let mut entries = std::fs::read_dir(dest).map_err(io)?;
            if entries.next().is_some() {
                return Err(GitError::DestinationNotEmpty {
                    path: dest.display().to_string(),
                });
            }
        }
        tokio::fs::create_dir_all(dest).await.map_err(io)?;
        let dir = dest.to_string_lossy().into_owned();
        let in_dest = |command: &'static str, list: &[&str]| Invocation {
            command,
            args: args(list),
            cwd: Some(dest),
            target: &dir,
        };
        self.run(in_dest("init", &["init", "--quiet"])).await?;
        let public_url = redact_url(url);
        self.run(in_dest("remote", &["remote", "add", "origin", &public_url]))
            .await?;
        let shallow = self.fetch(dest, url, sha).await?;
        self.run(in_dest(
            "checkout",
            &[
                "-c",
                "advice.detachedHead=false",
                "checkout",
                "--quiet",
                "--detach",
                sha,
            ],
        ))
        .await?;
        Ok(Checkout {
            dir: dest.to_path_buf(),
            sha: sha.to_ascii_lowercase(),
            shallow,
        })
    }
}

fn check_sha(sha: &str) -> Result<(), GitError> {
    if is_object_id(sha) {
        Ok(())
    } else {
        Err(GitError::InvalidRev {
            rev: excerpt(sha),
            reason: "expected a 40 or 64 digit hexadecimal commit id",
        })
    }
}
