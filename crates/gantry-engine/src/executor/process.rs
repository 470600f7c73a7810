//! Runs one step as a local process group, for the host and sandbox executors: spawn
//! with a clean environment, stream stdout/stderr into the `LogSink`, enforce the
//! timeout and cancellation, and make sure nothing the step started outlives it.

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::ffi::OsStr;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use super::{ExecError, StepExit};
use crate::log::{LogSink, Stream};

/// Time a step gets between SIGTERM and SIGKILL when it times out or is cancelled.
pub const KILL_GRACE: Duration = Duration::from_secs(3);

/// How long the output pipes are still waited on once the step's process group is
/// gone. A daemon that escaped the group (`setsid`) may hold them open forever; its
/// output after this is not the step's.
pub(super) const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// After `DRAIN_GRACE`, output that is already waiting in a pipe is still read (a slow
/// log consumer must not lose the step's last lines), up to this much more per stream
/// so that an escaped daemon writing without pause cannot hold the step open.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// How often the group is checked for survivors during the kill grace period. Only the
/// timeout/cancel path polls; a step that ends by itself never waits on this.
const GROUP_POLL: Duration = Duration::from_millis(10);

/// Variables copied from Gantry's own environment into every step; everything else is
/// dropped so that Gantry's configuration (tokens, database URLs) cannot leak into a
/// step. `SHELL` is left out on purpose: steps choose their shell explicitly.
pub const BASE_ENV: [&str; 8] = [
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "TZ",
];

/// A command for `program` with the base environment, then `env`, in its own process
/// group, with stdin from /dev/null and both output streams piped.
pub(crate) fn command(program: impl AsRef<OsStr>, env: &[(String, String)]) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for key in BASE_ENV {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    command
}

/// Runs `command` (made by [`command`]) to completion, streaming its output to `log`.
pub(crate) async fn run(
    mut command: Command,
    log: &LogSink,
    limit: Option<Duration>,
    cancel: &CancellationToken,
) -> Result<StepExit, ExecError> {
    if cancel.is_cancelled() {
        return Ok(StepExit {
            code: None,
            timed_out: false,
            cancelled: true,
        });
    }
    let deadline = limit.map(|d| Instant::now() + d);
    let mut child = command.spawn().map_err(|source| ExecError::Spawn {
        program: command
            .as_std()
            .get_program()
            .to_string_lossy()
            .into_owned(),
        source,
    })?;
    // With `process_group(0)` the group id is the child's pid.
    let group = Group::new(child.id());

    let stop_reading = CancellationToken::new();
    let mut pumps = tokio::spawn(pump_both(
        log.clone(),
        child.stdout.take(),
        child.stderr.take(),
        stop_reading.clone(),
    ));

    let (status, timed_out, cancelled) = tokio::select! {
        status = child.wait() => (status, false, false),
        () = sleep_until_opt(deadline) => (terminate(&mut child, &group).await, true, false),
        () = cancel.cancelled() => (terminate(&mut child, &group).await, false, true),
    };
    // Background children (`sleep 999 &`) die with the step: dropping the group kills it.
    drop(group);

    if timeout(DRAIN_GRACE, &mut pumps).await.is_err() {
        stop_reading.cancel();
        let _ = pumps.await;
    }

    let status = status.map_err(|source| ExecError::Io {
        context: "waiting for the step's process".to_string(),
        source,
    })?;
    Ok(StepExit {
        code: status.code(),
        timed_out,
        cancelled,
    })
}

/// SIGTERM to the whole group, up to `KILL_GRACE` for it to exit, then SIGKILL.
async fn terminate(child: &mut Child, group: &Group) -> std::io::Result<ExitStatus> {
    group.signal(Signal::SIGTERM);
    let deadline = Instant::now() + KILL_GRACE;
    let status = timeout_at(deadline, child.wait()).await.ok();
    if status.is_some() {
        // The leader is gone; its children get the rest of the grace period too.
        while group.alive().await && Instant::now() < deadline {
            sleep(GROUP_POLL).await;
        }
    }
    group.kill();
    match status {
        Some(status) => status,
        None => child.wait().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The step's process group. Dropping it kills the group, so a step whose `exec`
/// future is dropped half-way does not leave processes behind.
struct Group(Option<Pid>);

impl Group {
    fn new(pid: Option<u32>) -> Self {
        Group(
            pid.and_then(|p| i32::try_from(p).ok())
                .filter(|&p| p > 1)
                .map(Pid::from_raw),
        )
    }

    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.0 {
            // ESRCH (group already gone) is the expected outcome after a normal exit.
            let _ = killpg(pgid, signal);
        }
    }

    fn kill(&self) {
        self.signal(Signal::SIGKILL);
    }

    /// Whether a member of the group still runs. Members that exited but were not yet
    /// reaped by their new parent (often a lazy init) still count for kill(2), so when
    /// it finds the group the process table decides.
    async fn alive(&self) -> bool {
        let Some(pgid) = self.0 else { return false };
        if killpg(pgid, None) == Err(Errno::ESRCH) {
            return false;
        }
        let pgid = pgid.as_raw();
        tokio::task::spawn_blocking(move || has_running_member(pgid))
            .await
            .unwrap_or(true)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

fn has_running_member(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        is_pid
            && std::fs::read_to_string(entry.path().join("stat"))
                .is_ok_and(|stat| runs_in_group(&stat, pgid))
    })
}

/// Reads `/proc/<pid>/stat`: the fields after the command name (which may itself
/// contain spaces and parentheses) are state, ppid, pgrp, ...
fn runs_in_group(stat: &str, pgid: i32) -> bool {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let state = fields.next();
    let group = fields.nth(1).and_then(|g| g.parse::<i32>().ok());
    group == Some(pgid) && !matches!(state, Some("Z" | "X" | "x"))
}

async fn pump_both<O, E>(log: LogSink, out: Option<O>, err: Option<E>, stop: CancellationToken)
where
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
{
    tokio::join!(
        pump(&log, Stream::Stdout, out, &stop),
        pump(&log, Stream::Stderr, err, &stop)
    );
}

async fn pump<R: AsyncRead + Unpin>(
    log: &LogSink,
    stream: Stream,
    reader: Option<R>,
    stop: &CancellationToken,
) {
    let Some(mut reader) = reader else { return };
    let mut buf = vec![0u8; 32 * 1024];
    let mut pending = Vec::new();
    let mut after_stop = 0;
    loop {
        // Reading first: once told to stop, keep going only while data is ready.
        let read = tokio::select! {
            biased;
            read = reader.read(&mut buf) => read,
            () = stop.cancelled() => break,
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        log.feed(stream, &mut pending, buf.get(..n).unwrap_or_default())
            .await;
        if stop.is_cancelled() {
            after_stop += n;
            if after_stop >= DRAIN_LIMIT {
                break;
            }
        }
    }
    log.flush(stream, &mut pending).await;
}

/// The program and its arguments; an empty argv is an error, not a panic.
pub(crate) fn split_argv(argv: &[String]) -> Result<(&String, &[String]), ExecError> {
    argv.split_first().ok_or_else(|| ExecError::Spawn {
        program: String::new(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the step has an empty command",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_group_of_a_proc_stat_line() {
        assert!(runs_in_group("42 (sh) S 1 40 40 0 -1", 40));
        assert!(runs_in_group("42 (odd) name)) R 1 40 40 0", 40));
        assert!(!runs_in_group("42 (sh) Z 1 40 40 0 -1", 40));
        assert!(!runs_in_group("42 (sh) S 1 41 41 0 -1", 40));
        assert!(!runs_in_group("garbage", 40));
    }
}
