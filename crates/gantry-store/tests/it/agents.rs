//! Stories of agents: jobs routed by their `runs_on` labels, claims that never block on
//! other routes' jobs and never share a job, agents registering (a name bound to its
//! token) and heartbeating, and the per-route and per-agent views.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use gantry_store::{
    AgentRegistration, EventFilter, JobConclusion, JobId, NewToken, Role, Route, StoreError,
    TokenId, agent_owner, kinds,
};

use crate::harness::{LEASE, Shared, event_trail, finish, keys, new_run};

crate::stories!(
    jobs_go_only_to_claimers_with_every_label,
    oldest_matching_job_first_whatever_waits_ahead,
    routed_claimers_never_share_a_job,
    registering_binds_a_name_to_its_token,
    heartbeats_listing_and_running_counts,
    queue_by_route_counts_each_label_set,
    runs_on_survives_a_rerun,
    an_agents_expired_lease_says_the_agent_was_lost,
    deploy_jobs_go_only_to_the_servers_own_pool,
);

fn strings(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

fn route(labels: &[&str], unlabeled: bool) -> Route {
    Route {
        labels: strings(labels),
        unlabeled,
    }
}

async fn claim(
    store: &Shared,
    owner: &str,
    route: &Route,
    limit: usize,
) -> Vec<gantry_store::ClaimedJob> {
    store
        .claim_jobs_routed(owner, route, limit, LEASE)
        .await
        .expect("routed claim")
}

/// `gpu` asks for two labels (written unsorted), `arm` for one, `plain` for none.
const ROUTED: &str = "
name: routed
jobs:
  gpu: { runs_on: [linux, gpu], steps: [{ run: 'true' }] }
  plain: { steps: [{ run: 'true' }] }
  arm: { runs_on: arm, steps: [{ run: 'true' }] }
";

async fn jobs_go_only_to_claimers_with_every_label(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", ROUTED))
        .await
        .expect("enqueue");
    let jobs = store.jobs_of_run(enq.run_id).await.expect("jobs");
    let runs_on: Vec<(&str, Vec<String>)> = jobs
        .iter()
        .map(|j| (j.key.as_str(), j.runs_on.clone()))
        .collect();
    assert_eq!(
        runs_on,
        vec![
            ("gpu", strings(&["gpu", "linux"])),
            ("plain", vec![]),
            ("arm", strings(&["arm"])),
        ]
    );

    // Missing a label (gpu), and not taking unlabeled jobs: nothing fits.
    let linux = agent_owner("linux-1");
    assert!(
        claim(&store, &linux, &route(&["linux"], false), 10)
            .await
            .is_empty()
    );
    // A route that takes nothing at all (the default) takes nothing.
    assert!(
        claim(&store, &linux, &Route::default(), 10)
            .await
            .is_empty()
    );
    // The server's own pool has no labels: it takes only the unlabeled job.
    let server = store.claim_jobs("server", 10, LEASE).await.expect("claim");
    assert_eq!(keys(&server), vec!["plain"]);
    assert!(
        claim(&store, &linux, &route(&["linux"], true), 10)
            .await
            .is_empty()
    );
    // Extra labels do not hurt.
    let big = agent_owner("big-1");
    let got = claim(&store, &big, &route(&["x86", "linux", "gpu"], false), 10).await;
    assert_eq!(keys(&got), vec!["gpu"]);
    let job = store
        .get_job(got[0].job_id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(job.owner.as_deref(), Some("agent:big-1"));
    let got = claim(&store, &agent_owner("arm-1"), &route(&["arm"], true), 10).await;
    assert_eq!(keys(&got), vec!["arm"]);
    assert_eq!(store.queue_depth().await.expect("depth"), 0);

    // The claims append the same events as the server's: the run starts once, and each
    // job.started names its owner.
    assert_eq!(
        event_trail(&store, enq.run_id).await,
        vec![
            "run.queued",
            "job.queued:gpu",
            "job.queued:plain",
            "job.queued:arm",
            "run.started",
            "job.started:plain",
            "job.started:gpu",
            "job.started:arm",
        ]
    );
    let started = store
        .events(&EventFilter {
            run_id: Some(enq.run_id),
            kind_prefix: Some(kinds::JOB_STARTED.into()),
            ..Default::default()
        })
        .await
        .expect("events");
    let owners: Vec<&str> = started
        .iter()
        .filter_map(|e| e.data.get("owner").and_then(|o| o.as_str()))
        .collect();
    assert_eq!(owners, vec!["server", "agent:big-1", "agent:arm-1"]);
}

/// One job per matrix cell, each asking for `runs_on`.
fn wide(name: &str, n: usize, runs_on: &str) -> String {
    let cells: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    format!(
        "name: {name}\njobs:\n  shard:\n    {runs_on}\n    matrix: {{ n: [{}] }}\n    steps: [{{ run: 'true' }}]\n",
        cells.join(", ")
    )
}

async fn oldest_matching_job_first_whatever_waits_ahead(store: Shared) {
    // 1,000 older jobs nobody here may run (a matrix expands to at most 256 jobs).
    for _ in 0..4 {
        store
            .enqueue_run(new_run("web", &wide("arm", 250, "runs_on: arm")))
            .await
            .expect("enqueue arm");
    }
    let one = |name: &str, runs_on: &str| {
        format!("name: {name}\njobs:\n  only: {{ {runs_on} steps: [{{ run: 'true' }}] }}\n")
    };
    let linux_a = store
        .enqueue_run(new_run("web", &one("linux-a", "runs_on: linux,")))
        .await
        .expect("enqueue");
    let plain = store
        .enqueue_run(new_run("web", &one("plain", "")))
        .await
        .expect("enqueue");
    let linux_b = store
        .enqueue_run(new_run("web", &one("linux-b", "runs_on: linux,")))
        .await
        .expect("enqueue");
    assert_eq!(store.queue_depth().await.expect("depth"), 1003);

    // The server's pool finds its one job behind the 1,000.
    let server = store.claim_jobs("server", 5, LEASE).await.expect("claim");
    assert_eq!(server.len(), 1);
    assert_eq!(server[0].run_id, plain.run_id);

    // Across the keys a route takes, the oldest job comes first.
    store
        .enqueue_run(new_run("web", &one("plain-2", "")))
        .await
        .expect("enqueue");
    let both = route(&["linux", "x86"], true);
    let first = claim(&store, &agent_owner("a"), &both, 1).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].run_id, linux_a.run_id);
    let next = claim(&store, &agent_owner("a"), &both, 5).await;
    let runs: Vec<_> = next
        .iter()
        .map(|j| (j.run_id, j.pipeline.as_str()))
        .collect();
    assert_eq!(runs[0], (linux_b.run_id, "linux-b"));
    assert_eq!(runs[1].1, "plain-2");
    assert_eq!(runs.len(), 2);
    assert_eq!(store.queue_depth().await.expect("depth"), 1000);
    let arm = claim(&store, &agent_owner("arm"), &route(&["arm"], false), 1000).await;
    assert_eq!(arm.len(), 1000);
    let ids: Vec<JobId> = arm.iter().map(|j| j.job_id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "oldest first, in order"
    );
}

async fn routed_claimers_never_share_a_job(store: Shared) {
    for (name, runs_on) in [
        ("linux", "runs_on: linux"),
        ("plain", ""),
        ("gpu", "runs_on: [gpu, linux]"),
    ] {
        store
            .enqueue_run(new_run("web", &wide(name, 70, runs_on)))
            .await
            .expect("enqueue");
    }
    let total = 210;
    let routes = [
        route(&["linux"], true),
        route(&["gpu", "linux"], false),
        route(&["linux", "gpu"], true),
        route(&["linux"], false),
    ];
    let mut claimers = Vec::new();
    for c in 0..8 {
        let store = store.clone();
        let route = routes[c % routes.len()].clone();
        claimers.push(tokio::spawn(async move {
            let owner = agent_owner(&format!("agent-{c}"));
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_jobs_routed(&owner, &route, 3, LEASE)
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    if store.queue_depth().await.expect("depth") == 0 {
                        break;
                    }
                    // Another claimer holds the rows right now, or what is left is for
                    // other routes.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                for job in batch {
                    assert_eq!(
                        job.fencing_token, 1,
                        "a job claimed twice would have token 2"
                    );
                    let stored = store.get_job(job.job_id).await.expect("get").expect("job");
                    assert!(route.accepts(&stored.runs_on), "{route:?} got {stored:?}");
                    finish(&store, &job, JobConclusion::Success).await;
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
    assert_eq!(all.len(), total, "every job claimed exactly once");
    assert_eq!(unique.len(), total);
    assert!(
        per_claimer.values().filter(|&&n| n > 0).count() > 1,
        "the work was shared: {per_claimer:?}"
    );
}

async fn agent_token(store: &Shared, name: &str) -> TokenId {
    store
        .create_token(NewToken {
            name: name.into(),
            role: Role::Agent,
            expires_at: None,
            created_by: Some("ada".into()),
        })
        .await
        .expect("token")
        .info
        .id
}

fn registration(name: &str, token_id: TokenId) -> AgentRegistration {
    AgentRegistration {
        name: name.into(),
        version: "0.4.0".into(),
        labels: strings(&["linux", "docker", "linux"]),
        executors: strings(&["host", "docker"]),
        capacity: 4,
        token_id,
    }
}

async fn registering_binds_a_name_to_its_token(store: Shared) {
    let t1 = agent_token(&store, "build-1").await;
    let t2 = agent_token(&store, "build-1-new").await;
    let agent = store
        .register_agent(registration("build-1", t1))
        .await
        .expect("register");
    assert_eq!(agent.name, "build-1");
    assert_eq!(agent.labels, strings(&["docker", "linux"]));
    assert_eq!(agent.executors, strings(&["docker", "host"]));
    assert_eq!((agent.capacity, agent.token_id), (4, t1));
    assert_eq!((agent.draining, agent.running), (false, 0));
    assert_eq!(agent.registered_at, agent.last_seen_at);
    assert_eq!(
        store.get_agent("build-1").await.expect("get"),
        Some(agent.clone())
    );

    // Registering again (the agent restarted, upgraded) updates it in place.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut again = registration("build-1", t1);
    again.version = "0.5.0".into();
    again.labels = strings(&["gpu"]);
    again.capacity = 1;
    let updated = store.register_agent(again).await.expect("re-register");
    assert_eq!(
        (
            updated.version.as_str(),
            updated.labels.clone(),
            updated.capacity
        ),
        ("0.5.0", strings(&["gpu"]), 1)
    );
    assert_eq!(updated.registered_at, agent.registered_at);
    assert!(updated.last_seen_at > agent.last_seen_at);

    // Another token may not take the name while the first one is valid.
    let err = store
        .register_agent(registration("build-1", t2))
        .await
        .expect_err("name is bound to t1");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("'build-1'"), "{err}");
    assert_eq!(
        store
            .get_agent("build-1")
            .await
            .expect("get")
            .map(|a| a.token_id),
        Some(t1)
    );

    // Once it is revoked, the new token takes the name over; the old one is refused.
    assert!(store.revoke_token(t1, Some("ada")).await.expect("revoke"));
    let taken = store
        .register_agent(registration("build-1", t2))
        .await
        .expect("take over");
    assert_eq!(taken.token_id, t2);
    assert_eq!(taken.registered_at, agent.registered_at);
    assert!(matches!(
        store.register_agent(registration("build-1", t1)).await,
        Err(StoreError::Invalid(_))
    ));

    // An expired token's names are free too.
    let short = store
        .create_token(NewToken {
            name: "short".into(),
            role: Role::Agent,
            expires_at: Some(jiff::Timestamp::now() + jiff::SignedDuration::from_millis(1500)),
            created_by: None,
        })
        .await
        .expect("token")
        .info
        .id;
    store
        .register_agent(registration("build-2", short))
        .await
        .expect("register");
    assert!(matches!(
        store.register_agent(registration("build-2", t2)).await,
        Err(StoreError::Conflict(_))
    ));
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let taken = store
        .register_agent(registration("build-2", t2))
        .await
        .expect("take over an expired token's name");
    assert_eq!(taken.token_id, t2);

    // Bad input.
    assert!(matches!(
        store
            .register_agent(registration("build-3", TokenId(987_654)))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    for bad in ["", "has space", "agent:x"] {
        assert!(matches!(
            store.register_agent(registration(bad, t2)).await,
            Err(StoreError::Invalid(_))
        ));
    }
    let mut upper = registration("build-3", t2);
    upper.labels = strings(&["Linux"]);
    assert!(matches!(
        store.register_agent(upper).await,
        Err(StoreError::Invalid(_))
    ));
    let mut idle = registration("build-3", t2);
    idle.capacity = 0;
    assert!(matches!(
        store.register_agent(idle).await,
        Err(StoreError::Invalid(_))
    ));

    // Each successful registration left one event, none of the refused ones did.
    let events = store
        .events(&EventFilter {
            kind_prefix: Some(kinds::AGENT_REGISTERED.into()),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].actor.as_deref(), Some("agent:build-1"));
    assert_eq!(events[0].data["name"], "build-1");
    assert_eq!(events[0].data["version"], "0.4.0");
    assert_eq!(
        events[0].data["labels"],
        serde_json::json!(["docker", "linux"])
    );
    assert_eq!(events[0].data["capacity"], 4);
    assert_eq!(events[2].data["token_id"], t2.0);
}

async fn heartbeats_listing_and_running_counts(store: Shared) {
    let token = agent_token(&store, "agents").await;
    for name in ["zeta", "alpha"] {
        store
            .register_agent(registration(name, token))
            .await
            .expect("register");
    }
    let before = store.get_agent("zeta").await.expect("get").expect("zeta");
    let registered = store
        .events(&EventFilter::default())
        .await
        .expect("events")
        .len();

    tokio::time::sleep(Duration::from_millis(5)).await;
    store.agent_seen("zeta", true).await.expect("seen");
    let seen = store.get_agent("zeta").await.expect("get").expect("zeta");
    assert!(seen.draining);
    assert!(seen.last_seen_at > before.last_seen_at);
    assert_eq!(
        store
            .events(&EventFilter::default())
            .await
            .expect("events")
            .len(),
        registered,
        "heartbeats append no event"
    );
    assert!(matches!(
        store.agent_seen("nobody", false).await,
        Err(StoreError::NotFound { .. })
    ));
    // Registering again clears draining (the agent restarted).
    store
        .register_agent(registration("zeta", token))
        .await
        .expect("re-register");
    assert!(
        !store
            .get_agent("zeta")
            .await
            .expect("get")
            .expect("zeta")
            .draining
    );
    assert_eq!(store.get_agent("nobody").await.expect("get"), None);

    let enq = store
        .enqueue_run(new_run("web", &wide("linux", 4, "runs_on: linux")))
        .await
        .expect("enqueue");
    let linux = route(&["linux"], false);
    let alpha_first = claim(&store, &agent_owner("alpha"), &linux, 1).await;
    let alpha_second = claim(&store, &agent_owner("alpha"), &linux, 1).await;
    let zeta = claim(&store, &agent_owner("zeta"), &linux, 1).await;
    let running: Vec<(String, u32)> = store
        .list_agents()
        .await
        .expect("list")
        .into_iter()
        .map(|a| (a.name, a.running))
        .collect();
    assert_eq!(
        running,
        vec![("alpha".to_string(), 2), ("zeta".to_string(), 1)]
    );

    let of_alpha = store
        .running_jobs_of(&agent_owner("alpha"))
        .await
        .expect("running");
    let ids: Vec<JobId> = of_alpha.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![alpha_first[0].job_id, alpha_second[0].job_id]);
    assert!(
        of_alpha
            .iter()
            .all(|j| j.run_id == enq.run_id && j.runs_on == strings(&["linux"]))
    );
    finish(&store, &alpha_first[0], JobConclusion::Success).await;
    let of_alpha = store
        .running_jobs_of(&agent_owner("alpha"))
        .await
        .expect("running");
    assert_eq!(of_alpha.len(), 1);
    assert_eq!(
        store
            .get_agent("alpha")
            .await
            .expect("get")
            .map(|a| a.running),
        Some(1)
    );
    let of_zeta = store.running_jobs_of("agent:zeta").await.expect("running");
    assert_eq!(of_zeta.len(), 1);
    assert_eq!(of_zeta[0].id, zeta[0].job_id);
    assert!(
        store
            .running_jobs_of("server")
            .await
            .expect("running")
            .is_empty()
    );

    // zeta's process died and a new one registers: its job moves on, and says why.
    let rec = store
        .recover_after_restart(&agent_owner("zeta"))
        .await
        .expect("recover");
    assert_eq!(rec.failed, vec![zeta[0].job_id]);
    let job = store
        .get_job(zeta[0].job_id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(job.reason.as_deref(), Some("agent restarted"));
    assert_eq!(
        store
            .get_agent("zeta")
            .await
            .expect("get")
            .map(|a| a.running),
        Some(0)
    );
}

async fn queue_by_route_counts_each_label_set(store: Shared) {
    assert!(store.queue_by_route().await.expect("view").is_empty());
    store
        .enqueue_run(new_run("web", &wide("plain", 3, "")))
        .await
        .expect("enqueue");
    store
        .enqueue_run(new_run("web", &wide("gpu", 2, "runs_on: [linux, gpu]")))
        .await
        .expect("enqueue");
    store
        .enqueue_run(new_run("web", ROUTED))
        .await
        .expect("enqueue");
    let view = store.queue_by_route().await.expect("view");
    let counts: Vec<(Vec<String>, u64)> =
        view.iter().map(|v| (v.runs_on.clone(), v.queued)).collect();
    assert_eq!(
        counts,
        vec![
            (vec![], 4),
            (strings(&["gpu", "linux"]), 3),
            (strings(&["arm"]), 1),
        ]
    );
    assert!(view.iter().all(|v| v.oldest_queued_at.is_some()));

    store.claim_jobs("server", 10, LEASE).await.expect("claim");
    let view = store.queue_by_route().await.expect("view");
    let counts: Vec<(Vec<String>, u64)> =
        view.iter().map(|v| (v.runs_on.clone(), v.queued)).collect();
    assert_eq!(
        counts,
        vec![(strings(&["gpu", "linux"]), 3), (strings(&["arm"]), 1)]
    );
}

async fn runs_on_survives_a_rerun(store: Shared) {
    let first = store
        .enqueue_run(new_run("web", ROUTED))
        .await
        .expect("enqueue");
    let everything = route(&["arm", "gpu", "linux"], true);
    for job in claim(&store, &agent_owner("all"), &everything, 10).await {
        let result = if job.key == "gpu" {
            JobConclusion::Failure
        } else {
            JobConclusion::Success
        };
        finish(&store, &job, result).await;
    }
    for failed_only in [true, false] {
        let again = store
            .rerun(first.run_id, failed_only, Some("ada"))
            .await
            .expect("rerun");
        let jobs = store.jobs_of_run(again.run_id).await.expect("jobs");
        let runs_on: Vec<Vec<String>> = jobs.iter().map(|j| j.runs_on.clone()).collect();
        assert_eq!(
            runs_on,
            vec![strings(&["gpu", "linux"]), vec![], strings(&["arm"])]
        );
        // The server's pool still never takes the gpu job.
        let server = store.claim_jobs("server", 10, LEASE).await.expect("claim");
        assert!(server.iter().all(|j| j.key == "plain"), "{server:?}");
        let gpu = claim(
            &store,
            &agent_owner("gpu"),
            &route(&["gpu", "linux"], false),
            10,
        )
        .await;
        assert_eq!(keys(&gpu), vec!["gpu"]);
        for job in server.iter().chain(&gpu) {
            finish(&store, job, JobConclusion::Success).await;
        }
        let rest = claim(&store, &agent_owner("all"), &everything, 10).await;
        for job in &rest {
            finish(&store, job, JobConclusion::Success).await;
        }
        let expected_rest = if failed_only { 0 } else { 1 };
        assert_eq!(rest.len(), expected_rest, "{rest:?}");
    }
}

async fn an_agents_expired_lease_says_the_agent_was_lost(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", ROUTED))
        .await
        .expect("enqueue");
    let owner = agent_owner("gone");
    let claimed = claim(&store, &owner, &route(&["arm"], false), 1).await;
    assert_eq!(claimed.len(), 1);
    let later =
        jiff::Timestamp::now() + jiff::SignedDuration::try_from(LEASE * 2).expect("duration");
    let rec = store.requeue_expired_leases(later).await.expect("expire");
    // No retry: the job fails, and the reason names the agent, not only the lease.
    assert_eq!(rec.failed, vec![claimed[0].job_id]);
    let job = store
        .get_job(claimed[0].job_id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(
        job.reason.as_deref(),
        Some("agent lost (its lease expired)")
    );
    assert_eq!(job.run_id, enq.run_id);
}

/// A deploy job without `runs_on` is routed to the server's own pool (the hosts' keys and
/// the deployment records live there), whatever takes unlabeled jobs; one with `runs_on`
/// keeps its labels.
const DEPLOYS: &str = "
name: ship
jobs:
  build: { steps: [{ run: 'true' }] }
  deploy: { needs: [build], deploy: { service: web, environment: staging } }
  labelled: { needs: [build], runs_on: [linux], deploy: { service: web, environment: qa } }
";

async fn deploy_jobs_go_only_to_the_servers_own_pool(store: Shared) {
    let enq = store
        .enqueue_run(new_run("web", DEPLOYS))
        .await
        .expect("enqueue");
    let jobs = store.jobs_of_run(enq.run_id).await.expect("jobs");
    let routes: Vec<(&str, Vec<String>)> = jobs
        .iter()
        .map(|j| (j.key.as_str(), j.runs_on.clone()))
        .collect();
    assert_eq!(
        routes,
        vec![
            ("build", vec![]),
            ("deploy", strings(&[gantry_store::SERVER_LABEL])),
            ("labelled", strings(&["linux"])),
        ]
    );
    let server = store.claim_jobs("server", 10, LEASE).await.expect("claim");
    assert_eq!(keys(&server), vec!["build"]);
    finish(&store, &server[0], JobConclusion::Success).await;
    // An agent taking unlabeled jobs, or with every label it may have, never gets it.
    let agent = agent_owner("any-1");
    let got = claim(&store, &agent, &route(&["linux"], true), 10).await;
    assert_eq!(keys(&got), vec!["labelled"], "only the labelled deploy job");
    // The server's pool takes it even when agents take the unlabeled jobs.
    let got = claim(&store, "server", &Route::server_pool(false), 10).await;
    assert_eq!(keys(&got), vec!["deploy"]);
}
