//! The `local` transport: scripts run with `sh` on this machine, as the current user.

use std::process::Command;

use super::{Output, Transport, TransportError, run_with_stdin};

#[derive(Debug, Default)]
pub struct LocalTransport;

impl Transport for LocalTransport {
    fn run(&self, script: &str) -> Result<Output, TransportError> {
        let mut command = Command::new("sh");
        command.arg("-s").env("LC_ALL", "C");
        run_with_stdin(command, script)
            .map_err(|e| TransportError::Failed(format!("could not start sh: {e}")))
    }
}
