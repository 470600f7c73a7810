//! An environment as the API and the pages show it: its settings and hosts, and per
//! service of the workspace its deployments there (newest first) and the version each
//! host runs.

use gantry_store::{Deployment, DeploymentFilter, StoreError};
use gantry_workspace::DeployWindow;
use indexmap::IndexMap;

use super::versions::{self, HostVersion};
use crate::state::ServerState;

/// Deployments of a service looked at to say what runs where.
const HISTORY: u32 = 100;

#[derive(Debug, Clone)]
pub struct EnvironmentView {
    pub name: String,
    pub hosts: Vec<String>,
    pub approvals: u32,
    pub branches: Vec<String>,
    pub windows: Vec<DeployWindow>,
    pub services: Vec<ServiceView>,
}

#[derive(Debug, Clone)]
pub struct ServiceView {
    pub name: String,
    /// Newest first.
    pub history: Vec<Deployment>,
    /// Per host, the version it runs (hosts no recorded deployment touched are missing).
    pub running: IndexMap<String, HostVersion>,
}

/// `None` when the workspace has no environment `name`.
pub async fn view(state: &ServerState, name: &str) -> Result<Option<EnvironmentView>, StoreError> {
    let projects = state.projects();
    let Some(env) = projects.environments.get(name) else {
        return Ok(None);
    };
    let hosts: Vec<String> = env
        .resolve_hosts(&projects.inventory)
        .into_iter()
        .map(|h| h.name)
        .collect();
    let mut services = Vec::new();
    for svc in projects.services.keys() {
        let history = state
            .store
            .list_deployments(&DeploymentFilter {
                service: Some(svc.clone()),
                environment: Some(name.to_string()),
                state: None,
                limit: HISTORY,
            })
            .await?;
        services.push(ServiceView {
            name: svc.clone(),
            running: versions::running(&history, &hosts),
            history,
        });
    }
    Ok(Some(EnvironmentView {
        name: env.name.clone(),
        hosts,
        approvals: env.approvals,
        branches: env.branches.clone(),
        windows: env.windows.clone(),
        services,
    }))
}
