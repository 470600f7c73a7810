//! `git ls-remote --heads --tags`: the branches and tags of a remote and their commits.

use super::command::Invocation;
use super::error::excerpt;
use super::url::check_url;
use super::{Git, GitError};
use crate::refs::{RefTarget, is_object_id};
use serde::{Deserialize, Serialize};

/// A branch or tag of a remote. For an annotated tag, `sha` is the commit the tag points
/// to (git's peeled `^{}` line), since that is what a run builds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RemoteRef {
    /// The full ref name, `refs/heads/main` or `refs/tags/v1`.
    pub name: String,
    pub sha: String,
}

impl RemoteRef {
    pub fn target(&self) -> RefTarget {
        RefTarget::parse(&self.name)
    }
}

impl Git {
    /// Lists the remote's branches and tags, sorted by name as git prints them.
    pub async fn ls_remote(&self, url: &str) -> Result<Vec<RemoteRef>, GitError> {
        check_url(url)?;
        let args = ["ls-remote", "--heads", "--tags", "--", url]
            .map(Into::into)
            .to_vec();
        let stdout = self
            .run(Invocation {
                command: "ls-remote",
                args,
                cwd: None,
                target: url,
            })
            .await?;
        parse(&stdout)
    }
}

/// Parses `<sha>\t<ref>` lines, folding each `<tag>^{}` line into its tag.
pub(super) fn parse(stdout: &[u8]) -> Result<Vec<RemoteRef>, GitError> {
    let text = String::from_utf8_lossy(stdout);
    let mut refs: Vec<RemoteRef> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let unexpected = || GitError::UnexpectedOutput {
            command: "ls-remote",
            line: excerpt(line),
        };
        let (sha, name) = line.split_once('\t').ok_or_else(unexpected)?;
        if !is_object_id(sha) || name.is_empty() {
            return Err(unexpected());
        }
        if let Some(tag) = name.strip_suffix("^{}") {
            if let Some(entry) = refs.iter_mut().rev().find(|r| r.name == tag) {
                entry.sha = sha.to_ascii_lowercase();
            }
            continue;
        }
        refs.push(RemoteRef {
            name: name.to_string(),
            sha: sha.to_ascii_lowercase(),
        });
    }
    Ok(refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads_tags_and_peeled_tags() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let c = "c".repeat(40);
        let out = format!(
            "{a}\trefs/heads/main\n{b}\trefs/tags/v1\n{c}\trefs/tags/v1^{{}}\n{a}\trefs/tags/light\n"
        );
        let refs = parse(out.as_bytes()).unwrap();
        assert_eq!(
            refs,
            vec![
                RemoteRef {
                    name: "refs/heads/main".into(),
                    sha: a.clone()
                },
                RemoteRef {
                    name: "refs/tags/v1".into(),
                    sha: c
                },
                RemoteRef {
                    name: "refs/tags/light".into(),
                    sha: a
                },
            ]
        );
        assert_eq!(refs[1].target(), RefTarget::Tag("v1".into()));
        assert!(parse(b"").unwrap().is_empty());
        let err = parse(b"not a ref line\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected output from git ls-remote: 'not a ref line'"
        );
    }
}
