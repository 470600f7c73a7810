//! Infrastructure as code in the server: the latest check of each host (drift), saved
//! plans and apply requests with their approval. Reports are JSON as `gantry-infra`
//! returned them, secrets already masked; saved plans hold fingerprints only.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::types::{ApplyState, HostState, InfraApplyId, InfraPlanId};

/// A host's latest check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostCheck {
    pub host: String,
    pub checked_at: Timestamp,
    pub state: HostState,
    /// Resources that would change.
    pub changes: u64,
    /// The masked report of that host (`RunReport` with this host only).
    pub report: Value,
}

/// A check to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHostCheck {
    pub host: String,
    pub state: HostState,
    pub changes: u64,
    /// Ids of the resources that would change (for `infra.drift_detected`).
    pub changed: Vec<String>,
    pub report: Value,
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfraPlan {
    pub id: InfraPlanId,
    pub created_at: Timestamp,
    pub created_by: String,
    /// The `hosts` pattern it was asked for, if any.
    pub hosts_pattern: Option<String>,
    /// The planned hosts, in order.
    pub hosts: Vec<String>,
    /// Resources the plan would change, over all hosts.
    pub changes: u64,
    /// gantry-infra's `SavedPlan` (fingerprints only).
    pub saved: Value,
    /// The masked `RunReport` of the plan.
    pub report: Value,
}

/// A plan to save.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInfraPlan {
    pub created_by: String,
    pub hosts_pattern: Option<String>,
    pub hosts: Vec<String>,
    pub changes: u64,
    pub saved: Value,
    pub report: Value,
}

/// A request to apply a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfraApply {
    pub id: InfraApplyId,
    pub plan_id: InfraPlanId,
    pub state: ApplyState,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub approved_by: Option<String>,
    pub approved_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The masked `RunReport` of the apply, once finished.
    pub report: Option<Value>,
}

/// How an approved apply ended.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedApply {
    /// `Applied` or `Failed`.
    pub state: ApplyState,
    pub report: Value,
    /// Per host: status, error, changed, failed, not_applied (for `infra.applied`).
    pub hosts: Value,
    pub summary: Value,
}
