//! The `ssh` transport: the system `ssh` binary, one multiplexed connection per host
//! (ControlMaster, with the control socket in a directory private to this run) that every
//! script of the run reuses. Non-interactive (BatchMode), host keys checked strictly
//! (against the inventory's `known_hosts` file when it names one), a bounded connect
//! time, and keepalives so a host that dies mid-apply is noticed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gantry_workspace::SshTarget;

use super::{Output, Transport, TransportError, run_with_stdin, shell_command, sudo_refused};

/// ssh's exit code for its own errors (connection, authentication, host key).
const SSH_ERROR: i32 = 255;

#[derive(Debug)]
pub struct SshTransport {
    target: SshTarget,
    control_path: PathBuf,
    connect_timeout: Duration,
    sudo: bool,
}

impl SshTransport {
    /// `control_dir` holds the control sockets of one run (one per host); relative key
    /// and known_hosts paths in `target` must already be resolved.
    pub fn new(target: SshTarget, control_dir: &Path, connect_timeout: Duration) -> Self {
        // `%C` is a hash of the connection: short enough for a socket path.
        let control_path = control_dir.join("%C");
        SshTransport {
            target,
            control_path,
            connect_timeout,
            sudo: false,
        }
    }

    /// Scripts run as root through `sudo -n` after logging in as the target's user.
    pub fn with_sudo(mut self, sudo: bool) -> Self {
        self.sudo = sudo;
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new("ssh");
        let secs = self.connect_timeout.as_secs().max(1);
        c.arg("-T")
            .args(["-o", "BatchMode=yes"])
            .args(["-o", "StrictHostKeyChecking=yes"])
            .args(["-o", &format!("ConnectTimeout={secs}")])
            .args(["-o", "ControlMaster=auto"])
            .args([
                "-o",
                &format!("ControlPath={}", self.control_path.display()),
            ])
            .args(["-o", "ControlPersist=60"])
            .args(["-o", "ServerAliveInterval=5"])
            .args(["-o", "ServerAliveCountMax=3"])
            .args(["-o", "LogLevel=ERROR"])
            .args(["-p", &self.target.port.to_string()]);
        if let Some(file) = &self.target.known_hosts {
            c.args(["-o", &format!("UserKnownHostsFile={}", file.display())])
                .args(["-o", "GlobalKnownHostsFile=/dev/null"]);
        }
        if let Some(key) = &self.target.ssh_key {
            c.arg("-i").arg(key).args(["-o", "IdentitiesOnly=yes"]);
        }
        if let Some(user) = &self.target.user {
            c.args(["-l", user]);
        }
        c.arg("--").arg(&self.target.address);
        c
    }
}

impl Transport for SshTransport {
    fn run(&self, script: &str) -> Result<Output, TransportError> {
        let mut c = self.command();
        c.arg(shell_command(self.sudo));
        let out = run_with_stdin(c, script)
            .map_err(|e| TransportError::Failed(format!("could not start ssh: {e}")))?;
        if out.code == Some(SSH_ERROR) {
            let why = out
                .stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("ssh failed")
                .trim()
                .to_string();
            return Err(if why.contains("Permission denied") {
                TransportError::AuthFailed(why)
            } else if why.contains("Host key verification failed")
                || why.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            {
                TransportError::HostKey(why)
            } else {
                TransportError::Unreachable(why)
            });
        }
        match sudo_refused(self.sudo, &out) {
            Some(refused) => Err(refused),
            None => Ok(out),
        }
    }

    fn close(&self) {
        let mut exit = Command::new("ssh");
        exit.args([
            "-o",
            &format!("ControlPath={}", self.control_path.display()),
        ])
        .args(["-O", "exit"])
        .args(["-p", &self.target.port.to_string()]);
        if let Some(user) = &self.target.user {
            exit.args(["-l", user]);
        }
        exit.arg(&self.target.address)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let _ = exit.status();
    }
}
