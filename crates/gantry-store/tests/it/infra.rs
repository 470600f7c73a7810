//! Stories of infra in the server: host checks that append events only on state
//! transitions, saved plans, and apply requests that need someone other than the
//! requester to approve them before they run, then finish with a report.

use gantry_store::{
    ApplyState, EventFilter, FinishedApply, HostState, InfraPlanId, NewHostCheck, NewInfraPlan,
    StoreError, kinds,
};
use serde_json::json;

use crate::harness::Shared;

crate::stories!(
    only_state_transitions_become_events,
    plans_and_applies_need_a_second_person,
    interrupted_applies_fail_after_a_restart,
);

fn check(host: &str, state: HostState, changed: &[&str]) -> NewHostCheck {
    NewHostCheck {
        host: host.into(),
        state,
        changes: changed.len() as u64,
        changed: changed.iter().map(|s| s.to_string()).collect(),
        report: json!({ "mode": "plan", "hosts": [{ "host": host }] }),
    }
}

async fn infra_events(store: &Shared) -> Vec<(String, serde_json::Value)> {
    let filter = EventFilter {
        kind_prefix: Some("infra.".into()),
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

async fn only_state_transitions_become_events(store: Shared) {
    assert_eq!(store.host_check("web1").await.expect("read"), None);
    let prev = store
        .record_host_check(check("web1", HostState::InSync, &[]))
        .await
        .expect("first");
    assert_eq!(prev, None);
    // Same state again: nothing new in the log.
    store
        .record_host_check(check("web1", HostState::InSync, &[]))
        .await
        .expect("again");
    assert!(infra_events(&store).await.is_empty());
    let prev = store
        .record_host_check(check("web1", HostState::Drifted, &["motd", "nginx.conf"]))
        .await
        .expect("drift");
    assert_eq!(prev, Some(HostState::InSync));
    store
        .record_host_check(check("web1", HostState::Drifted, &["motd", "nginx.conf"]))
        .await
        .expect("still drifted");
    store
        .record_host_check(check("db1", HostState::Unreachable, &[]))
        .await
        .expect("db1");
    store
        .record_host_check(check("web1", HostState::InSync, &[]))
        .await
        .expect("back");
    let events = infra_events(&store).await;
    let kinds_seen: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds_seen,
        [
            kinds::INFRA_DRIFT_DETECTED,
            kinds::INFRA_HOST_STATE_CHANGED,
            kinds::INFRA_HOST_STATE_CHANGED
        ]
    );
    assert_eq!(
        events[0].1,
        json!({ "host": "web1", "from": "in_sync", "changes": 2, "changed": ["motd", "nginx.conf"] })
    );
    assert_eq!(events[1].1["to"], "unreachable");
    assert_eq!(events[1].1["from"], "unknown");
    assert_eq!(
        (events[2].1["from"].as_str(), events[2].1["to"].as_str()),
        (Some("drifted"), Some("in_sync"))
    );
    let all = store.host_checks().await.expect("list");
    let names: Vec<(&str, HostState)> = all.iter().map(|c| (c.host.as_str(), c.state)).collect();
    assert_eq!(
        names,
        [("db1", HostState::Unreachable), ("web1", HostState::InSync)]
    );
    assert_eq!(all[1].report["hosts"][0]["host"], "web1");
}

fn new_plan(changes: u64) -> NewInfraPlan {
    NewInfraPlan {
        created_by: "alice".into(),
        hosts_pattern: Some("web*".into()),
        hosts: vec!["web1".into()],
        changes,
        saved: json!({ "format": 1, "hosts": [{ "host": "web1", "fingerprint": "ab", "to_change": ["motd"], "resources": [] }] }),
        report: json!({ "mode": "plan", "hosts": [], "summary": {} }),
    }
}

async fn plans_and_applies_need_a_second_person(store: Shared) {
    let plan = store.create_infra_plan(new_plan(1)).await.expect("plan");
    assert_eq!(
        store.get_infra_plan(plan.id).await.expect("get"),
        Some(plan.clone())
    );
    assert_eq!(plan.hosts, ["web1"]);
    let nothing = store.create_infra_plan(new_plan(0)).await.expect("plan");
    let err = store.request_infra_apply(nothing.id, "alice").await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    let err = store.request_infra_apply(InfraPlanId(999), "alice").await;
    assert!(matches!(err, Err(StoreError::NotFound { .. })), "{err:?}");

    let apply = store
        .request_infra_apply(plan.id, "alice")
        .await
        .expect("request");
    assert_eq!(apply.state, ApplyState::AwaitingApproval);
    // The requester cannot approve their own request.
    let err = store.approve_infra_apply(apply.id, "alice").await;
    assert!(
        matches!(&err, Err(StoreError::Conflict(m)) if m.contains("someone else")),
        "{err:?}"
    );
    // Nothing runs before approval, and finishing an unapproved apply is refused.
    let err = store
        .finish_infra_apply(apply.id, finished(ApplyState::Applied))
        .await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    let approved = store
        .approve_infra_apply(apply.id, "bob")
        .await
        .expect("approve");
    assert_eq!(
        (approved.state, approved.approved_by.as_deref()),
        (ApplyState::Applying, Some("bob"))
    );
    let err = store.approve_infra_apply(apply.id, "carol").await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    let done = store
        .finish_infra_apply(apply.id, finished(ApplyState::Applied))
        .await
        .expect("finish");
    assert_eq!(done.state, ApplyState::Applied);
    assert!(done.finished_at.is_some());
    assert_eq!(done.report, Some(json!({ "mode": "apply" })));
    assert_eq!(
        store.get_infra_apply(apply.id).await.expect("get"),
        Some(done.clone())
    );
    let listed = store.list_infra_applies(None, 10).await.expect("list");
    assert_eq!(listed, std::slice::from_ref(&done));
    let waiting = store
        .list_infra_applies(Some(ApplyState::AwaitingApproval), 10)
        .await
        .expect("list");
    assert!(waiting.is_empty());

    let events = infra_events(&store).await;
    let kinds_seen: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds_seen,
        [
            kinds::INFRA_PLANNED,
            kinds::INFRA_PLANNED,
            kinds::INFRA_APPLY_REQUESTED,
            kinds::INFRA_APPLY_APPROVED,
            kinds::INFRA_APPLIED
        ]
    );
    assert_eq!(events[2].1["to_change"], json!({ "web1": ["motd"] }));
    let applied = &events[4].1;
    assert_eq!(
        (
            applied["requested_by"].as_str(),
            applied["approved_by"].as_str(),
            applied["state"].as_str()
        ),
        (Some("alice"), Some("bob"), Some("applied"))
    );
    assert_eq!(applied["hosts"][0]["changed"], json!(["motd"]));
}

fn finished(state: ApplyState) -> FinishedApply {
    FinishedApply {
        state,
        report: json!({ "mode": "apply" }),
        hosts: json!([{ "host": "web1", "status": "ok", "changed": ["motd"], "failed": [], "not_applied": [] }]),
        summary: json!({ "changed": 1 }),
    }
}

async fn interrupted_applies_fail_after_a_restart(store: Shared) {
    let plan = store.create_infra_plan(new_plan(1)).await.expect("plan");
    let a = store
        .request_infra_apply(plan.id, "alice")
        .await
        .expect("a");
    let b = store
        .request_infra_apply(plan.id, "alice")
        .await
        .expect("b");
    store
        .approve_infra_apply(a.id, "bob")
        .await
        .expect("approve");
    let failed = store
        .fail_interrupted_infra_applies()
        .await
        .expect("recover");
    assert_eq!(failed, [a.id]);
    let a = store.get_infra_apply(a.id).await.expect("get").expect("a");
    assert_eq!(a.state, ApplyState::Failed);
    let b = store.get_infra_apply(b.id).await.expect("get").expect("b");
    assert_eq!(b.state, ApplyState::AwaitingApproval);
}
