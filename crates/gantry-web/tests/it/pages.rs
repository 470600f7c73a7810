//! Every page renders from representative data with the links and forms of the URL
//! contract, CSRF fields in every POST form, and user text escaped.

use gantry_store::{JobId, RunId, RunStatus};
use gantry_web::*;

use crate::fixtures::{self, layout};

/// Every `<form method="post">` … `</form>` carries the layout's csrf token.
fn assert_csrf_in_post_forms(html: &str) {
    let mut forms = 0;
    for chunk in html.split("<form").skip(1) {
        let form = chunk.split("</form>").next().unwrap_or("");
        if form.contains("method=\"post\"") {
            forms += 1;
            assert!(
                form.contains(r#"<input type="hidden" name="csrf" value="tok-123">"#),
                "POST form without csrf: <form{form}"
            );
        }
    }
    assert!(forms > 0, "no POST form found");
}

/// `text` as the templates escape it (askama writes numeric references: `&#60;`).
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn assert_frame(html: &str) {
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(r#"<link rel="stylesheet" href="/static/app.css">"#));
    assert!(html.contains(r#"<script src="/static/app.js" defer></script>"#));
    assert!(html.contains(r##"<a class="skip-link" href="#main">"##));
    assert!(html.contains(r#"<main id="main""#));
    assert!(html.contains(r#"<form method="post" action="/logout""#));
    assert!(html.contains(r#"href="/events""#));
    assert!(html.contains(r#"href="/agents""#));
    // No inline script or style, so a strict Content-Security-Policy fits.
    assert!(!html.contains("<script>") && !html.contains(" style="));
    assert_csrf_in_post_forms(html);
}

#[test]
fn login_page_posts_credentials() {
    let mut l = layout();
    l.user = None;
    let html = login_page(
        &l,
        &LoginForm {
            username: "ada\"><b>",
            next: Some("/runs/5"),
            error: Some("Wrong username or password."),
        },
    );
    assert!(html.contains(r#"<form method="post" action="/login""#));
    assert!(
        html.contains(&format!(
            r#"name="username" value="{}""#,
            escaped("ada\"><b>")
        )),
        "{html}"
    );
    assert!(html.contains(r#"name="password""#));
    assert!(
        html.contains(r#"<input type="hidden" name="next" value="/runs/5">"#),
        "{html}"
    );
    assert!(html.contains("Wrong username or password."));
    assert!(!html.contains("/logout"), "no logout form when signed out");
    assert_csrf_in_post_forms(&html);
}

#[test]
fn dashboard_lists_counts_runs_and_projects() {
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
    ];
    let counts = [
        (RunStatus::Success, 41),
        (RunStatus::Failure, 3),
        (RunStatus::Running, 1),
    ];
    let html = dashboard(
        &layout(),
        &DashboardData {
            counts: &counts,
            runs: &runs,
            projects: &projects,
        },
    );
    assert_frame(&html);
    assert!(html.contains(r#"<a href="/" aria-current="page">Dashboard</a>"#));
    assert!(html.contains(r#"<span class="stat-count">41</span>"#));
    assert!(
        html.contains(r#"data-status="cancelled">"#),
        "zero counts shown too"
    );
    for run in &runs {
        assert!(
            html.contains(&format!(r#"href="/runs/{}""#, run.id)),
            "link to run {}",
            run.id
        );
    }
    assert!(html.contains(r#"href="/projects/web""#) && html.contains(r#"href="/projects/api""#));
    assert!(
        html.contains("Speed up asset pipeline by caching fingerprints<"),
        "first line only"
    );
    assert!(!html.contains("Longer body"));
    assert!(html.contains(">v2.4.0<") && html.contains(">feature/dark-mode<"));
    assert!(html.contains("pull request") && html.contains("1m 23s"));
    assert!(
        html.contains(r#"title="2026-11-18 "#),
        "absolute time in a title: {html}"
    );
}

#[test]
fn empty_dashboard_explains_how_to_add_a_project() {
    let html = dashboard(
        &layout(),
        &DashboardData {
            counts: &[],
            runs: &[],
            projects: &[],
        },
    );
    assert!(html.contains("No projects yet"));
    assert!(html.contains("gantry.yml") && html.contains(urls::DOCS_PROJECTS));
}

#[test]
fn project_page_has_run_forms_for_each_pipeline() {
    let plan = fixtures::plan();
    let runs: Vec<_> = fixtures::runs()
        .into_iter()
        .filter(|r| r.project == "web")
        .collect();
    let broken_diag =
        "broken.yml:3:5: error: unknown key 'stpes' in job 'x' (did you mean 'steps'?)";
    let pipelines = [
        PipelineEntry {
            file: ".gantry/pipelines/ci.yml",
            plan: Some(&plan),
            diagnostics: "",
        },
        PipelineEntry {
            file: ".gantry/pipelines/broken.yml",
            plan: None,
            diagnostics: broken_diag,
        },
    ];
    let html = project_page(
        &layout(),
        &ProjectData {
            name: "web",
            repo: "https://git.example.com/team/web.git",
            branch: "main",
            pipelines: &pipelines,
            runs: &runs,
        },
    );
    assert_frame(&html);
    assert!(html.contains(r#"<form method="post" action="/projects/web/pipelines/ci/trigger""#));
    assert!(html.contains(r#"name="branch" value="main""#));
    assert!(
        html.contains(r#"<select id="run-0-input-target" name="input.target">"#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="staging" selected>staging</option>"#));
    assert!(html.contains(
        r#"type="checkbox" id="run-0-input-dry_run" name="input.dry_run" value="true" checked>"#
    ));
    assert!(html.contains(r#"<input type="hidden" name="input.dry_run" value="false">"#));
    assert!(html.contains(r#"type="number" id="run-0-input-shards" name="input.shards" value="4" step="any" required>"#));
    assert!(html.contains(r#"type="text" id="run-0-input-note" name="input.note" value="">"#));
    assert!(html.contains("(required)"));
    assert!(html.contains(
        "push to main, release/*; tags v*; pull requests; schedule 0 3 * * * Europe/Berlin; manual"
    ));
    assert!(html.contains(&escaped(broken_diag)), "{html}");
    assert!(
        !html.contains("/pipelines/broken/trigger"),
        "no form for a broken file"
    );
    // Branches: the latest run of each.
    assert!(html.contains(">release/3.1<") && html.contains(">feature/dark-mode<"));
    assert_eq!(html.matches(r#"class="branch-row""#).count(), 3);
}

#[test]
fn run_page_has_graph_jobs_actions_and_log_panel() {
    let (runs, jobs, steps, plan) = (
        fixtures::runs(),
        fixtures::jobs(),
        fixtures::steps(),
        fixtures::plan(),
    );
    let run = &runs[0];
    let data = RunPageData {
        run,
        jobs: &jobs,
        steps: &steps,
        plan: Some(&plan),
        selected_job: Some(JobId(12)),
        rerun_of_number: None,
    };
    let html = run_page(&layout(), &data);
    assert_frame(&html);
    assert!(html.contains(r#"data-live="/runs/101/live""#));
    assert!(html.contains(r#"<form method="post" action="/runs/101/cancel""#));
    // Rerun forms exist but are hidden until the run finishes (app.js reveals them).
    assert!(
        html.contains(r#"action="/runs/101/rerun" class="inline-form" id="rerun-form" hidden>"#)
    );
    assert!(html.contains(r#"id="rerun-failed-form" hidden>"#));
    assert!(html.contains(r#"<input type="hidden" name="failed_only" value="true">"#));
    // One SVG node per job, linking to ?job=, and an edge per need.
    for j in &jobs {
        assert!(
            html.contains(&format!(r#"<a href="?job={}" class="node"#, j.id)),
            "node {}",
            j.id
        );
    }
    assert_eq!(html.matches("<path d=\"M").count(), 1 + 1 + 1 + 1 + 3 + 1);
    assert!(html.contains(r#"data-job-id="12" data-status="running""#));
    // The log panel streams the selected job.
    assert!(html.contains(r#"data-stream="/api/v1/jobs/12/logs/stream?offset=0""#));
    assert!(html.contains(r#"href="/api/v1/jobs/12/logs/raw""#));
    assert!(html.contains("Loading log…"));
    // Steps: recorded results with exit codes, planned steps pending.
    assert!(html.contains("exit 101"));
    assert!(
        html.contains(r#"data-step-index="0" data-step-name="./deploy.sh staging""#),
        "{html}"
    );
    assert!(html.contains(&escaped("step 'Test' exited with code 101")));
}

#[test]
fn run_page_picks_failed_job_and_offers_reruns_when_finished() {
    let mut run = fixtures::runs()[2].clone();
    run.rerun_of = Some(RunId(90));
    let mut jobs = fixtures::jobs();
    for j in &mut jobs {
        if !j.status.is_finished() {
            j.status = gantry_store::JobStatus::Skipped;
        }
    }
    let data = RunPageData {
        run: &run,
        jobs: &jobs,
        steps: &[],
        plan: None,
        selected_job: Some(JobId(999)),
        rerun_of_number: Some(340),
    };
    let html = run_page(&layout(), &data);
    assert!(!html.contains("/cancel"), "no cancel once finished");
    assert!(html.contains(r#"id="rerun-form">"#) && html.contains(r#"id="rerun-failed-form">"#));
    assert!(html.contains(r#"<a href="/runs/90">#340</a>"#));
    assert!(
        html.contains(r#"data-stream="/api/v1/jobs/13/logs/stream?offset=0""#),
        "the failed job is shown"
    );
    assert_csrf_in_post_forms(&html);

    let mut ok = run.clone();
    ok.status = RunStatus::Success;
    let html = run_page(&layout(), &RunPageData { run: &ok, ..data });
    assert!(html.contains(r#"id="rerun-form">"#));
    assert!(
        !html.contains("rerun-failed-form"),
        "nothing failed to rerun"
    );
}

#[test]
fn user_text_is_escaped() {
    let mut run = fixtures::runs()[0].clone();
    run.git.message = "<script>alert(1)</script>".into();
    run.git.branch = Some("x\"><img src=x onerror=alert(2)>".into());
    run.project = "we<b>b".into();
    let mut jobs = fixtures::jobs();
    jobs[0].name = "<svg onload=alert(3)>".into();
    let html = run_page(
        &layout(),
        &RunPageData {
            run: &run,
            jobs: &jobs,
            steps: &[],
            plan: None,
            selected_job: None,
            rerun_of_number: None,
        },
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(
        html.contains(&escaped("<script>alert(1)</script>")),
        "{html}"
    );
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("<svg onload"));
    assert!(!html.contains("we<b>b"));
    let runs = [run];
    let html = dashboard(
        &layout(),
        &DashboardData {
            counts: &[],
            runs: &runs,
            projects: &[],
        },
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains(r#"href="/projects/we%3Cb%3Eb""#), "{html}");
}

#[test]
fn events_page_links_subjects_and_older() {
    let events = fixtures::events();
    let html = events_page(
        &layout(),
        &EventsData {
            events: &events,
            has_more: true,
        },
    );
    assert_frame(&html);
    assert!(html.contains(r#"<a href="/events" aria-current="page">Events</a>"#));
    assert!(html.contains(r#"href="/events?before=501""#));
    assert!(html.contains(r#"<a href="/runs/101">#128</a>"#));
    assert!(html.contains(r#"<a href="/runs/101?job=13">test (nightly)</a>"#));
    assert!(html.contains(r#"class="kind" data-status="failure">run.finished<"#));
    assert!(html.contains("forge: gitea"));
    assert!(!html.contains("fencing_token"));
    let html = events_page(
        &layout(),
        &EventsData {
            events: &events,
            has_more: false,
        },
    );
    assert!(!html.contains("before="));
}

/// The agents page's data from the fixtures: build-1 runs job 12 and takes Linux jobs,
/// nothing online takes GPU jobs, the server takes unlabeled ones.
fn agents_html(agents: &[gantry_store::Agent], jobs: &[gantry_store::Job]) -> String {
    let runs = fixtures::runs();
    let queues = fixtures::queues();
    let build = ["build-1".to_string()];
    let entries: Vec<AgentEntry> = agents
        .iter()
        .map(|a| AgentEntry {
            agent: a,
            online: a.name != "mac-mini",
            queued: if a.name == "build-1" { 7 } else { 0 },
            jobs: if a.name == "build-1" {
                jobs.iter().map(|j| (j, runs.first())).collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    let queue_entries = [
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
    ];
    agents_page(
        &layout(),
        &AgentsData {
            agents: &entries,
            queues: &queue_entries,
            unlabeled: "server",
        },
    )
}

#[test]
fn agents_page_shows_agents_and_the_queue_by_labels() {
    let agents = fixtures::agents();
    let jobs: Vec<_> = fixtures::jobs()
        .into_iter()
        .filter(|j| j.id == JobId(12))
        .collect();
    let html = agents_html(&agents, &jobs);
    assert_frame(&html);
    assert!(html.contains(r#"<a href="/agents" aria-current="page">Agents</a>"#));
    assert!(html.contains("2 of 3 online"));
    // One row per agent: status badge, label chips, version, capacity, last seen.
    assert_eq!(html.matches("<tr>").count() - 2, 3 + 2, "{html}");
    for (name, status) in [
        ("build-1", "online"),
        ("gpu-1", "draining"),
        ("mac-mini", "offline"),
    ] {
        assert!(html.contains(&format!(r#"<span class="agent-name">{name}</span>"#)));
        assert!(html.contains(&format!(r#"<span class="badge" data-status="{status}">"#)));
    }
    assert!(html.contains(r#"<li class="chip">x86_64</li>"#));
    assert!(html.contains("<code>0.4.1</code>") && html.contains("1 / 4"));
    assert!(html.contains("7 queued for it"));
    assert!(html.contains(">3 h ago</time>"), "last seen is relative");
    // Running jobs link to their run page with the job selected.
    assert!(
        html.contains(r#"<a href="/runs/101?job=12">test (beta)</a>"#),
        "{html}"
    );
    assert!(html.contains("web / ci #128"));
    // The queue: unlabeled jobs go to the server, GPU jobs are stuck, Linux to build-1.
    assert!(html.contains(r#"<li class="chip chip-server">server</li>"#));
    assert_eq!(html.matches(r#"class="queue-stuck""#).count(), 1);
    assert!(html.contains("No online agent can take these"));
    assert!(html.contains(r#"<li class="chip chip-agent">build-1</li>"#));
    assert!(html.contains(">12 min ago</time>"), "oldest queued");
    assert!(html.contains("on the server&#39;s own executors"), "{html}");
    // Scrollable regions can be reached with the keyboard.
    assert_eq!(html.matches(r#"role="region""#).count(), 2);
    assert_eq!(html.matches(r#"tabindex="0""#).count(), 2);
}

#[test]
fn agents_page_escapes_and_explains_when_empty() {
    let mut agents = fixtures::agents();
    agents[0].name = "<b>evil</b>".into();
    agents[0].labels = vec!["x\"><i>".into()];
    let html = agents_html(&agents, &[]);
    assert!(!html.contains("<b>evil") && !html.contains("<i>"));
    assert!(html.contains(&escaped("<b>evil</b>")));
    let html = agents_page(
        &layout(),
        &AgentsData {
            agents: &[],
            queues: &[],
            unlabeled: "agents",
        },
    );
    assert!(html.contains("No agent has registered yet"));
    assert!(html.contains("Nothing is queued."));
    assert!(html.contains("run on agents only"));
}

#[test]
fn error_page_shows_status_and_way_home() {
    let html = error_page(&layout(), 404, "No run 77 <here>");
    assert_frame(&html);
    assert!(html.contains("404") && html.contains("Not found"));
    assert!(html.contains(&escaped("No run 77 <here>")));
    assert!(html.contains(r#"<a class="btn" href="/">"#));
}

#[test]
fn flash_and_assets() {
    let l = layout().with_flash("Run #129 queued");
    let html = error_page(&l, 500, "x");
    assert!(
        html.contains(r#"<div class="flash" role="status">"#) && html.contains("Run #129 queued")
    );
    let (css, ty) = asset("/static/app.css").unwrap();
    assert_eq!(ty, "text/css; charset=utf-8");
    assert!(
        std::str::from_utf8(css)
            .unwrap()
            .contains("prefers-color-scheme: dark")
    );
    let (js, _) = asset("app.js").unwrap();
    let js = std::str::from_utf8(js).unwrap();
    assert!(js.contains("EventSource") && !js.contains("innerHTML"));
}

fn infra_fixtures() -> (
    Vec<gantry_store::HostCheck>,
    Vec<gantry_store::InfraApply>,
    gantry_store::InfraPlan,
) {
    use gantry_store::{
        ApplyState, HostCheck, HostState, InfraApply, InfraApplyId, InfraPlan, InfraPlanId,
    };
    let report = serde_json::json!({ "mode": "plan", "summary": {}, "hosts": [{ "host": "web1", "status": "ok",
        "resources": [{ "id": "file /etc/motd", "type": "file", "location": "infra/app.yml:3", "status": "change",
            "changes": [{ "field": "content", "diff": "-old <b>\n+new\n" }] }] }] });
    let checks = vec![HostCheck {
        host: "web1".into(),
        checked_at: fixtures::at(60),
        state: HostState::Drifted,
        changes: 1,
        report,
    }];
    let apply = |id: i64, state: ApplyState, approved: Option<&str>| InfraApply {
        id: InfraApplyId(id),
        plan_id: InfraPlanId(7),
        state,
        requested_by: "ada".into(),
        requested_at: fixtures::at(120),
        approved_by: approved.map(str::to_string),
        approved_at: None,
        finished_at: None,
        report: None,
    };
    let applies = vec![
        apply(2, ApplyState::AwaitingApproval, None),
        apply(1, ApplyState::Applied, Some("grace")),
    ];
    let plan = InfraPlan {
        id: InfraPlanId(7),
        created_at: fixtures::at(130),
        created_by: "ada".into(),
        hosts_pattern: None,
        hosts: vec!["web1".into(), "db1".into()],
        changes: 1,
        saved: serde_json::json!({}),
        report: serde_json::json!({}),
    };
    (checks, applies, plan)
}

#[test]
fn infra_pages_show_drift_plans_and_approvals() {
    let (checks, applies, plan) = infra_fixtures();
    let web = vec!["web".to_string()];
    let hosts = [
        InfraHostEntry {
            name: "web1",
            groups: &web,
            check: Some(&checks[0]),
            drift_every: Some(std::time::Duration::from_secs(1800)),
        },
        InfraHostEntry {
            name: "db1",
            groups: &[],
            check: None,
            drift_every: None,
        },
    ];
    let html = infra_page(
        &layout(),
        &InfraData {
            hosts: &hosts,
            applies: &applies,
            plan: Some(&plan),
        },
    );
    assert_frame(&html);
    assert!(html.contains(r#"<a href="/infra" aria-current="page">Hosts</a>"#));
    assert!(
        html.contains(r#"<a href="/infra/hosts/web1">web1</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"<tr data-state="drifted">"#));
    assert!(html.contains(r#"<tr data-state="unknown">"#));
    assert!(html.contains(r#"action="/infra/plan""#));
    // The plan just made can be requested; only the waiting request has Approve.
    assert!(html.contains(r#"<input type="hidden" name="plan_id" value="7">"#));
    assert!(html.contains(r#"action="/infra/applies/2/approve""#));
    assert!(!html.contains(r#"action="/infra/applies/1/approve""#));
    assert!(html.contains("grace"));

    let page = infra_host_page(
        &layout(),
        &InfraHostData {
            host: hosts[0].clone(),
        },
    );
    assert!(page.contains("file /etc/motd"));
    assert!(page.contains(&escaped("-old <b>")), "{page}");
    assert!(!page.contains("<b>"));
    let never = infra_host_page(
        &layout(),
        &InfraHostData {
            host: hosts[1].clone(),
        },
    );
    assert!(never.contains("has not been checked yet"));
}
