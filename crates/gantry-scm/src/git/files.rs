//! Reading files of a commit without a working tree: a bare mirror of the remote kept
//! in the server's data directory, fetched before reading, and `ls-tree`/`cat-file`
//! against it. This is how the server reads a project's pipeline files at the pushed
//! commit (a full checkout per push only to read a few YAML files would be wasteful).

use std::ffi::OsString;
use std::path::Path;

use super::command::Invocation;
use super::error::excerpt;
use super::url::check_url;
use super::{Git, GitError};
use crate::refs::is_object_id;

/// Files read at most from one directory, and bytes per file: pipeline files are small;
/// a hostile repository must not make the server read gigabytes.
const MAX_FILES: usize = 200;
const MAX_FILE_BYTES: usize = 1024 * 1024;

fn os(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

impl Git {
    /// Creates (if needed) the bare repository `mirror` and fetches every branch and tag
    /// of `url` into it.
    pub async fn update_mirror(&self, mirror: &Path, url: &str) -> Result<(), GitError> {
        check_url(url)?;
        let dir = mirror.to_string_lossy().into_owned();
        if !mirror.join("HEAD").exists() {
            tokio::fs::create_dir_all(mirror)
                .await
                .map_err(|e| GitError::Io {
                    path: dir.clone(),
                    message: e.to_string(),
                })?;
            self.run(Invocation {
                command: "init",
                args: os(&["init", "--quiet", "--bare"]),
                cwd: Some(mirror),
                target: &dir,
            })
            .await?;
        }
        self.run(Invocation {
            command: "fetch",
            args: os(&[
                "fetch",
                "--quiet",
                "--prune",
                "--force",
                "--",
                url,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ]),
            cwd: Some(mirror),
            target: url,
        })
        .await?;
        Ok(())
    }

    /// The `.yml`/`.yaml` files directly in `dir` (a path inside the repository) at
    /// commit `sha` of the repository `repo`, as (path, text) sorted by path. A missing
    /// directory gives an empty list.
    pub async fn yaml_files_at(
        &self,
        repo: &Path,
        sha: &str,
        dir: &str,
    ) -> Result<Vec<(String, String)>, GitError> {
        if !is_object_id(sha) {
            return Err(GitError::InvalidRev {
                rev: excerpt(sha),
                reason: "expected a 40 or 64 digit hexadecimal commit id",
            });
        }
        let target = repo.to_string_lossy().into_owned();
        let dir = dir.trim_matches('/');
        let listing = self
            .run(Invocation {
                command: "ls-tree",
                args: os(&[
                    "ls-tree",
                    "--name-only",
                    "-z",
                    sha,
                    "--",
                    &format!("{dir}/"),
                ]),
                cwd: Some(repo),
                target: &target,
            })
            .await?;
        let mut files = Vec::new();
        for name in listing.split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let path = String::from_utf8_lossy(name).into_owned();
            if !(path.ends_with(".yml") || path.ends_with(".yaml")) {
                continue;
            }
            if files.len() == MAX_FILES {
                break;
            }
            let blob = self
                .run(Invocation {
                    command: "cat-file",
                    args: os(&["cat-file", "blob", &format!("{sha}:{path}")]),
                    cwd: Some(repo),
                    target: &target,
                })
                .await?;
            let text =
                String::from_utf8_lossy(&blob[..blob.len().min(MAX_FILE_BYTES)]).into_owned();
            files.push((path, text));
        }
        files.sort();
        Ok(files)
    }

    /// The first line of commit `sha`'s message and its author's name, from `repo`.
    pub async fn commit_summary(
        &self,
        repo: &Path,
        sha: &str,
    ) -> Result<(String, String), GitError> {
        if !is_object_id(sha) {
            return Err(GitError::InvalidRev {
                rev: excerpt(sha),
                reason: "expected a 40 or 64 digit hexadecimal commit id",
            });
        }
        let target = repo.to_string_lossy().into_owned();
        let out = self
            .run(Invocation {
                command: "log",
                args: os(&["log", "-1", "--format=%s%x00%an", sha, "--"]),
                cwd: Some(repo),
                target: &target,
            })
            .await?;
        let text = String::from_utf8_lossy(&out);
        let (subject, author) = text
            .trim_end()
            .split_once('\0')
            .unwrap_or((text.trim_end(), ""));
        Ok((subject.to_string(), author.to_string()))
    }
}
