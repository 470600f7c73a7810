//! Stories of many hands at once: concurrent claimers never share a job, concurrent
//! enqueues never share a run number.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use gantry_store::{EventFilter, JobConclusion, JobId, JobOutcome, JobStatus, RunStatus, kinds};

use crate::harness::{LEASE, Shared, new_run};

crate::stories!(
    twenty_claimers_take_every_job_exactly_once,
    run_numbers_are_unique_per_pipeline_under_concurrency
);

/// A pipeline of `n` independent jobs (a matrix, as a user would write it).
fn wide(n: usize) -> String {
    let cells: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    format!(
        "name: wide\njobs:\n  shard:\n    matrix: {{ n: [{}] }}\n    steps: [{{ run: 'true' }}]\n",
        cells.join(", ")
    )
}

async fn twenty_claimers_take_every_job_exactly_once(store: Shared) {
    const JOBS_PER_RUN: usize = 100;
    let mut runs = Vec::new();
    for _ in 0..2 {
        runs.push(
            store
                .enqueue_run(new_run("web", &wide(JOBS_PER_RUN)))
                .await
                .expect("enqueue")
                .run_id,
        );
    }
    assert_eq!(
        store.queue_depth().await.expect("depth"),
        2 * JOBS_PER_RUN as u64
    );

    let mut claimers = Vec::new();
    for c in 0..20 {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            let owner = format!("claimer-{c}");
            let mut mine: Vec<JobId> = Vec::new();
            loop {
                let batch = store.claim_jobs(&owner, 3, LEASE).await.expect("claim");
                if batch.is_empty() {
                    if store.queue_depth().await.expect("depth") == 0 {
                        break;
                    }
                    // Another claimer holds the rows right now (PostgreSQL skips them).
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                for job in batch {
                    assert_eq!(
                        job.fencing_token, 1,
                        "a job claimed twice would have token 2"
                    );
                    store
                        .finish_job(
                            job.job_id,
                            job.fencing_token,
                            JobOutcome::new(JobConclusion::Success),
                        )
                        .await
                        .expect("finish");
                    mine.push(job.job_id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    let mut per_claimer = HashMap::new();
    for (i, claimer) in claimers.into_iter().enumerate() {
        let mine = claimer.await.expect("claimer task");
        per_claimer.insert(i, mine.len());
        all.extend(mine);
    }
    let unique: HashSet<JobId> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        2 * JOBS_PER_RUN,
        "every job claimed exactly once"
    );
    assert_eq!(unique.len(), all.len());
    assert!(
        per_claimer.values().filter(|&&n| n > 0).count() > 1,
        "the work was shared: {per_claimer:?}"
    );

    for run in runs {
        let r = store.get_run(run).await.expect("get").expect("run");
        assert_eq!(r.status, RunStatus::Success);
        let jobs = store.jobs_of_run(run).await.expect("jobs");
        assert!(
            jobs.iter()
                .all(|j| j.status == JobStatus::Success && j.fencing_token == 1)
        );
        let started = store
            .events(&EventFilter {
                run_id: Some(run),
                kind_prefix: Some(kinds::JOB_STARTED.into()),
                limit: 1000,
                ..Default::default()
            })
            .await
            .expect("events");
        assert_eq!(started.len(), JOBS_PER_RUN);
        let run_started = store
            .events(&EventFilter {
                run_id: Some(run),
                kind_prefix: Some(kinds::RUN_STARTED.into()),
                ..Default::default()
            })
            .await
            .expect("events");
        assert_eq!(
            run_started.len(),
            1,
            "the run started once, whoever claimed first"
        );
    }
}

async fn run_numbers_are_unique_per_pipeline_under_concurrency(store: Shared) {
    let targets = [
        ("web", "ci", 12usize),
        ("web", "deploy", 6),
        ("api", "ci", 6),
    ];
    let mut tasks = Vec::new();
    for (project, pipeline, count) in targets {
        for _ in 0..count {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let yaml =
                    format!("name: {pipeline}\njobs:\n  one: {{ steps: [{{ run: 'true' }}] }}\n");
                let enq = store
                    .enqueue_run(new_run(project, &yaml))
                    .await
                    .expect("enqueue");
                (project, pipeline, enq.number)
            }));
        }
    }
    let mut numbers: HashMap<(&str, &str), Vec<i64>> = HashMap::new();
    for task in tasks {
        let (project, pipeline, number) = task.await.expect("task");
        numbers.entry((project, pipeline)).or_default().push(number);
    }
    for (project, pipeline, count) in targets {
        let mut got = numbers.remove(&(project, pipeline)).expect("numbers");
        got.sort();
        let expected: Vec<i64> = (1..=count as i64).collect();
        assert_eq!(got, expected, "{project}/{pipeline}");
    }
    let next = store
        .enqueue_run(new_run(
            "web",
            "name: ci\njobs:\n  one: { steps: [{ run: 'true' }] }\n",
        ))
        .await
        .expect("enqueue");
    assert_eq!(next.number, 13);
}
