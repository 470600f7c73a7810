//! The deployer the server gives the engine for pipeline `deploy:` jobs: each deploy job
//! becomes a stored deployment like one asked through the API (trigger `pipeline`, on
//! behalf of whoever started the run, with the run's commit and branch), shipping the
//! artifact the engine restored into the job's work directory. Its progress lines reach
//! the job's log as they come; the job's result is how the deployment ended.

use std::sync::{Arc, OnceLock, Weak};

use gantry_engine::{DeployOutcome, DeployRequest, DeployResult, Deployer};
use gantry_store::{DeployState, RunId};
use tokio::runtime::Handle;

use super::{DeployAsk, Observer};
use crate::state::ServerState;

/// Built before the server's state (the state holds the executors that hold it), then
/// attached to it.
#[derive(Debug)]
pub struct ServerDeployer {
    state: OnceLock<Weak<ServerState>>,
    runtime: Handle,
}

impl ServerDeployer {
    pub fn new(runtime: Handle) -> Self {
        ServerDeployer {
            state: OnceLock::new(),
            runtime,
        }
    }

    pub fn attach(&self, state: &Arc<ServerState>) {
        let _ = self.state.set(Arc::downgrade(state));
    }

    fn state(&self) -> Result<Arc<ServerState>, String> {
        self.state
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| "the server is stopping: nothing deployed".to_string())
    }
}

impl Deployer for ServerDeployer {
    fn deploy(
        &self,
        request: &DeployRequest,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<DeployOutcome, String> {
        let state = self.state()?;
        let projects = state.projects();
        let service = projects.services.get(&request.service).cloned();
        drop(projects);
        let artifact = match &service {
            Some(s) => gantry_engine::deploy::pipeline_artifact(
                s.artifact.job.as_deref(),
                s.artifact.path.as_deref(),
                &s.name,
                request,
            )?,
            // An unknown service: `start` says so, naming the workspace file.
            None => None,
        };
        let run_id = request.run_id.parse::<i64>().ok().map(RunId);
        let actor = run_id
            .and_then(|id| {
                self.runtime
                    .block_on(state.store.get_run(id))
                    .ok()
                    .flatten()
            })
            .and_then(|r| r.actor);
        if request.cancel.is_cancelled() {
            return Err("the run was cancelled before the deploy started".into());
        }
        let ask = DeployAsk {
            service: request.service.clone(),
            environment: request.environment.clone(),
            version: Some(request.version.clone()),
            trigger: "pipeline".into(),
            // Whoever started the run deploys: their own approval does not count.
            triggered_by: actor.unwrap_or_else(|| format!("pipeline {}", request.pipeline)),
            run: run_id,
            artifact: artifact.or_else(|| {
                // No artifact in the work directory and none from a build job: the
                // workspace's `artifact.path`, as `gantry deploy` ships.
                service.as_ref().and_then(|s| {
                    s.artifact
                        .path
                        .as_ref()
                        .filter(|_| s.artifact.job.is_none())
                        .map(|p| state.workspace_dir.join(p))
                })
            }),
            commit: Some(request.git.sha.clone()).filter(|s| !s.is_empty()),
            branch: request.git.branch.clone(),
            // A cancelled run gives up a deploy still waiting for approvals or the lock.
            cancel: Some({
                let token = request.cancel.clone();
                gantry_deploy::Cancel::watching(move || token.is_cancelled())
            }),
            ..Default::default()
        };
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let observer: Observer = Arc::new(move |line: &str| {
            let _ = tx.send(line.to_string());
        });
        let (started, running) = self
            .runtime
            .block_on(super::start(state.clone(), ask, Some(observer)))
            .map_err(|e| e.to_string())?;
        log(&format!(
            "deployment {} of {} {} to {}: {}/deployments/{}",
            started.id,
            started.service,
            started.version,
            started.environment,
            state.public_url,
            started.id
        ));
        // The observer (and its sender) ends with the deployment's thread.
        for line in rx {
            log(&line);
        }
        let done = self
            .runtime
            .block_on(running)
            .map_err(|e| format!("the deployment stopped: {e}"))?
            .map_err(|e| format!("the deployment's end could not be recorded: {e}"))?;
        let error = done
            .report
            .as_ref()
            .and_then(|r| r["error"].as_str())
            .map(str::to_string);
        let result = match done.state {
            DeployState::Succeeded => DeployResult::Succeeded,
            DeployState::RolledBack => DeployResult::RolledBack,
            _ => DeployResult::Failed,
        };
        let summary = error.unwrap_or_else(|| {
            format!(
                "deployment {} of {} {} to {}: {}",
                done.id, done.service, done.version, done.environment, done.state
            )
        });
        Ok(DeployOutcome { result, summary })
    }
}
