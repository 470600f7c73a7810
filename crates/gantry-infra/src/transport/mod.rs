//! Transports: how scripts reach a host. One trait, one file each: `local` (sh on this
//! machine) and `ssh` (the system ssh with one multiplexed connection per host). A
//! transport runs a whole script per call, fed on standard input, so a plan costs one
//! round trip per host.

mod local;
mod ssh;

pub use local::LocalTransport;
pub use ssh::SshTransport;

use std::io::Write;
use std::process::{Command, Stdio};

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
