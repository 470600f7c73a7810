//! Agents: machines running `gantry agent` that claim jobs whose labels they match, the
//! routes they claim by, and the queue as seen per route.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::types::TokenId;

/// The owner string of jobs an agent holds (`agent:<name>`), as passed to `claim_jobs_routed`.
pub fn agent_owner(name: &str) -> String {
    format!("agent:{name}")
}

/// What an agent says about itself when it starts (`Store::register_agent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRegistration {
    /// Unique among agents; 1-128 letters, digits, '.', '_' or '-' (a host name fits).
    pub name: String,
    /// The agent program's version.
    pub version: String,
    /// Labels jobs may ask for with `runs_on`: the same alphabet as in pipelines.
    pub labels: Vec<String>,
    /// Executors the agent can run (`host`, `sandbox`, `docker`).
    pub executors: Vec<String>,
    /// How many jobs it runs at once (at least 1).
    pub capacity: u32,
    /// The API token it authenticated with; the name stays bound to it.
    pub token_id: TokenId,
}

/// A registered agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub name: String,
    pub version: String,
    /// Sorted, without duplicates.
    pub labels: Vec<String>,
    /// Sorted, without duplicates.
    pub executors: Vec<String>,
    pub capacity: u32,
    pub token_id: TokenId,
    /// When the name was first registered.
    pub registered_at: Timestamp,
    /// The last registration or heartbeat.
    pub last_seen_at: Timestamp,
    /// Finishing its jobs and taking no new ones (as of its last heartbeat).
    pub draining: bool,
    /// Jobs running with owner `agent:<name>` right now.
    pub running: u32,
}

/// Which queued jobs a claimer takes: a job whose `runs_on` is non-empty when every one
/// of its labels is in `labels`; a job with no `runs_on` when `unlabeled` is set. The
/// server's own pool is `Route { labels: vec![], unlabeled: true }` (`Route::unlabeled`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub labels: Vec<String>,
    pub unlabeled: bool,
}

/// The route label of jobs only the server's own pool may run: deploy jobs without
/// `runs_on` (the hosts' keys and the deployments' records live with the server). Agents
/// may not register it (nor any label starting `gantry:`).
pub const SERVER_LABEL: &str = "gantry:server";

impl Route {
    /// The server's own pool: jobs routed to [`SERVER_LABEL`], and jobs without
    /// `runs_on` when `unlabeled`.
    pub fn server_pool(unlabeled: bool) -> Self {
        Route {
            labels: vec![SERVER_LABEL.to_string()],
            unlabeled,
        }
    }

    /// Takes only jobs without `runs_on` (what `Store::claim_jobs` claims).
    pub fn unlabeled() -> Self {
        Route {
            labels: Vec::new(),
            unlabeled: true,
        }
    }

    /// Whether a job with these `runs_on` labels is one this route takes.
    pub fn accepts(&self, runs_on: &[String]) -> bool {
        if runs_on.is_empty() {
            self.unlabeled
        } else {
            runs_on.iter().all(|l| self.labels.contains(l))
        }
    }
}

/// Queued jobs with one distinct `runs_on` set (empty = no preference), for queue views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueView {
    pub runs_on: Vec<String>,
    pub queued: u64,
    pub oldest_queued_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn routes_need_every_label() {
        let route = Route {
            labels: labels(&["gpu", "linux", "x86"]),
            unlabeled: false,
        };
        assert!(route.accepts(&labels(&["gpu", "linux"])));
        assert!(!route.accepts(&labels(&["arm", "linux"])));
        assert!(!route.accepts(&[]));
        assert!(Route::unlabeled().accepts(&[]));
        assert!(!Route::unlabeled().accepts(&labels(&["linux"])));
        assert!(!Route::default().accepts(&[]));
        assert_eq!(agent_owner("build-1"), "agent:build-1");
    }
}
