//! Where a forge's API lives and how Gantry authenticates to it.

use gantry_core::Secret;
use std::time::Duration;

/// The API base URL of github.com; GitHub Enterprise Server uses `https://HOST/api/v3`.
pub const GITHUB_API_URL: &str = "https://api.github.com";
/// The base URL of gitlab.com; self-managed GitLab uses its own root URL.
pub const GITLAB_COM_URL: &str = "https://gitlab.com";

#[derive(Debug, Clone)]
pub struct ReporterConfig {
    /// GitHub: the API root (`https://api.github.com`, `https://ghe.example.com/api/v3`).
    /// Gitea/Forgejo and GitLab: the instance root (`https://git.example.com`); the
    /// reporter adds `/api/v1` or `/api/v4`.
    pub base_url: String,
    pub token: Secret,
    /// The whole request, connection included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Wait before the single retry.
    pub retry_delay: Duration,
}

impl ReporterConfig {
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        ReporterConfig {
            base_url: base_url.into(),
            token,
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            retry_delay: Duration::from_secs(1),
        }
    }
}
