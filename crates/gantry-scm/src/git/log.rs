//! The commits between two commits (`git log from..to`): the changelog a deployment
//! brings since the previous one. Read from the server's mirror or a project's own
//! directory; both ends are checked to be commit ids before git sees them.

use std::ffi::OsString;
use std::path::Path;

use super::command::Invocation;
use super::error::excerpt;
use super::{Git, GitError};
use crate::refs::is_object_id;

/// One commit of a changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub sha: String,
    pub author: String,
    pub subject: String,
}

fn check(sha: &str) -> Result<(), GitError> {
    if is_object_id(sha) {
        Ok(())
    } else {
        Err(GitError::InvalidRev {
            rev: excerpt(sha),
            reason: "expected a 40 or 64 digit hexadecimal commit id",
        })
    }
}

impl Git {
    /// Commits reachable from `to` and not from `from` (all of `to`'s history when
    /// `from` is `None`), newest first, at most `limit`.
    pub async fn commits_between(
        &self,
        repo: &Path,
        from: Option<&str>,
        to: &str,
        limit: usize,
    ) -> Result<Vec<LogEntry>, GitError> {
        check(to)?;
        let range = match from {
            Some(f) => {
                check(f)?;
                format!("{f}..{to}")
            }
            None => to.to_string(),
        };
        let target = repo.to_string_lossy().into_owned();
        let args: Vec<OsString> = [
            "log".to_string(),
            format!("--max-count={limit}"),
            "--format=%H%x00%an%x00%s".to_string(),
            range,
            "--".to_string(),
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        let out = self
            .run(Invocation {
                command: "log",
                args,
                cwd: Some(repo),
                target: &target,
            })
            .await?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(3, '\0');
                Some(LogEntry {
                    sha: f.next()?.to_string(),
                    author: f.next()?.to_string(),
                    subject: f.next().unwrap_or("").to_string(),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .output()
            .expect("git");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[tokio::test]
    async fn commits_between_two_commits_newest_first() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        let mut shas = Vec::new();
        for subject in ["first", "second", "third: with\ttab"] {
            git(dir, &["commit", "-q", "--allow-empty", "-m", subject]);
            shas.push(git(dir, &["rev-parse", "HEAD"]));
        }
        let g = Git::default();
        let got = g
            .commits_between(dir, Some(&shas[0]), &shas[2], 50)
            .await
            .expect("log");
        let subjects: Vec<&str> = got.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(subjects, ["third: with\ttab", "second"]);
        assert_eq!(
            (got[0].sha.as_str(), got[0].author.as_str()),
            (shas[2].as_str(), "Ada")
        );
        let all = g
            .commits_between(dir, None, &shas[2], 2)
            .await
            .expect("log");
        assert_eq!(all.len(), 2, "limit");
        let err = g.commits_between(dir, Some("HEAD~1"), &shas[2], 5).await;
        assert!(matches!(err, Err(GitError::InvalidRev { .. })), "{err:?}");
    }
}
