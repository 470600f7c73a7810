//! The client subcommands (`trigger`, `runs`, `logs`, `cancel`) against a real
//! `gantry serve` on a temporary workspace whose project is a fresh git repository.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::gantry_bin;

const CI: &str = r#"name: ci
on:
  manual:
    inputs:
      who: { default: world }
jobs:
  build:
    steps:
      - run: echo "hello ${{ inputs.who }}"; echo build-line-2
      - run: sleep 0.3; echo build-line-3
  test:
    needs: [build]
    steps:
      - run: echo test-line-1; echo "greeting ${{ inputs.who }}"
"#;

const FAIL: &str = r#"name: fail
on: { manual: {} }
jobs:
  broken:
    steps:
      - run: echo about-to-fail; exit 3
"#;

const SLOW: &str = r#"name: slow
on: { manual: {} }
jobs:
  wait:
    steps:
      - run: echo sleeping-now; sleep 60; echo never-printed
"#;

/// A running `gantry serve`, killed when dropped (also when a test panics).
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) workspace: tempfile::TempDir,
    pub(crate) data: tempfile::TempDir,
    /// The server's stderr, complete once it exits.
    pub(crate) stderr: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Server {
    /// A workspace with project `app` (pipelines ci, fail and slow), served on a free port.
    pub(crate) fn start() -> Server {
        Server::start_with(&[], &[])
    }

    /// As [`Server::start`], with more `gantry serve` arguments and environment.
    pub(crate) fn start_with(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let workspace = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        std::fs::write(
            workspace.path().join("gantry.yml"),
            "projects:\n  app: { path: ./app, poll: off }\n",
        )
        .unwrap();
        let app = workspace.path().join("app");
        let pipelines = app.join(".gantry/pipelines");
        std::fs::create_dir_all(&pipelines).unwrap();
        for (name, text) in [("ci.yml", CI), ("fail.yml", FAIL), ("slow.yml", SLOW)] {
            std::fs::write(pipelines.join(name), text).unwrap();
        }
        sh(
            &app,
            "git init -q -b main && git add -A && git -c user.email=dev@example.com -c user.name=Dev commit -qm 'initial commit'",
        );
        Server::start_in(workspace, data, None, args, envs)
    }

    /// Serves `workspace` with `data` (`token`: one made by an earlier start there).
    pub(crate) fn start_in(
        workspace: tempfile::TempDir,
        data: tempfile::TempDir,
        token: Option<String>,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        let mut child = Command::new(gantry_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--workspace"])
            .arg(workspace.path())
            .arg("--data")
            .arg(data.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env("GANTRY_LOG", "warn")
            .envs(envs.iter().copied())
            .env_remove("GANTRY_TOKEN")
            .env_remove("GANTRY_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gantry serve");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        // Drain stderr so the server never blocks on a full pipe; keep it for failures.
        let err_text = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut s);
            s
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut token = None;
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(t) = line.trim().strip_prefix("GANTRY_TOKEN=") {
                    token = Some(t.to_string());
                }
                if !sent && let Some(rest) = line.strip_prefix("gantry serve: ") {
                    let url = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send((url, token.clone()));
                    sent = true;
                }
            }
        });
        let Ok((url, printed)) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "gantry serve did not start:\n{}",
                err_text.join().unwrap_or_default()
            );
        };
        Server {
            child,
            url,
            token: token
                .or(printed)
                .expect("the first start prints GANTRY_TOKEN"),
            workspace,
            data,
            stderr: Some(err_text),
        }
    }

    /// `gantry ARGS` against this server with its token.
    pub(crate) fn gantry(&self, args: &[&str]) -> Out {
        self.gantry_with(args, Some(&self.token))
    }

    fn gantry_with(&self, args: &[&str], token: Option<&str>) -> Out {
        let mut cmd = Command::new(gantry_bin());
        cmd.args(args)
            .env("GANTRY_URL", &self.url)
            .env("NO_COLOR", "1")
            .env_remove("CI");
        match token {
            Some(t) => cmd.env("GANTRY_TOKEN", t),
            None => cmd.env_remove("GANTRY_TOKEN"),
        };
        let out = run_with_timeout(cmd, Duration::from_secs(30));
        // The token must never be printed, whatever the command.
        assert!(
            !out.stdout.contains(&self.token) && !out.stderr.contains(&self.token),
            "the token leaked into the output of {args:?}"
        );
        out
    }

    pub(crate) fn run_json(&self, id: i64) -> Value {
        let out = self.gantry(&["runs", "show", &id.to_string(), "--json"]);
        assert_eq!(out.code, 0, "{out:?}");
        serde_json::from_str(&out.stdout).unwrap()
    }
}

#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs a command, killing it (and failing the test) if it takes longer than `limit`.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> Out {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gantry");
    let read = |r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(r).read_to_string(&mut s);
            s
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "gantry timed out:\nstdout:\n{}\nstderr:\n{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Out {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// The run id in `started app / ci #1 (run 7)`.
pub(crate) fn started_run(stdout: &str) -> i64 {
    stdout
        .lines()
        .find_map(|l| l.split("(run ").nth(1)?.split(')').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no started run in:\n{stdout}"))
}

/// The `key │ text` lines of a job, in order, without the `·` notes of Gantry itself.
fn job_lines(stdout: &str, key: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            let (k, text) = l.split_once(" │ ")?;
            (k.trim() == key && !text.starts_with("· ")).then(|| text.to_string())
        })
        .collect()
}

#[test]
fn trigger_follow_runs_lists_and_logs() {
    let server = Server::start();
    let out = server.gantry(&["trigger", "app", "ci", "--input", "who=gantry", "--follow"]);
    assert_eq!(out.code, 0, "{out:?}");
    let id = started_run(&out.stdout);
    assert!(
        out.stdout
            .contains(&format!("{}/runs/{id}", server.url.trim_end_matches('/'))),
        "{out:?}"
    );
    let build = ["hello gantry", "build-line-2", "build-line-3"];
    let test = ["test-line-1", "greeting gantry"];
    assert_eq!(job_lines(&out.stdout, "build"), build, "{out:?}");
    assert_eq!(job_lines(&out.stdout, "test"), test, "{out:?}");
    assert!(out.stderr.contains("success"), "{out:?}");

    let list = server.gantry(&["runs"]);
    assert_eq!(list.code, 0, "{list:?}");
    let row = list
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
        .unwrap_or_else(|| panic!("run {id} not listed:\n{}", list.stdout));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[1..6],
        ["app", "ci", "#1", "success", "manual"],
        "{row}"
    );
    let json = server.gantry(&["runs", "--status", "success", "--json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["runs"][0]["id"], id);
    assert_eq!(v["runs"][0]["inputs"]["who"], "gantry");

    let show = server.gantry(&["runs", "show", &id.to_string()]);
    assert_eq!(show.code, 0, "{show:?}");
    assert!(show.stdout.contains("inputs: who=gantry"), "{show:?}");
    assert!(show.stdout.contains("build") && show.stdout.contains("test"));

    // The stored log holds the same lines, each once, job after job.
    let logs = server.gantry(&["logs", &id.to_string()]);
    assert_eq!(logs.code, 0, "{logs:?}");
    let all: Vec<String> = ["build", "test"]
        .iter()
        .flat_map(|k| job_lines(&logs.stdout, k))
        .collect();
    assert_eq!(all, build.iter().chain(&test).copied().collect::<Vec<_>>());
    let printed: Vec<&str> = logs
        .stdout
        .lines()
        .filter(|l| !l.contains("│ · "))
        .collect();
    assert_eq!(printed.len(), 5, "{}", logs.stdout);

    // One job: no prefix; --raw: just the text.
    let one = server.gantry(&["logs", &id.to_string(), "--job", "test", "--raw"]);
    assert_eq!(one.code, 0, "{one:?}");
    let lines: Vec<&str> = one.stdout.lines().collect();
    let t1 = lines.iter().position(|l| *l == "test-line-1").unwrap();
    assert_eq!(lines[t1 + 1], "greeting gantry", "{}", one.stdout);
    assert!(!one.stdout.contains("hello gantry"));

    // Following a finished run prints its logs and its result at once.
    let again = server.gantry(&["logs", &id.to_string(), "--follow"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(job_lines(&again.stdout, "build"), build);
}

#[test]
fn a_failing_run_makes_follow_exit_1() {
    let server = Server::start();
    let out = server.gantry(&["trigger", "app", "fail", "--follow"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("about-to-fail"), "{out:?}");
    assert!(out.stderr.contains("failure"), "{out:?}");
    let id = started_run(&out.stdout);
    let list = server.gantry(&["runs", "--status", "failure", "--json"]);
    let v: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(v["runs"][0]["id"], id);
}

#[test]
fn cancel_stops_a_running_run() {
    let server = Server::start();
    let out = server.gantry(&["trigger", "app", "slow"]);
    assert_eq!(out.code, 0, "{out:?}");
    let id = started_run(&out.stdout);
    // Wait until the step is sleeping, so the cancel has a process to stop.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let logs = server.gantry(&["logs", &id.to_string(), "--raw"]);
        if logs.stdout.contains("sleeping-now") {
            break;
        }
        assert!(Instant::now() < deadline, "the slow job never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let started = Instant::now();
    let cancel = server.gantry(&["cancel", &id.to_string()]);
    assert_eq!(cancel.code, 0, "{cancel:?}");
    assert!(cancel.stdout.contains(&format!("run {id}")), "{cancel:?}");
    // Following it ends when the cancelled run has finished, with exit code 1.
    let follow = server.gantry(&["logs", &id.to_string(), "--follow"]);
    assert_eq!(follow.code, 1, "{follow:?}");
    assert!(!follow.stdout.contains("never-printed"), "{follow:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "cancelling took too long"
    );
    let v = server.run_json(id);
    assert_eq!(v["run"]["status"], "cancelled", "{v:#}");
}

#[test]
fn bad_tokens_and_unreachable_servers_get_clear_errors() {
    let server = Server::start();
    let wrong = "gantry_wrong_token_123456";
    let out = server.gantry_with(&["runs"], Some(wrong));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.starts_with("error: "), "{out:?}");
    assert!(out.stderr.contains("GANTRY_TOKEN"), "{out:?}");
    assert!(!out.stderr.contains(wrong) && !out.stdout.contains(wrong));

    let out = server.gantry_with(&["trigger", "app", "ci"], None);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("GANTRY_TOKEN"), "{out:?}");

    let out = server.gantry(&["logs", "999999"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no run 999999"), "{out:?}");

    let out = server.gantry(&["trigger", "app", "nope"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("nope"), "{out:?}");

    let out = server.gantry(&["trigger", "app", "ci", "--input", "nobody=x"]);
    assert_eq!(out.code, 2, "{out:?}");

    // Nothing listens on port 1.
    let mut cmd = Command::new(gantry_bin());
    cmd.args(["runs", "--url", "http://127.0.0.1:1"])
        .env("GANTRY_TOKEN", &server.token);
    let out = run_with_timeout(cmd, Duration::from_secs(20));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("cannot connect") && out.stderr.contains("http://127.0.0.1:1"),
        "{out:?}"
    );
    assert!(!out.stderr.contains(&server.token));

    // --help never shows the token from the environment.
    let mut cmd = Command::new(gantry_bin());
    cmd.args(["logs", "--help"])
        .env("GANTRY_TOKEN", &server.token);
    let out = run_with_timeout(cmd, Duration::from_secs(20));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains(&server.token));
}
