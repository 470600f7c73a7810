//! The deployment pages: `GET /environments` (each environment with what version of
//! each service runs on which host), `GET /environments/{name}` (the same for one, the
//! deploy and rollback forms, its history) and `GET /deployments/{id}` (a deployment's
//! hosts, changelog, progress lines — live while it runs — and its Approve button).

use askama::Template;
use serde_json::Value;

use gantry_store::{DeployState, Deployment, DeploymentLine};

use crate::format::TimeView;
use crate::layout::{Frame, Layout};
use crate::render::render;
use crate::status::StatusView;
use crate::urls;

/// One service in an environment.
#[derive(Debug, Clone)]
pub struct ServiceEntry<'a> {
    pub name: &'a str,
    /// Per host of the environment (in order), the version it runs, when known.
    pub running: Vec<(&'a str, Option<&'a str>)>,
    pub latest: Option<&'a Deployment>,
}

/// One environment and its services.
#[derive(Debug, Clone)]
pub struct EnvironmentEntry<'a> {
    pub name: &'a str,
    pub hosts: &'a [String],
    pub approvals: u32,
    pub branches: &'a [String],
    pub services: Vec<ServiceEntry<'a>>,
}

/// What the environments page shows.
#[derive(Debug, Clone)]
pub struct EnvironmentsData<'a> {
    pub environments: &'a [EnvironmentEntry<'a>],
}

/// What an environment's page shows.
#[derive(Debug, Clone)]
pub struct EnvironmentData<'a> {
    pub environment: &'a EnvironmentEntry<'a>,
    /// Newest first.
    pub history: &'a [Deployment],
    /// The viewer may deploy (developer role): the forms are shown.
    pub can_deploy: bool,
    /// The other environments, to promote from.
    pub others: &'a [String],
}

/// What a deployment's page shows.
#[derive(Debug, Clone)]
pub struct DeploymentData<'a> {
    pub deployment: &'a Deployment,
    pub lines: &'a [DeploymentLine],
    /// The viewer may approve it (developer, not the one who started it).
    pub can_approve: bool,
    /// The viewer may cancel it (developer) while it has not ended.
    pub can_cancel: bool,
}

#[derive(Debug)]
struct Cell<'a> {
    host: &'a str,
    version: &'a str,
}

#[derive(Debug)]
struct LatestView {
    url: String,
    status: StatusView,
    state: &'static str,
    version: String,
    started: TimeView,
}

#[derive(Debug)]
struct ServiceRow<'a> {
    name: &'a str,
    cells: Vec<Cell<'a>>,
    latest: Option<LatestView>,
}

#[derive(Debug)]
struct EnvView<'a> {
    name: &'a str,
    url: String,
    hosts: &'a [String],
    approvals: u32,
    branches: String,
    services: Vec<ServiceRow<'a>>,
}

fn latest(d: &Deployment, layout: &Layout) -> LatestView {
    LatestView {
        url: urls::deployment(d.id),
        status: StatusView::deployment(d.state.as_str()),
        state: d.state.as_str(),
        version: d.version.clone(),
        started: TimeView::new(d.created_at, layout.now),
    }
}

fn env_view<'a>(e: &EnvironmentEntry<'a>, layout: &Layout) -> EnvView<'a> {
    EnvView {
        name: e.name,
        url: urls::environment(e.name),
        hosts: e.hosts,
        approvals: e.approvals,
        branches: if e.branches.is_empty() {
            "any".into()
        } else {
            e.branches.join(", ")
        },
        services: e
            .services
            .iter()
            .map(|s| ServiceRow {
                name: s.name,
                cells: s
                    .running
                    .iter()
                    .map(|(host, v)| Cell {
                        host,
                        version: v.unwrap_or("—"),
                    })
                    .collect(),
                latest: s.latest.map(|d| latest(d, layout)),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "environments.html")]
struct EnvironmentsPage<'a> {
    frame: Frame<'a>,
    environments: Vec<EnvView<'a>>,
}

/// The environments page.
pub fn environments_page(layout: &Layout, data: &EnvironmentsData<'_>) -> String {
    render(&EnvironmentsPage {
        frame: Frame {
            layout,
            title: "Environments".into(),
            nav: "environments",
        },
        environments: data
            .environments
            .iter()
            .map(|e| env_view(e, layout))
            .collect(),
    })
}

#[derive(Debug)]
struct HistoryRow<'a> {
    url: String,
    id: i64,
    service: &'a str,
    kind: &'a str,
    version: &'a str,
    status: StatusView,
    state: &'static str,
    by: &'a str,
    trigger: &'a str,
    started: TimeView,
    commits: usize,
}

#[derive(Template)]
#[template(path = "environment.html")]
struct EnvironmentPage<'a> {
    frame: Frame<'a>,
    env: EnvView<'a>,
    history: Vec<HistoryRow<'a>>,
    can_deploy: bool,
    others: &'a [String],
    deploy_url: &'static str,
    rollback_url: &'static str,
}

/// An environment's page.
pub fn environment_page(layout: &Layout, data: &EnvironmentData<'_>) -> String {
    render(&EnvironmentPage {
        frame: Frame {
            layout,
            title: format!("Environment {}", data.environment.name),
            nav: "environments",
        },
        env: env_view(data.environment, layout),
        history: data
            .history
            .iter()
            .map(|d| HistoryRow {
                url: urls::deployment(d.id),
                id: d.id.0,
                service: &d.service,
                kind: &d.kind,
                version: &d.version,
                status: StatusView::deployment(d.state.as_str()),
                state: d.state.as_str(),
                by: &d.triggered_by,
                trigger: &d.trigger,
                started: TimeView::new(d.created_at, layout.now),
                commits: d.changelog.len(),
            })
            .collect(),
        can_deploy: data.can_deploy,
        others: data.others,
        deploy_url: urls::DEPLOY,
        rollback_url: urls::ROLLBACK,
    })
}

#[derive(Debug)]
struct HostPhase {
    host: String,
    phase: String,
    result: String,
}

#[derive(Debug)]
struct LineRow<'a> {
    seq: u64,
    at: TimeView,
    line: &'a str,
}

#[derive(Debug)]
struct CommitRow<'a> {
    short: &'a str,
    author: &'a str,
    subject: &'a str,
}

#[derive(Template)]
#[template(path = "deployment.html")]
struct DeploymentPage<'a> {
    frame: Frame<'a>,
    d: &'a Deployment,
    status: StatusView,
    state: &'static str,
    env_url: String,
    run_url: Option<String>,
    started: TimeView,
    finished: Option<TimeView>,
    hosts: Vec<HostPhase>,
    commits: Vec<CommitRow<'a>>,
    lines: Vec<LineRow<'a>>,
    error: String,
    approved_by: String,
    approve_url: Option<String>,
    cancel_url: Option<String>,
    live_url: Option<String>,
    last_seq: u64,
}

/// Each host's phase, and once finished what the record says of it.
fn host_phases(d: &Deployment) -> Vec<HostPhase> {
    let report_host = |name: &str| -> Option<&Value> {
        d.report.as_ref()?["hosts"]
            .as_array()?
            .iter()
            .find(|h| h["host"].as_str() == Some(name))
    };
    d.hosts
        .as_object()
        .map(|hosts| {
            hosts
                .iter()
                .map(|(name, v)| {
                    let result = match report_host(name) {
                        None => String::new(),
                        Some(h) if h["error"].is_string() => {
                            format!("error: {}", h["error"].as_str().unwrap_or_default())
                        }
                        Some(h) if h["rolled_back"] == true => "put back".into(),
                        Some(h) if h["switched"] == true => "switched".into(),
                        Some(_) => "unchanged".into(),
                    };
                    HostPhase {
                        host: name.clone(),
                        phase: v["phase"].as_str().unwrap_or_default().to_string(),
                        result,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A deployment's page.
pub fn deployment_page(layout: &Layout, data: &DeploymentData<'_>) -> String {
    let d = data.deployment;
    let report = d.report.as_ref();
    let approved_by = report
        .and_then(|r| r["approved_by"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    render(&DeploymentPage {
        frame: Frame {
            layout,
            title: format!("Deployment {} · {} {}", d.id, d.service, d.version),
            nav: "environments",
        },
        d,
        status: StatusView::deployment(d.state.as_str()),
        state: d.state.as_str(),
        env_url: urls::environment(&d.environment),
        run_url: d.run_id.map(urls::run),
        started: TimeView::new(d.created_at, layout.now),
        finished: d.finished_at.map(|t| TimeView::new(t, layout.now)),
        hosts: host_phases(d),
        commits: d
            .changelog
            .iter()
            .map(|c| CommitRow {
                short: c.sha.get(..12).unwrap_or(&c.sha),
                author: &c.author,
                subject: &c.subject,
            })
            .collect(),
        lines: data
            .lines
            .iter()
            .map(|l| LineRow {
                seq: l.seq,
                at: TimeView::new(l.at, layout.now),
                line: &l.line,
            })
            .collect(),
        error: report
            .and_then(|r| r["error"].as_str())
            .unwrap_or_default()
            .to_string(),
        approved_by,
        approve_url: (data.can_approve && d.state == DeployState::WaitingApproval)
            .then(|| urls::deployment_approve(d.id)),
        cancel_url: (data.can_cancel && !d.state.is_final()).then(|| urls::deployment_cancel(d.id)),
        live_url: (!d.state.is_final()).then(|| urls::deployment_live(d.id)),
        last_seq: data.lines.last().map_or(0, |l| l.seq),
    })
}
