//! The server's side of `gantry agent`: the registry of connected agents (a cache in
//! front of the store's), job assignment with the same gate as the server's own pool,
//! log chunks written exactly once, and the files agents fetch and upload (sources,
//! artifacts, caches). The HTTP endpoints are in `http/agent.rs`; the wire types in
//! `gantry_agent::protocol`.

pub mod assign;
pub mod caches;
pub mod files;
pub mod logs;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use gantry_pipeline::Plan;
use gantry_store::{RunId, TokenId};
use gantry_workspace::{DEFAULT_AGENT_LEASE, UnlabeledJobs};

/// How agents are run: from the workspace's `server:` section, replaced on reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentSettings {
    pub lease: Duration,
    pub unlabeled: UnlabeledJobs,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            lease: DEFAULT_AGENT_LEASE,
            unlabeled: UnlabeledJobs::Server,
        }
    }
}

impl AgentSettings {
    /// How long a poll may wait: a third of the lease (at most 10 s), so an agent
    /// that polls again at once renews its leases twice before they could expire.
    pub fn poll_wait(&self) -> Duration {
        (self.lease / 3).min(Duration::from_secs(10))
    }

    /// Whether the server's own pool takes jobs without `runs_on`.
    pub fn server_runs_unlabeled(&self) -> bool {
        self.unlabeled != UnlabeledJobs::Agents
    }

    /// Whether agents take jobs without `runs_on`.
    pub fn agents_run_unlabeled(&self) -> bool {
        self.unlabeled != UnlabeledJobs::Server
    }
}

/// What the server remembers of a registered agent between requests.
#[derive(Debug, Clone)]
pub struct Known {
    pub labels: Vec<String>,
    pub token_id: TokenId,
    /// When `last_seen_at` was last written (it is written at most every second).
    pub seen_written: Option<Instant>,
}

/// Plans kept in memory for assignment (a run's plan is read once, not per job).
const PLAN_CACHE: usize = 64;

#[derive(Debug, Default)]
pub struct Agents {
    pub settings: RwLock<AgentSettings>,
    pub known: Mutex<HashMap<String, Known>>,
    pub logs: logs::AgentLogs,
    pub files: files::SourceCache,
    plans: Mutex<HashMap<RunId, Arc<Plan>>>,
}

impl Agents {
    pub fn settings(&self) -> AgentSettings {
        self.settings.read().map(|s| *s).unwrap_or_default()
    }

    pub fn set_settings(&self, settings: AgentSettings) {
        if let Ok(mut s) = self.settings.write() {
            *s = settings;
        }
    }

    pub fn cached_plan(&self, run: RunId) -> Option<Arc<Plan>> {
        self.plans.lock().ok()?.get(&run).cloned()
    }

    pub fn cache_plan(&self, run: RunId, plan: Arc<Plan>) {
        if let Ok(mut plans) = self.plans.lock() {
            if plans.len() >= PLAN_CACHE {
                plans.clear();
            }
            plans.insert(run, plan);
        }
    }

    /// Forgets what was kept for a finished run.
    pub fn run_finished(&self, run: RunId) {
        if let Ok(mut plans) = self.plans.lock() {
            plans.remove(&run);
        }
    }
}
