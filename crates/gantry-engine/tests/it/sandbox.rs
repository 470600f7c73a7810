//! The sandbox executor against the real bubblewrap: confinement of writes, network
//! and processes, and a clear refusal when bwrap cannot run.

use crate::{
    TestJob, cancel_after, ensure_test_environment, processes_with_cmdline, run, run_with, sh,
    sink, step, texts,
};
use gantry_engine::executor::host::BASE_ENV;
use gantry_engine::executor::sandbox::{SANDBOX_HOSTNAME, SandboxExecutor};
use gantry_engine::executor::{ExecError, Executor, JobSession};
use gantry_engine::log::Stream;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

async fn session(job: &TestJob) -> Box<dyn JobSession> {
    ensure_test_environment();
    let (log, _rx) = sink(&[]);
    SandboxExecutor::new()
        .prepare(&job.spec, &log)
        .await
        .expect("prepare the sandbox")
}

#[tokio::test]
async fn runs_a_step_with_its_output_exit_code_and_clean_env() {
    let job = TestJob::new();
    let s = session(&job).await;
    let (exit, lines) = run(
        &*s,
        &sh("echo out; echo err >&2; hostname; exit 4", job.workspace()),
    )
    .await;
    assert_eq!(exit.code, Some(4), "{exit:?}");
    assert_eq!(texts(&lines, Stream::Stdout), ["out", SANDBOX_HOSTNAME]);
    assert_eq!(texts(&lines, Stream::Stderr), ["err"]);

    let mut cmd = step(&["env"], job.workspace());
    cmd.env = vec![("STEP_VAR".into(), "1".into())];
    let (exit, lines) = run(&*s, &cmd).await;
    assert!(exit.success());
    let seen: BTreeSet<String> = texts(&lines, Stream::Stdout)
        .iter()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
        .collect();
    let mut expected: BTreeSet<String> = BASE_ENV
        .iter()
        .filter(|k| std::env::var_os(k).is_some())
        .map(|k| k.to_string())
        .collect();
    expected.insert("STEP_VAR".into());
    // bwrap sets PWD after --chdir, as a shell would.
    expected.insert("PWD".into());
    assert_eq!(seen, expected);
    s.cleanup().await.expect("cleanup");
}

/// Tries to create each path inside the sandbox; returns the ones that worked.
const TRY_WRITES: &str =
    r#"for p in "$@"; do if touch "$p" 2>/dev/null; then echo "wrote $p"; fi; done"#;

#[tokio::test]
async fn only_the_workspace_and_state_dir_are_writable() {
    // Outside /tmp, so the workspace's parent is part of the read-only host root.
    let job = TestJob::outside_tmp();
    let s = session(&job).await;
    let home = std::env::var("HOME").expect("HOME");
    let inside = job.workspace().join("inside");
    let state = job.spec.state_dir.join("output");
    let parent = job.dir.path().join("escaped");
    let etc = format!("/etc/gantry-sandbox-test-{}", std::process::id());
    let home_file = format!("{home}/gantry-sandbox-test-{}", std::process::id());
    let targets = [
        inside.display().to_string(),
        state.display().to_string(),
        parent.display().to_string(),
        etc.clone(),
        home_file.clone(),
    ];
    let mut argv = vec!["sh", "-c", TRY_WRITES, "try"];
    argv.extend(targets.iter().map(String::as_str));
    let (exit, lines) = run(&*s, &step(&argv, job.workspace())).await;
    assert!(exit.success());
    assert_eq!(
        texts(&lines, Stream::Stdout),
        [
            format!("wrote {}", inside.display()),
            format!("wrote {}", state.display())
        ]
    );
    assert!(inside.exists() && state.exists());
    assert!(!parent.exists());
    assert!(!std::path::Path::new(&etc).exists());
    assert!(!std::path::Path::new(&home_file).exists());
}

#[tokio::test]
async fn a_workspace_under_tmp_is_visible_but_tmp_itself_is_private() {
    let job = TestJob::new();
    assert!(job.workspace().starts_with(std::env::temp_dir()));
    let s = session(&job).await;
    let outside = job.dir.path().join("escaped");
    let host_tmp_file = std::env::temp_dir().join(format!("gantry-sandbox-{}", std::process::id()));
    std::fs::write(job.workspace().join("input"), "from the host\n").expect("write");
    let script = format!(
        "cat input; echo made > output; touch {} {} 2>/dev/null; true",
        outside.display(),
        host_tmp_file.display()
    );
    let (exit, lines) = run(&*s, &sh(&script, job.workspace())).await;
    assert!(exit.success(), "{lines:?}");
    assert_eq!(texts(&lines, Stream::Stdout), ["from the host"]);
    assert_eq!(
        std::fs::read_to_string(job.workspace().join("output")).expect("output"),
        "made\n"
    );
    // Writes next to the workspace land in the sandbox's private /tmp, not on the host.
    assert!(!outside.exists());
    assert!(!host_tmp_file.exists());
}

async fn connect_from_sandbox(network: bool) -> (Option<i32>, Vec<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let mut job = TestJob::new();
    job.spec.network = network;
    let s = session(&job).await;
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    let (exit, lines) = run(&*s, &step(&["bash", "-c", &script], job.workspace())).await;
    drop(listener);
    (exit.code, texts(&lines, Stream::Stdout))
}

#[tokio::test]
async fn has_no_network_unless_the_job_asks_for_it() {
    let (code, out) = connect_from_sandbox(false).await;
    assert_ne!(code, Some(0));
    assert!(out.is_empty(), "{out:?}");

    let (code, out) = connect_from_sandbox(true).await;
    assert_eq!(code, Some(0));
    assert_eq!(out, ["connected"]);
}

#[tokio::test]
async fn has_its_own_pid_namespace() {
    let job = TestJob::new();
    let s = session(&job).await;
    let script = "echo $$; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'";
    let (exit, lines) = run(&*s, &sh(script, job.workspace())).await;
    assert!(exit.success());
    let out = texts(&lines, Stream::Stdout);
    assert_eq!(
        out.get(..2),
        Some(&["2".to_string(), "bwrap".to_string()][..]),
        "{out:?}"
    );
    let count: usize = out
        .get(2)
        .and_then(|c| c.parse().ok())
        .expect("process count");
    assert!(count < 10, "the sandbox sees {count} processes");
}

#[tokio::test]
async fn timeout_and_cancel_kill_everything_in_the_sandbox() {
    let job = TestJob::new();
    let s = session(&job).await;
    let mut cmd = sh(
        "sleep 3171 & sleep 3171 & echo started; wait",
        job.workspace(),
    );
    cmd.timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let (exit, lines) = run(&*s, &cmd).await;
    assert!(exit.timed_out, "{exit:?}");
    assert_eq!(texts(&lines, Stream::Stdout), ["started"]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let cancel = cancel_after(Duration::from_millis(300));
    let started = Instant::now();
    let (exit, _) = run_with(&*s, &sh("sleep 3172 & wait", job.workspace()), &cancel, &[]).await;
    assert!(exit.cancelled, "{exit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        processes_with_cmdline(&["sleep", "3171"]),
        Vec::<i32>::new()
    );
    assert_eq!(
        processes_with_cmdline(&["sleep", "3172"]),
        Vec::<i32>::new()
    );
}

#[tokio::test]
async fn background_children_die_with_the_step() {
    let job = TestJob::new();
    let s = session(&job).await;
    let started = Instant::now();
    let (exit, _) = run(&*s, &sh("sleep 3173 & echo done", job.workspace())).await;
    assert!(exit.success());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        processes_with_cmdline(&["sleep", "3173"]),
        Vec::<i32>::new()
    );
}

#[tokio::test]
async fn a_missing_bwrap_is_refused_without_running_anything() {
    let job = TestJob::new();
    let (log, mut rx) = sink(&[]);
    let executor = SandboxExecutor::with_bwrap("/nonexistent/bwrap");
    let err = match executor.prepare(&job.spec, &log).await {
        Err(err) => err,
        Ok(_) => panic!("prepare succeeded without bwrap"),
    };
    let message = err.to_string();
    assert!(matches!(err, ExecError::SandboxUnavailable(_)), "{err:?}");
    assert!(message.contains("/nonexistent/bwrap"), "{message}");
    assert!(
        message.contains("never runs a sandbox job unsandboxed"),
        "{message}"
    );
    drop(log);
    let lines = crate::drain(&mut rx);
    assert_eq!(
        texts(&lines, Stream::System),
        std::slice::from_ref(&message)
    );
    // The check is cached: the second job gets the same answer.
    let (log, _rx) = sink(&[]);
    let again = executor
        .prepare(&job.spec, &log)
        .await
        .err()
        .map(|e| e.to_string());
    assert_eq!(again, Some(message));
}

#[tokio::test]
async fn a_bwrap_that_cannot_start_a_sandbox_is_refused_with_its_message() {
    // `false` stands in for a bwrap that exists but fails (e.g. no user namespaces).
    let job = TestJob::new();
    let (log, _rx) = sink(&[]);
    let executor = SandboxExecutor::with_bwrap("false");
    match executor.prepare(&job.spec, &log).await {
        Err(ExecError::SandboxUnavailable(why)) => {
            assert!(why.contains("could not start a test sandbox"), "{why}")
        }
        Err(other) => panic!("wrong error: {other:?}"),
        Ok(_) => panic!("prepare succeeded with a broken bwrap"),
    }
}

#[tokio::test]
async fn a_step_path_without_bwrap_in_it_still_starts_the_sandbox() {
    let job = TestJob::new();
    let s = session(&job).await;
    let mut cmd = step(&["/bin/sh", "-c", "echo \"$PATH\""], job.workspace());
    cmd.env = vec![("PATH".into(), "/nowhere".into())];
    let (exit, lines) = run(&*s, &cmd).await;
    assert!(exit.success(), "{lines:?}");
    assert_eq!(texts(&lines, Stream::Stdout), ["/nowhere"]);
}
