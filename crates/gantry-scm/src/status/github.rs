//! GitHub (and GitHub Enterprise Server) commit statuses:
//! `POST {base}/repos/{owner}/{repo}/statuses/{sha}` with `Authorization: Bearer <token>`.

use super::client::StatusClient;
use super::{CommitStatus, ReporterConfig, StatusError, StatusReporter, StatusState};
use crate::forge::Forge;
use async_trait::async_trait;
use http::{HeaderName, HeaderValue};
use serde_json::json;

#[derive(Debug)]
pub struct GitHubReporter {
    client: StatusClient,
}

impl GitHubReporter {
    /// `config.base_url` is the API root: `https://api.github.com` or
    /// `https://HOST/api/v3` for GitHub Enterprise Server.
    pub fn new(config: &ReporterConfig) -> Result<Self, StatusError> {
        Ok(GitHubReporter {
            client: StatusClient::new(Forge::GitHub, config)?,
        })
    }
}

/// GitHub has no `running` or `cancelled`: a running run is still pending, and a
/// cancelled one is an error rather than a failure of the code.
fn state(state: StatusState) -> &'static str {
    match state {
        StatusState::Pending | StatusState::Running => "pending",
        StatusState::Success => "success",
        StatusState::Failure => "failure",
        StatusState::Error | StatusState::Cancelled => "error",
    }
}

#[async_trait]
impl StatusReporter for GitHubReporter {
    fn forge(&self) -> Forge {
        Forge::GitHub
    }

    async fn report(&self, status: &CommitStatus) -> Result<(), StatusError> {
        let (owner, repo) = status.owner_and_name()?;
        let path = format!("/repos/{owner}/{repo}/statuses/{}", status.checked_sha()?);
        let mut body = json!({
            "state": state(status.state),
            "description": status.short_description(),
            "context": status.checked_context()?,
        });
        if let Some(url) = &status.target_url {
            body["target_url"] = json!(url);
        }
        let headers = [
            self.client.auth_header("authorization", "Bearer ")?,
            (
                HeaderName::from_static("accept"),
                HeaderValue::from_static("application/vnd.github+json"),
            ),
            (
                HeaderName::from_static("x-github-api-version"),
                HeaderValue::from_static("2022-11-28"),
            ),
        ];
        self.client.post_json(&path, &headers, &body).await
    }
}
