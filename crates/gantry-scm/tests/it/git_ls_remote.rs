//! `ls_remote` against a real bare repository, by path and through a real `git daemon`,
//! plus its failure modes: credentials kept out of errors, timeouts, refused URLs.

use crate::git_daemon::{GitDaemon, free_port};
use crate::git_repo::{TestRepo, git};
use gantry_scm::{Git, GitError, RefTarget, RemoteRef, ls_remote};
use std::time::{Duration, Instant};

/// main and feature branches, a lightweight and an annotated tag.
fn populated() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    let first = repo.commit(&[("README.md", Some("hello\n"))], "first");
    let second = repo.commit(&[("src/main.rs", Some("fn main() {}\n"))], "second");
    git(&repo.work, &["tag", "light", &first]);
    git(&repo.work, &["tag", "-a", "v1.0", "-m", "release 1.0"]);
    git(&repo.work, &["branch", "feature/x", &first]);
    repo.push(&["main", "feature/x", "--tags"]);
    (repo, first, second)
}

#[tokio::test]
async fn lists_branches_and_tags_by_path_and_over_git_daemon() {
    let (repo, first, second) = populated();
    let want = vec![
        RemoteRef {
            name: "refs/heads/feature/x".into(),
            sha: first.clone(),
        },
        RemoteRef {
            name: "refs/heads/main".into(),
            sha: second.clone(),
        },
        RemoteRef {
            name: "refs/tags/light".into(),
            sha: first.clone(),
        },
        // The annotated tag is reported at its commit, not the tag object.
        RemoteRef {
            name: "refs/tags/v1.0".into(),
            sha: second.clone(),
        },
    ];
    let by_path = ls_remote(&repo.path_url()).await.unwrap();
    assert_eq!(by_path, want);
    assert_eq!(by_path[3].target(), RefTarget::Tag("v1.0".into()));

    let daemon = GitDaemon::start(&repo.srv);
    let over_daemon = Git::default()
        .with_timeout(Duration::from_secs(30))
        .ls_remote(&daemon.url("app.git"))
        .await
        .unwrap();
    assert_eq!(over_daemon, want);
}

#[tokio::test]
async fn an_empty_repository_has_no_refs() {
    let repo = TestRepo::new();
    assert_eq!(ls_remote(&repo.path_url()).await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_missing_repository_is_a_failure_naming_the_url() {
    let (repo, _, _) = populated();
    let daemon = GitDaemon::start(&repo.srv);
    let url = daemon.url("nope.git");
    let err = ls_remote(&url).await.unwrap_err();
    let GitError::Failed {
        command,
        target,
        stderr,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*command, "ls-remote");
    assert_eq!(target, &url);
    assert!(stderr.contains("fatal"), "{stderr}");
}

#[tokio::test]
async fn credentials_never_appear_in_errors() {
    let port = free_port();
    let url = format!("http://deploy-bot:s3cr3t-pa55@127.0.0.1:{port}/team/app.git");
    let err = ls_remote(&url).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("s3cr3t-pa55"), "{text}");
    assert!(!text.contains("deploy-bot"), "{text}");
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/team/app.git")),
        "{text}"
    );
    assert!(matches!(err, GitError::Failed { .. }), "{err:?}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts the connection and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let git = Git::default().with_timeout(Duration::from_millis(800));
    let started = Instant::now();
    let err = git
        .ls_remote(&format!("git://127.0.0.1:{port}/app.git"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            err,
            GitError::Timeout {
                command: "ls-remote",
                ..
            }
        ),
        "{err:?}"
    );
    drop(listener);
}

#[tokio::test]
async fn option_like_urls_are_refused() {
    let err = ls_remote("--upload-pack=touch /tmp/gantry-pwned")
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::InvalidUrl { .. }), "{err:?}");
    assert!(!std::path::Path::new("/tmp/gantry-pwned").exists());
}
