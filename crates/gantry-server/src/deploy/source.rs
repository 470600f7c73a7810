//! What a server deployment ships and from which commit: an explicit artifact (a
//! pipeline deploy job's work directory), the artifact of the service's `artifact.job`
//! in a run (the one named, or the newest run of its project where that job succeeded),
//! or the service's workspace-relative `artifact.path`; and the version (asked, else the
//! job's `version` output, else the commit's first 12 digits).

use std::path::PathBuf;

use gantry_engine::artifacts::ArtifactStore;
use gantry_store::{JobStatus, Run, RunFilter, RunId, RunStatus};
use gantry_workspace::Service;

use super::StartError;
use crate::state::ServerState;

/// Where a deployment's release comes from.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub artifact: Option<PathBuf>,
    pub run: Option<RunId>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// The `version` output of the job that built it, if it wrote one.
    pub built_version: Option<String>,
}

/// Runs of the service's project looked at for the newest good build.
const RUNS_LOOKED_AT: u32 = 50;

/// The run (named, or the newest whose `job` succeeded) and its artifact of `job`.
pub async fn from_run(
    state: &ServerState,
    service: &Service,
    job: &str,
    asked: Option<RunId>,
) -> Result<Source, StartError> {
    let run = match asked {
        Some(id) => Some(
            state
                .store
                .get_run(id)
                .await?
                .ok_or_else(|| StartError::NotFound(format!("no run {id}")))?,
        ),
        None => None,
    };
    let candidates: Vec<Run> = match run {
        Some(r) => vec![r],
        None => {
            let Some(project) = &service.project else {
                return Err(StartError::Invalid(format!(
                    "service '{}' takes its artifact from job '{job}' but names no `project`: give a run (`run`) or add `project:` to the service",
                    service.name
                )));
            };
            let mut runs = state
                .store
                .list_runs(&RunFilter {
                    project: Some(project.clone()),
                    pipeline: None,
                    status: None,
                    limit: RUNS_LOOKED_AT,
                    before_id: None,
                })
                .await?;
            runs.retain(|r| r.status != RunStatus::Queued);
            runs
        }
    };
    for run in &candidates {
        let jobs = state.store.jobs_of_run(run.id).await?;
        let Some(built) = jobs
            .iter()
            .find(|j| j.job_id == job && j.status == JobStatus::Success)
        else {
            continue;
        };
        let dir =
            ArtifactStore::new(crate::agents::files::run_artifacts(state, run.id)).dir(&built.key);
        let path = match &service.artifact.path {
            Some(p) => dir.join(p),
            None => dir,
        };
        if !path.exists() {
            if asked.is_some() {
                return Err(StartError::Invalid(format!(
                    "run {} has no artifact {} of job '{job}'",
                    run.id,
                    path.display()
                )));
            }
            continue;
        }
        return Ok(Source {
            artifact: Some(path),
            run: Some(run.id),
            commit: Some(run.git.sha.clone()),
            branch: run.git.branch.clone(),
            built_version: built.outputs.get("version").cloned(),
        });
    }
    Err(StartError::Invalid(match asked {
        Some(id) => format!("job '{job}' of run {id} did not succeed: nothing to deploy"),
        None => format!(
            "no run of project '{}' among its last {RUNS_LOOKED_AT} has a successful '{job}' job with the artifact of service '{}'",
            service.project.as_deref().unwrap_or(""),
            service.name
        ),
    }))
}

/// The version to deploy: asked, else built, else the commit's first 12 digits.
pub fn version(asked: Option<&str>, source: &Source) -> Result<String, StartError> {
    if let Some(v) = asked.or(source.built_version.as_deref()) {
        return Ok(v.to_string());
    }
    match &source.commit {
        Some(sha) => Ok(sha.chars().take(12).collect()),
        None => Err(StartError::Invalid(
            "version: required (the release's name on the hosts) when the artifact comes from no run"
                .into(),
        )),
    }
}
