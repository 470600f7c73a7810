//! Stories of a run flowing through the queue: a DAG to success, needs promotion, and
//! failures settling the run.

use indexmap::IndexMap;

use gantry_store::{
    EventFilter, JobConclusion, JobOutcome, JobStatus, RunStatus, StepRecord, StepStatus, kinds,
};

use crate::harness::{Shared, THREE_JOBS, claim_all, event_trail, finish, keys, new_run};

crate::stories!(
    three_job_dag_to_success,
    needs_wait_for_every_need,
    failure_settles_the_run,
    continue_on_error_does_not_fail_the_run
);

async fn three_job_dag_to_success(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", THREE_JOBS))
        .await
        .expect("enqueue");
    assert_eq!(enq.number, 1);
    assert!(!enq.held && enq.superseded.is_empty());
    let run = store
        .get_run(enq.run_id)
        .await
        .expect("get")
        .expect("run exists");
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.git.branch.as_deref(), Some("main"));
    assert_eq!(
        store.queue_depth().await.expect("depth"),
        1,
        "only lint needs nothing"
    );

    let jobs = store.jobs_of_run(enq.run_id).await.expect("jobs");
    let statuses: Vec<(&str, JobStatus)> =
        jobs.iter().map(|j| (j.key.as_str(), j.status)).collect();
    assert_eq!(
        statuses,
        vec![
            ("lint", JobStatus::Queued),
            ("test", JobStatus::Waiting),
            ("build", JobStatus::Waiting)
        ]
    );
    assert_eq!(jobs[1].needs, vec![0]);

    let first = claim_all(&store, "server").await;
    assert_eq!(keys(&first), vec!["lint"]);
    assert_eq!(first[0].index, 0);
    assert_eq!(first[0].run_number, 1);
    assert_eq!(first[0].fencing_token, 1);
    let plan = store
        .get_plan(enq.run_id)
        .await
        .expect("plan")
        .expect("plan exists");
    assert_eq!(
        plan.jobs[first[0].index].key, "lint",
        "the claim's index finds the PlannedJob"
    );
    assert_eq!(
        store
            .get_run(enq.run_id)
            .await
            .expect("get")
            .map(|r| r.status),
        Some(RunStatus::Running)
    );
    assert!(
        claim_all(&store, "server").await.is_empty(),
        "nothing else is claimable yet"
    );

    let done = finish(&store, &first[0], JobConclusion::Success).await;
    assert_eq!(done.promoted.len(), 2);
    assert_eq!(done.run_status, None);

    let second = claim_all(&store, "server").await;
    assert_eq!(keys(&second), vec!["build", "test"]);
    let test = second
        .iter()
        .find(|j| j.key == "test")
        .expect("test claimed");
    let build = second
        .iter()
        .find(|j| j.key == "build")
        .expect("build claimed");

    let mut outputs = IndexMap::new();
    outputs.insert("version".to_string(), "1.2.3".to_string());
    outputs.insert("channel".to_string(), "stable".to_string());
    let outcome = JobOutcome {
        result: JobConclusion::Success,
        reason: None,
        outputs: outputs.clone(),
        steps: vec![
            StepRecord {
                index: 0,
                name: "unit".into(),
                result: StepStatus::Success,
                outcome: StepStatus::Success,
                exit_code: Some(0),
                duration_ms: 1200,
            },
            StepRecord {
                index: 1,
                name: "integration".into(),
                result: StepStatus::Success,
                outcome: StepStatus::Failure,
                exit_code: Some(3),
                duration_ms: 40,
            },
        ],
    };
    let done = store
        .finish_job(test.job_id, test.fencing_token, outcome)
        .await
        .expect("finish test");
    assert_eq!(done.run_status, None, "build is still running");
    let done = finish(&store, build, JobConclusion::Success).await;
    assert_eq!(done.run_status, Some(RunStatus::Success));

    let run = store.get_run(enq.run_id).await.expect("get").expect("run");
    assert_eq!(run.status, RunStatus::Success);
    assert!(run.started_at.is_some() && run.finished_at.is_some());
    let job = store
        .get_job(test.job_id)
        .await
        .expect("job")
        .expect("job exists");
    assert_eq!(job.status, JobStatus::Success);
    assert_eq!(job.owner.as_deref(), Some("server"));
    assert_eq!(job.lease_expires_at, None);
    assert_eq!(job.outputs, outputs);
    assert_eq!(
        job.outputs.keys().collect::<Vec<_>>(),
        vec!["version", "channel"],
        "output order is kept"
    );
    let steps = store.steps_of_job(test.job_id).await.expect("steps");
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[1].name.as_str(), steps[1].outcome, steps[1].exit_code),
        ("integration", StepStatus::Failure, Some(3))
    );
    assert_eq!(steps[0].duration_ms, 1200);

    // Every change appended its event, in order.
    let trail = event_trail(&store, enq.run_id).await;
    let mut expected: Vec<String> = [
        "run.queued",
        "job.queued:lint",
        "run.started",
        "job.started:lint",
        "job.finished:lint",
        "job.queued:test",
        "job.queued:build",
        "job.started:test",
        "job.started:build",
        "step.finished:test",
        "step.finished:test",
        "job.finished:test",
        "job.finished:build",
        "run.finished",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // test and build are claimed in one claim; their order is job id order.
    if second[0].key == "build" {
        expected.swap(7, 8);
    }
    assert_eq!(trail, expected);
    let events = store
        .events(&EventFilter {
            run_id: Some(enq.run_id),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("events");
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "ids increase");
    assert!(events.iter().all(|e| e.project.as_deref() == Some("web")));
    let finished = events.last().expect("last event");
    assert_eq!(finished.data["status"], "success");
    assert_eq!(events[0].actor.as_deref(), Some("ada"));
    assert_eq!(
        events[0].data["sha"],
        "0123456789abcdef0123456789abcdef01234567"
    );
}

async fn needs_wait_for_every_need(store: Shared) {
    let yaml = "
name: diamond
jobs:
  a: { steps: [{ run: 'true' }] }
  b: { needs: [a], steps: [{ run: 'true' }] }
  c: { needs: [a], steps: [{ run: 'true' }] }
  d: { needs: [b, c], steps: [{ run: 'true' }] }
";
    let enq = store
        .enqueue_run(new_run("web", yaml))
        .await
        .expect("enqueue");
    let a = claim_all(&store, "s").await;
    finish(&store, &a[0], JobConclusion::Success).await;
    let bc = claim_all(&store, "s").await;
    assert_eq!(keys(&bc), vec!["b", "c"]);
    let b = bc.iter().find(|j| j.key == "b").expect("b");
    let c = bc.iter().find(|j| j.key == "c").expect("c");
    let done = finish(&store, b, JobConclusion::Success).await;
    assert!(done.promoted.is_empty(), "d still needs c");
    assert!(claim_all(&store, "s").await.is_empty());
    let jobs = store.jobs_of_run(enq.run_id).await.expect("jobs");
    assert_eq!(jobs[3].status, JobStatus::Waiting);
    let done = finish(&store, c, JobConclusion::Success).await;
    assert_eq!(done.promoted, vec![jobs[3].id]);
    let d = claim_all(&store, "s").await;
    assert_eq!(keys(&d), vec!["d"]);
    assert_eq!(
        finish(&store, &d[0], JobConclusion::Success)
            .await
            .run_status,
        Some(RunStatus::Success)
    );
}

async fn failure_settles_the_run(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", THREE_JOBS))
        .await
        .expect("enqueue");
    let lint = claim_all(&store, "s").await;
    let outcome = JobOutcome {
        reason: Some("step 'lint' exited with 1".into()),
        ..JobOutcome::new(JobConclusion::Failure)
    };
    let done = store
        .finish_job(lint[0].job_id, lint[0].fencing_token, outcome)
        .await
        .expect("finish");
    // The store queues dependents even after a failure; the dispatcher decides to skip them.
    assert_eq!(done.promoted.len(), 2);
    assert_eq!(done.run_status, None);
    let rest = claim_all(&store, "s").await;
    assert_eq!(rest.len(), 2);
    finish(&store, &rest[0], JobConclusion::Skipped).await;
    let done = finish(&store, &rest[1], JobConclusion::Skipped).await;
    assert_eq!(done.run_status, Some(RunStatus::Failure));
    let run = store.get_run(enq.run_id).await.expect("get").expect("run");
    assert_eq!(run.status, RunStatus::Failure);
    let jobs = store.jobs_of_run(enq.run_id).await.expect("jobs");
    assert_eq!(jobs[0].reason.as_deref(), Some("step 'lint' exited with 1"));
    assert_eq!(jobs[1].status, JobStatus::Skipped);
    let finished = store
        .events(&EventFilter {
            run_id: Some(enq.run_id),
            kind_prefix: Some(kinds::RUN_FINISHED.into()),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].data["status"], "failure");
}

async fn continue_on_error_does_not_fail_the_run(store: Shared) {
    let yaml = "
name: lenient
jobs:
  flaky: { continue_on_error: true, steps: [{ run: 'false' }] }
  solid: { steps: [{ run: 'true' }] }
";
    store
        .enqueue_run(new_run("web", yaml))
        .await
        .expect("enqueue");
    let jobs = claim_all(&store, "s").await;
    let flaky = jobs.iter().find(|j| j.key == "flaky").expect("flaky");
    let solid = jobs.iter().find(|j| j.key == "solid").expect("solid");
    finish(&store, flaky, JobConclusion::Failure).await;
    assert_eq!(
        finish(&store, solid, JobConclusion::Success)
            .await
            .run_status,
        Some(RunStatus::Success)
    );
}
