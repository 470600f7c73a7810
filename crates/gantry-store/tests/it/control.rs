//! Stories of people and groups steering runs: concurrency groups (cancel in progress and
//! hold), cancelling a run, and rerunning one.

use gantry_store::{ConcurrencyGroup, JobConclusion, JobStatus, RunStatus, StoreError};

use crate::harness::{Shared, THREE_JOBS, claim_all, event_trail, finish, keys, new_run};

crate::stories!(
    concurrency_group_cancels_in_progress,
    concurrency_group_without_cancel_holds_newer_runs,
    cancel_run_stops_queued_and_reports_running,
    rerun_failed_only_keeps_successes,
    rerun_needs_a_finished_run_with_something_to_rerun,
);

fn grouped(group: &str, cancel_in_progress: bool) -> gantry_store::NewRun {
    let mut run = new_run("web", THREE_JOBS);
    run.concurrency = Some(ConcurrencyGroup {
        group: group.into(),
        cancel_in_progress,
    });
    run
}

async fn concurrency_group_cancels_in_progress(store: Shared) {
    let first = store
        .enqueue_run(grouped("ci-main", true))
        .await
        .expect("first");
    let lint = claim_all(&store, "s").await;
    assert_eq!(keys(&lint), vec!["lint"]);
    let other_group = store
        .enqueue_run(grouped("ci-dev", true))
        .await
        .expect("other group");

    let second = store
        .enqueue_run(grouped("ci-main", true))
        .await
        .expect("second");
    assert_eq!(
        second.superseded.len(),
        1,
        "only the older run of the same group"
    );
    let cancelled = &second.superseded[0];
    assert_eq!(cancelled.run_id, first.run_id);
    assert_eq!(
        cancelled.status,
        RunStatus::Running,
        "lint is still running"
    );
    assert_eq!(cancelled.running_jobs.len(), 1);
    assert_eq!(cancelled.running_jobs[0].job_id, lint[0].job_id);
    assert_eq!(
        cancelled.running_jobs[0].fencing_token,
        lint[0].fencing_token
    );
    assert_eq!(cancelled.running_jobs[0].owner.as_deref(), Some("s"));
    assert_eq!(
        cancelled.cancelled_jobs.len(),
        2,
        "test and build were waiting"
    );

    let jobs = store.jobs_of_run(first.run_id).await.expect("jobs");
    assert_eq!(jobs[1].status, JobStatus::Cancelled);
    let reason = format!("superseded by ci run #{}", second.number);
    assert_eq!(jobs[1].reason.as_deref(), Some(reason.as_str()));
    let run = store
        .get_run(first.run_id)
        .await
        .expect("get")
        .expect("run");
    assert!(run.cancel_requested);

    // The server stops lint and reports it; the superseded run settles as cancelled even
    // though lint "succeeded" on its way out.
    let done = finish(&store, &lint[0], JobConclusion::Success).await;
    assert!(done.promoted.is_empty());
    assert_eq!(done.run_status, Some(RunStatus::Cancelled));
    let other = store
        .get_run(other_group.run_id)
        .await
        .expect("get")
        .expect("run");
    assert_eq!(
        other.status,
        RunStatus::Queued,
        "another group is untouched"
    );

    // A third run supersedes the second, which never started: it is cancelled at once.
    let third = store
        .enqueue_run(grouped("ci-main", true))
        .await
        .expect("third");
    assert_eq!(third.superseded.len(), 1);
    assert_eq!(third.superseded[0].run_id, second.run_id);
    assert_eq!(third.superseded[0].status, RunStatus::Cancelled);
    assert_eq!(
        event_trail(&store, second.run_id).await,
        vec![
            "run.queued",
            "job.queued:lint",
            "run.cancel_requested",
            "job.cancelled:lint",
            "job.cancelled:test",
            "job.cancelled:build",
            "run.finished"
        ]
    );
}

async fn concurrency_group_without_cancel_holds_newer_runs(store: Shared) {
    let first = store
        .enqueue_run(grouped("deploy", false))
        .await
        .expect("first");
    let second = store
        .enqueue_run(grouped("deploy", false))
        .await
        .expect("second");
    let third = store
        .enqueue_run(grouped("deploy", false))
        .await
        .expect("third");
    assert!(!first.held && second.held && third.held);
    let held = store
        .get_run(second.run_id)
        .await
        .expect("get")
        .expect("run");
    assert!(held.held);
    assert_eq!(
        held.reason.as_deref(),
        Some("waiting for ci run #1 (concurrency group 'deploy')")
    );
    assert_eq!(
        store.queue_depth().await.expect("depth"),
        1,
        "only the first run's lint"
    );

    // Drive the first run to the end: the second is released, the third still waits.
    let mut finished = None;
    while finished.is_none() {
        for job in claim_all(&store, "s").await {
            assert_eq!(
                job.run_id, first.run_id,
                "nothing of the held runs is claimable"
            );
            finished = finish(&store, &job, JobConclusion::Success)
                .await
                .run_status;
        }
    }
    let released = store
        .get_run(second.run_id)
        .await
        .expect("get")
        .expect("run");
    assert!(!released.held && released.reason.is_none());
    let next = claim_all(&store, "s").await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].run_id, second.run_id);
    assert!(
        store
            .get_run(third.run_id)
            .await
            .expect("get")
            .expect("run")
            .held
    );
    assert!(
        event_trail(&store, second.run_id)
            .await
            .contains(&"run.released".to_string())
    );

    // Cancelling the running second run lets the third go once its running job reports.
    store
        .cancel_run(second.run_id, Some("ada"))
        .await
        .expect("cancel");
    assert!(
        store
            .get_run(third.run_id)
            .await
            .expect("get")
            .expect("run")
            .held
    );
    finish(&store, &next[0], JobConclusion::Cancelled).await;
    assert!(
        !store
            .get_run(third.run_id)
            .await
            .expect("get")
            .expect("run")
            .held
    );
    assert_eq!(claim_all(&store, "s").await[0].run_id, third.run_id);
}

async fn cancel_run_stops_queued_and_reports_running(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", THREE_JOBS))
        .await
        .expect("enqueue");
    let lint = claim_all(&store, "agent-1").await;
    let cancelled = store
        .cancel_run(enq.run_id, Some("ada"))
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, RunStatus::Running);
    assert_eq!(cancelled.cancelled_jobs.len(), 2);
    assert_eq!(cancelled.running_jobs.len(), 1);
    assert_eq!(cancelled.running_jobs[0].key, "lint");
    // The holder learns about it on its next heartbeat.
    let lease = store
        .extend_lease(lint[0].job_id, lint[0].fencing_token, crate::harness::LEASE)
        .await
        .expect("lease");
    assert!(lease.cancel_requested);
    assert!(claim_all(&store, "s").await.is_empty());

    // Cancelling again changes nothing and appends nothing.
    let before = event_trail(&store, enq.run_id).await;
    let again = store
        .cancel_run(enq.run_id, Some("bob"))
        .await
        .expect("cancel again");
    assert!(again.cancelled_jobs.is_empty());
    assert_eq!(event_trail(&store, enq.run_id).await, before);

    let done = finish(&store, &lint[0], JobConclusion::Cancelled).await;
    assert_eq!(done.run_status, Some(RunStatus::Cancelled));
    let run = store.get_run(enq.run_id).await.expect("get").expect("run");
    assert_eq!(run.status, RunStatus::Cancelled);
    assert_eq!(run.reason.as_deref(), Some("cancelled by ada"));
    let after = store
        .cancel_run(enq.run_id, None)
        .await
        .expect("cancel finished run");
    assert_eq!(after.status, RunStatus::Cancelled);
    assert_eq!(
        event_trail(&store, enq.run_id).await,
        vec![
            "run.queued",
            "job.queued:lint",
            "run.started",
            "job.started:lint",
            "run.cancel_requested",
            "job.cancelled:test",
            "job.cancelled:build",
            "job.finished:lint",
            "run.finished"
        ]
    );

    // A run that never started is cancelled at once.
    let idle = store
        .enqueue_run(new_run("web", THREE_JOBS))
        .await
        .expect("enqueue");
    let cancelled = store.cancel_run(idle.run_id, None).await.expect("cancel");
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    assert!(cancelled.running_jobs.is_empty());
    assert!(matches!(
        store.cancel_run(gantry_store::RunId(999_999), None).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn rerun_failed_only_keeps_successes(store: Shared) {
    let yaml = "
name: ci
jobs:
  lint: { steps: [{ run: 'true' }] }
  test: { steps: [{ run: 'true' }] }
  build: { needs: [lint, test], steps: [{ run: 'true' }] }
";
    let first = store
        .enqueue_run(new_run("web", yaml))
        .await
        .expect("enqueue");
    let roots = claim_all(&store, "s").await;
    let lint = roots.iter().find(|j| j.key == "lint").expect("lint");
    let test = roots.iter().find(|j| j.key == "test").expect("test");
    let mut outcome = gantry_store::JobOutcome::new(JobConclusion::Success);
    outcome.outputs.insert("report".into(), "clean".into());
    store
        .finish_job(lint.job_id, lint.fencing_token, outcome)
        .await
        .expect("finish lint");
    finish(&store, test, JobConclusion::Failure).await;
    let build = claim_all(&store, "s").await;
    assert_eq!(
        finish(&store, &build[0], JobConclusion::Skipped)
            .await
            .run_status,
        Some(RunStatus::Failure)
    );

    let again = store
        .rerun(first.run_id, true, Some("ada"))
        .await
        .expect("rerun");
    assert_eq!(again.number, 2);
    let run = store
        .get_run(again.run_id)
        .await
        .expect("get")
        .expect("run");
    assert_eq!(run.rerun_of, Some(first.run_id));
    assert_eq!(run.git.sha, "0123456789abcdef0123456789abcdef01234567");
    let jobs = store.jobs_of_run(again.run_id).await.expect("jobs");
    assert_eq!(jobs[0].status, JobStatus::Success);
    assert_eq!(jobs[0].reason.as_deref(), Some("kept from run #1"));
    assert_eq!(
        jobs[0].outputs.get("report").map(String::as_str),
        Some("clean")
    );
    assert_eq!(jobs[1].status, JobStatus::Queued);
    assert_eq!(jobs[2].status, JobStatus::Waiting);

    let test = claim_all(&store, "s").await;
    assert_eq!(keys(&test), vec!["test"]);
    finish(&store, &test[0], JobConclusion::Success).await;
    let build = claim_all(&store, "s").await;
    assert_eq!(
        finish(&store, &build[0], JobConclusion::Success)
            .await
            .run_status,
        Some(RunStatus::Success)
    );

    // A full rerun runs everything again.
    let full = store
        .rerun(again.run_id, false, None)
        .await
        .expect("full rerun");
    assert_eq!(full.number, 3);
    let jobs = store.jobs_of_run(full.run_id).await.expect("jobs");
    assert_eq!(
        jobs.iter()
            .filter(|j| j.status == JobStatus::Queued)
            .count(),
        2
    );
    let queued = event_trail(&store, full.run_id).await;
    assert_eq!(queued[0], "run.queued");
}

async fn rerun_needs_a_finished_run_with_something_to_rerun(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", THREE_JOBS))
        .await
        .expect("enqueue");
    let err = store
        .rerun(enq.run_id, false, None)
        .await
        .expect_err("still queued");
    assert!(matches!(err, StoreError::Conflict(_)));
    assert!(err.to_string().contains("still queued"), "{err}");
    loop {
        let jobs = claim_all(&store, "s").await;
        if jobs.is_empty() {
            break;
        }
        for job in jobs {
            finish(&store, &job, JobConclusion::Success).await;
        }
    }
    let err = store
        .rerun(enq.run_id, true, None)
        .await
        .expect_err("nothing failed");
    assert!(
        err.to_string()
            .contains("no failed, cancelled or skipped job"),
        "{err}"
    );
    assert_eq!(
        store
            .list_runs(&Default::default())
            .await
            .expect("list")
            .len(),
        1,
        "no run was created"
    );
}
