//! The `git` CLI, driven for the server: list a remote's refs, fetch and check out one
//! commit, list the files changed between two commits, and poll a remote for pushes.
//! Every command runs with prompts disabled and a timeout; URLs in errors lose their
//! credentials.

mod checkout;
mod command;
mod diff;
mod error;
mod files;
mod log;
mod ls_remote;
mod poller;
mod url;

pub use checkout::Checkout;
pub use error::GitError;
pub use log::LogEntry;
pub use ls_remote::RemoteRef;
pub use poller::{PolledPush, Poller, RefChangeKind, diff_snapshots};
pub use url::redact_url;

use gantry_core::Secret;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How `git` is run. `Git::default()` runs `git` from `PATH` with a five-minute timeout
/// per command.
#[derive(Debug, Clone)]
pub struct Git {
    pub program: PathBuf,
    /// Longest one git command may run; it is then killed with its whole process group.
    pub timeout: Duration,
    /// Extra `git config` settings (`http.sslCAInfo`, `http.extraHeader`, …). Passed in
    /// the environment, not on the command line, so values never show in a process list.
    pub config: Vec<(String, Secret)>,
}

impl Default for Git {
    fn default() -> Self {
        Git {
            program: PathBuf::from("git"),
            timeout: Duration::from_secs(300),
            config: Vec::new(),
        }
    }
}

impl Git {
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_config(mut self, key: impl Into<String>, value: Secret) -> Self {
        self.config.push((key.into(), value));
        self
    }
}

/// `Git::default().ls_remote(url)`.
pub async fn ls_remote(url: &str) -> Result<Vec<RemoteRef>, GitError> {
    Git::default().ls_remote(url).await
}

/// `Git::default().checkout_at(url, sha, dest)`.
pub async fn checkout_at(url: &str, sha: &str, dest: &Path) -> Result<Checkout, GitError> {
    Git::default().checkout_at(url, sha, dest).await
}

/// `Git::default().changed_files(repo_dir, before, after)`.
pub async fn changed_files(
    repo_dir: &Path,
    before: &str,
    after: &str,
) -> Result<Vec<String>, GitError> {
    Git::default().changed_files(repo_dir, before, after).await
}
