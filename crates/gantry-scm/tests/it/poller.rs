//! The poller against a real repository served by `git daemon`: a baseline, then the
//! pushes made between two polls with their changed files, and deletions ignored.

use crate::git_daemon::GitDaemon;
use crate::git_repo::{TestRepo, git};
use gantry_pipeline::{PushTrigger, TriggerEvent, Triggers};
use gantry_scm::{Git, Poller, RefChangeKind, RefTarget};
use std::time::Duration;

#[tokio::test]
async fn detects_pushes_between_polls_with_changed_files() {
    let repo = TestRepo::new();
    let first = repo.commit(
        &[("src/lib.rs", Some("// 1\n")), ("README.md", Some("r\n"))],
        "first",
    );
    git(&repo.work, &["branch", "old-feature"]);
    repo.push(&["main", "old-feature"]);
    let daemon = GitDaemon::start(&repo.srv);
    let git_cli = Git::default().with_timeout(Duration::from_secs(60));
    let mut poller =
        Poller::new(daemon.url("app.git")).with_cache_dir(repo.root.path().join("cache.git"));

    assert_eq!(
        poller.poll(&git_cli).await.unwrap(),
        vec![],
        "the first poll is a baseline"
    );
    assert_eq!(poller.snapshot().unwrap().len(), 2);

    let second = repo.commit(
        &[("src/lib.rs", Some("// 2\n")), ("src/new.rs", Some("n\n"))],
        "second",
    );
    let third = repo.commit(&[("README.md", None)], "third");
    git(&repo.work, &["branch", "feature/y", &second]);
    git(&repo.work, &["tag", "v2"]);
    repo.push(&["main", "feature/y", "v2", ":old-feature"]);

    let pushes = poller.poll(&git_cli).await.unwrap();
    let summary: Vec<(&str, RefChangeKind)> = pushes
        .iter()
        .map(|p| (p.git_ref.as_str(), p.kind))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("refs/heads/feature/y", RefChangeKind::Created),
            ("refs/heads/main", RefChangeKind::Updated),
            ("refs/tags/v2", RefChangeKind::Created),
        ]
    );
    let main = &pushes[1];
    assert_eq!(main.before.as_deref(), Some(first.as_str()));
    assert_eq!(main.after, third);
    assert_eq!(main.target, RefTarget::Branch("main".into()));
    assert_eq!(
        main.changed_files,
        Some(vec![
            "README.md".to_string(),
            "src/lib.rs".to_string(),
            "src/new.rs".to_string()
        ])
    );
    assert_eq!(
        pushes[0].changed_files, None,
        "a new branch's files are unknown"
    );
    assert_eq!(
        pushes[2].trigger_event(),
        Some(TriggerEvent::Push {
            branch: None,
            tag: Some("v2".into()),
            changed_files: None
        })
    );

    // The events drive real trigger matching: a `paths` filter sees the changed files.
    let src_only = Triggers {
        push: Some(PushTrigger {
            branches: vec!["main".into()],
            paths: vec!["src/**".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let docs_only = Triggers {
        push: Some(PushTrigger {
            branches: vec!["main".into()],
            paths: vec!["docs/**".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let event = main.trigger_event().unwrap();
    assert!(src_only.matches(&event));
    assert!(!docs_only.matches(&event));

    assert_eq!(
        poller.poll(&git_cli).await.unwrap(),
        vec![],
        "nothing changed since the last poll"
    );
}

#[tokio::test]
async fn without_a_cache_changed_files_are_unknown_and_a_saved_snapshot_resumes() {
    let repo = TestRepo::new();
    repo.commit(&[("a.txt", Some("1\n"))], "one");
    repo.push(&["main"]);
    let git_cli = Git::default();
    let mut poller = Poller::new(repo.path_url());
    poller.poll(&git_cli).await.unwrap();
    let saved = poller.snapshot().unwrap().to_vec();

    let two = repo.commit(&[("a.txt", Some("2\n"))], "two");
    repo.push(&["main"]);
    // A restarted server resumes from the saved snapshot and still sees the push.
    let mut resumed = Poller::new(repo.path_url()).with_snapshot(saved);
    let pushes = resumed.poll(&git_cli).await.unwrap();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].after, two);
    assert_eq!(pushes[0].changed_files, None);
    assert_eq!(
        pushes[0].trigger_event(),
        Some(TriggerEvent::Push {
            branch: Some("main".into()),
            tag: None,
            changed_files: None
        })
    );
}

#[tokio::test]
async fn a_failed_poll_keeps_the_previous_snapshot() {
    let repo = TestRepo::new();
    repo.commit(&[("a.txt", Some("1\n"))], "one");
    repo.push(&["main"]);
    let daemon = GitDaemon::start(&repo.srv);
    let git_cli = Git::default().with_timeout(Duration::from_secs(30));
    let mut poller = Poller::new(daemon.url("app.git"));
    poller.poll(&git_cli).await.unwrap();
    let before = poller.snapshot().unwrap().to_vec();
    drop(daemon);
    assert!(poller.poll(&git_cli).await.is_err());
    assert_eq!(poller.snapshot().unwrap(), before.as_slice());
}
