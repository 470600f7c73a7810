//! Commit statuses: each run is reported to its project's forge (pending when queued,
//! running, then success / failure / cancelled) with a link to its page. Reporting is
//! best effort: a forge that is down never fails or delays a run; the failure is logged
//! and recorded as an event.

use gantry_scm::{CommitStatus, ReporterConfig, StatusState, reporter};
use gantry_store::{NewEvent, RunId, RunStatus};
use serde_json::json;

use crate::state::ServerState;

fn state_of(status: RunStatus) -> StatusState {
    match status {
        RunStatus::Queued => StatusState::Pending,
        RunStatus::Running => StatusState::Running,
        RunStatus::Success => StatusState::Success,
        RunStatus::Failure => StatusState::Failure,
        RunStatus::Cancelled => StatusState::Cancelled,
    }
}

/// Reports run `run` (with `status`, or its stored status) to its project's forge, if
/// the project has one with a token.
pub async fn report_run(state: &ServerState, run: RunId, status: Option<RunStatus>) {
    let Ok(Some(run)) = state.store.get_run(run).await else {
        return;
    };
    let Some(project) = state.project(&run.project) else {
        return;
    };
    let Some(forge) = project.forge else { return };
    let Some(token) = forge.token.clone() else {
        return;
    };
    let status = status.unwrap_or(run.status);
    let config = ReporterConfig::new(forge.api_url.clone(), token);
    let result = match reporter(forge.forge, &config) {
        Ok(r) => {
            r.report(&CommitStatus {
                repo: forge.repo.clone(),
                sha: run.git.sha.clone(),
                state: state_of(status),
                context: format!("gantry/{}", run.pipeline),
                description: format!("#{} {}", run.number, status.as_str()),
                target_url: Some(format!("{}/runs/{}", state.public_url, run.id)),
            })
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(run = %run.id, "reporting the commit status failed: {e}");
        let _ = state
            .store
            .append_event(NewEvent {
                kind: "status.failed".into(),
                project: Some(run.project.clone()),
                run_id: Some(run.id),
                job_id: None,
                actor: None,
                data: json!({ "forge": forge.forge.name(), "error": e.to_string() }),
            })
            .await;
    }
}
