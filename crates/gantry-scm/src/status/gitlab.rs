//! GitLab commit statuses: `POST {base}/api/v4/projects/{url-encoded path}/statuses/{sha}`
//! with `PRIVATE-TOKEN: <token>`.

use super::client::StatusClient;
use super::{CommitStatus, ReporterConfig, StatusError, StatusReporter, StatusState};
use crate::forge::Forge;
use async_trait::async_trait;
use serde_json::json;

#[derive(Debug)]
pub struct GitLabReporter {
    client: StatusClient,
}

impl GitLabReporter {
    /// `config.base_url` is the instance root: `https://gitlab.com` or self-managed.
    pub fn new(config: &ReporterConfig) -> Result<Self, StatusError> {
        Ok(GitLabReporter {
            client: StatusClient::new(Forge::GitLab, config)?,
        })
    }
}

/// GitLab has `running` and `canceled` of its own, but no separate `error`.
fn state(state: StatusState) -> &'static str {
    match state {
        StatusState::Pending => "pending",
        StatusState::Running => "running",
        StatusState::Success => "success",
        StatusState::Failure | StatusState::Error => "failed",
        StatusState::Cancelled => "canceled",
    }
}

#[async_trait]
impl StatusReporter for GitLabReporter {
    fn forge(&self) -> Forge {
        Forge::GitLab
    }

    async fn report(&self, status: &CommitStatus) -> Result<(), StatusError> {
        let project = status.encoded_project_path()?;
        let path = format!(
            "/api/v4/projects/{project}/statuses/{}",
            status.checked_sha()?
        );
        let mut body = json!({
            "state": state(status.state),
            "name": status.checked_context()?,
            "description": status.short_description(),
        });
        if let Some(url) = &status.target_url {
            body["target_url"] = json!(url);
        }
        let headers = [self.client.auth_header("private-token", "")?];
        self.client.post_json(&path, &headers, &body).await
    }
}
