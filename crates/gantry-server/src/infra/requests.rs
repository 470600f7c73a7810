//! The steps people take, shared by the API and the web UI: plan now and save the plan,
//! request an apply of a saved plan, approve a request (someone other than the
//! requester; the approval runs the apply and answers once it has finished).

use std::sync::Arc;

use gantry_infra::{RunReport, SavedPlan};
use gantry_store::{InfraApply, InfraApplyId, InfraPlan, InfraPlanId, NewInfraPlan, StoreError};

use super::InfraError;
use crate::state::ServerState;

/// Why a plan was not saved.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Infra(#[from] InfraError),
    /// A host could not be planned (the report says why); nothing was saved.
    #[error("plan not saved: {0}")]
    Unsavable(String, Box<RunReport>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an approval was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    #[error(
        "infra apply {0} was requested by {1}: someone other than the requester must approve it"
    )]
    OwnRequest(InfraApplyId, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Plans the hosts matching `pattern` (all targeted hosts when `None`) and saves the plan.
pub async fn plan(
    state: &ServerState,
    pattern: Option<String>,
    by: &str,
) -> Result<(InfraPlan, RunReport), PlanError> {
    let patterns = pattern.iter().cloned().collect();
    let report = super::plan_now(state, patterns).await?;
    let saved = match SavedPlan::from_report(&report.hosts) {
        Ok(saved) => saved,
        Err(why) => return Err(PlanError::Unsavable(why, Box::new(report))),
    };
    let to_json = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| StoreError::Invalid(format!("serializing the plan: {e}")))
    };
    let plan = state
        .store
        .create_infra_plan(NewInfraPlan {
            created_by: by.to_string(),
            hosts_pattern: pattern,
            hosts: report.hosts.iter().map(|h| h.host.clone()).collect(),
            changes: report.summary.changed as u64,
            saved: to_json(serde_json::to_value(&saved))?,
            report: to_json(serde_json::to_value(&report))?,
        })
        .await?;
    Ok((plan, report))
}

/// A request to apply a saved plan, awaiting approval.
pub async fn request_apply(
    state: &ServerState,
    plan: InfraPlanId,
    by: &str,
) -> Result<InfraApply, StoreError> {
    state.store.request_infra_apply(plan, by).await
}

/// Approves and runs the request; returns it finished (applied or failed). The apply
/// runs in a task of its own, so a client that goes away does not stop it half-way.
pub async fn approve(
    state: &Arc<ServerState>,
    id: InfraApplyId,
    by: &str,
) -> Result<InfraApply, ApproveError> {
    let apply = state
        .store
        .get_infra_apply(id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "infra apply",
            id: id.to_string(),
        })?;
    if apply.requested_by == by {
        return Err(ApproveError::OwnRequest(id, apply.requested_by));
    }
    let approved = state.store.approve_infra_apply(id, by).await?;
    let st = state.clone();
    let task = tokio::spawn(async move { super::apply::run_approved(&st, &approved).await });
    match task.await {
        Ok(result) => Ok(result?),
        Err(e) => Err(StoreError::Invalid(format!("the apply task stopped: {e}")).into()),
    }
}
