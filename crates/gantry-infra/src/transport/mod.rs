//! Transports: how scripts reach a host. One trait, one file each: `local` (sh on this
//! machine) and `ssh` (the system ssh with one multiplexed connection per host). A
//! transport runs a whole script per call, fed on standard input, so a plan costs one
//! round trip per host.

mod local;
mod ssh;

pub use local::LocalTransport;
pub use ssh::SshTransport;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gantry_workspace::{Connection, Host};

/// The transport an inventory host is reached by: `local`, or ssh with the host's key and
/// known_hosts resolved against `workspace_dir` and its control socket in `control_dir`
/// (one directory per run); through sudo when the host says `sudo: true`.
pub fn for_host(
    host: &Host,
    workspace_dir: &Path,
    control_dir: &Path,
    connect_timeout: Duration,
) -> Box<dyn Transport> {
    match &host.connection {
        Connection::Local => Box::new(LocalTransport::with_sudo(host.sudo)),
        Connection::Ssh(target) => {
            let mut target = target.clone();
            target.ssh_key = target.ssh_key.map(|p| workspace_dir.join(p));
            target.known_hosts = target.known_hosts.map(|p| workspace_dir.join(p));
            Box::new(SshTransport::new(target, control_dir, connect_timeout).with_sudo(host.sudo))
        }
    }
}

/// What a script printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    /// The exit code; `None` when killed by a signal.
    pub code: Option<i32>,
}

/// Why a script did not run on a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    #[error("host key verification failed: {0}")]
    HostKey(String),
    #[error("{0}")]
    Failed(String),
}

/// Runs scripts on one host.
pub trait Transport: Send + Sync {
    /// Runs `script` with `sh` on the host and returns what it printed.
    fn run(&self, script: &str) -> Result<Output, TransportError>;
    /// Ends the connection, if the transport keeps one.
    fn close(&self) {}
}

/// How a script starts on a host: `sh` reading it from standard input, in the C locale
/// (tools' output is parsed), as root through `sudo -n` when the host says `sudo: true`.
/// `-n`: sudo never prompts; a host without passwordless sudo fails with sudo's message.
fn shell_command(sudo: bool) -> &'static str {
    if sudo {
        "sudo -n -- env LC_ALL=C sh -s"
    } else {
        "LC_ALL=C sh -s"
    }
}

/// sudo's refusal (a password needed, the user not in sudoers) as a clear error: the
/// script never started, so it printed nothing.
fn sudo_refused(sudo: bool, out: &Output) -> Option<TransportError> {
    if !sudo || !out.stdout.is_empty() || out.code == Some(0) {
        return None;
    }
    let line = out.stderr.lines().find(|l| l.starts_with("sudo:"))?;
    Some(TransportError::Failed(format!(
        "sudo refused to run the script ({}): `sudo: true` needs passwordless sudo for the login user (a NOPASSWD rule)",
        line.trim()
    )))
}

/// Spawns `command`, writes `script` to its stdin, and collects its output.
fn run_with_stdin(mut command: Command, script: &str) -> std::io::Result<Output> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take();
    let script = script.to_string();
    // Written from its own thread: a large script would otherwise deadlock against a
    // full stdout pipe.
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            let _ = stdin.write_all(script.as_bytes());
        }
        drop(stdin);
    });
    let out = child.wait_with_output()?;
    let _ = writer.join();
    Ok(Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stdout: &str, stderr: &str, code: i32) -> Output {
        Output {
            stdout: stdout.into(),
            stderr: stderr.into(),
            code: Some(code),
        }
    }

    #[test]
    fn sudo_asking_for_a_password_is_a_clear_error() {
        let refused =
            sudo_refused(true, &out("", "sudo: a password is required\n", 1)).expect("refused");
        assert!(
            refused
                .to_string()
                .contains("(sudo: a password is required)")
                && refused.to_string().contains("NOPASSWD"),
            "{refused}"
        );
        // Not sudo's doing: a script that ran, or a host without sudo: true.
        assert_eq!(
            sudo_refused(true, &out("F os_id debian\n", "sudo: x", 1)),
            None
        );
        assert_eq!(
            sudo_refused(false, &out("", "sudo: a password is required", 1)),
            None
        );
        assert_eq!(sudo_refused(true, &out("", "sh: 1: boom", 2)), None);
    }

    #[test]
    fn the_remote_command_goes_through_sudo_only_when_asked() {
        assert_eq!(shell_command(false), "LC_ALL=C sh -s");
        assert_eq!(shell_command(true), "sudo -n -- env LC_ALL=C sh -s");
    }
}
