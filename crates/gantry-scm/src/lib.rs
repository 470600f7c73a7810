//! Gantry's git and forge integration: webhook verification and parsing (pure), commit
//! status reporting to GitHub, Gitea/Forgejo and GitLab, and the `git` CLI helpers the
//! server uses to list, fetch and poll repositories.
#![forbid(unsafe_code)]

pub mod forge;
pub mod git;
pub mod refs;
pub mod status;
pub mod webhook;

pub use forge::{Forge, UnknownForge};
pub use git::{
    Checkout, Git, GitError, LogEntry, PolledPush, Poller, RefChangeKind, RemoteRef, changed_files,
    checkout_at, diff_snapshots, ls_remote, redact_url,
};
pub use refs::RefTarget;
pub use status::{
    CommitStatus, GitHubReporter, GitLabReporter, GiteaReporter, ReporterConfig, StatusError,
    StatusReporter, StatusState, reporter,
};
pub use webhook::{
    Commit, MAX_BODY_BYTES, Payload, Person, PingEvent, PullRequestAction, PullRequestEvent,
    PushEvent, Repository, WebhookError, WebhookEvent, parse, verify,
};
