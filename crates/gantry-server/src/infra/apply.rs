//! Running an approved apply request: the saved plan applied to its hosts (a host whose
//! check no longer matches the plan's fingerprints is refused, as `gantry infra apply
//! --plan` does), the outcome stored with `infra.applied` (who requested, who approved,
//! per host what changed and what failed), and the hosts' checks updated.

use serde_json::{Value, json};

use gantry_infra::{HostStatus, Mode, ResourceStatus, RunReport, SavedPlan};
use gantry_store::{ApplyState, FinishedApply, InfraApply, StoreError};

use super::{InfraError, with_workspace};
use crate::state::ServerState;

/// Per host: status, error, and the resource ids changed, failed and not applied.
pub fn host_outcomes(report: &RunReport) -> Value {
    let ids = |h: &gantry_infra::HostReport, s: ResourceStatus| -> Vec<String> {
        h.resources
            .iter()
            .filter(|r| r.status == s)
            .map(|r| r.id.clone())
            .collect()
    };
    Value::Array(
        report
            .hosts
            .iter()
            .map(|h| {
                let failed: Vec<Value> = h
                    .resources
                    .iter()
                    .filter(|r| r.status == ResourceStatus::Failed)
                    .map(|r| json!({ "id": r.id, "message": r.message }))
                    .collect();
                json!({
                    "host": h.host,
                    "status": h.status,
                    "error": h.error,
                    "changed": ids(h, ResourceStatus::Applied),
                    "failed": failed,
                    "not_applied": ids(h, ResourceStatus::NotApplied),
                })
            })
            .collect(),
    )
}

/// The apply of an approved (applying) request, run to its end and recorded.
pub async fn run_approved(
    state: &ServerState,
    apply: &InfraApply,
) -> Result<InfraApply, StoreError> {
    let plan = state
        .store
        .get_infra_plan(apply.plan_id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "infra plan",
            id: apply.plan_id.to_string(),
        })?;
    let outcome = match serde_json::from_value::<SavedPlan>(plan.saved.clone())
        .map_err(|e| InfraError::Workspace(format!("the saved plan cannot be read: {e}")))
    {
        Err(e) => Err(e),
        Ok(saved) => {
            let _guard = state.infra.lock.lock().await;
            let result = with_workspace(state.workspace_dir.clone(), move |ws| {
                let hosts = ws.select(&[])?;
                // A saved plan is applied to its hosts, and to no other.
                let missing: Vec<&str> = saved
                    .hosts
                    .iter()
                    .filter(|s| !hosts.iter().any(|h| h.name == s.host))
                    .map(|s| s.host.as_str())
                    .collect();
                if !missing.is_empty() {
                    return Err(InfraError::NoHosts(format!(
                        "the saved plan has hosts no play targets now: {}; plan again",
                        missing.join(", ")
                    )));
                }
                let hosts: Vec<_> = hosts
                    .into_iter()
                    .filter(|h| saved.hosts.iter().any(|s| s.host == h.name))
                    .collect();
                Ok(ws.run(Mode::Apply, &hosts, Some(saved)))
            })
            .await;
            if let Ok(report) = &result {
                record_applied_checks(state, report).await;
            }
            result
        }
    };
    let finished = match outcome {
        Ok(report) => FinishedApply {
            state: if report.exit_code() == 0 {
                ApplyState::Applied
            } else {
                ApplyState::Failed
            },
            hosts: host_outcomes(&report),
            summary: serde_json::to_value(&report.summary).unwrap_or(Value::Null),
            report: serde_json::to_value(&report).unwrap_or(Value::Null),
        },
        Err(e) => FinishedApply {
            state: ApplyState::Failed,
            report: json!({ "error": e.to_string() }),
            hosts: json!([]),
            summary: json!({ "error": e.to_string() }),
        },
    };
    state.store.finish_infra_apply(apply.id, finished).await
}

/// After an apply, a host that applied everything is in sync; one that failed or was
/// refused keeps its state until the next check (recorded as an error if it failed).
async fn record_applied_checks(state: &ServerState, report: &RunReport) {
    let converged = RunReport {
        hosts: report
            .hosts
            .iter()
            .filter(|h| h.status == HostStatus::Ok)
            .cloned()
            .collect(),
        ..report.clone()
    };
    super::record_checks(state, &converged).await;
}
