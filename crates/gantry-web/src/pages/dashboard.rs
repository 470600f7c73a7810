//! The dashboard (`GET /`): status counts, recent runs across projects, the projects.

use askama::Template;

use gantry_store::{Run, RunStatus};

use super::RunRow;
use crate::layout::{Frame, Layout};
use crate::render::render;
use crate::status::StatusView;
use crate::urls;

/// A project as the dashboard lists it (from the workspace's `projects:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSummary<'a> {
    pub name: &'a str,
    pub repo: &'a str,
    pub branch: &'a str,
}

/// What the dashboard shows.
#[derive(Debug, Clone)]
pub struct DashboardData<'a> {
    /// `Store::runs_by_status` (missing statuses count as 0).
    pub counts: &'a [(RunStatus, u64)],
    /// Recent runs across projects, newest first.
    pub runs: &'a [Run],
    pub projects: &'a [ProjectSummary<'a>],
}

#[derive(Debug)]
struct Count {
    status: StatusView,
    count: u64,
}

#[derive(Debug)]
struct ProjectRow<'a> {
    name: &'a str,
    url: String,
    repo: &'a str,
    branch: &'a str,
    /// The project's latest run among the recent ones.
    last: Option<RunRow>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    frame: Frame<'a>,
    counts: Vec<Count>,
    runs: Vec<RunRow>,
    projects: Vec<ProjectRow<'a>>,
    docs_url: &'static str,
}

/// The dashboard.
pub fn dashboard(layout: &Layout, data: &DashboardData<'_>) -> String {
    let counts = RunStatus::ALL
        .iter()
        .map(|&s| Count {
            status: s.into(),
            count: data
                .counts
                .iter()
                .find(|(c, _)| *c == s)
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    let projects = data
        .projects
        .iter()
        .map(|p| ProjectRow {
            name: p.name,
            url: urls::project(p.name),
            repo: p.repo,
            branch: p.branch,
            last: data
                .runs
                .iter()
                .find(|r| r.project == p.name)
                .map(|r| RunRow::new(r, layout.now)),
        })
        .collect();
    render(&DashboardPage {
        frame: Frame {
            layout,
            title: "Dashboard".into(),
            nav: "dashboard",
        },
        counts,
        runs: data
            .runs
            .iter()
            .map(|r| RunRow::new(r, layout.now))
            .collect(),
        projects,
        docs_url: urls::DOCS_PROJECTS,
    })
}
