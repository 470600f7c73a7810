//! The engine's side of deploy jobs: what a `Deployer` is asked (rendered fields, the
//! work directory with the needed jobs' artifacts, the default version), how its lines
//! reach the job's log (masked, on the job) and how its outcome becomes the job's result;
//! a runner without a deployer; a run cancelled mid-deploy.
//!
//! The deployer here is a test double on purpose: these tests check the engine's wiring
//! only. Real deploys (gantry-deploy to container hosts through `gantry run`) are tested
//! in crates/gantry/tests/it/run_behaviour.rs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gantry_core::Secret;
use gantry_engine::log::{LogLine, Stream};
use gantry_engine::{
    DeployOutcome, DeployRequest, DeployResult, Deployer, Executors, GitFacts, JobReport,
    JobResult, RunControl, RunEvent, RunOptions, RunReport, run_plan,
};
use tokio::sync::mpsc;

const SECRET: &str = "s3cr3t-deploy-token";

/// Answers every deploy with `answer`, after logging two lines (one holding a secret)
/// and noting what it was asked. With `hold`, it first waits for the run's cancellation.
struct FakeDeployer {
    answer: Result<DeployOutcome, String>,
    hold: bool,
    asked: Mutex<Vec<(DeployRequest, bool)>>,
}

impl FakeDeployer {
    fn new(answer: Result<DeployOutcome, String>) -> Arc<Self> {
        Arc::new(FakeDeployer {
            answer,
            hold: false,
            asked: Mutex::new(Vec::new()),
        })
    }
}

impl Deployer for FakeDeployer {
    fn deploy(
        &self,
        request: &DeployRequest,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<DeployOutcome, String> {
        let has_artifact = request.work_dir.join("dist/app").is_file();
        self.asked
            .lock()
            .unwrap()
            .push((request.clone(), has_artifact));
        log(&format!("installing {} on host1", request.version));
        if self.hold {
            while !request.cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(20));
            }
            // Goes on after the cancellation, as a deploy mid-switch must.
            std::thread::sleep(Duration::from_millis(300));
        }
        log(&format!("token {SECRET}\nsecond line"));
        self.answer.clone()
    }
}

const PIPELINE: &str = r#"
jobs:
  build:
    outputs: { version: "${{ steps.v.outputs.version }}" }
    artifacts: [dist/app]
    steps:
      - id: v
        run: |
          mkdir -p dist && echo app > dist/app
          echo "version=1.2.${{ run.number }}" >> "$GANTRY_OUTPUT"
  ship:
    needs: [build]
    deploy:
      service: web
      environment: "${{ format('stag{0}', 'ing') }}"
      version: "${{ needs.build.outputs.version }}"
"#;

struct Ran {
    report: RunReport,
    lines: Vec<LogLine>,
}

impl Ran {
    fn job(&self, key: &str) -> &JobReport {
        self.report.jobs.iter().find(|j| j.key == key).unwrap()
    }

    fn texts(&self, job: &str, stream: Stream) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| &*l.job == job && l.stream == stream)
            .map(|l| l.text.as_str())
            .collect()
    }
}

async fn run(pipeline: &str, executors: Executors, control: RunControl) -> Ran {
    let compiled = gantry_pipeline::compile("ci.yml", pipeline);
    let plan = compiled
        .plan
        .unwrap_or_else(|| panic!("{:?}", compiled.diagnostics));
    let source = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let options = RunOptions {
        run_id: crate::unique_id("deploy"),
        run_number: 7,
        source_dir: source.path().to_path_buf(),
        data_dir: data.path().to_path_buf(),
        parallelism: 2,
        git: GitFacts {
            sha: "0123456789abcdef0123".into(),
            branch: Some("main".into()),
            event: "push".into(),
            ..GitFacts::default()
        },
        inputs: Default::default(),
        secrets: [("TOKEN".to_string(), Secret::new(SECRET.to_string()))]
            .into_iter()
            .collect(),
        only: Vec::new(),
        keep_workdirs: false,
        source_commit: None,
        cache: None,
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let run = tokio::spawn(run_plan(
        Arc::new(plan),
        options,
        Arc::new(executors),
        tx,
        control,
    ));
    let mut lines = Vec::new();
    while let Some(event) = rx.recv().await {
        if let RunEvent::Log(line) = event {
            lines.push(line);
        }
    }
    let report = run.await.unwrap().unwrap();
    Ran { report, lines }
}

fn outcome(result: DeployResult, summary: &str) -> Result<DeployOutcome, String> {
    Ok(DeployOutcome {
        result,
        summary: summary.to_string(),
    })
}

#[tokio::test]
async fn a_deploy_job_asks_the_deployer_and_logs_its_lines() {
    let fake = FakeDeployer::new(outcome(DeployResult::Succeeded, "deployed"));
    let ran = run(
        PIPELINE,
        Executors::new().with_deployer(fake.clone()),
        RunControl::default(),
    )
    .await;
    let ship = ran.job("ship");
    assert_eq!(ship.result, JobResult::Success, "{ship:?}");
    assert_eq!(ship.reason, None);

    let asked = fake.asked.lock().unwrap();
    assert_eq!(asked.len(), 1);
    let (request, had_artifact) = &asked[0];
    assert_eq!(
        (
            request.service.as_str(),
            request.environment.as_str(),
            request.version.as_str()
        ),
        ("web", "staging", "1.2.7")
    );
    assert!(
        had_artifact,
        "the build's artifact is in the work directory"
    );
    assert_eq!(request.needs, ["build"]);
    assert_eq!(request.git.branch.as_deref(), Some("main"));
    assert_eq!((request.run_number, request.job.as_str()), (7, "ship"));

    // The deployer's lines are the job's output, masked, one log line per line.
    assert_eq!(
        ran.texts("ship", Stream::Stdout),
        ["installing 1.2.7 on host1", "token ***", "second line"]
    );
    assert!(ran.lines.iter().all(|l| !l.text.contains(SECRET)));
    let system = ran.texts("ship", Stream::System);
    assert!(
        system.contains(&"deploying web 1.2.7 to staging"),
        "{system:?}"
    );
}

#[tokio::test]
async fn a_rolled_back_failed_or_refused_deploy_fails_the_job_with_the_reason() {
    for (answer, expected) in [
        (
            outcome(DeployResult::RolledBack, "1.2.7 failed on host1"),
            "the deploy of web 1.2.7 to staging was rolled back: 1.2.7 failed on host1",
        ),
        (
            outcome(DeployResult::Failed, "the rollback failed too"),
            "the deploy of web 1.2.7 to staging failed: the rollback failed too",
        ),
        (
            Err(format!("production only takes builds of main ({SECRET})")),
            "could not deploy web 1.2.7 to staging: production only takes builds of main (***)",
        ),
    ] {
        let fake = FakeDeployer::new(answer);
        let ran = run(
            PIPELINE,
            Executors::new().with_deployer(fake),
            RunControl::default(),
        )
        .await;
        let ship = ran.job("ship");
        assert_eq!(ship.result, JobResult::Failure);
        assert_eq!(ship.reason.as_deref(), Some(expected));
        assert!(ran.texts("ship", Stream::System).contains(&expected));
        assert_eq!(ran.job("build").result, JobResult::Success);
    }
}

#[tokio::test]
async fn without_a_version_the_release_is_named_after_the_commit() {
    let fake = FakeDeployer::new(outcome(DeployResult::Succeeded, "ok"));
    let ran = run(
        "jobs:\n  ship:\n    deploy: { service: web, environment: staging }\n",
        Executors::new().with_deployer(fake.clone()),
        RunControl::default(),
    )
    .await;
    assert_eq!(ran.job("ship").result, JobResult::Success);
    assert_eq!(fake.asked.lock().unwrap()[0].0.version, "01234567");
}

#[tokio::test]
async fn a_runner_without_a_deployer_fails_deploy_jobs_saying_so() {
    let ran = run(PIPELINE, Executors::new(), RunControl::default()).await;
    let ship = ran.job("ship");
    assert_eq!(ship.result, JobResult::Failure);
    assert_eq!(
        ship.reason.as_deref(),
        Some("this runner cannot deploy: it was started without a deployer")
    );
    let ran = run(
        PIPELINE,
        Executors::new().refusing_deploys("agents do not deploy"),
        RunControl::default(),
    )
    .await;
    assert_eq!(
        ran.job("ship").reason.as_deref(),
        Some("this runner cannot deploy: agents do not deploy")
    );
}

/// Runs PIPELINE with a deployer that answers `answer` only after the run was cancelled
/// while it was deploying.
async fn cancelled_mid_deploy(answer: Result<DeployOutcome, String>) -> Ran {
    let fake = Arc::new(FakeDeployer {
        answer,
        hold: true,
        asked: Mutex::new(Vec::new()),
    });
    let control = RunControl::default();
    let cancel = control.cancel.clone();
    let asked = fake.clone();
    tokio::spawn(async move {
        while asked.asked.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cancel.cancel();
    });
    run(PIPELINE, Executors::new().with_deployer(fake), control).await
}

#[tokio::test]
async fn a_deploy_is_not_interrupted_by_cancelling_the_run() {
    // The deploy went on to its end after the cancellation, and the job says how it
    // ended: the environment does run the release.
    let ran = cancelled_mid_deploy(outcome(DeployResult::Succeeded, "ok")).await;
    let ship = ran.job("ship");
    assert_eq!(ship.result, JobResult::Success, "{ship:?}");
    assert_eq!(
        ran.texts("ship", Stream::Stdout),
        ["installing 1.2.7 on host1", "token ***", "second line"]
    );
    let system = ran.texts("ship", Stream::System);
    assert!(
        system.iter().any(|l| l.contains("is not interrupted")),
        "{system:?}"
    );

    // A deployer that gave up on the cancel before changing anything (waiting for
    // approvals, say): the job is cancelled, not failed.
    let ran = cancelled_mid_deploy(Err("gave up waiting for approvals".into())).await;
    let ship = ran.job("ship");
    assert_eq!(ship.result, JobResult::Cancelled, "{ship:?}");
    assert_eq!(
        ship.reason.as_deref(),
        Some("run cancelled; nothing deployed: gave up waiting for approvals")
    );
}
