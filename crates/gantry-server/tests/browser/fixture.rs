//! The browser test's world: a temp workspace whose one `path:` project is a fresh git
//! repository with two manual pipelines (`ci`, slow and green; `lint`, quick and red),
//! and a server started in process on it with a temp SQLite data directory.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use gantry_server::{ServeOptions, Started, start};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::chrome::wait_until;

pub const PROJECT: &str = "web";

/// `build` writes 30 numbered lines, one every 0.2 s, so a page opened while it runs
/// sees lines arrive; `test` needs it.
const CI: &str = r#"name: ci
on: { manual: {} }
jobs:
  build:
    steps:
      - name: Compile
        run: |
          for i in $(seq 1 30); do
            printf 'line %d: \033[1;32mCompiling\033[0m unit-%02d of 30\n' "$i" "$i"
            sleep 0.2
          done
      - name: Link
        run: |
          echo "linking target/release/web"
          echo "warning: 2 units were already up to date" >&2
  test:
    needs: [build]
    steps:
      - name: Test
        run: |
          echo "running 3 tests"
          echo "test checkout::caches_fingerprints ... ok"
          echo "test checkout::serves_assets ... ok"
          echo "test result: ok. 3 passed; 0 failed"
"#;

const LINT: &str = r#"name: lint
on: { manual: {} }
jobs:
  style:
    steps:
      - name: Check style
        run: |
          echo "checking 42 files"
          echo "src/checkout.rs:17: line longer than 100 characters" >&2
          exit 1
"#;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `gantry.yml` and the project's repository (one commit) under `dir`.
pub fn write_workspace(dir: &Path) {
    let repo = dir.join("web");
    std::fs::create_dir_all(repo.join(".gantry/pipelines")).unwrap();
    std::fs::write(repo.join(".gantry/pipelines/ci.yml"), CI).unwrap();
    std::fs::write(repo.join(".gantry/pipelines/lint.yml"), LINT).unwrap();
    std::fs::write(repo.join("README.md"), "# web\n").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(
        &repo,
        &["commit", "-q", "-m", "Cache asset fingerprints on checkout"],
    );
    std::fs::write(
        dir.join("gantry.yml"),
        format!(
            "server:\n  parallelism: 2\nprojects:\n  {PROJECT}:\n    path: web\n    poll: off\n"
        ),
    )
    .unwrap();
}

/// Commits a change to the project's README, so later runs build a newer commit.
pub fn commit_readme_change(dir: &Path) {
    let repo = dir.join("web");
    std::fs::write(
        repo.join("README.md"),
        "# web\n\nAsset fingerprints are cached on checkout.\n",
    )
    .unwrap();
    git(
        &repo,
        &["commit", "-q", "-am", "Document the checkout cache"],
    );
}

/// A server started in process, with the admin credentials it printed on first start.
#[derive(Debug)]
pub struct TestServer {
    pub base: String,
    pub token: String,
    pub password: String,
    http: reqwest::Client,
    started: Option<Started>,
    shutdown: CancellationToken,
    _data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(workspace: &Path) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let started = start(
            ServeOptions {
                workspace_dir: workspace.to_path_buf(),
                data_dir: data.path().to_path_buf(),
                listen: "127.0.0.1:0".parse().unwrap(),
                database_url: None,
            },
            shutdown.clone(),
        )
        .await
        .unwrap();
        let bootstrap = started.bootstrap.as_ref().expect("first-start credentials");
        TestServer {
            base: format!("http://{}", started.addr),
            token: bootstrap.token.expose().to_string(),
            password: bootstrap.password.expose().to_string(),
            http: reqwest::Client::new(),
            started: Some(started),
            shutdown,
            _data: data,
        }
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// `POST path` with `body` as `token` (the admin's when `None`): status and JSON.
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token.unwrap_or(&self.token))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Triggers a pipeline through the API; returns the new run's id.
    pub async fn trigger(&self, pipeline: &str) -> i64 {
        let path = format!("/api/v1/projects/{PROJECT}/pipelines/{pipeline}/trigger");
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body["runs"][0]["run_id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no run in {body}"))
    }

    pub async fn run(&self, id: i64) -> Value {
        self.get(&format!("/api/v1/runs/{id}")).await
    }

    /// Waits until run `id` has finished; returns its status.
    pub async fn finished(&self, id: i64, timeout: Duration) -> String {
        wait_until(&format!("run {id} to finish"), timeout, || async {
            let detail = self.run(id).await;
            let status = detail["run"]["status"].as_str().unwrap_or("").to_string();
            match status.as_str() {
                "success" | "failure" | "cancelled" => Ok(status),
                _ => Err(status),
            }
        })
        .await
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(s) = self.started.take() {
            s.wait().await;
        }
    }
}
