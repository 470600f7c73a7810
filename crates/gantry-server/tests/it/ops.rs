//! The operators' endpoints: `/healthz` and `/readyz` answer without a token, and
//! `/metrics` (Prometheus text) reports the queue, runs by status, a finished job's
//! duration and the API request that triggered it.

use std::time::Duration;

use serde_json::json;

use crate::git_repo::TestRepo;
use crate::server::TestServer;

const PIPELINE: &str =
    "name: ci\non: { manual: {} }\njobs:\n  build:\n    steps:\n      - run: echo built\n";

/// The value of the sample `name` (with its labels, as printed) in `text`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_readiness_and_metrics() {
    let repo = TestRepo::new();
    repo.commit(&[(".gantry/pipelines/ci.yml", Some(PIPELINE))], "ops");
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("gantry.yml"),
        format!(
            "projects:\n  app: {{ path: {}, poll: off }}\n",
            repo.work.display()
        ),
    )
    .unwrap();
    let server = TestServer::start(ws.path(), None).await;
    let get = async |path: &str| {
        // No token: these endpoints are for probes and scrapers.
        let r = server
            .http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, content_type, r.text().await.unwrap())
    };
    assert_eq!(get("/healthz").await.0, 200);
    assert_eq!(get("/healthz").await.2, "ok");
    assert_eq!(get("/readyz").await.0, 200);

    let r = server
        .http
        .post(format!(
            "{}/api/v1/projects/app/pipelines/ci/trigger",
            server.base
        ))
        .bearer_auth(&server.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let body: serde_json::Value = r.json().await.unwrap();
    let run = body["runs"][0]["run_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no run id in {body}"));
    server
        .wait_for(
            &format!("run {run} to succeed"),
            Duration::from_secs(60),
            async |s| {
                let (_, d) = s.get(&format!("/api/v1/runs/{run}")).await;
                (d["run"]["status"] == "success").then_some(())
            },
        )
        .await;

    let (status, content_type, text) = get("/metrics").await;
    assert_eq!(status, 200, "{text}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert_eq!(sample(&text, "gantry_queue_depth"), Some(0.0), "{text}");
    assert!(
        sample(&text, "gantry_runs{status=\"success\"}").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "gantry_runs{status=\"queued\"}"),
        Some(0.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "gantry_job_duration_seconds_count{status=\"success\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE gantry_http_request_duration_seconds histogram"),
        "{text}"
    );
    // The route template, never the raw path (which would carry the run id).
    assert!(text.contains("route=\"/api/v1/runs/{run}\""), "{text}");
    assert!(!text.contains(&format!("/api/v1/runs/{run}\"")), "{text}");
    assert!(text.contains("gantry_agents_online 0"), "{text}");
    server.stop().await;
}
