//! A commit pushed to a repository served by `git daemon` starts a run through polling,
//! and another through a signed GitHub webhook; both runs complete with their logs,
//! statuses and events stored. Bad deliveries (wrong signature, oversize, malformed)
//! start nothing. Run against SQLite and PostgreSQL.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::git_daemon::GitDaemon;
use crate::git_repo::TestRepo;
use crate::server::{TestServer, postgres_database};

const PIPELINE: &str = r#"
name: ci
on:
  push: { branches: [main] }
jobs:
  build:
    steps:
      - run: echo "built ${{ git.short_sha }} on ${{ git.branch }}"
  test:
    needs: [build]
    steps:
      - run: |
          echo "testing"
          echo "done" >&2
"#;

/// Runs only for changes under docs/: a push that changes src/ must not start it.
const DOCS_PIPELINE: &str = r#"
name: docs
on:
  push: { branches: [main], paths: ["docs/**"] }
jobs:
  build:
    steps:
      - run: echo docs
"#;

const SECRET: &str = "hook-secret-for-tests";

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn push_payload(before: &str, after: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "created": false, "deleted": false, "forced": false,
        "repository": { "full_name": "team/app", "clone_url": "https://example.invalid/team/app.git" },
        "pusher": { "name": "dev", "email": "dev@example.com" },
        "commits": [{
            "id": after, "message": "second change\n\nbody", "timestamp": "2026-11-22T10:00:00Z",
            "author": { "name": "Dev", "email": "dev@example.com" },
            "added": [], "removed": [], "modified": ["src/lib.rs"]
        }],
        "head_commit": {
            "id": after, "message": "second change", "timestamp": "2026-11-22T10:00:00Z",
            "author": { "name": "Dev", "email": "dev@example.com" },
            "added": [], "removed": [], "modified": ["src/lib.rs"]
        }
    }))
    .unwrap()
}

async fn runs_of(server: &TestServer, project: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/api/v1/runs?project={project}")).await;
    assert_eq!(status, 200, "{body}");
    body["runs"].as_array().unwrap().clone()
}

async fn finished_run(server: &TestServer, project: &str, sha: &str) -> Value {
    server
        .wait_for(
            &format!("a finished run of {sha} in {project}"),
            Duration::from_secs(60),
            async |s| {
                runs_of(s, project).await.into_iter().find(|r| {
                    r["git"]["sha"] == sha
                        && ["success", "failure", "cancelled"]
                            .contains(&r["status"].as_str().unwrap_or(""))
                })
            },
        )
        .await
}

async fn log_text(server: &TestServer, job_id: i64) -> String {
    let (status, body) = server.get(&format!("/api/v1/jobs/{job_id}/logs")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["complete"], true, "a finished job's log is complete");
    body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn check_run(server: &TestServer, run: &Value, sha: &str, trigger: &str) {
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["trigger"], trigger);
    let id = run["id"].as_i64().unwrap();
    let (_, detail) = server.get(&format!("/api/v1/runs/{id}")).await;
    let jobs = detail["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    let build = jobs.iter().find(|j| j["key"] == "build").unwrap();
    let test = jobs.iter().find(|j| j["key"] == "test").unwrap();
    assert_eq!(build["steps"][0]["result"], "success");
    let build_log = log_text(server, build["id"].as_i64().unwrap()).await;
    assert!(
        build_log.contains(&format!("built {} on main", &sha[..8])),
        "{build_log}"
    );
    let test_log = log_text(server, test["id"].as_i64().unwrap()).await;
    assert!(
        test_log.contains("testing") && test_log.contains("done"),
        "{test_log}"
    );
    let (_, events) = server
        .get(&format!("/api/v1/events?run={id}&limit=100"))
        .await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "run.queued",
        "job.started",
        "job.finished",
        "step.finished",
        "run.finished",
    ] {
        assert!(kinds.contains(&kind), "event {kind} missing from {kinds:?}");
    }
}

async fn story(database_url: Option<String>) {
    let repo = TestRepo::new();
    let first = repo.commit(
        &[
            (".gantry/pipelines/ci.yml", Some(PIPELINE)),
            (".gantry/pipelines/docs.yml", Some(DOCS_PIPELINE)),
            ("src/lib.rs", Some("// v1\n")),
        ],
        "first",
    );
    repo.push(&["main"]);
    let daemon = GitDaemon::start(&repo.srv);
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("hook-secret"), format!("{SECRET}\n")).unwrap();
    std::fs::write(
        ws.path().join("gantry.yml"),
        format!(
            "projects:\n  polled:\n    repo: {url}\n    poll: 5s\n  hooked:\n    repo: {url}\n    poll: off\n    webhook_secret: {{ file: hook-secret }}\n    forge: {{ kind: github, repo: team/app, token: {{ file: hook-secret }}, api_url: 'http://127.0.0.1:9' }}\n",
            url = daemon.url("app.git")
        ),
    )
    .unwrap();
    let server = TestServer::start(ws.path(), database_url).await;

    // Polling: the first poll records a baseline (no run for `first`); a push after it
    // starts a run.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        runs_of(&server, "polled").await.is_empty(),
        "the baseline starts nothing"
    );
    let second = repo.commit(&[("src/lib.rs", Some("// v2\n"))], "second change");
    repo.push(&["main"]);
    let run = finished_run(&server, "polled", &second).await;
    check_run(&server, &run, &second, "push").await;
    assert_eq!(run["git"]["message"], "second change");
    // Path filters saw the pushed commit's changed files (src/lib.rs only).
    let pipelines: Vec<String> = runs_of(&server, "polled")
        .await
        .iter()
        .map(|r| r["pipeline"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        pipelines,
        ["ci"],
        "the docs pipeline must not run for a src/ change"
    );

    // A webhook with a wrong signature: 401, no run.
    let body = push_payload(&first, &second);
    let headers = |sig: String, id: &str| {
        vec![
            ("content-type", "application/json".to_string()),
            ("x-github-event", "push".to_string()),
            ("x-github-delivery", id.to_string()),
            ("x-hub-signature-256", sig),
        ]
    };
    let (status, reply) = server
        .post_hook(
            "/hooks/github?project=hooked",
            &headers(format!("sha256={}", "0".repeat(64)), "d-1"),
            body.clone(),
        )
        .await;
    assert_eq!(status, 401, "{reply}");
    // Malformed JSON with a valid signature: 400 with a message.
    let garbage = b"{\"ref\": 42".to_vec();
    let (status, reply) = server
        .post_hook(
            "/hooks/github?project=hooked",
            &headers(sign(&garbage), "d-2"),
            garbage,
        )
        .await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"]["message"].as_str().unwrap().contains("JSON"),
        "{reply}"
    );
    // Oversize: 413 before anything is read.
    let huge = vec![b' '; gantry_scm::MAX_BODY_BYTES + 1];
    let (status, _) = server
        .post_hook(
            "/hooks/github?project=hooked",
            &headers(sign(&huge), "d-3"),
            huge,
        )
        .await;
    assert_eq!(status, 413);
    assert!(
        runs_of(&server, "hooked").await.is_empty(),
        "refused deliveries start nothing"
    );

    // The signed delivery starts a run (found by repository name, no ?project=); its
    // redelivery is recognised and starts nothing.
    let (status, reply) = server
        .post_hook("/hooks/github", &headers(sign(&body), "d-4"), body.clone())
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["runs"].as_array().unwrap().len(), 1, "{reply}");
    let (status, reply) = server
        .post_hook("/hooks/github", &headers(sign(&body), "d-4"), body.clone())
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["duplicate"], true);
    let run = finished_run(&server, "hooked", &second).await;
    check_run(&server, &run, &second, "push").await;
    assert_eq!(runs_of(&server, "hooked").await.len(), 1);
    // The forge is unreachable here (port 9): the failed status report is an event,
    // and it carries no token.
    let (_, events) = server
        .get("/api/v1/events?kind=status.failed&limit=10")
        .await;
    let text = events.to_string();
    assert!(text.contains("status.failed"), "{text}");
    assert!(!text.contains(SECRET), "the token leaked into an event");

    server.stop().await;
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn push_and_webhook_start_runs_sqlite() {
    story(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn push_and_webhook_start_runs_postgres() {
    story(Some(postgres_database().await)).await;
}
