//! The agents page (`GET /agents`): every registered agent with its status, labels,
//! capacity and running jobs, and the queue per `runs_on` label set with who can take it.

use askama::Template;

use gantry_store::{Agent, Job, QueueView, Run};

use crate::format::TimeView;
use crate::layout::{Frame, Layout};
use crate::render::render;
use crate::status::StatusView;
use crate::urls;

/// What the agents page shows. The server decides who is online and who can take what;
/// the page only words it.
#[derive(Debug, Clone)]
pub struct AgentsData<'a> {
    /// By name.
    pub agents: &'a [AgentEntry<'a>],
    /// Biggest queue first.
    pub queues: &'a [QueueEntry<'a>],
    /// Where jobs without `runs_on` run: `server`, `agents` or `any` (`unlabeled_jobs`).
    pub unlabeled: &'a str,
}

/// An agent and what it runs now.
#[derive(Debug, Clone)]
pub struct AgentEntry<'a> {
    pub agent: &'a Agent,
    pub online: bool,
    /// Queued jobs it could take.
    pub queued: u64,
    /// Its running jobs, each with its run when the run could be read (for the link text).
    pub jobs: Vec<(&'a Job, Option<&'a Run>)>,
}

/// One `runs_on` label set of the queue.
#[derive(Debug, Clone)]
pub struct QueueEntry<'a> {
    pub queue: &'a QueueView,
    /// The server's own pool takes these.
    pub server: bool,
    /// Online agents that could take them.
    pub agents: &'a [String],
}

#[derive(Debug)]
struct JobLink {
    url: String,
    name: String,
    /// "web / ci #128", or "run 7" when the run could not be read.
    run: String,
    started: Option<TimeView>,
}

#[derive(Debug)]
struct AgentRow<'a> {
    name: &'a str,
    status: StatusView,
    labels: &'a [String],
    executors: String,
    version: &'a str,
    capacity: u32,
    running: u32,
    queued: u64,
    jobs: Vec<JobLink>,
    last_seen: TimeView,
}

#[derive(Debug)]
struct QueueRow<'a> {
    labels: &'a [String],
    queued: u64,
    oldest: Option<TimeView>,
    server: bool,
    agents: &'a [String],
    /// Jobs wait and nothing online can take them.
    stuck: bool,
}

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage<'a> {
    frame: Frame<'a>,
    agents: Vec<AgentRow<'a>>,
    online: usize,
    queues: Vec<QueueRow<'a>>,
    unlabeled: &'static str,
}

fn job_link(job: &Job, run: Option<&Run>, now: jiff::Timestamp) -> JobLink {
    JobLink {
        url: urls::run_job(job.run_id, job.id),
        name: job.name.clone(),
        run: run.map_or_else(
            || format!("run {}", job.run_id),
            |r| format!("{} / {} #{}", r.project, r.pipeline, r.number),
        ),
        started: TimeView::opt(job.started_at, now),
    }
}

fn agent_row<'a>(e: &AgentEntry<'a>, now: jiff::Timestamp) -> AgentRow<'a> {
    let a = e.agent;
    AgentRow {
        name: &a.name,
        status: StatusView::agent(e.online, a.draining),
        labels: &a.labels,
        executors: a.executors.join(", "),
        version: &a.version,
        capacity: a.capacity,
        running: a.running,
        queued: e.queued,
        jobs: e.jobs.iter().map(|(j, r)| job_link(j, *r, now)).collect(),
        last_seen: TimeView::new(a.last_seen_at, now),
    }
}

/// Where unlabeled jobs run, as the page says it.
fn unlabeled_text(setting: &str) -> &'static str {
    match setting {
        "agents" => "on agents only",
        "any" => "on the server or an agent, whichever is free first",
        _ => "on the server's own executors",
    }
}

/// The agents page.
pub fn agents_page(layout: &Layout, data: &AgentsData<'_>) -> String {
    render(&AgentsPage {
        frame: Frame {
            layout,
            title: "Agents".into(),
            nav: "agents",
        },
        agents: data
            .agents
            .iter()
            .map(|e| agent_row(e, layout.now))
            .collect(),
        online: data.agents.iter().filter(|e| e.online).count(),
        queues: data
            .queues
            .iter()
            .map(|q| QueueRow {
                labels: &q.queue.runs_on,
                queued: q.queue.queued,
                oldest: TimeView::opt(q.queue.oldest_queued_at, layout.now),
                server: q.server,
                agents: q.agents,
                stuck: q.queue.queued > 0 && !q.server && q.agents.is_empty(),
            })
            .collect(),
        unlabeled: unlabeled_text(data.unlabeled),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlabeled_setting_is_worded() {
        assert_eq!(unlabeled_text("agents"), "on agents only");
        assert!(unlabeled_text("any").contains("whichever"));
        assert!(unlabeled_text("server").contains("server"));
    }
}
