//! Gitea and Forgejo commit statuses:
//! `POST {base}/api/v1/repos/{owner}/{repo}/statuses/{sha}` with `Authorization: token <token>`.

use super::client::StatusClient;
use super::{CommitStatus, ReporterConfig, StatusError, StatusReporter, StatusState};
use crate::forge::Forge;
use async_trait::async_trait;
use serde_json::json;

#[derive(Debug)]
pub struct GiteaReporter {
    client: StatusClient,
}

impl GiteaReporter {
    /// `config.base_url` is the instance root, e.g. `https://git.example.com`.
    pub fn new(config: &ReporterConfig) -> Result<Self, StatusError> {
        Ok(GiteaReporter {
            client: StatusClient::new(Forge::Gitea, config)?,
        })
    }
}

/// Gitea's states are pending, success, error, failure and warning; like GitHub it has
/// no `running` or `cancelled`. `warning` is left for a future "passed with allowed
/// failures" state rather than spent on cancellation, which blocks a merge like an error.
fn state(state: StatusState) -> &'static str {
    match state {
        StatusState::Pending | StatusState::Running => "pending",
        StatusState::Success => "success",
        StatusState::Failure => "failure",
        StatusState::Error | StatusState::Cancelled => "error",
    }
}

#[async_trait]
impl StatusReporter for GiteaReporter {
    fn forge(&self) -> Forge {
        Forge::Gitea
    }

    async fn report(&self, status: &CommitStatus) -> Result<(), StatusError> {
        let (owner, repo) = status.owner_and_name()?;
        let path = format!(
            "/api/v1/repos/{owner}/{repo}/statuses/{}",
            status.checked_sha()?
        );
        let mut body = json!({
            "state": state(status.state),
            "description": status.short_description(),
            "context": status.checked_context()?,
        });
        if let Some(url) = &status.target_url {
            body["target_url"] = json!(url);
        }
        let headers = [self.client.auth_header("authorization", "token ")?];
        self.client.post_json(&path, &headers, &body).await
    }
}
