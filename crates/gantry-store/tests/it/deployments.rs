//! Stories of deployments the server runs: started with their commit range, progress
//! lines that move each host's phase, waiting for approval, finished once with their
//! record, listed by environment, and failed after a restart — each step in the event
//! log.

use gantry_store::{
    ChangelogEntry, DeployState, DeploymentFilter, DeploymentId, EventFilter, FinishedDeployment,
    NewDeployment, StoreError, kinds,
};
use serde_json::json;

use crate::harness::Shared;

crate::stories!(
    a_deployment_moves_its_hosts_and_ends_once,
    deployments_are_listed_by_environment_and_service,
    interrupted_deployments_fail_after_a_restart,
);

fn new_deployment(service: &str, environment: &str, version: &str) -> NewDeployment {
    NewDeployment {
        service: service.into(),
        environment: environment.into(),
        version: version.into(),
        kind: "deploy".into(),
        trigger: "api".into(),
        triggered_by: "alice".into(),
        project: Some("web".into()),
        run_id: None,
        commit_sha: Some("bbbb".into()),
        previous_version: Some("v1".into()),
        previous_commit: Some("aaaa".into()),
        changelog: vec![ChangelogEntry {
            sha: "bbbb".into(),
            author: "Bob".into(),
            subject: "Faster pages".into(),
        }],
        hosts: vec!["web1".into(), "web2".into()],
    }
}

async fn deploy_events(store: &Shared) -> Vec<(String, serde_json::Value)> {
    let filter = EventFilter {
        kind_prefix: Some("deploy.".into()),
        limit: 1000,
        ..Default::default()
    };
    store
        .events(&filter)
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.kind, e.data))
        .collect()
}

async fn a_deployment_moves_its_hosts_and_ends_once(store: Shared) {
    let bad = NewDeployment {
        kind: "redeploy".into(),
        ..new_deployment("web", "staging", "v2")
    };
    let err = store.create_deployment(bad).await;
    assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");

    let d = store
        .create_deployment(new_deployment("web", "staging", "v2"))
        .await
        .expect("create");
    assert_eq!(d.state, DeployState::Running);
    assert_eq!(d.hosts["web1"]["phase"], "waiting");
    assert_eq!(d.changelog[0].subject, "Faster pages");

    store
        .set_deployment_waiting(d.id, true)
        .await
        .expect("waiting");
    let got = store
        .get_deployment(d.id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(got.state, DeployState::WaitingApproval);
    store
        .set_deployment_waiting(d.id, false)
        .await
        .expect("running");

    let n1 = store
        .add_deployment_line(d.id, None, "taking the lock of staging")
        .await
        .expect("line");
    let n2 = store
        .add_deployment_line(d.id, Some("web1"), "web1: healthy on v2")
        .await
        .expect("line");
    assert_eq!((n1, n2), (1, 2));
    let got = store
        .get_deployment(d.id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(got.state, DeployState::Running);
    assert_eq!(got.hosts["web1"]["phase"], "web1: healthy on v2");
    assert_eq!(got.hosts["web2"]["phase"], "waiting");
    let lines = store.deployment_lines(d.id, 1, 100).await.expect("lines");
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            lines[0].seq,
            lines[0].host.as_deref(),
            lines[0].line.as_str()
        ),
        (2, Some("web1"), "web1: healthy on v2")
    );

    // A record that is not final is refused; the first final one wins, once.
    let err = store
        .finish_deployment(
            d.id,
            FinishedDeployment {
                state: DeployState::Running,
                report: json!({}),
            },
        )
        .await;
    assert!(matches!(err, Err(StoreError::Invalid(_))), "{err:?}");
    let report = json!({ "outcome": "rolled_back", "error": "web2 unhealthy", "hosts": [
        { "host": "web1", "switched": true, "rolled_back": true, "error": null },
        { "host": "web2", "switched": true, "rolled_back": true, "error": "unhealthy" } ] });
    let done = store
        .finish_deployment(
            d.id,
            FinishedDeployment {
                state: DeployState::RolledBack,
                report: report.clone(),
            },
        )
        .await
        .expect("finish");
    assert_eq!(done.state, DeployState::RolledBack);
    assert!(done.finished_at.is_some());
    assert_eq!(done.report, Some(report));
    let again = store
        .finish_deployment(
            d.id,
            FinishedDeployment {
                state: DeployState::Succeeded,
                report: json!({}),
            },
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let late = store.add_deployment_line(d.id, None, "late").await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    let missing = store
        .add_deployment_line(DeploymentId(999), None, "x")
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );

    let events = deploy_events(&store).await;
    let seen: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        seen,
        [
            kinds::DEPLOY_STARTED,
            kinds::DEPLOY_HOST_PROGRESS,
            kinds::DEPLOY_FINISHED
        ]
    );
    assert_eq!(events[0].1["changelog"][0]["sha"], "bbbb");
    assert_eq!(events[0].1["previous_version"], "v1");
    assert_eq!(events[1].1["host"], "web1");
    let fin = &events[2].1;
    assert_eq!(fin["outcome"], "rolled_back");
    assert_eq!(fin["error"], "web2 unhealthy");
    assert_eq!(fin["hosts"][1]["error"], "unhealthy");
    assert!(fin["duration_ms"].as_i64().is_some_and(|ms| ms >= 0));
}

async fn deployments_are_listed_by_environment_and_service(store: Shared) {
    let mut ids = Vec::new();
    for (svc, env, v) in [
        ("web", "staging", "v1"),
        ("api", "staging", "v1"),
        ("web", "production", "v1"),
        ("web", "staging", "v2"),
    ] {
        ids.push(
            store
                .create_deployment(new_deployment(svc, env, v))
                .await
                .expect("create")
                .id,
        );
    }
    store
        .finish_deployment(
            ids[0],
            FinishedDeployment {
                state: DeployState::Succeeded,
                report: json!({ "outcome": "succeeded" }),
            },
        )
        .await
        .expect("finish");
    let list = |service: Option<&str>, environment: Option<&str>, state| DeploymentFilter {
        service: service.map(str::to_string),
        environment: environment.map(str::to_string),
        state,
        limit: 0,
    };
    let got = store
        .list_deployments(&list(Some("web"), Some("staging"), None))
        .await
        .expect("list");
    let versions: Vec<&str> = got.iter().map(|d| d.version.as_str()).collect();
    assert_eq!(versions, ["v2", "v1"], "newest first");
    let got = store
        .list_deployments(&list(None, Some("staging"), Some(DeployState::Succeeded)))
        .await
        .expect("list");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, ids[0]);
    let all = store
        .list_deployments(&DeploymentFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, ids[3]);
}

async fn interrupted_deployments_fail_after_a_restart(store: Shared) {
    let running = store
        .create_deployment(new_deployment("web", "staging", "v2"))
        .await
        .expect("create");
    let waiting = store
        .create_deployment(new_deployment("web", "production", "v2"))
        .await
        .expect("create");
    store
        .set_deployment_waiting(waiting.id, true)
        .await
        .expect("waiting");
    let failed = store.fail_interrupted_deployments().await.expect("recover");
    assert_eq!(failed, [running.id, waiting.id]);
    for id in failed {
        let d = store.get_deployment(id).await.expect("get").expect("some");
        assert_eq!(d.state, DeployState::Failed);
        let error = d.report.as_ref().and_then(|r| r["error"].as_str());
        assert!(
            error.is_some_and(|e| e.contains("server stopped")),
            "{error:?}"
        );
    }
    assert!(
        store
            .fail_interrupted_deployments()
            .await
            .expect("again")
            .is_empty()
    );
}
