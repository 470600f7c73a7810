//! Commit status reporting: one `StatusReporter` per forge (`github.rs`, `gitea.rs`,
//! `gitlab.rs`), sharing the HTTP client with its timeouts and single retry (`client.rs`).

mod client;
mod commit_status;
mod config;
mod error;
mod gitea;
mod github;
mod gitlab;

pub use commit_status::{CommitStatus, MAX_DESCRIPTION_CHARS, StatusState};
pub use config::{GITHUB_API_URL, GITLAB_COM_URL, ReporterConfig};
pub use error::StatusError;
pub use gitea::GiteaReporter;
pub use github::GitHubReporter;
pub use gitlab::GitLabReporter;

use crate::forge::Forge;
use async_trait::async_trait;
use std::fmt;

/// Sets a commit's status on a forge, the badge next to the commit and the check that
/// branch protection can require.
#[async_trait]
pub trait StatusReporter: Send + Sync + fmt::Debug {
    fn forge(&self) -> Forge;

    /// Sends one status. A 5xx answer or a connection failure is retried once.
    async fn report(&self, status: &CommitStatus) -> Result<(), StatusError>;
}

/// The reporter for `forge`.
pub fn reporter(
    forge: Forge,
    config: &ReporterConfig,
) -> Result<Box<dyn StatusReporter>, StatusError> {
    Ok(match forge {
        Forge::GitHub => Box::new(GitHubReporter::new(config)?),
        Forge::Gitea => Box::new(GiteaReporter::new(config)?),
        Forge::GitLab => Box::new(GitLabReporter::new(config)?),
    })
}
