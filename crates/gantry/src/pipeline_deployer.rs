//! The deployer `gantry run` gives the engine for pipeline `deploy:` jobs: gantry-deploy,
//! with the workspace read as `gantry deploy` reads it (`--workspace`, default the current
//! directory), the run's branch for the environment's protection, and the service's
//! artifact taken from the deploy job's work directory, where the engine restored the
//! artifacts of the jobs it needs.

use std::path::PathBuf;

use gantry_deploy::{Options, Outcome};
use gantry_engine::{DeployOutcome, DeployRequest, DeployResult, Deployer};

use crate::cmd::deploy::{load_workspace, resolve_in, resolve_secrets};

#[derive(Debug)]
pub struct PipelineDeployer {
    /// The directory holding gantry.yml.
    pub workspace: PathBuf,
}

impl Deployer for PipelineDeployer {
    fn deploy(
        &self,
        request: &DeployRequest,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<DeployOutcome, String> {
        // Read afresh for every deploy job: a run without deploy jobs never needs the
        // workspace, and an edit between two runs is always seen.
        let (loaded, warnings) = load_workspace(&self.workspace).map_err(|errors| {
            errors.lines().for_each(log);
            format!(
                "cannot read the workspace in {} (deploy jobs read gantry.yml from the current directory or --workspace DIR): {}",
                self.workspace.display(),
                errors.lines().next().unwrap_or("errors above")
            )
        })?;
        warnings.lines().for_each(log);
        let resolved = resolve_in(&loaded, &request.service, &request.environment)?;
        let artifact = gantry_engine::deploy::pipeline_artifact(
            resolved.service.artifact.job.as_deref(),
            resolved.service.artifact.path.as_deref(),
            &resolved.service.name,
            request,
        )?;
        match &artifact {
            Some(path) => log(&format!(
                "shipping {} from the job's work directory",
                path.strip_prefix(&request.work_dir)
                    .unwrap_or(path)
                    .display()
            )),
            None => {
                if let Some(path) = resolved.artifact_path(None) {
                    log(&format!(
                        "shipping {} from the workspace (not in the job's work directory; the service's artifact.job is not set)",
                        path.display()
                    ));
                }
            }
        }
        if request.cancel.is_cancelled() {
            return Err("the run was cancelled before the deploy started".into());
        }
        let secrets = resolve_secrets(&loaded, &resolved).map_err(|errors| {
            errors.lines().for_each(log);
            format!(
                "cannot resolve the secrets of service '{}': {}",
                resolved.service.name,
                errors.lines().next().unwrap_or("errors above")
            )
        })?;
        let options = Options {
            trigger: "pipeline".to_string(),
            branch: request.git.branch.clone(),
            secrets,
            // Ctrl-C (the run's cancellation) gives up a deploy still waiting for
            // approvals or the lock; one that holds the lock finishes on its own.
            cancel: {
                let token = request.cancel.clone();
                gantry_deploy::Cancel::watching(move || token.is_cancelled())
            },
            ..Options::default()
        };
        let report = gantry_deploy::deploy(
            &resolved,
            &request.version,
            artifact.as_deref(),
            &options,
            log,
        )
        .map_err(|e| e.to_string())?;
        let record = gantry_deploy::render(&report);
        record.lines().for_each(log);
        let summary = report
            .error
            .clone()
            .unwrap_or_else(|| record.lines().next().unwrap_or_default().to_string());
        let result = match report.outcome {
            Outcome::Succeeded => DeployResult::Succeeded,
            Outcome::RolledBack => DeployResult::RolledBack,
            Outcome::Failed => DeployResult::Failed,
        };
        Ok(DeployOutcome { result, summary })
    }
}
