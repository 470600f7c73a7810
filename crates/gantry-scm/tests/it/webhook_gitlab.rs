//! GitLab deliveries: Push Hook, Tag Push Hook and Merge Request Hook, authenticated by
//! `X-Gitlab-Token`.

use crate::hooks::{SECRET, fixture, gitlab_headers, headers};
use gantry_core::Secret;
use gantry_pipeline::TriggerEvent;
use gantry_scm::{Forge, Payload, PullRequestAction, RefTarget, WebhookError, parse, verify};

#[test]
fn push_hook() {
    let body = fixture("gitlab/push.json");
    let headers = gitlab_headers("Push Hook");
    verify(Forge::GitLab, &headers, &body, &Secret::new(SECRET)).unwrap();
    let event = parse(Forge::GitLab, &headers, &body).unwrap();
    assert_eq!(event.delivery_id, "13792a34-cac6-4fda-95a8-c58e00a3954e");
    assert_eq!(event.kind, "Push Hook");
    let Payload::Push(push) = &event.payload else {
        panic!("not a push")
    };
    assert_eq!(push.repository.full_name, "platform/backend/diaspora");
    assert_eq!(
        push.repository.clone_url.as_deref(),
        Some("https://gitlab.example.com/platform/backend/diaspora.git")
    );
    assert_eq!(
        push.repository.ssh_url.as_deref(),
        Some("git@gitlab.example.com:platform/backend/diaspora.git")
    );
    assert_eq!(push.before, "95790bf891e76fee5e1747ab589903a6a1f80f22");
    assert_eq!(push.after, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert_eq!(push.pusher.as_deref(), Some("jsmith"));
    assert_eq!(push.commits[1].author.name, "GitLab dev user");
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::Push {
            branch: Some("main".into()),
            tag: None,
            changed_files: Some(vec![
                "CHANGELOG".into(),
                "README.md".into(),
                "app/controller/application.rb".into(),
                "doc/old.md".into(),
            ]),
        })
    );
}

#[test]
fn more_commits_than_listed_leaves_files_unknown() {
    let text = String::from_utf8(fixture("gitlab/push.json")).unwrap();
    let body = text.replace("\"total_commits_count\": 2", "\"total_commits_count\": 35");
    let event = parse(Forge::GitLab, &gitlab_headers("Push Hook"), body.as_bytes()).unwrap();
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::Push {
            branch: Some("main".into()),
            tag: None,
            changed_files: None
        })
    );
}

#[test]
fn tag_push_hook() {
    let body = fixture("gitlab/tag_push.json");
    let event = parse(Forge::GitLab, &gitlab_headers("Tag Push Hook"), &body).unwrap();
    let Payload::Push(push) = &event.payload else {
        panic!("not a push")
    };
    assert_eq!(push.target, RefTarget::Tag("v1.0.0".into()));
    assert!(push.created);
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::Push {
            branch: None,
            tag: Some("v1.0.0".into()),
            changed_files: None
        })
    );
}

#[test]
fn deleted_branch_is_inferred_from_the_zero_sha() {
    let text = String::from_utf8(fixture("gitlab/push.json")).unwrap();
    let body = text.replacen(
        "\"after\": \"da1560886d4f094c3e6c9ef40349f7d38b5d27d7\"",
        "\"after\": \"0000000000000000000000000000000000000000\"",
        1,
    );
    let event = parse(Forge::GitLab, &gitlab_headers("Push Hook"), body.as_bytes()).unwrap();
    let Payload::Push(push) = &event.payload else {
        panic!("not a push")
    };
    assert!(push.deleted);
    assert_eq!(event.trigger_event(), None);
}

#[test]
fn merge_request_hook() {
    let body = fixture("gitlab/merge_request.json");
    let event = parse(Forge::GitLab, &gitlab_headers("Merge Request Hook"), &body).unwrap();
    let Payload::PullRequest(mr) = &event.payload else {
        panic!("not a merge request")
    };
    assert_eq!(mr.action, PullRequestAction::Opened);
    assert_eq!(mr.number, 1);
    assert_eq!(mr.title, "MS-Viewport");
    assert_eq!(mr.head_branch, "ms-viewport");
    assert_eq!(mr.head_sha, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert_eq!(mr.base_branch, "main");
    assert_eq!(
        mr.head_clone_url.as_deref(),
        Some("https://gitlab.example.com/awesome_space/awesome_project.git")
    );
    assert_eq!(mr.author.as_deref(), Some("root"));
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::PullRequest {
            base_branch: "main".into(),
            changed_files: None
        })
    );
}

#[test]
fn merge_request_update_with_oldrev_is_new_code() {
    let text = String::from_utf8(fixture("gitlab/merge_request.json")).unwrap();
    let edited = text.replace("\"action\": \"open\"", "\"action\": \"update\"");
    let pushed = edited.replace(
        "\"action\": \"update\"",
        "\"action\": \"update\", \"oldrev\": \"95790bf891e76fee5e1747ab589903a6a1f80f22\"",
    );
    let action = |body: &str| match parse(
        Forge::GitLab,
        &gitlab_headers("Merge Request Hook"),
        body.as_bytes(),
    )
    .unwrap()
    .payload
    {
        Payload::PullRequest(mr) => mr.action,
        other => panic!("not a merge request: {other:?}"),
    };
    assert_eq!(action(&edited), PullRequestAction::Edited);
    assert_eq!(action(&pushed), PullRequestAction::Synchronized);
    assert_eq!(
        action(&text.replace("\"action\": \"open\"", "\"action\": \"merge\"")),
        PullRequestAction::Merged
    );
}

#[test]
fn token_checks() {
    let body = fixture("gitlab/push.json");
    let secret = Secret::new(SECRET);
    assert_eq!(
        verify(
            Forge::GitLab,
            &headers(&[("X-Gitlab-Event", "Push Hook")]),
            &body,
            &secret
        )
        .unwrap_err(),
        WebhookError::MissingSignature {
            header: "X-Gitlab-Token"
        }
    );
    let wrong = headers(&[("X-Gitlab-Token", "It's a Secret to Everybody!")]);
    let err = verify(Forge::GitLab, &wrong, &body, &secret).unwrap_err();
    assert_eq!(
        err,
        WebhookError::SignatureMismatch {
            header: "X-Gitlab-Token"
        }
    );
    assert!(!format!("{err} {err:?}").contains("Secret to Everybody"));
    // A prefix of the secret is not the secret.
    let prefix = headers(&[("X-Gitlab-Token", "It's a Secret")]);
    assert!(verify(Forge::GitLab, &prefix, &body, &secret).is_err());
}

#[test]
fn system_hooks_and_other_kinds_are_ignored() {
    let body = br#"{"object_kind":"pipeline","object_attributes":{"id":31,"status":"success"}}"#;
    let event = parse(Forge::GitLab, &gitlab_headers("Pipeline Hook"), body).unwrap();
    assert_eq!(event.payload, Payload::Ignored);
}
