//! Gitea/Forgejo deliveries: push (complete and with a capped commit list) and
//! pull_request, verified under both header spellings.

use crate::hooks::{SECRET, fixture, gitea_headers, headers, hmac_hex};
use gantry_core::Secret;
use gantry_pipeline::TriggerEvent;
use gantry_scm::{Forge, Payload, PullRequestAction, RefTarget, WebhookError, parse, verify};

#[test]
fn push_is_verified_parsed_and_lists_changed_files() {
    let body = fixture("gitea/push.json");
    let headers = gitea_headers("push", &body);
    verify(Forge::Gitea, &headers, &body, &Secret::new(SECRET)).unwrap();
    let event = parse(Forge::Gitea, &headers, &body).unwrap();
    assert_eq!(event.forge, Forge::Gitea);
    assert_eq!(event.delivery_id, "f6266f16-1bf3-46a5-9ea4-602e06ead473");
    let Payload::Push(push) = &event.payload else {
        panic!("not a push")
    };
    assert_eq!(push.repository.full_name, "ops/infra");
    assert_eq!(
        push.repository.clone_url.as_deref(),
        Some("https://git.example.com/ops/infra.git")
    );
    assert_eq!(push.repository.default_branch.as_deref(), Some("main"));
    assert_eq!(push.target, RefTarget::Branch("main".into()));
    assert_eq!(push.pusher.as_deref(), Some("ada"));
    assert!(
        push.compare_url
            .as_deref()
            .unwrap()
            .starts_with("https://git.example.com/ops/infra/compare/")
    );
    assert!(!push.commits_truncated);
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::Push {
            branch: Some("main".into()),
            tag: None,
            changed_files: Some(vec![
                "gantry.yml".into(),
                "infra/web.yml".into(),
                "monitors/staging.yml".into()
            ]),
        })
    );
}

#[test]
fn a_capped_commit_list_leaves_changed_files_unknown() {
    let body = fixture("gitea/push_truncated.json");
    let event = parse(Forge::Gitea, &gitea_headers("push", &body), &body).unwrap();
    let Payload::Push(push) = &event.payload else {
        panic!("not a push")
    };
    assert!(push.commits_truncated);
    assert_eq!(push.changed_files(), None);
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
fn pull_request_synchronized() {
    let body = fixture("gitea/pull_request.json");
    let headers = gitea_headers("pull_request", &body);
    verify(Forge::Gitea, &headers, &body, &Secret::new(SECRET)).unwrap();
    let event = parse(Forge::Gitea, &headers, &body).unwrap();
    let Payload::PullRequest(pr) = &event.payload else {
        panic!("not a pull request")
    };
    assert_eq!(pr.action, PullRequestAction::Synchronized);
    assert_eq!(pr.number, 7);
    assert_eq!(pr.head_branch, "monitors-split");
    assert_eq!(pr.head_sha, "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d");
    // Same repository, not a fork.
    assert_eq!(pr.head_clone_url, None);
    assert_eq!(pr.author.as_deref(), Some("grace"));
    assert_eq!(
        event.trigger_event(),
        Some(TriggerEvent::PullRequest {
            base_branch: "main".into(),
            changed_files: None
        })
    );
}

#[test]
fn forgejo_headers_are_accepted() {
    let body = fixture("gitea/push.json");
    let sig = hmac_hex(SECRET, &body);
    let forgejo = headers(&[
        ("X-Forgejo-Event", "push"),
        ("X-Forgejo-Delivery", "0b5e7f7e-4a4c-4d0e-9d59-1f1b7a1e1c2d"),
        ("X-Forgejo-Signature", &sig),
    ]);
    verify(Forge::Gitea, &forgejo, &body, &Secret::new(SECRET)).unwrap();
    let event = parse(Forge::Gitea, &forgejo, &body).unwrap();
    assert_eq!(event.delivery_id, "0b5e7f7e-4a4c-4d0e-9d59-1f1b7a1e1c2d");
    assert!(matches!(event.payload, Payload::Push(_)));
}

#[test]
fn signature_errors_are_distinct() {
    let body = fixture("gitea/push.json");
    let secret = Secret::new(SECRET);
    let missing = headers(&[("X-Gitea-Event", "push")]);
    assert_eq!(
        verify(Forge::Gitea, &missing, &body, &secret).unwrap_err(),
        WebhookError::MissingSignature {
            header: "X-Gitea-Signature"
        }
    );
    let not_hex = headers(&[("X-Gitea-Signature", &"zz".repeat(32))]);
    assert!(matches!(
        verify(Forge::Gitea, &not_hex, &body, &secret).unwrap_err(),
        WebhookError::MalformedSignature {
            header: "X-Gitea-Signature",
            ..
        }
    ));
    let short = headers(&[("X-Gitea-Signature", "abcd")]);
    assert!(matches!(
        verify(Forge::Gitea, &short, &body, &secret).unwrap_err(),
        WebhookError::MalformedSignature { .. }
    ));
    let other = headers(&[("X-Gitea-Signature", &hmac_hex("other", &body))]);
    assert_eq!(
        verify(Forge::Gitea, &other, &body, &secret).unwrap_err(),
        WebhookError::SignatureMismatch {
            header: "X-Gitea-Signature"
        }
    );
}
