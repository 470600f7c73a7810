//! GitHub deliveries: push, tag push, branch deletion, pull_request and ping, verified and
//! parsed from sample payloads.

use crate::hooks::{SECRET, fixture, github_headers};
use gantry_core::Secret;
use gantry_pipeline::TriggerEvent;
use gantry_scm::{Forge, Payload, PullRequestAction, RefTarget, WebhookError, parse, verify};

#[test]
fn push_is_verified_parsed_and_becomes_a_branch_push() {
    let body = fixture("github/push.json");
    let headers = github_headers("push", &body);
    verify(Forge::GitHub, &headers, &body, &Secret::new(SECRET)).unwrap();
    let event = parse(Forge::GitHub, &headers, &body).unwrap();
    assert_eq!(event.delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(event.kind, "push");
    let Payload::Push(push) = &event.payload else {
        panic!("not a push: {event:?}")
    };
    assert_eq!(push.repository.full_name, "acme/web");
    assert_eq!(
        push.repository.clone_url.as_deref(),
        Some("https://github.com/acme/web.git")
    );
    assert_eq!(
        push.repository.ssh_url.as_deref(),
        Some("git@github.com:acme/web.git")
    );
    assert_eq!(push.target, RefTarget::Branch("main".into()));
    assert_eq!(push.before, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_eq!(push.after, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
    assert!(!push.created && !push.deleted && !push.forced);
    assert_eq!(push.commits.len(), 2);
    assert_eq!(push.commits[0].author.username.as_deref(), Some("monalisa"));
    assert_eq!(
        push.head_commit().unwrap().message,
        "Document /healthz\n\nAnd drop the old status page."
    );
    assert_eq!(push.pusher.as_deref(), Some("octocat"));
    assert_eq!(
        push.compare_url.as_deref(),
        Some("https://github.com/acme/web/compare/6113728f27ae...0d1a26e67d8f")
    );
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::Push {
            branch: Some("main".into()),
            tag: None,
            changed_files: Some(vec![
                "Cargo.toml".into(),
                "docs/health.md".into(),
                "docs/status.md".into(),
                "src/health.rs".into(),
                "src/main.rs".into(),
            ]),
        })
    );
    assert_eq!(
        event.head_sha(),
        Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c")
    );
    // The server stores events as JSON; nothing is lost on the way.
    let stored = serde_json::to_string(&event).unwrap();
    assert_eq!(
        serde_json::from_str::<gantry_scm::WebhookEvent>(&stored).unwrap(),
        event
    );
}

#[test]
fn tag_push_becomes_a_tag_push_without_files() {
    let body = fixture("github/push_tag.json");
    let headers = github_headers("push", &body);
    verify(Forge::GitHub, &headers, &body, &Secret::new(SECRET)).unwrap();
    let event = parse(Forge::GitHub, &headers, &body).unwrap();
    let Payload::Push(push) = &event.payload else {
        panic!("not a push")
    };
    assert!(push.created);
    assert_eq!(push.target, RefTarget::Tag("v1.4.0".into()));
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::Push {
            branch: None,
            tag: Some("v1.4.0".into()),
            changed_files: None
        })
    );
}

#[test]
fn branch_deletion_starts_no_run() {
    let body = fixture("github/push_delete.json");
    let event = parse(Forge::GitHub, &github_headers("push", &body), &body).unwrap();
    let Payload::Push(push) = &event.payload else {
        panic!("not a push")
    };
    assert!(push.deleted);
    assert_eq!(push.target, RefTarget::Branch("feature/old-login".into()));
    assert_eq!(event.trigger_event(), None);
    assert_eq!(event.head_sha(), None);
}

#[test]
fn pull_request_from_a_fork() {
    let body = fixture("github/pull_request.json");
    let headers = github_headers("pull_request", &body);
    verify(Forge::GitHub, &headers, &body, &Secret::new(SECRET)).unwrap();
    let event = parse(Forge::GitHub, &headers, &body).unwrap();
    let Payload::PullRequest(pr) = &event.payload else {
        panic!("not a pull request")
    };
    assert_eq!(pr.action, PullRequestAction::Opened);
    assert_eq!(pr.number, 42);
    assert_eq!(pr.title, "Add rate limiting to the login endpoint");
    assert_eq!(pr.head_sha, "c3f1e2d4b5a697887766554433221100ffeeddcc");
    assert_eq!(pr.head_branch, "rate-limit");
    assert_eq!(
        pr.head_clone_url.as_deref(),
        Some("https://github.com/hubot/web.git")
    );
    assert_eq!(pr.base_branch, "main");
    assert_eq!(
        pr.base_sha.as_deref(),
        Some("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c")
    );
    assert_eq!(pr.author.as_deref(), Some("hubot"));
    assert_eq!(
        pr.html_url.as_deref(),
        Some("https://github.com/acme/web/pull/42")
    );
    assert_eq!(event.repository().unwrap().full_name, "acme/web");
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::PullRequest {
            base_branch: "main".into(),
            changed_files: None
        })
    );
}

#[test]
fn pull_request_actions_that_bring_no_code_start_no_run() {
    let text = String::from_utf8(fixture("github/pull_request.json")).unwrap();
    for (action, merged, want) in [
        ("synchronize", false, PullRequestAction::Synchronized),
        ("reopened", false, PullRequestAction::Reopened),
        ("closed", true, PullRequestAction::Merged),
        ("closed", false, PullRequestAction::Closed),
        ("labeled", false, PullRequestAction::Other("labeled".into())),
    ] {
        let body = text
            .replacen(
                "\"action\": \"opened\"",
                &format!("\"action\": \"{action}\""),
                1,
            )
            .replacen("\"merged\": false", &format!("\"merged\": {merged}"), 1);
        let event = parse(
            Forge::GitHub,
            &github_headers("pull_request", body.as_bytes()),
            body.as_bytes(),
        )
        .unwrap();
        let Payload::PullRequest(pr) = &event.payload else {
            panic!("not a pull request")
        };
        assert_eq!(pr.action, want, "{action}");
        assert_eq!(event.trigger_event().is_some(), want.builds(), "{action}");
    }
}

#[test]
fn ping_is_recognized() {
    let body = fixture("github/ping.json");
    let headers = github_headers("ping", &body);
    verify(Forge::GitHub, &headers, &body, &Secret::new(SECRET)).unwrap();
    let event = parse(Forge::GitHub, &headers, &body).unwrap();
    let Payload::Ping(ping) = &event.payload else {
        panic!("not a ping")
    };
    assert_eq!(ping.hook_id, Some(479201823));
    assert_eq!(ping.zen.as_deref(), Some("Keep it logically awesome."));
    assert_eq!(ping.repository.as_ref().unwrap().full_name, "acme/web");
    assert_eq!(event.trigger_event(), None);
}

#[test]
fn unknown_event_kinds_are_ignored_not_errors() {
    let body = br#"{"action":"created","starred_at":"2024-05-16T09:00:00Z"}"#;
    let event = parse(Forge::GitHub, &github_headers("star", body), body).unwrap();
    assert_eq!(event.payload, Payload::Ignored);
    assert_eq!(event.kind, "star");
    assert_eq!(event.trigger_event(), None);
}

#[test]
fn a_wrong_secret_or_changed_body_is_a_mismatch() {
    let body = fixture("github/push.json");
    let headers = github_headers("push", &body);
    let err = verify(Forge::GitHub, &headers, &body, &Secret::new("wrong secret")).unwrap_err();
    assert_eq!(
        err,
        WebhookError::SignatureMismatch {
            header: "X-Hub-Signature-256"
        }
    );
    let mut changed = body.clone();
    changed.push(b' ');
    assert_eq!(
        verify(Forge::GitHub, &headers, &changed, &Secret::new(SECRET))
            .unwrap_err()
            .http_status(),
        401
    );
}
