//! The agent registry and the queue as agents see it (viewers and up): every agent with
//! whether it is online and the jobs it runs, and the queued jobs per `runs_on` label set
//! with who could take them. The web UI's `/agents` page reads the same `Registry`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use gantry_store::{Agent, Job, JobId, QueueView, Role, Route, RunId, agent_owner};
use gantry_workspace::UnlabeledJobs;
use jiff::{SignedDuration, Timestamp};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::query::Path;
use crate::agents::AgentSettings;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::state::ServerState;

/// An agent counts as online while its last heartbeat is this many leases old at most: a
/// healthy agent polls at least every third of a lease, so three leases without a word
/// means it is gone, while one slow poll does not flap it to offline.
const ONLINE_LEASES: u32 = 3;

/// An agent as the registry shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    #[serde(flatten)]
    pub agent: Agent,
    pub online: bool,
    /// Queued jobs this agent could take (its labels accept their `runs_on`).
    pub queued: u64,
    /// The jobs it runs now, oldest claim first.
    #[serde(serialize_with = "job_summaries")]
    pub jobs: Vec<Job>,
}

/// One `runs_on` label set of the queue and who could take its jobs.
#[derive(Debug, Clone, Serialize)]
pub struct QueueRoute {
    /// `runs_on`, `queued`, `oldest_queued_at`.
    #[serde(flatten)]
    pub view: QueueView,
    /// The server's own pool takes these (only ever the empty set, per `unlabeled_jobs`).
    pub server: bool,
    /// Online agents, not draining, whose labels include all of `runs_on`.
    pub agents: Vec<String>,
}

impl QueueRoute {
    /// Queued jobs nothing online will take: they wait until such an agent appears.
    pub fn stuck(&self) -> bool {
        self.view.queued > 0 && !self.server && self.agents.is_empty()
    }
}

/// Agents and the queue, read together so both use the same "now" and settings.
#[derive(Debug, Clone)]
pub struct Registry {
    pub agents: Vec<AgentView>,
    pub queues: Vec<QueueRoute>,
    pub unlabeled: UnlabeledJobs,
}

/// The API shows a running job briefly; its detail is at `/api/v1/jobs/{id}`.
#[derive(Debug, Serialize)]
struct JobSummary<'a> {
    id: JobId,
    run_id: RunId,
    key: &'a str,
    name: &'a str,
    started_at: Option<Timestamp>,
}

fn job_summaries<S: Serializer>(jobs: &[Job], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(jobs.iter().map(|j| JobSummary {
        id: j.id,
        run_id: j.run_id,
        key: &j.key,
        name: &j.name,
        started_at: j.started_at,
    }))
}

/// `unlabeled_jobs` as the workspace file spells it.
pub fn unlabeled_name(u: UnlabeledJobs) -> &'static str {
    match u {
        UnlabeledJobs::Server => "server",
        UnlabeledJobs::Agents => "agents",
        UnlabeledJobs::Any => "any",
    }
}

/// Whether an agent last seen at `last_seen` counts as online at `now`.
pub fn is_online(last_seen: Timestamp, now: Timestamp, lease: Duration) -> bool {
    let window = SignedDuration::try_from(lease.saturating_mul(ONLINE_LEASES))
        .unwrap_or(SignedDuration::MAX);
    // A heartbeat from the future (clock steps) is a recent one.
    now.duration_since(last_seen) <= window
}

/// The route an agent claims by, as `http/agent.rs` builds it for its polls.
fn route_of(agent: &Agent, settings: &AgentSettings) -> Route {
    Route {
        labels: agent.labels.clone(),
        unlabeled: settings.agents_run_unlabeled(),
    }
}

/// Who could take each queued label set, and how much of the queue each agent could take.
/// Pure, so the rules are tested without a server.
pub fn route_queue(
    agents: &mut [AgentView],
    queue: Vec<QueueView>,
    settings: &AgentSettings,
) -> Vec<QueueRoute> {
    let routes: Vec<Route> = agents
        .iter()
        .map(|a| route_of(&a.agent, settings))
        .collect();
    for (view, route) in agents.iter_mut().zip(&routes) {
        view.queued = queue
            .iter()
            .filter(|q| route.accepts(&q.runs_on))
            .map(|q| q.queued)
            .sum();
    }
    queue
        .into_iter()
        .map(|q| {
            let takers = agents
                .iter()
                .zip(&routes)
                // A draining agent takes no new jobs, so it is no help to a queue.
                .filter(|(a, route)| a.online && !a.agent.draining && route.accepts(&q.runs_on))
                .map(|(a, _)| a.agent.name.clone())
                .collect();
            QueueRoute {
                server: (q.runs_on.is_empty() && settings.server_runs_unlabeled())
                    || q.runs_on == [gantry_store::SERVER_LABEL],
                agents: takers,
                view: q,
            }
        })
        .collect()
}

async fn view(
    state: &ServerState,
    agent: Agent,
    now: Timestamp,
    lease: Duration,
) -> ApiResult<AgentView> {
    let jobs = state
        .store
        .running_jobs_of(&agent_owner(&agent.name))
        .await?;
    Ok(AgentView {
        online: is_online(agent.last_seen_at, now, lease),
        queued: 0,
        jobs,
        agent,
    })
}

/// The registry: every agent (or just `only`) with its jobs, and the queue.
pub async fn load(state: &ServerState, only: Option<Agent>) -> ApiResult<Registry> {
    let settings = state.agents.settings();
    let now = Timestamp::now();
    let agents = match only {
        Some(a) => vec![a],
        None => state.store.list_agents().await?,
    };
    let mut views = Vec::with_capacity(agents.len());
    for agent in agents {
        views.push(view(state, agent, now, settings.lease).await?);
    }
    let queue = state.store.queue_by_route().await?;
    let queues = route_queue(&mut views, queue, &settings);
    Ok(Registry {
        agents: views,
        queues,
        unlabeled: settings.unlabeled,
    })
}

pub async fn list(State(state): State<Arc<ServerState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let registry = load(&state, None).await?;
    Ok(Json(json!({ "agents": registry.agents })))
}

pub async fn get(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let agent = state
        .store
        .get_agent(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no agent named '{name}' is registered")))?;
    let registry = load(&state, Some(agent)).await?;
    Ok(Json(json!({ "agent": registry.agents.first() })))
}

pub async fn queue(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require(Role::Viewer)?;
    let registry = load(&state, None).await?;
    Ok(Json(json!({
        "queues": registry.queues,
        "unlabeled_jobs": unlabeled_name(registry.unlabeled),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_store::TokenId;

    fn labels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    fn agent(name: &str, l: &[&str], online: bool, draining: bool) -> AgentView {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        AgentView {
            agent: Agent {
                name: name.into(),
                version: "0.1.0".into(),
                labels: labels(l),
                executors: labels(&["host"]),
                capacity: 2,
                token_id: TokenId(1),
                registered_at: t,
                last_seen_at: t,
                draining,
                running: 0,
            },
            online,
            queued: 0,
            jobs: Vec::new(),
        }
    }

    fn queued(l: &[&str], n: u64) -> QueueView {
        QueueView {
            runs_on: labels(l),
            queued: n,
            oldest_queued_at: None,
        }
    }

    fn settings(unlabeled: UnlabeledJobs) -> AgentSettings {
        AgentSettings {
            lease: Duration::from_secs(30),
            unlabeled,
        }
    }

    #[test]
    fn online_within_three_leases() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let lease = Duration::from_secs(30);
        let ago = |s: i64| now - SignedDuration::from_secs(s);
        assert!(is_online(ago(0), now, lease));
        assert!(is_online(ago(90), now, lease));
        assert!(!is_online(ago(91), now, lease));
        assert!(is_online(now + SignedDuration::from_secs(5), now, lease));
        assert!(is_online(ago(10), now, Duration::MAX), "no overflow");
    }

    #[test]
    fn a_set_goes_to_agents_with_every_label() {
        let mut agents = [
            agent("gpu-1", &["gpu", "linux"], true, false),
            agent("gpu-off", &["gpu", "linux"], false, false),
            agent("gpu-drain", &["gpu", "linux"], true, true),
            agent("arm", &["arm", "linux"], true, false),
        ];
        let queues = route_queue(
            &mut agents,
            vec![
                queued(&["gpu", "linux"], 3),
                queued(&["linux"], 2),
                queued(&["windows"], 1),
                queued(&[], 4),
            ],
            &settings(UnlabeledJobs::Server),
        );
        assert_eq!(queues[0].agents, ["gpu-1"]);
        assert_eq!(queues[1].agents, ["gpu-1", "arm"]);
        assert!(queues[2].agents.is_empty() && queues[2].stuck());
        assert!(queues[3].server && queues[3].agents.is_empty() && !queues[3].stuck());
        // Offline and draining agents still have work waiting for them.
        let per_agent: Vec<u64> = agents.iter().map(|a| a.queued).collect();
        assert_eq!(per_agent, [5, 5, 5, 2]);
    }

    #[test]
    fn unlabeled_jobs_follow_the_setting() {
        let mk = || [agent("a", &["linux"], true, false)];
        let mut agents = mk();
        let q = route_queue(
            &mut agents,
            vec![queued(&[], 1)],
            &settings(UnlabeledJobs::Agents),
        );
        assert!(!q[0].server && q[0].agents == ["a"] && agents[0].queued == 1);
        let mut agents = mk();
        let q = route_queue(
            &mut agents,
            vec![queued(&[], 1)],
            &settings(UnlabeledJobs::Any),
        );
        assert!(q[0].server && q[0].agents == ["a"]);
        let mut agents = [agent("a", &["linux"], false, false)];
        let q = route_queue(
            &mut agents,
            vec![queued(&[], 1)],
            &settings(UnlabeledJobs::Agents),
        );
        assert!(q[0].stuck(), "only agents may run them and none is online");
    }

    #[test]
    fn jobs_serialize_briefly() {
        let v = serde_json::to_value(agent("a", &[], true, false)).unwrap();
        assert_eq!(v["name"], "a");
        assert_eq!(v["online"], true);
        assert!(v["jobs"].as_array().is_some_and(Vec::is_empty));
    }
}
