//! Representative view data: a few projects, runs in every state, a matrix pipeline's
//! jobs mid-run, events, and agents with the queue by labels. Shared by the page tests and the preview writer.

use gantry_pipeline::Plan;
use gantry_store::{
    Agent, Event, EventId, GitFacts, Job, JobId, JobStatus, QueueView, Run, RunId, RunStatus, Step,
    StepStatus, TokenId, Trigger,
};
use gantry_web::Layout;
use indexmap::IndexMap;
use jiff::Timestamp;
use serde_json::{Map, json};

/// The fixed "now" of the tests (2026-11-18 10:13 UTC).
pub const NOW: i64 = 1_795_000_000;

thread_local! {
    /// The preview renders against the real clock (the browser's relative times then
    /// agree); tests keep `NOW`. Per thread, so parallel tests never see the change.
    static BASE: std::cell::Cell<i64> = const { std::cell::Cell::new(NOW) };
}

pub fn use_real_clock() {
    BASE.with(|b| b.set(Timestamp::now().as_second()));
}

pub fn at(secs_ago: i64) -> Timestamp {
    Timestamp::from_second(BASE.with(|b| b.get()) - secs_ago).unwrap()
}

pub fn layout() -> Layout {
    Layout {
        user: Some("ada".into()),
        csrf: "tok-123".into(),
        flash: None,
        now: at(0),
    }
}

pub const PIPELINE: &str = r#"
name: ci
on:
  push: { branches: [main, "release/*"], tags: ["v*"] }
  pull_request: {}
  schedule: [{ cron: "0 3 * * *", timezone: "Europe/Berlin" }]
  manual:
    inputs:
      target: { default: staging, options: [staging, production], description: "Where to deploy" }
      dry_run: { type: boolean, default: true }
      shards: { type: number, default: 4, required: true }
      note: { description: "Shown in the deploy event" }
jobs:
  lint:
    steps:
      - run: cargo fmt --check
      - run: cargo clippy -- -D warnings
  test:
    needs: [lint]
    matrix: { toolchain: [stable, beta, nightly] }
    steps:
      - name: Build tests
        run: cargo test --no-run
      - name: Test
        run: cargo test
  build:
    needs: [test]
    steps:
      - run: cargo build --release
  deploy-staging:
    needs: [build]
    steps:
      - run: ./deploy.sh staging
"#;

pub fn plan() -> Plan {
    let compiled = gantry_pipeline::compile(".gantry/pipelines/ci.yml", PIPELINE);
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    compiled.plan.unwrap()
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    id: i64,
    project: &str,
    pipeline: &str,
    number: i64,
    status: RunStatus,
    trigger: Trigger,
    branch: Option<&str>,
    message: &str,
    started_ago: i64,
    took: Option<i64>,
) -> Run {
    let finished = status.is_finished();
    Run {
        id: RunId(id),
        project: project.into(),
        pipeline: pipeline.into(),
        number,
        status,
        trigger,
        git: GitFacts {
            sha: format!(
                "{:016x}{:024x}",
                (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                id
            ),
            branch: branch.map(str::to_string),
            tag: None,
            message: message.into(),
            author: "grace".into(),
        },
        inputs: Map::new(),
        concurrency_group: None,
        cancel_in_progress: false,
        held: false,
        cancel_requested: false,
        reason: None,
        rerun_of: None,
        actor: if trigger == Trigger::Manual {
            Some("ada".into())
        } else {
            None
        },
        created_at: at(started_ago + 3),
        started_at: (status != RunStatus::Queued).then(|| at(started_ago)),
        finished_at: if finished {
            took.map(|t| at(started_ago - t))
        } else {
            None
        },
    }
}

pub fn runs() -> Vec<Run> {
    use RunStatus::*;
    let mut tagged = run(
        95,
        "api",
        "release",
        7,
        Success,
        Trigger::Tag,
        None,
        "Release 2.4.0",
        7200,
        Some(412),
    );
    tagged.git.tag = Some("v2.4.0".into());
    vec![
        run(
            101,
            "web",
            "ci",
            128,
            Running,
            Trigger::Push,
            Some("main"),
            "Speed up asset pipeline by caching fingerprints\n\nLonger body",
            95,
            None,
        ),
        run(
            100,
            "web",
            "ci",
            127,
            Queued,
            Trigger::PullRequest,
            Some("feature/dark-mode"),
            "Add dark mode to the settings page",
            20,
            None,
        ),
        run(
            99,
            "api",
            "ci",
            342,
            Failure,
            Trigger::Push,
            Some("main"),
            "Bump sqlx to 0.9 and fix migrations",
            1500,
            Some(263),
        ),
        run(
            98,
            "web",
            "deploy",
            56,
            Success,
            Trigger::Manual,
            Some("main"),
            "Merge pull request #311 from team/checkout-v2",
            3600,
            Some(83),
        ),
        run(
            97,
            "infra",
            "nightly",
            12,
            Cancelled,
            Trigger::Schedule,
            Some("main"),
            "Rotate TLS certificates",
            30_000,
            Some(14),
        ),
        run(
            96,
            "web",
            "ci",
            126,
            Success,
            Trigger::Push,
            Some("release/3.1"),
            "Fix flaky login test",
            90_000,
            Some(198),
        ),
        tagged,
    ]
}

fn job(
    id: i64,
    index: usize,
    name: &str,
    needs: &[usize],
    status: JobStatus,
    started_ago: Option<i64>,
    took: Option<i64>,
) -> Job {
    Job {
        id: JobId(id),
        run_id: RunId(101),
        index,
        key: name.into(),
        job_id: name.split(' ').next().unwrap_or(name).into(),
        name: name.into(),
        needs: needs.to_vec(),
        runs_on: Vec::new(),
        status,
        attempt: 1,
        max_retry: 0,
        continue_on_error: false,
        reason: None,
        outputs: IndexMap::new(),
        owner: Some("server".into()),
        fencing_token: 1,
        lease_expires_at: None,
        queued_at: started_ago.map(|s| at(s + 1)),
        started_at: started_ago.map(at),
        finished_at: match (started_ago, took) {
            (Some(s), Some(t)) => Some(at(s - t)),
            _ => None,
        },
    }
}

/// The jobs of run 101 (web / ci #128), mid-run: lint passed, one matrix cell failed,
/// one is running, build and deploy wait.
pub fn jobs() -> Vec<Job> {
    use JobStatus::*;
    let mut failed = job(13, 3, "test (nightly)", &[0], Failure, Some(80), Some(41));
    failed.reason = Some("step 'Test' exited with code 101".into());
    vec![
        job(10, 0, "lint", &[], Success, Some(95), Some(14)),
        job(11, 1, "test (stable)", &[0], Success, Some(80), Some(52)),
        job(12, 2, "test (beta)", &[0], Running, Some(80), None),
        failed,
        job(14, 4, "build", &[1, 2, 3], Waiting, None, None),
        job(15, 5, "deploy-staging", &[4], Waiting, None, None),
    ]
}

fn step(
    job: i64,
    index: usize,
    name: &str,
    result: StepStatus,
    exit: Option<i32>,
    ms: u64,
) -> Step {
    Step {
        job_id: JobId(job),
        index,
        name: name.into(),
        result,
        outcome: result,
        exit_code: exit,
        duration_ms: ms,
    }
}

pub fn steps() -> Vec<Step> {
    use StepStatus::*;
    vec![
        step(10, 0, "cargo fmt --check", Success, Some(0), 2_300),
        step(
            10,
            1,
            "cargo clippy -- -D warnings",
            Success,
            Some(0),
            11_200,
        ),
        step(11, 0, "Build tests", Success, Some(0), 38_000),
        step(11, 1, "Test", Success, Some(0), 13_900),
        step(13, 0, "Build tests", Success, Some(0), 36_500),
        step(13, 1, "Test", Failure, Some(101), 4_400),
    ]
}

pub fn events() -> Vec<Event> {
    let ev = |id: i64,
              ago: i64,
              kind: &str,
              project: Option<&str>,
              run: Option<i64>,
              job: Option<i64>,
              actor: Option<&str>,
              data: serde_json::Value| Event {
        id: EventId(id),
        at: at(ago),
        kind: kind.into(),
        project: project.map(str::to_string),
        run_id: run.map(RunId),
        job_id: job.map(JobId),
        actor: actor.map(str::to_string),
        data,
    };
    vec![
        ev(
            508,
            30,
            "job.finished",
            Some("web"),
            Some(101),
            Some(13),
            None,
            json!({"key": "test (nightly)", "result": "failure", "attempt": 1, "duration_ms": 41000}),
        ),
        ev(
            507,
            80,
            "job.started",
            Some("web"),
            Some(101),
            Some(12),
            None,
            json!({"key": "test (beta)", "attempt": 1, "owner": "server", "fencing_token": 3}),
        ),
        ev(
            506,
            95,
            "run.started",
            Some("web"),
            Some(101),
            None,
            None,
            json!({"number": 128}),
        ),
        ev(
            505,
            98,
            "run.queued",
            Some("web"),
            Some(101),
            None,
            None,
            json!({"number": 128, "pipeline": "ci", "trigger": "push", "branch": "main", "jobs": 6}),
        ),
        ev(
            504,
            99,
            "trigger.webhook",
            Some("web"),
            None,
            None,
            None,
            json!({"forge": "gitea", "delivery_id": "f3c1", "event": "push"}),
        ),
        ev(
            503,
            1237,
            "run.finished",
            Some("api"),
            Some(99),
            None,
            None,
            json!({"number": 342, "status": "failure", "duration_ms": 263000}),
        ),
        ev(
            502,
            4000,
            "session.created",
            None,
            None,
            None,
            Some("ada"),
            json!({"username": "ada"}),
        ),
        ev(
            501,
            5000,
            "token.created",
            None,
            None,
            None,
            Some("ada"),
            json!({"token_id": 4, "name": "ci-bot", "role": "developer"}),
        ),
    ]
}

fn agent(name: &str, labels: &[&str], seen_ago: i64, draining: bool, running: u32) -> Agent {
    let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Agent {
        name: name.into(),
        version: "0.4.1".into(),
        labels: strings(labels),
        executors: strings(&["docker", "host"]),
        capacity: 4,
        token_id: TokenId(7),
        registered_at: at(86_400 * 3),
        last_seen_at: at(seen_ago),
        draining,
        running,
    }
}

/// Three agents: one online running job 12 of run 101, one draining, one gone quiet.
pub fn agents() -> Vec<Agent> {
    vec![
        agent("build-1", &["linux", "x86_64"], 2, false, 1),
        agent("gpu-1", &["gpu", "linux"], 5, true, 0),
        agent("mac-mini", &["arm64", "macos"], 3 * 3600, false, 0),
    ]
}

/// The queue by labels: GPU jobs nothing online takes, Linux jobs for build-1, and
/// unlabeled jobs for the server.
pub fn queues() -> Vec<QueueView> {
    let q = |labels: &[&str], queued: u64, ago: i64| QueueView {
        runs_on: labels.iter().map(|s| s.to_string()).collect(),
        queued,
        oldest_queued_at: Some(at(ago)),
    };
    vec![q(&[], 5, 40), q(&["gpu"], 3, 720), q(&["linux"], 2, 15)]
}
