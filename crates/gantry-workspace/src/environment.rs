//! Environments (`environments:`): the hosts a service is deployed to, with the rules
//! that protect them (approvals, allowed branches, deploy windows), the lease of their
//! deploy lock and the branch deployed automatically. Plain data.

use std::time::Duration;

use gantry_core::Span;
use serde::Serialize;

use crate::inventory::{Host, Inventory};

/// How long a deploy lock lasts without renewal unless `lock_lease` says otherwise.
pub const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(60);

/// One environment: staging, production, …
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Environment {
    pub name: String,
    /// Host and group names as written, checked against the inventory.
    pub hosts: Vec<String>,
    /// Approvals a deploy needs (`approvals`, default 0).
    pub approvals: u32,
    /// Branches whose builds may be deployed here (`branches`; empty: any).
    pub branches: Vec<String>,
    /// When deploys may start (`windows`; empty: any time).
    pub windows: Vec<crate::window::DeployWindow>,
    /// How long the deploy lock lasts without renewal (`lock_lease`).
    #[serde(serialize_with = "crate::model::serialize_duration")]
    pub lock_lease: Duration,
    /// `auto_deploy: { branch }`: the server deploys every service whose project's run on
    /// that branch built its artifact job successfully.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_deploy: Option<AutoDeploy>,
    /// Where the environment's name is written, for diagnostics found later.
    #[serde(skip)]
    pub span: Span,
}

/// Automatic deploys of a branch's builds to an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoDeploy {
    pub branch: String,
}

impl Environment {
    /// The environment's hosts, in the order its `hosts:` names them (a group's members
    /// in inventory order), each once.
    pub fn resolve_hosts(&self, inventory: &Inventory) -> Vec<Host> {
        let mut out: Vec<Host> = Vec::new();
        for target in &self.hosts {
            for host in inventory.resolve(target) {
                if !out.iter().any(|h| h.name == host.name) {
                    out.push(host);
                }
            }
        }
        out
    }
}
