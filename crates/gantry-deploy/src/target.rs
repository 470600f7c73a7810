//! The hosts of a deploy with their transports: gantry-infra's `ssh` (one ControlMaster
//! connection per host, reused by every script of the deploy) or `local`.

use std::path::Path;
use std::time::Duration;

use gantry_infra::transport::{Output, Transport, TransportError};
use gantry_workspace::{Connection, Host, Inventory};
use indexmap::IndexMap;
use serde_json::Value;

/// One host of the environment, ready to run scripts.
pub struct Target {
    pub name: String,
    /// Where the deployer reaches the host's service (health checks): the SSH address,
    /// `127.0.0.1` for `local`.
    pub address: String,
    /// The host's merged vars (templates see them).
    pub vars: IndexMap<String, Value>,
    transport: Box<dyn Transport>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Runs `script` on the host.
    pub fn run(&self, script: &str) -> Result<Output, TransportError> {
        self.transport.run(script)
    }

    /// Runs `script` and returns its stdout when it exits 0; else the reason, with the
    /// script's last error line.
    pub fn run_ok(&self, script: &str) -> Result<String, String> {
        let out = self.run(script).map_err(|e| e.to_string())?;
        if out.code == Some(0) {
            return Ok(out.stdout);
        }
        let why = out
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no error output")
            .trim()
            .to_string();
        Err(match out.code {
            Some(code) => format!("exit code {code}: {why}"),
            None => format!("killed by a signal: {why}"),
        })
    }
}

/// The hosts of one deploy and the directory of their SSH control sockets; dropping it
/// ends the connections.
#[derive(Debug)]
pub struct Targets {
    pub hosts: Vec<Target>,
    _control_dir: tempfile::TempDir,
}

impl Targets {
    /// Transports for `hosts`; relative `ssh_key` and `known_hosts` paths are resolved
    /// against `workspace_dir`.
    pub fn connect(
        inventory: &Inventory,
        hosts: &[Host],
        workspace_dir: &Path,
        connect_timeout: Duration,
    ) -> std::io::Result<Targets> {
        let control_dir = tempfile::Builder::new()
            .prefix("gantry-deploy-ssh-")
            .tempdir_in("/tmp")?;
        let hosts = hosts
            .iter()
            .map(|host| {
                let address = match &host.connection {
                    Connection::Local => "127.0.0.1".to_owned(),
                    Connection::Ssh(target) => target.address.clone(),
                };
                let transport = gantry_infra::transport::for_host(
                    host,
                    workspace_dir,
                    control_dir.path(),
                    connect_timeout,
                );
                Target {
                    name: host.name.clone(),
                    address,
                    vars: inventory.vars(host),
                    transport,
                }
            })
            .collect();
        Ok(Targets {
            hosts,
            _control_dir: control_dir,
        })
    }
}

impl Drop for Targets {
    fn drop(&mut self) {
        for host in &self.hosts {
            host.transport.close();
        }
    }
}
