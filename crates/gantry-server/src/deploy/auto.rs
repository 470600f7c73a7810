//! `auto_deploy: { branch }`: when a run on that branch of a service's project finishes
//! successfully with the service's `artifact.job` among its successful jobs, the server
//! deploys that build to the environment (trigger `auto`, on behalf of whoever started
//! the run) exactly as a deploy asked through the API would go: recorded, through the
//! environment's protection, approvals and lock.

use std::sync::Arc;

use gantry_store::{JobStatus, NewEvent, RunId, RunStatus, kinds};
use serde_json::json;

use super::DeployAsk;
use crate::state::ServerState;

/// Starts the automatic deploys a finished run asks for (none unless it succeeded).
pub fn after_run(state: &Arc<ServerState>, run: RunId, status: RunStatus) {
    if status != RunStatus::Success {
        return;
    }
    let projects = state.projects();
    if !projects
        .environments
        .values()
        .any(|e| e.auto_deploy.is_some())
    {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move { deploy_run(&state, run).await });
}

async fn deploy_run(state: &Arc<ServerState>, run_id: RunId) {
    let (run, jobs) = match (
        state.store.get_run(run_id).await,
        state.store.jobs_of_run(run_id).await,
    ) {
        (Ok(Some(r)), Ok(j)) => (r, j),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(run = %run_id, "auto deploy: reading the run: {e}");
            return;
        }
        (Ok(None), _) => return,
    };
    let Some(branch) = run.git.branch.clone() else {
        return;
    };
    let projects = state.projects();
    let mut asks = Vec::new();
    for env in projects.environments.values() {
        if env.auto_deploy.as_ref().is_none_or(|a| a.branch != branch) {
            continue;
        }
        for svc in projects.services.values() {
            let built = svc.project.as_deref() == Some(run.project.as_str())
                && svc.artifact.job.as_ref().is_some_and(|job| {
                    jobs.iter()
                        .any(|j| &j.job_id == job && j.status == JobStatus::Success)
                });
            if built {
                asks.push(DeployAsk {
                    service: svc.name.clone(),
                    environment: env.name.clone(),
                    trigger: "auto".into(),
                    triggered_by: run
                        .actor
                        .clone()
                        .unwrap_or_else(|| format!("auto_deploy of {branch}")),
                    run: Some(run.id),
                    ..Default::default()
                });
            }
        }
    }
    drop(projects);
    for ask in asks {
        let (service, environment) = (ask.service.clone(), ask.environment.clone());
        match super::start(state.clone(), ask, None).await {
            Ok((d, _running)) => tracing::info!(
                deployment = %d.id, %service, %environment, version = %d.version,
                "auto deploy of run {run_id} started"
            ),
            Err(e) => {
                // Refused (a deploy window, the branch, a bad build): the event log says
                // why, since nobody is waiting for an answer.
                tracing::warn!(%service, %environment, "auto deploy of run {run_id}: {e}");
                let event = NewEvent::new(kinds::DEPLOY_AUTO_REFUSED)
                    .project(run.project.clone())
                    .run(run.id)
                    .data(json!({
                        "service": service,
                        "environment": environment,
                        "branch": branch,
                        "reason": e.to_string(),
                    }));
                if let Err(e) = state.store.append_event(event).await {
                    tracing::error!("recording a refused auto deploy: {e}");
                }
            }
        }
    }
}
