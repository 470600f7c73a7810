//! Starting a test server on a temp workspace and data directory, and calling its API.

use std::path::Path;
use std::time::{Duration, Instant};

use gantry_server::{ServeOptions, Started, start};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub struct TestServer {
    pub started: Option<Started>,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    _data: tempfile::TempDir,
}

/// A fresh PostgreSQL database on the test cluster (scripts/start-postgres.sh).
pub async fn postgres_database() -> String {
    let admin = match std::env::var("GANTRY_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let script = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../scripts/start-postgres.sh"
            );
            let out = std::process::Command::new("bash")
                .arg(script)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("export GANTRY_TEST_DATABASE_URL="))
                .unwrap()
                .to_string()
        }
    };
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    let name = format!(
        "gantry_server_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let root = admin.rsplit_once('/').unwrap().0.to_string();
    let out = std::process::Command::new("psql")
        .args([
            &format!("{root}/postgres"),
            "-qc",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{root}/{name}")
}

impl TestServer {
    pub async fn start(workspace: &Path, database_url: Option<String>) -> TestServer {
        Self::start_in(workspace, database_url, tempfile::tempdir().unwrap()).await
    }

    /// Starts on a data directory the test prepared.
    pub async fn start_in(
        workspace: &Path,
        database_url: Option<String>,
        data: tempfile::TempDir,
    ) -> TestServer {
        let shutdown = CancellationToken::new();
        let started = start(
            ServeOptions {
                workspace_dir: workspace.to_path_buf(),
                data_dir: data.path().to_path_buf(),
                listen: "127.0.0.1:0".parse().unwrap(),
                database_url,
            },
            shutdown.clone(),
        )
        .await
        .unwrap();
        let token = started
            .bootstrap
            .as_ref()
            .unwrap()
            .token
            .expose()
            .to_string();
        TestServer {
            base: format!("http://{}", started.addr),
            started: Some(started),
            token,
            http: reqwest::Client::new(),
            shutdown,
            _data: data,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_hook(
        &self,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Waits until `check` returns Some, polling the API.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl AsyncFnMut(&Self) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check(self).await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(s) = self.started.take() {
            s.wait().await;
        }
    }
}
