//! The `local` transport: scripts run with `sh` on this machine, as the current user (or
//! as root through `sudo -n` for a `local` host with `sudo: true`).

use std::process::Command;

use super::{Output, Transport, TransportError, run_with_stdin, shell_command, sudo_refused};

#[derive(Debug, Default)]
pub struct LocalTransport {
    sudo: bool,
}

impl LocalTransport {
    /// Scripts run as root through `sudo -n`.
    pub fn with_sudo(sudo: bool) -> Self {
        LocalTransport { sudo }
    }
}

impl Transport for LocalTransport {
    fn run(&self, script: &str) -> Result<Output, TransportError> {
        let mut command = Command::new("sh");
        if self.sudo {
            command.arg("-c").arg(shell_command(true));
        } else {
            command.arg("-s").env("LC_ALL", "C");
        }
        let out = run_with_stdin(command, script)
            .map_err(|e| TransportError::Failed(format!("could not start sh: {e}")))?;
        match sudo_refused(self.sudo, &out) {
            Some(refused) => Err(refused),
            None => Ok(out),
        }
    }
}
