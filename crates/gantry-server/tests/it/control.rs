//! Manual runs with typed inputs, cancel, rerun of failed jobs, `concurrency` groups that
//! cancel the run in progress, commit statuses sent to a forge (a local HTTP server
//! stands in for GitHub's API, which cannot be reached from here), and workspace reloads
//! that keep the old workspace when the new one is invalid.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use serde_json::{Value, json};

use crate::git_repo::{TestRepo, git};
use crate::server::TestServer;

const PIPELINE: &str = r#"
name: ci
on:
  manual:
    inputs:
      count: { type: number, default: 2 }
      flaky: { type: boolean, default: false }
concurrency: { group: "ci-${{ git.branch }}", cancel_in_progress: true }
jobs:
  count:
    artifacts: [out/ticks.txt]
    steps:
      - run: |
          mkdir -p out
          for i in $(seq 1 ${{ inputs.count }}); do echo "tick $i"; echo "tick $i" >> out/ticks.txt; done
  maybe:
    needs: [count]
    steps:
      - run: |
          if [ "${{ inputs.flaky }}" = "true" ] && [ ! -f /tmp/gantry-control-${{ git.sha }} ]; then
            echo failing; exit 3
          fi
  slow:
    steps:
      - run: sleep ${{ inputs.count }}
"#;

/// A stand-in for GitHub's commit status API that records what it receives.
async fn fake_github() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/repos/{owner}/{repo}/statuses/{sha}",
        axum::routing::post(
            move |Path((_o, _r, sha)): Path<(String, String, String)>, Json(body): Json<Value>| {
                let s = s.clone();
                async move {
                    s.lock().unwrap().push((sha, body));
                    (axum::http::StatusCode::CREATED, Json(json!({ "id": 1 })))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = server
        .http
        .post(format!("{}{path}", server.base))
        .bearer_auth(&server.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn finished(server: &TestServer, run: i64) -> Value {
    server
        .wait_for(
            &format!("run {run} to finish"),
            Duration::from_secs(60),
            async |s| {
                let (_, d) = s.get(&format!("/api/v1/runs/{run}")).await;
                ["success", "failure", "cancelled"]
                    .contains(&d["run"]["status"].as_str().unwrap_or(""))
                    .then_some(d)
            },
        )
        .await
}

fn job<'a>(detail: &'a Value, key: &str) -> &'a Value {
    detail["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["key"] == key)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn manual_runs_cancel_rerun_concurrency_statuses_and_reload() {
    let repo = TestRepo::new();
    let sha = repo.commit(&[(".gantry/pipelines/ci.yml", Some(PIPELINE))], "control");
    let (forge_url, seen) = fake_github().await;
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("token"), "forge-token-value\n").unwrap();
    let workspace = format!(
        "projects:\n  app:\n    path: {}\n    poll: off\n    forge: {{ kind: github, api_url: '{forge_url}', repo: team/app, token: {{ file: token }} }}\n",
        repo.work.display()
    );
    std::fs::write(ws.path().join("gantry.yml"), &workspace).unwrap();
    let server = TestServer::start(ws.path(), None).await;

    // Typed inputs: a bad one is refused with the reason, nothing starts.
    let (status, body) = post(
        &server,
        "/api/v1/projects/app/pipelines/ci/trigger",
        json!({ "inputs": { "count": "many" } }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("count"),
        "{body}"
    );
    let (status, body) = post(
        &server,
        "/api/v1/projects/app/pipelines/nope/trigger",
        json!({}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("ci"),
        "known pipelines are named: {body}"
    );

    // A run whose middle job fails; rerun of failed jobs keeps what succeeded.
    let (status, body) = post(
        &server,
        "/api/v1/projects/app/pipelines/ci/trigger",
        json!({ "inputs": { "count": "3", "flaky": "true" } }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let first = body["runs"][0]["run_id"].as_i64().unwrap();
    let d = finished(&server, first).await;
    assert_eq!(d["run"]["status"], "failure", "{d}");
    assert_eq!(job(&d, "maybe")["status"], "failure");
    let (_, log) = server
        .get(&format!("/api/v1/jobs/{}/logs", job(&d, "count")["id"]))
        .await;
    let ticks: Vec<&str> = log["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["text"].as_str())
        .filter(|t| t.starts_with("tick"))
        .collect();
    assert_eq!(
        ticks,
        ["tick 1", "tick 2", "tick 3"],
        "the number input reached the step"
    );
    // The flaky job passes from now on (its marker is per commit, so per test).
    std::fs::write(format!("/tmp/gantry-control-{sha}"), "").unwrap();
    let (status, body) = post(
        &server,
        &format!("/api/v1/runs/{first}/rerun"),
        json!({ "failed_only": true }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let second = body["run_id"].as_i64().unwrap();
    let d2 = finished(&server, second).await;
    assert_eq!(d2["run"]["status"], "success", "{d2}");
    assert_eq!(d2["run"]["rerun_of"], first);
    // `count` succeeded before: kept, not run again (no log of its own in the rerun).
    assert_eq!(job(&d2, "count")["status"], "success");
    let _ = std::fs::remove_file(format!("/tmp/gantry-control-{sha}"));

    // Cancel: a long run is stopped, its running job killed.
    let (_, body) = post(
        &server,
        "/api/v1/projects/app/pipelines/ci/trigger",
        json!({ "inputs": { "count": "30" } }),
    )
    .await;
    let long = body["runs"][0]["run_id"].as_i64().unwrap();
    server
        .wait_for("the slow job to run", Duration::from_secs(30), async |s| {
            let (_, d) = s.get(&format!("/api/v1/runs/{long}")).await;
            (job(&d, "slow")["status"] == "running").then_some(())
        })
        .await;
    let started = std::time::Instant::now();
    let (status, body) = post(&server, &format!("/api/v1/runs/{long}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let d = finished(&server, long).await;
    assert_eq!(d["run"]["status"], "cancelled", "{d}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cancel took {:?}",
        started.elapsed()
    );

    // Concurrency group with cancel_in_progress: a newer run of the branch cancels the older.
    let (_, body) = post(
        &server,
        "/api/v1/projects/app/pipelines/ci/trigger",
        json!({ "inputs": { "count": "30" } }),
    )
    .await;
    let older = body["runs"][0]["run_id"].as_i64().unwrap();
    server
        .wait_for(
            "the older run to start",
            Duration::from_secs(30),
            async |s| {
                let (_, d) = s.get(&format!("/api/v1/runs/{older}")).await;
                (d["run"]["status"] == "running").then_some(())
            },
        )
        .await;
    let (_, body) = post(
        &server,
        "/api/v1/projects/app/pipelines/ci/trigger",
        json!({ "inputs": { "count": "1" } }),
    )
    .await;
    let newer = body["runs"][0]["run_id"].as_i64().unwrap();
    let d = finished(&server, older).await;
    assert_eq!(d["run"]["status"], "cancelled", "{d}");
    assert!(
        d["run"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("superseded"),
        "{d}"
    );
    assert_eq!(finished(&server, newer).await["run"]["status"], "success");

    // Commit statuses: every run reported pending then its result, with a link, for the
    // right commit, and the token never shows in the API.
    let statuses = seen.lock().unwrap().clone();
    assert!(statuses.iter().all(|(s, _)| *s == sha), "{statuses:?}");
    let states: Vec<&str> = statuses
        .iter()
        .map(|(_, b)| b["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"pending") && states.contains(&"success") && states.contains(&"failure"),
        "{states:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|(_, b)| b["target_url"].as_str().unwrap().contains("/runs/")),
        "{statuses:?}"
    );
    let (_, projects) = server.get("/api/v1/projects").await;
    assert!(!projects.to_string().contains("forge-token-value"));

    // Reload: an invalid workspace is refused and the old one stays; a valid one applies.
    std::fs::write(
        ws.path().join("gantry.yml"),
        "projects:\n  app:\n    pth: nowhere\n",
    )
    .unwrap();
    let (status, body) = post(&server, "/api/v1/reload", json!({})).await;
    assert_eq!(status, 422, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("gantry.yml:3") && msg.contains("path"),
        "{msg}"
    );
    let (_, projects) = server.get("/api/v1/projects").await;
    assert_eq!(projects["projects"][0]["name"], "app");
    std::fs::write(
        ws.path().join("gantry.yml"),
        workspace.replace("  app:", "  renamed:"),
    )
    .unwrap();
    let (status, body) = post(&server, "/api/v1/reload", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, projects) = server.get("/api/v1/projects").await;
    assert_eq!(projects["projects"][0]["name"], "renamed");
    let _ = git;
    server.stop().await;
}
