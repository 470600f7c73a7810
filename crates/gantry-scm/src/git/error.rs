//! Why a git operation failed. URLs in these messages have their credentials removed and
//! git's own output is masked the same way.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error("could not start git: {message} (is git installed and on PATH?)")]
    Spawn { message: String },
    #[error("git {command} for {target} timed out after {seconds}s")]
    Timeout {
        command: &'static str,
        target: String,
        seconds: u64,
    },
    #[error("git {command} for {target} failed ({status}): {stderr}")]
    Failed {
        command: &'static str,
        target: String,
        status: String,
        stderr: String,
    },
    #[error("invalid git URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: &'static str },
    #[error("invalid revision '{rev}': {reason}")]
    InvalidRev { rev: String, reason: &'static str },
    #[error("unexpected output from git {command}: '{line}'")]
    UnexpectedOutput { command: &'static str, line: String },
    #[error("commit {sha} is not in {url}")]
    CommitNotFound { sha: String, url: String },
    #[error("checkout destination {path} exists and is not empty")]
    DestinationNotEmpty { path: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// Long values are cut so a hostile one cannot flood a log line.
pub(super) fn excerpt(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    } else {
        let mut cut: String = s
            .chars()
            .take(MAX)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        cut.push('…');
        cut
    }
}
