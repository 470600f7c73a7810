//! Running one git command: no prompts, a timeout that kills the whole process group
//! (git spawns helpers such as `git-remote-https` and `ssh`), and error output with
//! credentials masked.

use super::error::GitError;
use super::{Git, redact_url};
use gantry_core::Masker;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

/// Lines and characters of git's stderr kept in an error: the last ones say why.
const STDERR_LINES: usize = 12;
const STDERR_CHARS: usize = 2000;

/// One git command to run.
pub(super) struct Invocation<'a> {
    /// The subcommand, for messages (`ls-remote`).
    pub command: &'static str,
    pub args: Vec<OsString>,
    pub cwd: Option<&'a Path>,
    /// The remote URL or directory the command works on, as given (it is redacted here).
    pub target: &'a str,
}

impl Git {
    /// Runs the command and returns its stdout, or an error with its (masked) stderr.
    pub(super) async fn run(&self, inv: Invocation<'_>) -> Result<Vec<u8>, GitError> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&inv.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group: a timeout kills the helpers too, and a helper that
            // tries to prompt on the terminal is stopped instead of hanging the server.
            .process_group(0)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GCM_INTERACTIVE", "never")
            .env("LC_ALL", "C");
        if !self.config.is_empty() {
            cmd.env("GIT_CONFIG_COUNT", self.config.len().to_string());
            for (i, (key, value)) in self.config.iter().enumerate() {
                cmd.env(format!("GIT_CONFIG_KEY_{i}"), key)
                    .env(format!("GIT_CONFIG_VALUE_{i}"), value.expose());
            }
        }
        if let Some(cwd) = inv.cwd {
            cmd.current_dir(cwd);
        }
        let target = redact_url(inv.target);
        let child = cmd.spawn().map_err(|e| GitError::Spawn {
            message: e.to_string(),
        })?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok());
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => {
                return Err(GitError::Io {
                    path: target,
                    message: e.to_string(),
                });
            }
            Err(_) => {
                if let Some(pid) = pid {
                    // The group may already be gone; nothing else to do then.
                    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                }
                return Err(GitError::Timeout {
                    command: inv.command,
                    target,
                    seconds: self.timeout.as_secs(),
                });
            }
        };
        if output.status.success() {
            return Ok(output.stdout);
        }
        Err(GitError::Failed {
            command: inv.command,
            status: output.status.to_string(),
            stderr: self.clean_stderr(&output.stderr, inv.target, &target),
            target,
        })
    }

    /// The tail of git's stderr with the URL's credentials and configured secret values
    /// masked.
    fn clean_stderr(&self, stderr: &[u8], raw_target: &str, redacted_target: &str) -> String {
        let text = String::from_utf8_lossy(stderr);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let tail = lines
            .iter()
            .skip(lines.len().saturating_sub(STDERR_LINES))
            .copied()
            .collect::<Vec<_>>()
            .join(" | ");
        let tail = tail.replace(raw_target, redacted_target);
        let mut secrets = super::url::url_secrets(raw_target);
        secrets.extend(self.config.iter().map(|(_, v)| v.expose().to_string()));
        let masked = Masker::new(secrets.iter().map(String::as_str)).mask(&tail);
        let mut out: String = masked
            .chars()
            .filter(|c| !c.is_control())
            .take(STDERR_CHARS)
            .collect();
        if out.is_empty() {
            out.push_str("no error output");
        }
        out
    }
}
