//! The status Gantry reports for a commit, and the checks every forge's request needs.

use super::StatusError;
use crate::refs::is_object_id;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

/// GitHub refuses longer descriptions; the others are cut the same way for one look.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// A run's state as Gantry reports it. Each forge maps it to its own vocabulary; where a
/// forge has no `running` or `cancelled`, the nearest state is used (see each reporter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    Pending,
    Running,
    Success,
    Failure,
    /// Gantry could not run the pipeline (bad pipeline file, no executor).
    Error,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitStatus {
    /// `owner/name` on GitHub and Gitea; the project path (`group/subgroup/name`) on GitLab.
    pub repo: String,
    /// The full commit id.
    pub sha: String,
    pub state: StatusState,
    /// The status's name on the forge, e.g. `gantry/ci`; one per pipeline.
    pub context: String,
    pub description: String,
    /// Link to the run in Gantry's UI.
    pub target_url: Option<String>,
}

/// Path segments keep only unreserved characters; everything else (including `/` in a
/// GitLab project path) is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl CommitStatus {
    pub(super) fn checked_sha(&self) -> Result<&str, StatusError> {
        if is_object_id(&self.sha) {
            Ok(&self.sha)
        } else {
            Err(StatusError::InvalidStatus {
                field: "sha",
                reason: "expected a 40 or 64 digit hexadecimal commit id".to_string(),
            })
        }
    }

    pub(super) fn checked_context(&self) -> Result<&str, StatusError> {
        if self.context.trim().is_empty() {
            Err(StatusError::InvalidStatus {
                field: "context",
                reason: "must not be empty".to_string(),
            })
        } else {
            Ok(&self.context)
        }
    }

    /// The description cut to `MAX_DESCRIPTION_CHARS` characters (not bytes).
    pub(super) fn short_description(&self) -> String {
        let d = self.description.trim();
        if d.chars().count() <= MAX_DESCRIPTION_CHARS {
            d.to_string()
        } else {
            let mut cut: String = d.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
            cut.push('…');
            cut
        }
    }

    /// `owner/name`, each segment percent-encoded, for GitHub and Gitea.
    pub(super) fn owner_and_name(&self) -> Result<(String, String), StatusError> {
        let segments = self.repo_segments()?;
        match segments.as_slice() {
            [owner, name] => Ok((encode(owner), encode(name))),
            _ => Err(StatusError::InvalidStatus {
                field: "repo",
                reason: "expected `owner/name`".to_string(),
            }),
        }
    }

    /// The whole project path as one percent-encoded segment (`group%2Fname`), GitLab's
    /// way of naming a project in a URL.
    pub(super) fn encoded_project_path(&self) -> Result<String, StatusError> {
        let segments = self.repo_segments()?;
        Ok(encode(&segments.join("/")))
    }

    /// `.` and `..` are refused: URL normalization would resolve them into another path.
    fn repo_segments(&self) -> Result<Vec<&str>, StatusError> {
        let segments: Vec<&str> = self.repo.trim_matches('/').split('/').collect();
        if segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == ".." || s.chars().any(char::is_control))
        {
            return Err(StatusError::InvalidStatus {
                field: "repo",
                reason:
                    "expected path segments like `owner/name`, without empty, `.` or `..` segments"
                        .to_string(),
            });
        }
        Ok(segments)
    }
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(repo: &str) -> CommitStatus {
        CommitStatus {
            repo: repo.to_string(),
            sha: "a".repeat(40),
            state: StatusState::Success,
            context: "gantry/ci".to_string(),
            description: "x".repeat(200),
            target_url: None,
        }
    }

    #[test]
    fn repo_paths_are_checked_and_encoded() {
        assert_eq!(
            status("acme/web").owner_and_name().unwrap(),
            ("acme".to_string(), "web".to_string())
        );
        assert_eq!(
            status("group/sub group/web")
                .encoded_project_path()
                .unwrap(),
            "group%2Fsub%20group%2Fweb"
        );
        for bad in ["acme", "acme/web/x", "acme/..", "./web", "a//b", ""] {
            assert!(status(bad).owner_and_name().is_err(), "{bad}");
        }
        assert!(status("../etc").encoded_project_path().is_err());
        let d = status("a/b").short_description();
        assert_eq!(d.chars().count(), MAX_DESCRIPTION_CHARS);
        assert!(d.ends_with('…'));
        let mut s = status("a/b");
        s.sha = "HEAD".into();
        assert!(s.checked_sha().is_err());
    }
}
