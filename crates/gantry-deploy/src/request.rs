//! What to deploy where, checked against the workspace before any host is contacted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gantry_core::Secret;
use gantry_workspace::{Environment, Host, Service, Workspace};
use indexmap::IndexMap;

use crate::error::DeployError;
use crate::layout::DEFAULT_BASE_DIR;

/// Settings of the deployer itself (not of the workspace).
#[derive(Debug, Clone)]
pub struct Options {
    /// Where services live on hosts (`<base>/<service>/releases/<version>`).
    pub base_dir: String,
    /// How long to wait for another deploy's lock before giving up.
    pub lock_timeout: Duration,
    /// How often a waiting deployer looks at the lock again.
    pub lock_poll: Duration,
    /// SSH connect timeout per host.
    pub connect_timeout: Duration,
    /// The branch the release was built from, checked against the environment's
    /// `branches`.
    pub branch: Option<String>,
    /// Deploy outside the environment's windows (recorded in the deployment record).
    pub outside_window: bool,
    /// How long a deploy waits for the approvals its environment needs.
    pub approval_timeout: Duration,
    /// How often a waiting deploy looks for approvals again.
    pub approval_poll: Duration,
    /// Who deploys (`protect::identity()` unless set): approvals by them do not count.
    pub identity: String,
    /// What triggered the deploy, for the record (`cli`, `pipeline`, …).
    pub trigger: String,
    /// Set from another thread to give up while waiting for approvals or the lock.
    pub cancel: crate::Cancel,
    /// The workspace's `secrets:`, resolved (at least those the service's env reads,
    /// [`Resolved::secrets_used`]): `secrets.NAME` in env values, and masked in every
    /// progress line, error and report. `Debug` shows names only.
    pub secrets: IndexMap<String, Secret>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            base_dir: DEFAULT_BASE_DIR.to_string(),
            lock_timeout: Duration::from_secs(600),
            lock_poll: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(10),
            branch: None,
            outside_window: false,
            approval_timeout: Duration::from_secs(1800),
            approval_poll: Duration::from_secs(5),
            identity: crate::protect::identity(),
            trigger: "cli".to_string(),
            cancel: crate::Cancel::new(),
            secrets: IndexMap::new(),
        }
    }
}

/// A service and an environment of a workspace, resolved.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    pub workspace: &'a Workspace,
    /// The workspace directory: relative paths (artifact, keys) are relative to it.
    pub dir: &'a Path,
    pub service: &'a Service,
    pub environment: &'a Environment,
    pub hosts: Vec<Host>,
}

/// Finds `service` and `environment` in the workspace, naming the workspace file and
/// what it declares when one is missing.
pub fn resolve<'a>(
    workspace: &'a Workspace,
    dir: &'a Path,
    service: &str,
    environment: &str,
) -> Result<Resolved<'a>, DeployError> {
    let svc = workspace
        .services
        .get(service)
        .ok_or_else(|| DeployError::UnknownService {
            file: workspace.file.clone(),
            name: service.to_string(),
            known: workspace.services.keys().cloned().collect(),
        })?;
    let env =
        workspace
            .environments
            .get(environment)
            .ok_or_else(|| DeployError::UnknownEnvironment {
                file: workspace.file.clone(),
                name: environment.to_string(),
                known: workspace.environments.keys().cloned().collect(),
            })?;
    let hosts = env.resolve_hosts(&workspace.inventory);
    if hosts.is_empty() {
        return Err(DeployError::Setup(format!(
            "{}: environment '{environment}' has no hosts",
            workspace.file
        )));
    }
    Ok(Resolved {
        workspace,
        dir,
        service: svc,
        environment: env,
        hosts,
    })
}

impl Resolved<'_> {
    /// The names of the workspace's `secrets:` the service's env values read: what a
    /// caller resolves into [`Options::secrets`].
    pub fn secrets_used(&self) -> Vec<String> {
        self.service.run.secrets_used()
    }

    /// Every secret the service reads is in `options` (a caller that did not resolve
    /// one gets this before any host is contacted, rather than a render error on each).
    pub(crate) fn check_secrets(&self, options: &Options) -> Result<(), DeployError> {
        let missing: Vec<String> = self
            .secrets_used()
            .into_iter()
            .filter(|name| !options.secrets.contains_key(name))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(DeployError::Setup(format!(
            "{}: service '{}' reads secret(s) {} in its env, which were not resolved: declare them in `secrets:` and make them readable here",
            self.workspace.file,
            self.service.name,
            missing
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// The artifact to ship: `override_path` (relative to the current directory, as
    /// typed on the command line) or the service's `artifact.path` (relative to the
    /// workspace). `None` when neither is set.
    pub fn artifact_path(&self, override_path: Option<&Path>) -> Option<PathBuf> {
        match override_path {
            Some(p) => Some(p.to_path_buf()),
            None => self
                .service
                .artifact
                .path
                .as_ref()
                .map(|p| self.dir.join(p)),
        }
    }
}
