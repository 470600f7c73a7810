//! The URL contract with gantry-server, in one place: every link and form action the
//! pages use is built here, with names percent-encoded as path segments.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use gantry_store::{EventId, JobId, RunId};

/// Everything but RFC 3986 unreserved characters, so `/`, `?` and `#` in a name cannot
/// change the route.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

pub const HOME: &str = "/";
pub const EVENTS: &str = "/events";
pub const AGENTS: &str = "/agents";
/// The hosts page; its forms post to `INFRA_PLAN` and `INFRA_APPLIES`.
pub const INFRA: &str = "/infra";
pub const INFRA_PLAN: &str = "/infra/plan";
pub const INFRA_APPLIES: &str = "/infra/applies";
/// The environments page; `DEPLOY` and `ROLLBACK` are its forms' actions.
pub const ENVIRONMENTS: &str = "/environments";
pub const DEPLOY: &str = "/deployments";
pub const ROLLBACK: &str = "/rollbacks";
pub const LOGIN: &str = "/login";
pub const LOGOUT: &str = "/logout";
pub const CSS: &str = "/static/app.css";
pub const JS: &str = "/static/app.js";
/// Where the docs tell how to add a project (linked from the empty dashboard).
pub const DOCS_PROJECTS: &str = "https://example.invalid/gantry/docs/workspace.md";

pub fn project(name: &str) -> String {
    format!("/projects/{}", seg(name))
}

pub fn trigger(project: &str, pipeline: &str) -> String {
    format!(
        "/projects/{}/pipelines/{}/trigger",
        seg(project),
        seg(pipeline)
    )
}

pub fn run(id: RunId) -> String {
    format!("/runs/{id}")
}

pub fn run_job(run: RunId, job: JobId) -> String {
    format!("/runs/{run}?job={job}")
}

pub fn cancel(id: RunId) -> String {
    format!("/runs/{id}/cancel")
}

pub fn rerun(id: RunId) -> String {
    format!("/runs/{id}/rerun")
}

pub fn run_live(id: RunId) -> String {
    format!("/runs/{id}/live")
}

pub fn log_stream(job: JobId) -> String {
    format!("/api/v1/jobs/{job}/logs/stream?offset=0")
}

pub fn log_raw(job: JobId) -> String {
    format!("/api/v1/jobs/{job}/logs/raw")
}

pub fn events_before(id: EventId) -> String {
    format!("/events?before={id}")
}

pub fn infra_host(name: &str) -> String {
    format!("/infra/hosts/{}", seg(name))
}

pub fn environment(name: &str) -> String {
    format!("/environments/{}", seg(name))
}

pub fn deployment(id: gantry_store::DeploymentId) -> String {
    format!("/deployments/{id}")
}

pub fn deployment_approve(id: gantry_store::DeploymentId) -> String {
    format!("/deployments/{id}/approve")
}

pub fn deployment_cancel(id: gantry_store::DeploymentId) -> String {
    format!("/deployments/{id}/cancel")
}

/// The API's live stream of a deployment (the page's `data-live`).
pub fn deployment_live(id: gantry_store::DeploymentId) -> String {
    format!("/api/v1/deployments/{id}/live")
}

pub fn infra_approve(id: gantry_store::InfraApplyId) -> String {
    format!("/infra/applies/{id}/approve")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_paths() {
        assert_eq!(project("web"), "/projects/web");
        assert_eq!(project("a/b c"), "/projects/a%2Fb%20c");
        assert_eq!(trigger("web", "ci"), "/projects/web/pipelines/ci/trigger");
        assert_eq!(run(RunId(7)), "/runs/7");
        assert_eq!(run_job(RunId(7), JobId(3)), "/runs/7?job=3");
        assert_eq!(cancel(RunId(7)), "/runs/7/cancel");
        assert_eq!(rerun(RunId(7)), "/runs/7/rerun");
        assert_eq!(run_live(RunId(7)), "/runs/7/live");
        assert_eq!(log_stream(JobId(3)), "/api/v1/jobs/3/logs/stream?offset=0");
        assert_eq!(log_raw(JobId(3)), "/api/v1/jobs/3/logs/raw");
        assert_eq!(events_before(EventId(90)), "/events?before=90");
    }
}
