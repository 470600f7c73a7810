//! Writes representative pages to /tmp/gantry-web-preview/ (with the static files and a
//! canned log so the run page's JS has something to show) for screenshots:
//! `cargo test -p gantry-web --test it -- --ignored write_preview`.

use std::fs;
use std::path::Path;

use gantry_store::{JobId, RunStatus};
use gantry_web::*;

use crate::fixtures::{self, layout};

/// The static paths become relative so the files also open from disk (file://);
/// served over HTTP from the directory they work the same.
fn local(html: String) -> String {
    html.replace("\"/static/", "\"static/")
}

#[test]
#[ignore = "writes preview files for screenshots"]
fn write_preview() {
    fixtures::use_real_clock();
    let dir = Path::new("/tmp/gantry-web-preview");
    fs::create_dir_all(dir.join("static")).unwrap();
    for name in ["app.css", "app.js"] {
        fs::write(dir.join("static").join(name), asset(name).unwrap().0).unwrap();
    }
    let runs = fixtures::runs();
    let projects = [
        ProjectSummary {
            name: "web",
            repo: "https://git.example.com/team/web.git",
            branch: "main",
        },
        ProjectSummary {
            name: "api",
            repo: "https://git.example.com/team/api.git",
            branch: "main",
        },
        ProjectSummary {
            name: "infra",
            repo: "https://git.example.com/team/infra.git",
            branch: "main",
        },
    ];
    let counts = [
        (RunStatus::Queued, 1),
        (RunStatus::Running, 1),
        (RunStatus::Success, 214),
        (RunStatus::Failure, 9),
        (RunStatus::Cancelled, 4),
    ];
    let l = layout();
    let write = |name: &str, html: String| fs::write(dir.join(name), local(html)).unwrap();
    write(
        "dashboard.html",
        dashboard(
            &l,
            &DashboardData {
                counts: &counts,
                runs: &runs,
                projects: &projects,
            },
        ),
    );
    write(
        "empty.html",
        dashboard(
            &l,
            &DashboardData {
                counts: &[],
                runs: &[],
                projects: &[],
            },
        ),
    );
    let plan = fixtures::plan();
    let web_runs: Vec<_> = runs
        .iter()
        .filter(|r| r.project == "web")
        .cloned()
        .collect();
    let pipelines = [
        PipelineEntry {
            file: ".gantry/pipelines/ci.yml",
            plan: Some(&plan),
            diagnostics: "",
        },
        PipelineEntry {
            file: ".gantry/pipelines/nightly.yml",
            plan: None,
            diagnostics: ".gantry/pipelines/nightly.yml:7:5: error: unknown key 'stpes' in job 'audit' (did you mean 'steps'?)\n  |\n7 |     stpes:\n  |     ^^^^^ unknown key",
        },
    ];
    write(
        "project.html",
        project_page(
            &l,
            &ProjectData {
                name: "web",
                repo: "https://git.example.com/team/web.git",
                branch: "main",
                pipelines: &pipelines,
                runs: &web_runs,
            },
        ),
    );
    let (jobs, steps) = (fixtures::jobs(), fixtures::steps());
    write(
        "run.html",
        run_page(
            &l,
            &RunPageData {
                run: &runs[0],
                jobs: &jobs,
                steps: &steps,
                plan: Some(&plan),
                selected_job: Some(JobId(13)),
                rerun_of_number: None,
            },
        ),
    );
    let events = fixtures::events();
    write(
        "events.html",
        events_page(
            &l,
            &EventsData {
                events: &events,
                has_more: true,
            },
        ),
    );
    let agents = fixtures::agents();
    let running: Vec<_> = jobs.iter().filter(|j| j.id == JobId(12)).collect();
    let queues = fixtures::queues();
    let build = ["build-1".to_string()];
    let entries: Vec<AgentEntry> = agents
        .iter()
        .map(|a| AgentEntry {
            agent: a,
            online: a.name != "mac-mini",
            queued: if a.name == "build-1" { 2 } else { 0 },
            jobs: if a.name == "build-1" {
                running.iter().map(|j| (*j, runs.first())).collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    write(
        "agents.html",
        agents_page(
            &l,
            &AgentsData {
                agents: &entries,
                queues: &[
                    QueueEntry {
                        queue: &queues[0],
                        server: true,
                        agents: &[],
                    },
                    QueueEntry {
                        queue: &queues[1],
                        server: false,
                        agents: &[],
                    },
                    QueueEntry {
                        queue: &queues[2],
                        server: false,
                        agents: &build,
                    },
                ],
                unlabeled: "server",
            },
        ),
    );
    let mut anon = l.clone();
    anon.user = None;
    write(
        "login.html",
        login_page(
            &anon,
            &LoginForm {
                username: "ada",
                next: None,
                error: Some("Wrong username or password."),
            },
        ),
    );
    write("error.html", error_page(&l, 404, "There is no run 4711."));
}
