//! Crash test of `gantry serve`: the real binary is killed with SIGKILL while 20 jobs
//! run, then restarted on the same data directory. Every run must reach a final state,
//! jobs whose `retry` allows it must run again and succeed, the others must fail with
//! "server restarted", and every log line written before the crash must still be there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PIPELINE: &str = r#"
name: crash
on: { manual: {} }
jobs:
  retried:
    retry: 1
    matrix: { n: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }
    steps:
      - run: |
          echo "start ${{ matrix.n }}"
          sleep 4
          echo "end ${{ matrix.n }}"
  single:
    matrix: { n: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }
    steps:
      - run: |
          echo "start ${{ matrix.n }}"
          sleep 4
          echo "end ${{ matrix.n }}"
"#;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `gantry serve`; returns it and the bootstrap token when it printed one.
fn serve(workspace: &Path, data: &Path, port: u16) -> (Server, Option<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["serve", "--workspace"])
        .arg(workspace)
        .arg("--data")
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("GANTRY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut token = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(t) = line.trim().strip_prefix("GANTRY_TOKEN=") {
            token = Some(t.to_string());
        }
        if line.starts_with("gantry serve: http://") {
            break;
        }
    }
    (
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        },
        token,
    )
}

async fn get(http: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    http.get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn log_texts(http: &reqwest::Client, base: &str, token: &str, job: i64) -> Vec<String> {
    let page = get(
        http,
        base,
        token,
        &format!("/api/v1/jobs/{job}/logs?limit=1048576"),
    )
    .await;
    page["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_string())
        .collect()
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_twenty_running_jobs_loses_no_run_and_no_log_line() {
    let ws = tempfile::tempdir().unwrap();
    let app = ws.path().join("app");
    std::fs::create_dir_all(app.join(".gantry/pipelines")).unwrap();
    std::fs::write(app.join(".gantry/pipelines/crash.yml"), PIPELINE).unwrap();
    git(&app, &["init", "-q", "-b", "main"]);
    git(&app, &["add", "."]);
    git(&app, &["commit", "-qm", "crash test"]);
    std::fs::write(
        ws.path().join("gantry.yml"),
        "server: { parallelism: 20 }\nprojects:\n  app: { path: app, poll: off }\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut server, token) = serve(ws.path(), data.path(), port);
    let token = token.expect("the first start prints a token");
    let http = reqwest::Client::new();
    let started: Value = http
        .post(format!(
            "{}/api/v1/projects/app/pipelines/crash/trigger",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = started["runs"][0]["run_id"].as_i64().expect("a run id");

    // Wait until all 20 jobs run and each has printed its first line.
    let deadline = Instant::now() + Duration::from_secs(30);
    let jobs: Vec<Value> = loop {
        let detail = get(
            &http,
            &server.base,
            &token,
            &format!("/api/v1/runs/{run_id}"),
        )
        .await;
        let jobs = detail["jobs"].as_array().unwrap().clone();
        let running = jobs.iter().filter(|j| j["status"] == "running").count();
        if running == 20 {
            let mut all_started = true;
            for j in &jobs {
                let texts = log_texts(&http, &server.base, &token, j["id"].as_i64().unwrap()).await;
                all_started &= texts.iter().any(|t| t.starts_with("start "));
            }
            if all_started {
                break jobs;
            }
        }
        assert!(
            Instant::now() < deadline,
            "20 jobs never ran at once: {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut before = std::collections::HashMap::new();
    for j in &jobs {
        let id = j["id"].as_i64().unwrap();
        before.insert(id, log_texts(&http, &server.base, &token, id).await);
    }

    // SIGKILL: no shutdown code runs.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let (server, token2) = serve(ws.path(), data.path(), port);
    assert!(token2.is_none(), "a restart creates no new bootstrap token");
    let deadline = Instant::now() + Duration::from_secs(60);
    let detail = loop {
        let detail = get(
            &http,
            &server.base,
            &token,
            &format!("/api/v1/runs/{run_id}"),
        )
        .await;
        let status = detail["run"]["status"].as_str().unwrap().to_string();
        if ["success", "failure", "cancelled"].contains(&status.as_str()) {
            break detail;
        }
        assert!(
            Instant::now() < deadline,
            "the run never finished after the restart: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Ten jobs could not be retried: the run fails.
    assert_eq!(detail["run"]["status"], "failure", "{detail}");
    for j in detail["jobs"].as_array().unwrap() {
        let id = j["id"].as_i64().unwrap();
        let key = j["key"].as_str().unwrap();
        let texts = log_texts(&http, &server.base, &token, id).await;
        // Every line written before the crash is still there, in order, at the start.
        let earlier = &before[&id];
        assert!(
            texts.len() >= earlier.len() && texts[..earlier.len()] == earlier[..],
            "{key}: lines before the crash changed:\nbefore {earlier:?}\nafter  {texts:?}"
        );
        if key.starts_with("retried") {
            assert_eq!(j["status"], "success", "{key}: {j}");
            assert_eq!(j["attempt"], 2, "{key}");
            assert!(
                texts.iter().any(|t| t.starts_with("end ")),
                "{key}: {texts:?}"
            );
            assert!(
                texts.iter().any(|t| t.contains("attempt 2")),
                "{key}: {texts:?}"
            );
        } else {
            assert_eq!(j["status"], "failure", "{key}: {j}");
            assert!(
                j["reason"]
                    .as_str()
                    .unwrap_or("")
                    .contains("server restarted"),
                "{key}: {j}"
            );
        }
    }
}
