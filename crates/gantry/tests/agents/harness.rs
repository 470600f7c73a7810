//! The test setup: a server listening on the lab's gateway address, agents started on
//! test hosts, and small API helpers (curl, as the other CLI tests use).

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gantry_testhost::{Lab, TestHost};
use serde_json::{Value, json};

pub fn gantry_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gantry")
}

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port(addr: Ipv4Addr) -> u16 {
    std::net::TcpListener::bind((addr, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `gantry serve` on the lab's gateway; restartable on the same port and data.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub token: String,
    pub agent_token: String,
    pub workspace: tempfile::TempDir,
    data: tempfile::TempDir,
    listen: String,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Server {
    /// A workspace whose project `app` has the given pipelines; jobs without runs_on
    /// go to agents, leases last `lease`.
    pub fn start(lab: &Lab, pipelines: &[(&str, &str)], lease: &str) -> Server {
        let workspace = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        std::fs::write(
            workspace.path().join("gantry.yml"),
            format!(
                "server:\n  unlabeled_jobs: agents\n  agent_lease: {lease}\nprojects:\n  app: {{ path: ./app, poll: off }}\n"
            ),
        )
        .unwrap();
        let app = workspace.path().join("app");
        let dir = app.join(".gantry/pipelines");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in pipelines {
            std::fs::write(dir.join(name), text).unwrap();
        }
        std::fs::write(app.join("input.txt"), "from the repository\n").unwrap();
        sh(
            &app,
            "git init -q -b main && git add -A && git -c user.email=dev@example.com -c user.name=Dev commit -qm 'initial commit'",
        );
        let listen = format!("{}:{}", lab.gateway(), free_port(lab.gateway()));
        let mut server = Server {
            child: None,
            url: format!("http://{listen}"),
            token: String::new(),
            agent_token: String::new(),
            workspace,
            data,
            listen,
            stderr: Default::default(),
        };
        let token = server.spawn();
        server.token = token.expect("the first start prints GANTRY_TOKEN");
        let created = server.api(
            "POST",
            "/api/v1/tokens",
            Some(json!({ "name": "agents", "role": "agent" })),
        );
        server.agent_token = created["token"].as_str().unwrap().to_string();
        server
    }

    fn spawn(&mut self) -> Option<String> {
        let mut child = Command::new(gantry_bin())
            .args(["serve", "--listen", &self.listen, "--workspace"])
            .arg(self.workspace.path())
            .arg("--data")
            .arg(self.data.path())
            .env("NO_COLOR", "1")
            .env("GANTRY_LOG", "info")
            .env_remove("GANTRY_TOKEN")
            .env_remove("GANTRY_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let keep = self.stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut s) = keep.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut token = None;
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(t) = line.trim().strip_prefix("GANTRY_TOKEN=") {
                    token = Some(t.to_string());
                }
                if !sent && line.starts_with("gantry serve: ") {
                    let _ = tx.send(token.clone());
                    sent = true;
                }
            }
        });
        let token = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("gantry serve did not start:\n{}", self.stderr()));
        self.child = Some(child);
        token
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// kill -9 and start again on the same address and data.
    pub fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.spawn();
    }

    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-X", method, "-H"])
            .arg(format!("Authorization: Bearer {}", self.token))
            .args([
                "-H",
                "content-type: application/json",
                "-w",
                "\n%{http_code}",
            ]);
        if let Some(b) = body {
            cmd.arg("--data").arg(b.to_string());
        }
        let out = cmd.arg(format!("{}{path}", self.url)).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
        assert!(
            code.starts_with('2'),
            "{method} {path}: {code} {body}\n{}",
            self.stderr()
        );
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string()))
    }

    pub fn trigger(&self, pipeline: &str) -> i64 {
        let v = self.api(
            "POST",
            &format!("/api/v1/projects/app/pipelines/{pipeline}/trigger"),
            Some(json!({})),
        );
        v["runs"][0]["run_id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no run id in {v}"))
    }

    pub fn run(&self, id: i64) -> Value {
        self.api("GET", &format!("/api/v1/runs/{id}"), None)
    }

    /// Waits for the run to finish; returns its detail.
    pub fn wait_run(&self, id: i64, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let v = self.run(id);
            let status = v["run"]["status"].as_str().unwrap_or_default().to_string();
            if ["success", "failure", "cancelled"].contains(&status.as_str()) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "run {id} did not finish in {limit:?}: {v}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A job of a run detail by its key.
    pub fn job<'a>(detail: &'a Value, key: &str) -> &'a Value {
        detail["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["key"] == key)
            .unwrap_or_else(|| panic!("no job {key} in {detail}"))
    }

    pub fn raw_log(&self, job: i64) -> String {
        let out = Command::new("curl")
            .args(["-sSf", "-H"])
            .arg(format!("Authorization: Bearer {}", self.token))
            .arg(format!("{}/api/v1/jobs/{job}/logs/raw", self.url))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until `pred` holds for the job's state.
    pub fn wait_job(
        &self,
        run: i64,
        key: &str,
        limit: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let detail = self.run(run);
            let job = Self::job(&detail, key).clone();
            if pred(&job) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {key} of run {run} did not get there in {limit:?}: {job}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A `gantry agent` on a test host; killed when dropped.
pub struct Agent {
    pub child: Child,
    _data: tempfile::TempDir,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    pub fn start(
        host: &TestHost,
        server: &Server,
        name: &str,
        labels: &str,
        capacity: u32,
    ) -> Agent {
        let data = tempfile::tempdir().unwrap();
        let mut child = host
            .command(gantry_bin())
            .args([
                "agent",
                "--server",
                &server.url,
                "--name",
                name,
                "--labels",
                labels,
            ])
            .arg("--capacity")
            .arg(capacity.to_string())
            .arg("--data")
            .arg(data.path())
            .env("GANTRY_AGENT_TOKEN", &server.agent_token)
            .env("GANTRY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log: std::sync::Arc<std::sync::Mutex<String>> = Default::default();
        let keep = log.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut buf = String::new();
            while r.read_line(&mut buf).unwrap_or(0) > 0 {
                if let Ok(mut s) = keep.lock() {
                    s.push_str(&buf);
                }
                buf.clear();
            }
        });
        let agent = Agent {
            child,
            _data: data,
            log,
        };
        // Registered once the server lists it.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !agent.text().contains("registered") {
            assert!(
                Instant::now() < deadline,
                "agent {name} did not register:\n{}",
                agent.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        agent
    }

    pub fn text(&self) -> String {
        self.log.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// The lab, or a panic saying why this machine cannot make one.
pub fn lab() -> Lab {
    if let Err(why) = gantry_testhost::available() {
        panic!("these tests need network namespaces (root, iproute2, nftables): {why}");
    }
    Lab::new().unwrap()
}
