//! Infrastructure as code in the server: plans and applies of the workspace's infra
//! declarations through `gantry-infra`, on blocking threads (never the async runtime),
//! one infra run at a time. `drift` checks groups on their `drift: { every: }` schedule,
//! `apply` runs approved apply requests; every host's result is stored as its latest
//! check (`Store::record_host_check`), whose state transitions become events.

pub mod apply;
pub mod drift;
pub mod requests;

use std::path::{Path, PathBuf};

use gantry_core::Secret;
use gantry_infra::{
    Declarations, HostReport, HostStatus, Mode, Options, ResourceStatus, RunReport,
};
use gantry_store::{HostState, NewHostCheck};
use gantry_workspace::{Host, Inventory, LoadError, Loaded};
use indexmap::IndexMap;

use crate::state::ServerState;

/// The server's infra bookkeeping.
#[derive(Debug, Default)]
pub struct Infra {
    /// Held for the whole of each plan or apply, so a drift check never runs beside an
    /// apply on the same hosts and two applies never interleave.
    pub lock: tokio::sync::Mutex<()>,
}

/// Why an infra run could not start.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// The workspace, its declarations or its secrets have errors (rendered).
    #[error("{0}")]
    Workspace(String),
    /// A bad host pattern.
    #[error("{0}")]
    Pattern(String),
    /// No host matches.
    #[error("{0}")]
    NoHosts(String),
}

/// What a run needs from the workspace directory, loaded fresh from disk (as
/// `gantry infra` does), so a run sees the declarations as they are now.
pub struct Workspace {
    pub loaded: Loaded,
    pub declarations: Declarations,
    pub secrets: IndexMap<String, Secret>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of Debug output (their names only).
        f.debug_struct("Workspace")
            .field("dir", &self.loaded.dir)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Workspace {
    /// Blocking: reads gantry.yml, the resource files and the secrets.
    pub fn load(dir: &Path) -> Result<Workspace, InfraError> {
        let loaded = gantry_workspace::load(dir).map_err(|e| match e {
            LoadError::Invalid(invalid) => InfraError::Workspace(invalid.render(false)),
            other => InfraError::Workspace(other.to_string()),
        })?;
        let inventory = &loaded.workspace.inventory;
        let declarations = gantry_infra::load(&loaded.dir, inventory)
            .map_err(|invalid| InfraError::Workspace(invalid.render(false)))?;
        let secrets = inventory
            .resolve_secrets(
                &loaded.workspace.file,
                |name| std::env::var(name).ok(),
                |path| std::fs::read_to_string(path),
            )
            .map_err(|diags| InfraError::Workspace(loaded.render(&diags, false)))?;
        Ok(Workspace {
            loaded,
            declarations,
            secrets,
        })
    }

    pub fn inventory(&self) -> &Inventory {
        &self.loaded.workspace.inventory
    }

    /// The hosts some play targets, narrowed by `patterns` (globs over host and group
    /// names).
    pub fn select(&self, patterns: &[String]) -> Result<Vec<Host>, InfraError> {
        gantry_infra::select_hosts(self.inventory(), &self.declarations, patterns)
            .map_err(InfraError::Pattern)
    }

    /// Blocking: plans (or applies) on `hosts`.
    pub fn run(
        &self,
        mode: Mode,
        hosts: &[Host],
        saved: Option<gantry_infra::SavedPlan>,
    ) -> RunReport {
        let options = Options {
            secrets: self.secrets.clone(),
            saved,
            ..Options::default()
        };
        gantry_infra::run(
            mode,
            self.inventory(),
            &self.declarations,
            hosts,
            &self.loaded.dir,
            &options,
        )
    }
}

/// Runs `work` on a blocking thread with the workspace loaded from `dir`.
pub async fn with_workspace<T: Send + 'static>(
    dir: PathBuf,
    work: impl FnOnce(Workspace) -> Result<T, InfraError> + Send + 'static,
) -> Result<T, InfraError> {
    tokio::task::spawn_blocking(move || work(Workspace::load(&dir)?))
        .await
        .map_err(|e| InfraError::Workspace(format!("the infra run stopped: {e}")))?
}

/// What a host's report says about drift: state, changes, and the changed resource ids.
pub fn host_state(host: &HostReport) -> (HostState, u64, Vec<String>) {
    let changed: Vec<String> = host
        .resources
        .iter()
        .filter(|r| r.status == ResourceStatus::Change)
        .map(|r| r.id.clone())
        .collect();
    let failed = host.resources.iter().any(|r| {
        matches!(
            r.status,
            ResourceStatus::Failed | ResourceStatus::NotApplied
        )
    });
    let state = match host.status {
        HostStatus::Unreachable => HostState::Unreachable,
        HostStatus::Failed => HostState::Error,
        HostStatus::Ok if failed => HostState::Error,
        HostStatus::Ok if !changed.is_empty() => HostState::Drifted,
        HostStatus::Ok => HostState::InSync,
    };
    (state, changed.len() as u64, changed)
}

/// Stores each host's part of a plan as its latest check.
pub async fn record_checks(state: &ServerState, report: &RunReport) {
    for host in &report.hosts {
        let (host_state, changes, changed) = self::host_state(host);
        let Some(one) = report.only_host(&host.host) else {
            continue;
        };
        let report = match serde_json::to_value(&one) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(host = %host.host, "serializing a host report: {e}");
                continue;
            }
        };
        let check = NewHostCheck {
            host: host.host.clone(),
            state: host_state,
            changes,
            changed,
            report,
        };
        if let Err(e) = state.store.record_host_check(check).await {
            tracing::error!(host = %host.host, "recording a host check: {e}");
        }
    }
}

/// A plan of the hosts matching `patterns`, now: stored as each host's latest check.
pub async fn plan_now(state: &ServerState, patterns: Vec<String>) -> Result<RunReport, InfraError> {
    let _guard = state.infra.lock.lock().await;
    let report = with_workspace(state.workspace_dir.clone(), move |ws| {
        let hosts = ws.select(&patterns)?;
        if hosts.is_empty() {
            return Err(InfraError::NoHosts(
                "no host matches: no play targets a host matching the pattern".into(),
            ));
        }
        Ok(ws.run(Mode::Plan, &hosts, None))
    })
    .await?;
    record_checks(state, &report).await;
    Ok(report)
}
