//! `checkout_at` and `changed_files` against real repositories: the shallow fetch of one
//! commit over `git daemon`, the full-fetch fallback when the server refuses unadvertised
//! commits (protocol v0), and diffs with renames and unusual file names.

use crate::git_daemon::{GitDaemon, free_port};
use crate::git_repo::{TestRepo, git};
use gantry_core::Secret;
use gantry_scm::{Git, GitError, changed_files, checkout_at};
use std::time::Duration;

fn three_commits() -> (TestRepo, [String; 3]) {
    let repo = TestRepo::new();
    let a = repo.commit(
        &[("README.md", Some("one\n")), ("src/lib.rs", Some("// a\n"))],
        "a",
    );
    let b = repo.commit(
        &[
            ("README.md", Some("two\n")),
            ("docs/guide.md", Some("guide\n")),
        ],
        "b",
    );
    let c = repo.commit(&[("src/lib.rs", Some("// c\n"))], "c");
    repo.push(&["main"]);
    (repo, [a, b, c])
}

#[tokio::test]
async fn shallow_checkout_of_a_commit_that_is_not_a_branch_tip() {
    let (repo, [_, b, _]) = three_commits();
    let daemon = GitDaemon::start(&repo.srv);
    let dest = repo.root.path().join("checkout");
    let checkout = checkout_at(&daemon.url("app.git"), &b, &dest)
        .await
        .unwrap();
    assert!(checkout.shallow);
    assert_eq!(checkout.sha, b);
    assert_eq!(git(&dest, &["rev-parse", "HEAD"]), b);
    assert_eq!(
        std::fs::read_to_string(dest.join("README.md")).unwrap(),
        "two\n"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("src/lib.rs")).unwrap(),
        "// a\n"
    );
    // Only the one commit came over.
    assert_eq!(git(&dest, &["rev-list", "--count", "HEAD"]), "1");
    assert_eq!(
        git(&dest, &["remote", "get-url", "origin"]),
        daemon.url("app.git")
    );
}

#[tokio::test]
async fn protocol_v0_refuses_the_commit_and_the_full_fetch_finds_it() {
    let (repo, [a, _, _]) = three_commits();
    let daemon = GitDaemon::start(&repo.srv);
    let dest = repo.root.path().join("checkout");
    let git_v0 = Git::default()
        .with_timeout(Duration::from_secs(60))
        .with_config("protocol.version", Secret::new("0"));
    let checkout = git_v0
        .checkout_at(&daemon.url("app.git"), &a, &dest)
        .await
        .unwrap();
    assert!(!checkout.shallow);
    assert_eq!(git(&dest, &["rev-parse", "HEAD"]), a);
    assert_eq!(
        std::fs::read_to_string(dest.join("README.md")).unwrap(),
        "one\n"
    );
    assert!(!dest.join("docs/guide.md").exists());
}

#[tokio::test]
async fn checkout_by_path_too() {
    let (repo, [_, _, c]) = three_commits();
    let dest = repo.root.path().join("by-path");
    let checkout = checkout_at(&repo.path_url(), &c, &dest).await.unwrap();
    assert_eq!(git(&dest, &["rev-parse", "HEAD"]), c);
    assert_eq!(checkout.dir, dest);
}

#[tokio::test]
async fn an_unknown_commit_is_reported_as_such() {
    let (repo, _) = three_commits();
    let daemon = GitDaemon::start(&repo.srv);
    let missing = "1234567890abcdef1234567890abcdef12345678";
    let err = checkout_at(&daemon.url("app.git"), missing, &repo.root.path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GitError::CommitNotFound {
            sha: missing.into(),
            url: daemon.url("app.git")
        }
    );
}

#[tokio::test]
async fn refuses_a_non_empty_destination_and_a_non_sha() {
    let (repo, [a, _, _]) = three_commits();
    let err = checkout_at(&repo.path_url(), &a, &repo.work)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GitError::DestinationNotEmpty { .. }),
        "{err:?}"
    );
    let err = checkout_at(&repo.path_url(), "--help", &repo.root.path().join("y"))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::InvalidRev { .. }), "{err:?}");
    assert!(!repo.root.path().join("y").exists());
}

#[tokio::test]
async fn credentials_are_not_written_into_the_checkout() {
    let (repo, [a, _, _]) = three_commits();
    let dest = repo.root.path().join("creds");
    let url = format!("http://bot:tok3n-value@127.0.0.1:{}/app.git", free_port());
    let err = checkout_at(&url, &a, &dest).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("tok3n-value"), "{err}");
    let config = std::fs::read_to_string(dest.join(".git/config")).unwrap();
    assert!(!config.contains("tok3n-value"), "{config}");
    assert!(config.contains("url = http://127.0.0.1:"), "{config}");
}

#[tokio::test]
async fn changed_files_lists_added_modified_removed_and_both_sides_of_renames() {
    let repo = TestRepo::new();
    let before = repo.commit(
        &[
            (
                "src/old_name.rs",
                Some("pub fn x() {}\n// long enough to be a rename\n"),
            ),
            ("gone.txt", Some("bye\n")),
            ("keep.txt", Some("k\n")),
        ],
        "before",
    );
    git(&repo.work, &["mv", "src/old_name.rs", "src/new_name.rs"]);
    let after = repo.commit(
        &[
            ("gone.txt", None),
            ("keep.txt", Some("changed\n")),
            ("docs/a file with spaces.md", Some("x\n")),
            ("ünïcode.txt", Some("u\n")),
        ],
        "after",
    );
    repo.push(&["main"]);
    let files = changed_files(&repo.bare, &before, &after).await.unwrap();
    assert_eq!(
        files,
        [
            "docs/a file with spaces.md",
            "gone.txt",
            "keep.txt",
            "src/new_name.rs",
            "src/old_name.rs",
            "ünïcode.txt"
        ]
    );
    assert_eq!(
        changed_files(&repo.bare, &after, &after).await.unwrap(),
        Vec::<String>::new()
    );
    let err = changed_files(&repo.bare, "--output=/tmp/x", &after)
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::InvalidRev { .. }), "{err:?}");
    let err = changed_files(&repo.bare, &"f".repeat(40), &after)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GitError::Failed {
                command: "diff",
                ..
            }
        ),
        "{err:?}"
    );
}
