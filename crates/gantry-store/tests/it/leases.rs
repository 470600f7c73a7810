//! Stories of lost and late job holders: fencing tokens, lease expiry and recovery after a
//! server restart.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use gantry_store::{JobConclusion, JobOutcome, JobStatus, RunStatus, StoreError};

use crate::harness::{LEASE, Shared, claim_all, event_trail, finish, new_run};

crate::stories!(
    stale_fencing_token_is_rejected_after_a_reclaim,
    expired_lease_requeues_or_fails,
    recover_after_restart_requeues_while_retries_allow,
    recover_after_restart_cancels_jobs_of_cancelled_runs,
);

const RETRY_ONCE: &str = "
name: flaky
jobs:
  once: { retry: 1, steps: [{ run: 'true' }] }
";

fn later(d: Duration) -> Timestamp {
    Timestamp::now() + SignedDuration::try_from(d).expect("duration")
}

async fn stale_fencing_token_is_rejected_after_a_reclaim(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", RETRY_ONCE))
        .await
        .expect("enqueue");
    let old = claim_all(&store, "agent-a").await;
    assert_eq!(old[0].fencing_token, 1);
    // agent-a goes quiet; its lease runs out and the job is queued again.
    let rec = store
        .requeue_expired_leases(later(LEASE * 2))
        .await
        .expect("expire");
    assert_eq!(rec.requeued, vec![old[0].job_id]);
    let new = claim_all(&store, "agent-b").await;
    assert_eq!(new[0].job_id, old[0].job_id);
    assert_eq!(new[0].fencing_token, 2);
    assert_eq!(new[0].attempt, 2);

    // agent-a wakes up and reports: refused, and nothing changes.
    let err = store
        .finish_job(
            old[0].job_id,
            old[0].fencing_token,
            JobOutcome::new(JobConclusion::Failure),
        )
        .await
        .expect_err("stale token");
    match err {
        StoreError::StaleFencingToken {
            presented, current, ..
        } => assert_eq!((presented, current), (1, 2)),
        other => panic!("expected StaleFencingToken, got {other:?}"),
    }
    assert!(matches!(
        store
            .extend_lease(old[0].job_id, old[0].fencing_token, LEASE)
            .await,
        Err(StoreError::StaleFencingToken { .. })
    ));
    let job = store
        .get_job(new[0].job_id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(
        (job.status, job.owner.as_deref()),
        (JobStatus::Running, Some("agent-b"))
    );

    let lease = store
        .extend_lease(new[0].job_id, new[0].fencing_token, LEASE * 3)
        .await
        .expect("extend");
    assert!(!lease.cancel_requested);
    assert!(lease.lease_expires_at > later(LEASE * 2));
    assert_eq!(
        finish(&store, &new[0], JobConclusion::Success)
            .await
            .run_status,
        Some(RunStatus::Success)
    );
    // A second report with the right token is refused too: the job has finished.
    assert!(matches!(
        store
            .finish_job(
                new[0].job_id,
                new[0].fencing_token,
                JobOutcome::new(JobConclusion::Failure)
            )
            .await,
        Err(StoreError::StaleFencingToken { .. })
    ));
    assert!(matches!(
        store
            .finish_job(
                gantry_store::JobId(987_654),
                1,
                JobOutcome::new(JobConclusion::Success)
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        event_trail(&store, enq.run_id).await,
        vec![
            "run.queued",
            "job.queued:once",
            "run.started",
            "job.started:once",
            "job.requeued:once",
            "job.started:once",
            "job.finished:once",
            "run.finished"
        ]
    );
}

async fn expired_lease_requeues_or_fails(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", RETRY_ONCE))
        .await
        .expect("enqueue");
    let first = claim_all(&store, "agent-a").await;
    // A renewed lease outlives the check.
    store
        .extend_lease(first[0].job_id, first[0].fencing_token, LEASE * 10)
        .await
        .expect("extend");
    let rec = store
        .requeue_expired_leases(later(LEASE * 2))
        .await
        .expect("check");
    assert_eq!(rec, gantry_store::Recovery::default());

    let rec = store
        .requeue_expired_leases(later(LEASE * 20))
        .await
        .expect("expire");
    assert_eq!(rec.requeued.len(), 1);
    let job = store
        .get_job(first[0].job_id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(
        (job.status, job.attempt, job.owner.clone()),
        (JobStatus::Queued, 2, None)
    );
    assert_eq!(job.reason.as_deref(), Some("attempt 1 lost: lease expired"));

    // Out of retries: the next expiry fails the job and settles the run.
    claim_all(&store, "agent-b").await;
    let rec = store
        .requeue_expired_leases(later(LEASE * 2))
        .await
        .expect("expire again");
    assert_eq!(rec.failed, vec![first[0].job_id]);
    assert_eq!(rec.settled_runs, vec![(enq.run_id, RunStatus::Failure)]);
    let job = store
        .get_job(first[0].job_id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(
        (job.status, job.reason.as_deref()),
        (JobStatus::Failure, Some("lease expired"))
    );
}

async fn recover_after_restart_requeues_while_retries_allow(store: Shared) {
    let yaml = "
name: ci
jobs:
  retried: { retry: 1, steps: [{ run: 'true' }] }
  single: { steps: [{ run: 'true' }] }
  after: { needs: [single], steps: [{ run: 'true' }] }
";
    let enq = store
        .enqueue_run(new_run("web", yaml))
        .await
        .expect("enqueue");
    let mine = claim_all(&store, "server-1").await;
    assert_eq!(mine.len(), 2);
    let elsewhere = store
        .enqueue_run(new_run("api", RETRY_ONCE))
        .await
        .expect("enqueue other");
    let agent_job = claim_all(&store, "agent-x").await;
    assert_eq!(agent_job.len(), 1);

    // The server crashed and comes back.
    let rec = store
        .recover_after_restart("server-1")
        .await
        .expect("recover");
    let retried = mine.iter().find(|j| j.key == "retried").expect("retried");
    let single = mine.iter().find(|j| j.key == "single").expect("single");
    assert_eq!(rec.requeued, vec![retried.job_id]);
    assert_eq!(rec.failed, vec![single.job_id]);
    assert!(rec.settled_runs.is_empty());
    let jobs = store.jobs_of_run(enq.run_id).await.expect("jobs");
    assert_eq!(jobs[1].reason.as_deref(), Some("server restarted"));
    assert_eq!(
        jobs[2].status,
        JobStatus::Queued,
        "a failed need still lets the dispatcher decide"
    );
    let other = store
        .get_job(agent_job[0].job_id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(
        other.status,
        JobStatus::Running,
        "another owner's job is not touched"
    );

    // Second crash while the retry runs: out of attempts now.
    let again = claim_all(&store, "server-1").await;
    assert_eq!(again.len(), 2);
    let rec = store
        .recover_after_restart("server-1")
        .await
        .expect("recover again");
    assert_eq!(rec.failed.len(), 2);
    assert_eq!(rec.settled_runs, vec![(enq.run_id, RunStatus::Failure)]);
    let run = store.get_run(enq.run_id).await.expect("get").expect("run");
    assert_eq!(run.status, RunStatus::Failure, "no run is left running");
    assert_eq!(
        store
            .get_run(elsewhere.run_id)
            .await
            .expect("get")
            .map(|r| r.status),
        Some(RunStatus::Running)
    );
    let trail = event_trail(&store, enq.run_id).await;
    assert!(
        trail.contains(&"job.requeued:retried".to_string()),
        "{trail:?}"
    );
    assert_eq!(trail.last().map(String::as_str), Some("run.finished"));
    // Nothing left to recover: a third call changes nothing.
    assert_eq!(
        store
            .recover_after_restart("server-1")
            .await
            .expect("recover"),
        Default::default()
    );
}

async fn recover_after_restart_cancels_jobs_of_cancelled_runs(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", RETRY_ONCE))
        .await
        .expect("enqueue");
    claim_all(&store, "server-1").await;
    let cancelled = store
        .cancel_run(enq.run_id, Some("ada"))
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, RunStatus::Running);
    let rec = store
        .recover_after_restart("server-1")
        .await
        .expect("recover");
    assert_eq!(rec.cancelled.len(), 1);
    assert!(
        rec.requeued.is_empty(),
        "a cancelled run's job is not retried"
    );
    assert_eq!(rec.settled_runs, vec![(enq.run_id, RunStatus::Cancelled)]);
}
