//! Integration tests of the executors against the real thing: local processes,
//! bubblewrap and the Docker Engine; and of deploy jobs' wiring (deploy.rs). One test
//! binary; shared helpers live here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deploy;
mod docker;
mod host;
mod sandbox;

use gantry_core::Masker;
use gantry_engine::executor::{JobSession, JobSpec, StepCommand, StepExit};
use gantry_engine::log::{LogLine, LogSink, Stream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Runs scripts/build-test-images.sh once per test binary: it installs bubblewrap and
/// busybox if they are missing and builds the local `gantry-test/*` images.
pub fn ensure_test_environment() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    let outcome = DONE.get_or_init(|| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-test-images.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed ({}):\n{}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    });
    if let Err(message) = outcome {
        panic!("{message}");
    }
}

/// A job whose workspace and state directory live in a fresh temporary directory.
#[derive(Debug)]
pub struct TestJob {
    pub dir: TempDir,
    pub spec: JobSpec,
}

impl TestJob {
    /// Under the system temp dir (usually /tmp).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self::in_dir(tempfile::tempdir().expect("temp dir"))
    }

    /// Under Cargo's target tmp dir, which is not below /tmp.
    pub fn outside_tmp() -> Self {
        // The sandbox hides /tmp and /var/tmp behind private tmpfs mounts, so a checkout
        // that itself lives under one of them needs a base elsewhere ($HOME).
        let mut base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        if base.starts_with("/tmp") || base.starts_with("/var/tmp") {
            let home = std::env::var_os("HOME").expect("HOME");
            base = PathBuf::from(home).join(".cache/gantry-engine-tests");
        }
        std::fs::create_dir_all(&base).expect("target tmp dir");
        Self::in_dir(tempfile::tempdir_in(base).expect("temp dir"))
    }

    fn in_dir(dir: TempDir) -> Self {
        let workspace = dir.path().join("workspace");
        let state_dir = dir.path().join("state");
        std::fs::create_dir(&workspace).expect("workspace");
        std::fs::create_dir(&state_dir).expect("state dir");
        let spec = JobSpec {
            run_id: unique_id("run"),
            job_key: "test".to_string(),
            workspace,
            state_dir,
            image: None,
            services: Vec::new(),
            network: false,
        };
        TestJob { dir, spec }
    }

    pub fn workspace(&self) -> &Path {
        &self.spec.workspace
    }
}

/// An id no other test (or earlier run of this binary) uses.
pub fn unique_id(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// A sink that masks `secrets`, and the receiving end of its lines.
pub fn sink(secrets: &[&str]) -> (LogSink, mpsc::Receiver<LogLine>) {
    let (tx, rx) = mpsc::channel(100_000);
    let masker = Arc::new(Masker::new(secrets.iter().copied()));
    (LogSink::new("test", masker, tx), rx)
}

pub fn drain(rx: &mut mpsc::Receiver<LogLine>) -> Vec<LogLine> {
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    lines
}

pub fn texts(lines: &[LogLine], stream: Stream) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.stream == stream)
        .map(|l| l.text.clone())
        .collect()
}

pub fn step(argv: &[&str], cwd: &Path) -> StepCommand {
    StepCommand {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        cwd: cwd.to_path_buf(),
        timeout: None,
    }
}

pub fn sh(script: &str, cwd: &Path) -> StepCommand {
    step(&["sh", "-c", script], cwd)
}

/// Runs `cmd` in `session` and returns how it ended and every line it logged.
pub async fn run(session: &dyn JobSession, cmd: &StepCommand) -> (StepExit, Vec<LogLine>) {
    run_with(session, cmd, &CancellationToken::new(), &[]).await
}

pub async fn run_with(
    session: &dyn JobSession,
    cmd: &StepCommand,
    cancel: &CancellationToken,
    secrets: &[&str],
) -> (StepExit, Vec<LogLine>) {
    let (log, mut rx) = sink(secrets);
    let exit = session
        .exec(cmd, &log.for_step(0), cancel)
        .await
        .expect("exec");
    drop(log);
    (exit, drain(&mut rx))
}

/// A token that fires after `delay`.
pub fn cancel_after(delay: Duration) -> CancellationToken {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        fire.cancel();
    });
    token
}

/// Whether a host process is still running (a zombie waiting to be reaped is not).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// Whether a host process is gone, allowing a moment for a process that was just sent
/// SIGKILL to finish exiting.
pub fn process_gone(pid: i32) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while process_alive(pid) {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Host processes whose command line is exactly `argv`.
pub fn processes_with_cmdline(argv: &[&str]) -> Vec<i32> {
    let wanted: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if std::fs::read(entry.path().join("cmdline")).is_ok_and(|c| c == wanted)
            && process_alive(pid)
        {
            found.push(pid);
        }
    }
    found
}
