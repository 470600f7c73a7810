//! The host executor: plain processes, their output, environment, timeouts and the
//! clean-up of everything a step started.

use crate::{TestJob, cancel_after, process_gone, run, run_with, sh, sink, step, texts};
use gantry_engine::executor::host::{BASE_ENV, HostExecutor, KILL_GRACE};
use gantry_engine::executor::{ExecError, Executor, JobSession, StepExit};
use gantry_engine::log::Stream;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

async fn session(job: &TestJob) -> Box<dyn JobSession> {
    let (log, _rx) = sink(&[]);
    HostExecutor::new()
        .prepare(&job.spec, &log)
        .await
        .expect("prepare")
}

fn read_pids(path: &std::path::Path) -> Vec<i32> {
    let text = std::fs::read_to_string(path).expect("pid file");
    text.split_whitespace()
        .map(|p| p.parse().expect("pid"))
        .collect()
}

#[tokio::test]
async fn reports_exit_codes() {
    let job = TestJob::new();
    let s = session(&job).await;
    assert_eq!(s.paths().workspace, job.spec.workspace);
    assert_eq!(s.paths().state_dir, job.spec.state_dir);

    let (exit, _) = run(&*s, &step(&["true"], job.workspace())).await;
    assert!(exit.success(), "{exit:?}");
    let (exit, _) = run(&*s, &sh("exit 3", job.workspace())).await;
    assert_eq!(
        exit,
        StepExit {
            code: Some(3),
            timed_out: false,
            cancelled: false
        }
    );
    let (exit, _) = run(&*s, &sh("kill -KILL $$", job.workspace())).await;
    assert_eq!(exit.code, None, "killed by a signal: {exit:?}");
    assert!(!exit.success());
}

#[tokio::test]
async fn streams_stdout_and_stderr_lines_in_order() {
    let job = TestJob::new();
    let s = session(&job).await;
    let script =
        "echo out1; echo err1 >&2; echo out2; printf 'err2\\nerr3' >&2; printf 'no newline'";
    let (exit, lines) = run(&*s, &sh(script, job.workspace())).await;
    assert!(exit.success());
    assert_eq!(
        texts(&lines, Stream::Stdout),
        ["out1", "out2", "no newline"]
    );
    assert_eq!(texts(&lines, Stream::Stderr), ["err1", "err2", "err3"]);
    assert!(lines.iter().all(|l| l.step == Some(0) && &*l.job == "test"));
}

#[tokio::test]
async fn runs_in_the_requested_directory() {
    let job = TestJob::new();
    let s = session(&job).await;
    let (exit, lines) = run(&*s, &step(&["pwd"], job.workspace())).await;
    assert!(exit.success());
    assert_eq!(
        texts(&lines, Stream::Stdout),
        [job.workspace().display().to_string()]
    );
    std::fs::write(job.workspace().join("f.txt"), "x").expect("write");
    let (exit, _) = run(&*s, &step(&["test", "-f", "f.txt"], job.workspace())).await;
    assert!(exit.success());
}

#[tokio::test]
async fn environment_is_the_allow_list_plus_the_step_env() {
    // Cargo runs tests with CARGO_* variables set: proof that the parent environment
    // has more than the allow-list, so the exact comparison below means something.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let job = TestJob::new();
    let s = session(&job).await;
    let mut cmd = step(&["env"], job.workspace());
    cmd.env = vec![
        ("STEP_VAR".into(), "from the step".into()),
        ("HOME".into(), "/step/home".into()),
    ];
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
    expected.insert("HOME".into());
    assert_eq!(seen, expected);
    let out = texts(&lines, Stream::Stdout);
    let path = std::env::var("PATH").expect("PATH");
    assert!(out.contains(&format!("PATH={path}")), "{out:?}");
    assert!(out.contains(&"STEP_VAR=from the step".to_string()));
    assert!(
        out.contains(&"HOME=/step/home".to_string()),
        "the step env wins: {out:?}"
    );
}

#[tokio::test]
async fn timeout_kills_the_whole_process_tree() {
    let job = TestJob::new();
    let s = session(&job).await;
    let pids = job.dir.path().join("pids");
    let script = format!(
        "sleep 300 & echo $! >> {p}; (sleep 300 & echo $! >> {p}; wait) & echo $! >> {p}; echo started; wait",
        p = pids.display()
    );
    let mut cmd = sh(&script, job.workspace());
    cmd.timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let (exit, lines) = run(&*s, &cmd).await;
    let elapsed = started.elapsed();
    assert!(
        exit.timed_out && !exit.cancelled && !exit.success(),
        "{exit:?}"
    );
    assert_eq!(texts(&lines, Stream::Stdout), ["started"]);
    // Everything obeys SIGTERM here, so the grace period is not used up.
    assert!(
        elapsed < Duration::from_millis(500) + Duration::from_secs(1),
        "{elapsed:?}"
    );
    let pids = read_pids(&pids);
    assert_eq!(pids.len(), 3);
    for pid in pids {
        assert!(process_gone(pid), "pid {pid} survived the timeout");
    }
}

#[tokio::test]
async fn children_ignoring_sigterm_are_killed_after_the_grace_period() {
    let job = TestJob::new();
    let s = session(&job).await;
    let pids = job.dir.path().join("pids");
    // The subshell and its sleep ignore SIGTERM; only SIGKILL ends them.
    let script = format!(
        "(trap '' TERM; sleep 300 & echo $! >> {p}; wait) & echo $! >> {p}; wait",
        p = pids.display()
    );
    let mut cmd = sh(&script, job.workspace());
    cmd.timeout = Some(Duration::from_millis(300));
    let started = Instant::now();
    let (exit, _) = run(&*s, &cmd).await;
    let elapsed = started.elapsed();
    assert!(exit.timed_out, "{exit:?}");
    assert!(
        elapsed >= KILL_GRACE,
        "SIGKILL came before the grace period ended: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_millis(300) + KILL_GRACE + Duration::from_secs(1),
        "{elapsed:?}"
    );
    let pids = read_pids(&pids);
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(process_gone(pid), "pid {pid} survived SIGKILL");
    }
}

#[tokio::test]
async fn cancellation_stops_the_step() {
    let job = TestJob::new();
    let s = session(&job).await;
    let pid_file = job.dir.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pid_file.display());
    let cancel = cancel_after(Duration::from_millis(300));
    let started = Instant::now();
    let (exit, _) = run_with(&*s, &sh(&script, job.workspace()), &cancel, &[]).await;
    assert!(
        exit.cancelled && !exit.timed_out && !exit.success(),
        "{exit:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(300) + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(process_gone(read_pids(&pid_file)[0]));
}

#[tokio::test]
async fn an_already_cancelled_token_runs_nothing() {
    let job = TestJob::new();
    let s = session(&job).await;
    let marker = job.workspace().join("ran");
    let cancel = CancellationToken::new();
    cancel.cancel();
    let script = format!("touch {}", marker.display());
    let (exit, _) = run_with(&*s, &sh(&script, job.workspace()), &cancel, &[]).await;
    assert!(exit.cancelled);
    assert!(!marker.exists());
}

#[tokio::test]
async fn background_children_die_when_the_step_ends() {
    let job = TestJob::new();
    let s = session(&job).await;
    let pid_file = job.dir.path().join("pid");
    // The background sleep keeps stdout open: without the group kill, exec would wait.
    let script = format!("sleep 999 & echo $! > {}; echo done", pid_file.display());
    let started = Instant::now();
    let (exit, lines) = run(&*s, &sh(&script, job.workspace())).await;
    assert!(exit.success());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(texts(&lines, Stream::Stdout), ["done"]);
    let pid = read_pids(&pid_file)[0];
    assert!(
        process_gone(pid),
        "background child {pid} outlived the step"
    );
}

#[tokio::test]
async fn an_escaped_daemon_holding_the_pipes_does_not_block_the_step() {
    let job = TestJob::new();
    let s = session(&job).await;
    let pid_file = job.dir.path().join("pid");
    // setsid leaves the step's process group, so the group kill cannot reach it.
    let script = format!(
        "setsid sleep 30 & echo $! > {}; echo done",
        pid_file.display()
    );
    let started = Instant::now();
    let (exit, lines) = run(&*s, &sh(&script, job.workspace())).await;
    let elapsed = started.elapsed();
    let pid = read_pids(&pid_file)[0];
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    assert!(exit.success());
    assert_eq!(texts(&lines, Stream::Stdout), ["done"]);
    assert!(
        elapsed < Duration::from_secs(2),
        "exec waited for the daemon: {elapsed:?}"
    );
}

#[tokio::test]
async fn secrets_printed_by_the_step_are_masked() {
    let job = TestJob::new();
    let s = session(&job).await;
    let secret = "hunter2-topsecret";
    let mut cmd = sh(
        "echo \"token=$TOKEN\"; echo \"$TOKEN\" >&2",
        job.workspace(),
    );
    cmd.env = vec![("TOKEN".into(), secret.into())];
    let (exit, lines) = run_with(&*s, &cmd, &CancellationToken::new(), &[secret]).await;
    assert!(exit.success());
    assert_eq!(texts(&lines, Stream::Stdout), ["token=***"]);
    assert_eq!(texts(&lines, Stream::Stderr), ["***"]);
    assert!(lines.iter().all(|l| !l.text.contains(secret)));
}

#[tokio::test]
async fn spawn_failures_and_empty_commands_are_errors() {
    let job = TestJob::new();
    let s = session(&job).await;
    let (log, _rx) = sink(&[]);
    let cancel = CancellationToken::new();
    let missing = step(&["/nonexistent/program"], job.workspace());
    match s.exec(&missing, &log, &cancel).await {
        Err(ExecError::Spawn { program, .. }) => assert_eq!(program, "/nonexistent/program"),
        other => panic!("expected a spawn error, got {other:?}"),
    }
    let nowhere = step(&["true"], &job.workspace().join("missing"));
    match s.exec(&nowhere, &log, &cancel).await {
        Err(err @ ExecError::Io { .. }) => {
            assert!(err.to_string().contains("working directory"), "{err}")
        }
        other => panic!("expected an error about the directory, got {other:?}"),
    }
    let empty = step(&[], job.workspace());
    assert!(matches!(
        s.exec(&empty, &log, &cancel).await,
        Err(ExecError::Spawn { .. })
    ));
}

#[tokio::test]
async fn trivial_steps_have_little_overhead() {
    let job = TestJob::new();
    let s = session(&job).await;
    let cmd = step(&["true"], job.workspace());
    let (log, _rx) = sink(&[]);
    let cancel = CancellationToken::new();
    let started = Instant::now();
    for _ in 0..50 {
        assert!(s.exec(&cmd, &log, &cancel).await.expect("exec").success());
    }
    // Generous for a loaded 2-core machine, but far below any fixed per-step delay.
    let per_step = started.elapsed() / 50;
    assert!(
        per_step < Duration::from_millis(40),
        "{per_step:?} per step"
    );
    s.cleanup().await.expect("cleanup");
}

#[tokio::test]
async fn a_slow_log_consumer_loses_no_output() {
    let job = TestJob::new();
    let s = session(&job).await;
    // A small channel drained slowly: the step exits long before its output is read,
    // with more of it waiting in the pipe than one read takes.
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let log = gantry_engine::log::LogSink::new("test", Default::default(), tx);
    let consumer = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            if lines.len() % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            lines.push(line.text);
        }
        lines
    });
    let cmd = sh(
        "i=0; while [ $i -lt 10000 ]; do echo line $i; i=$((i+1)); done",
        job.workspace(),
    );
    let exit = s
        .exec(&cmd, &log, &CancellationToken::new())
        .await
        .expect("exec");
    drop(log);
    let lines = consumer.await.expect("consumer");
    assert!(exit.success());
    assert_eq!(lines.len(), 10000);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| *l == format!("line {i}"))
    );
}
