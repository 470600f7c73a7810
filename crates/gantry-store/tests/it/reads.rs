//! Stories of the reads behind the UI: filtered, paged run lists and the gauges.

use gantry_store::{JobConclusion, RunFilter, RunStatus, StoreError};

use crate::harness::{Shared, claim_all, finish, new_run};

crate::stories!(
    list_runs_filters_and_pages,
    bad_input_is_rejected_with_a_clear_error
);

const ONE_JOB: &str = "name: ci\njobs:\n  one: { steps: [{ run: 'true' }] }\n";
const DEPLOY: &str = "name: deploy\njobs:\n  one: { steps: [{ run: 'true' }] }\n";

async fn list_runs_filters_and_pages(store: Shared) {
    let mut ids = Vec::new();
    for i in 0..7 {
        let (project, yaml) = match i % 3 {
            0 => ("web", ONE_JOB),
            1 => ("web", DEPLOY),
            _ => ("api", ONE_JOB),
        };
        ids.push(
            store
                .enqueue_run(new_run(project, yaml))
                .await
                .expect("enqueue")
                .run_id,
        );
    }
    // Finish the first run (web/ci #1) successfully.
    let claimed = store
        .claim_jobs("s", 1, crate::harness::LEASE)
        .await
        .expect("claim");
    assert_eq!(claimed[0].run_id, ids[0], "oldest job first");
    finish(&store, &claimed[0], JobConclusion::Success).await;

    let all = store.list_runs(&RunFilter::default()).await.expect("list");
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );

    let web = store
        .list_runs(&RunFilter {
            project: Some("web".into()),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(web.len(), 5);
    let web_ci = store
        .list_runs(&RunFilter {
            project: Some("web".into()),
            pipeline: Some("ci".into()),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        web_ci.iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    let done = store
        .list_runs(&RunFilter {
            status: Some(RunStatus::Success),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(done.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[0]]);

    // Pages of 3, following the last id of each page.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_runs(&RunFilter {
                limit: 3,
                before_id: before,
                ..Default::default()
            })
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        before = page.last().map(|r| r.id);
        pages.push(page.iter().map(|r| r.id).collect::<Vec<_>>());
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    assert_eq!(pages.concat(), all.iter().map(|r| r.id).collect::<Vec<_>>());

    let by_number = store
        .get_run_by_number("web", "deploy", 2)
        .await
        .expect("get")
        .expect("run");
    assert_eq!(by_number.id, ids[4]);
    assert!(
        store
            .get_run_by_number("web", "deploy", 9)
            .await
            .expect("get")
            .is_none()
    );

    let counts = store.runs_by_status().await.expect("counts");
    assert_eq!(counts.len(), 5, "every status, zeros included");
    assert!(counts.contains(&(RunStatus::Success, 1)));
    assert!(counts.contains(&(RunStatus::Queued, 6)));
    assert!(counts.contains(&(RunStatus::Failure, 0)));
    assert_eq!(store.queue_depth().await.expect("depth"), 6);
    store.ping().await.expect("ping");
    let _ = claim_all(&store, "s").await;
    assert_eq!(store.queue_depth().await.expect("depth"), 0);
}

async fn bad_input_is_rejected_with_a_clear_error(store: Shared) {
    let mut run = new_run("", ONE_JOB);
    let err = store
        .enqueue_run(run.clone())
        .await
        .expect_err("empty project");
    assert_eq!(err.to_string(), "invalid input: project must not be empty");
    run.project = "web".into();
    run.plan.jobs[0].needs_index = vec![0];
    let err = store.enqueue_run(run).await.expect_err("self-need");
    assert!(
        err.to_string()
            .contains("needs plan index 0, which does not come before it"),
        "{err}"
    );
    let mut empty = new_run("web", ONE_JOB);
    empty.plan.jobs.clear();
    assert!(matches!(
        store.enqueue_run(empty).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.claim_jobs(" ", 1, crate::harness::LEASE).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(
        store
            .claim_jobs("s", 0, crate::harness::LEASE)
            .await
            .expect("claim none")
            .is_empty()
    );
    assert!(
        store
            .list_runs(&RunFilter::default())
            .await
            .expect("list")
            .is_empty(),
        "nothing half-written"
    );
    assert!(
        store
            .get_run(gantry_store::RunId(1))
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .get_plan(gantry_store::RunId(1))
            .await
            .expect("plan")
            .is_none()
    );
}
