//! One step of a docker job: a `docker exec` in the job container, its demultiplexed
//! output streamed into the `LogSink`, and the way it is stopped.
//!
//! Docker has no call to kill an exec, and its processes are not Gantry's children.
//! runc starts every exec'd process as the leader of a new session and process group,
//! so the step's argv is wrapped in a small POSIX sh script (`WRAPPER`) that
//!   1. checks it leads its process group and writes its pid, which is then the group
//!      id inside the container's pid namespace, to `<state>/.gantry-step-N.pgid`;
//!   2. runs the step as a child in that group, catching SIGTERM itself (a handler,
//!      not an ignore, so the step still gets the default action);
//!   3. writes the step's exit code to `.gantry-step-N.rc` and, unless it was told to
//!      stop, SIGKILLs its own group, so background children die with the step (as on
//!      the host) and the output stream closes at once instead of waiting for them.
//!
//! On timeout or cancellation Gantry reads the group id from the host side of the state
//! directory and runs `kill -TERM -PGID` in a second exec, then checks with `kill -0
//! -PGID` until the group is gone or `KILL_GRACE` has passed, then `kill -KILL -PGID`.
//! If the state directory is not writable for the image's user the wrapper skips steps
//! 1 and 3: the step still runs and reports its exit code, but a timed-out step keeps
//! running until the job container is removed at cleanup.

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::{Stream, StreamExt};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;

use super::{DockerSession, GUEST_STATE_DIR, docker_error};
use crate::executor::process::{self, DRAIN_GRACE, KILL_GRACE};
use crate::executor::{ExecError, StepCommand, StepExit};
use crate::log::{LogSink, Stream as LogStream};

/// `sh -c WRAPPER gantry-step <marker> <argv…>`; see the module docs. Its variables
/// are not exported, so the step's environment is untouched.
const WRAPPER: &str = r#"__gantry_f=$1; shift
__gantry_lead=
if { read -r __gantry_x __gantry_x __gantry_x __gantry_x __gantry_pg __gantry_x < /proc/$$/stat; } 2>/dev/null &&
    [ "$__gantry_pg" = "$$" ] && { echo $$ > "$__gantry_f.pgid"; } 2>/dev/null; then
    __gantry_lead=1
fi
__gantry_term=
trap '__gantry_term=1' TERM
"$@"
__gantry_rc=$?
if [ -n "$__gantry_lead" ] && { echo $__gantry_rc > "$__gantry_f.rc"; } 2>/dev/null &&
    [ -z "$__gantry_term" ]; then
    kill -KILL 0
fi
exit $__gantry_rc"#;

/// How long a stop request waits for a just-started step to record its group id.
const PGID_WAIT: Duration = Duration::from_secs(2);
/// How long Gantry waits for Docker to report the exit of an exec whose output ended.
const EXIT_WAIT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(20);
/// How often a stopping step's group is checked for survivors (each check is an exec).
const GROUP_POLL: Duration = Duration::from_millis(100);

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

enum Stop {
    TimedOut,
    Cancelled,
}

pub(super) async fn run(
    session: &DockerSession,
    cmd: &StepCommand,
    log: &LogSink,
    cancel: &CancellationToken,
) -> Result<StepExit, ExecError> {
    if cancel.is_cancelled() {
        return Ok(StepExit {
            code: None,
            timed_out: false,
            cancelled: true,
        });
    }
    process::split_argv(&cmd.argv)?;
    let marker = Marker::new(session);
    let deadline = cmd.timeout.map(|d| Instant::now() + d);

    let mut argv = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        WRAPPER.to_string(),
        "gantry-step".to_string(),
        marker.guest.clone(),
    ];
    argv.extend(cmd.argv.iter().cloned());
    let options = CreateExecOptions {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        env: Some(cmd.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        cmd: Some(argv),
        working_dir: Some(cmd.cwd.to_string_lossy().into_owned()),
        ..Default::default()
    };
    let docker = &session.docker;
    let exec = docker
        .create_exec(&session.container, options)
        .await
        .map_err(|e| docker_error("cannot start the step in the job container", e))?;
    let start = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: Some(64 * 1024),
    };
    let output = match docker.start_exec(&exec.id, Some(start)).await {
        Ok(StartExecResults::Attached { output, .. }) => output,
        Ok(StartExecResults::Detached) => {
            return Err(ExecError::Docker(
                "the step started detached from its output".to_string(),
            ));
        }
        Err(e) => {
            return Err(docker_error(
                "cannot start the step in the job container",
                e,
            ));
        }
    };

    let mut pump = Pump {
        output,
        log,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let stop = loop {
        let item = tokio::select! {
            biased;
            () = cancel.cancelled() => break Some(Stop::Cancelled),
            () = sleep_until_opt(deadline) => break Some(Stop::TimedOut),
            item = pump.output.next() => item,
        };
        if !pump.handle(item).await {
            break None;
        }
    };

    if stop.is_some() {
        terminate(session, &marker, &mut pump, log).await;
    }
    pump.flush().await;

    let code = match marker.exit_code().await {
        Some(code) => Some(code),
        None if stop.is_some() => None,
        None => exit_code(session, &exec.id).await?,
    };
    marker.remove().await;
    Ok(StepExit {
        code,
        timed_out: matches!(stop, Some(Stop::TimedOut)),
        cancelled: matches!(stop, Some(Stop::Cancelled)),
    })
}

/// SIGTERM to the step's group, up to `KILL_GRACE` for it to end (its output is kept
/// flowing meanwhile), then SIGKILL.
async fn terminate(session: &DockerSession, marker: &Marker, pump: &mut Pump<'_>, log: &LogSink) {
    let deadline = Instant::now() + KILL_GRACE;
    let Some(pgid) = marker.pgid(PGID_WAIT).await else {
        log.system(
            "cannot stop the step: it did not record its process group (is the state \
             directory writable in the container?); it ends when the job container is removed",
        )
        .await;
        pump.read_until(Instant::now() + DRAIN_GRACE).await;
        return;
    };
    let signal = |name: &'static str| async move {
        // `kill -SIG -PGID`: the form busybox ash, dash and bash all accept.
        let script = format!("kill -{name} -{pgid} 2>/dev/null");
        if let Err(e) = run_quietly(session, script).await {
            log.system(&format!("cannot send SIG{name} to the step: {e}"))
                .await;
        }
    };
    signal("TERM").await;
    let mut output_open = true;
    while Instant::now() < deadline {
        let alive = run_quietly(session, format!("kill -0 -{pgid} 2>/dev/null")).await;
        if !matches!(alive, Ok(Some(0))) {
            break;
        }
        let next_check = (Instant::now() + GROUP_POLL).min(deadline);
        if output_open {
            output_open = !pump.read_until(next_check).await;
        } else {
            sleep_until(next_check).await;
        }
    }
    signal("KILL").await;
    if output_open {
        pump.read_until(Instant::now() + DRAIN_GRACE).await;
    }
}

/// Runs `sh -c script` in the job container, discarding its output; its exit code.
async fn run_quietly(session: &DockerSession, script: String) -> Result<Option<i32>, ExecError> {
    let docker = &session.docker;
    let options = CreateExecOptions {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(vec!["/bin/sh".to_string(), "-c".to_string(), script]),
        ..Default::default()
    };
    let exec = docker
        .create_exec(&session.container, options)
        .await
        .map_err(|e| docker_error("cannot run a helper in the job container", e))?;
    match docker.start_exec(&exec.id, None).await {
        Ok(StartExecResults::Attached { mut output, .. }) => while output.next().await.is_some() {},
        Ok(StartExecResults::Detached) => {}
        Err(e) => return Err(docker_error("cannot run a helper in the job container", e)),
    }
    exit_code(session, &exec.id).await
}

/// The exec's exit code as Docker reports it, once Docker has seen it exit.
async fn exit_code(session: &DockerSession, exec_id: &str) -> Result<Option<i32>, ExecError> {
    let deadline = Instant::now() + EXIT_WAIT;
    loop {
        let info = session
            .docker
            .inspect_exec(exec_id)
            .await
            .map_err(|e| docker_error("cannot read the step's exit code", e))?;
        if info.running != Some(true) || Instant::now() >= deadline {
            return Ok(info.exit_code.and_then(|c| i32::try_from(c).ok()));
        }
        sleep(POLL).await;
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Moves the exec's output into the log, keeping partial lines per stream.
struct Pump<'a> {
    output: Output,
    log: &'a LogSink,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Pump<'_> {
    /// Handles one item of the stream; false when the stream has ended.
    async fn handle(&mut self, item: Option<Result<LogOutput, bollard::errors::Error>>) -> bool {
        match item {
            Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                self.log
                    .feed(LogStream::Stdout, &mut self.stdout, &message)
                    .await;
                true
            }
            Some(Ok(LogOutput::StdErr { message })) => {
                self.log
                    .feed(LogStream::Stderr, &mut self.stderr, &message)
                    .await;
                true
            }
            Some(Ok(LogOutput::StdIn { .. })) => true,
            Some(Err(e)) => {
                self.log
                    .system(&format!("lost the step's output: {e}"))
                    .await;
                false
            }
            None => false,
        }
    }

    /// Moves output into the log until the stream ends (true) or `until` passes
    /// (false). Only the wait for the next chunk is cut short, never a line being
    /// handed to the log.
    async fn read_until(&mut self, until: Instant) -> bool {
        loop {
            let item = tokio::select! {
                biased;
                () = sleep_until(until) => return false,
                item = self.output.next() => item,
            };
            if !self.handle(item).await {
                return true;
            }
        }
    }

    async fn flush(&mut self) {
        self.log.flush(LogStream::Stdout, &mut self.stdout).await;
        self.log.flush(LogStream::Stderr, &mut self.stderr).await;
    }
}

/// The step's files in the state directory: `<name>.pgid` and `<name>.rc`.
struct Marker {
    /// Path prefix inside the container.
    guest: String,
    /// The same prefix on the host.
    host: PathBuf,
}

impl Marker {
    fn new(session: &DockerSession) -> Self {
        let name = format!(
            ".gantry-step-{}",
            session.next_step.fetch_add(1, Ordering::Relaxed)
        );
        Marker {
            guest: format!("{GUEST_STATE_DIR}/{name}"),
            host: session.host_state_dir.join(name),
        }
    }

    fn file(&self, ext: &str) -> PathBuf {
        let mut name = self.host.clone().into_os_string();
        name.push(".");
        name.push(ext);
        PathBuf::from(name)
    }

    async fn read(&self, ext: &str) -> Option<i32> {
        let text = tokio::fs::read_to_string(self.file(ext)).await.ok()?;
        text.trim().parse().ok()
    }

    async fn exit_code(&self) -> Option<i32> {
        self.read("rc").await
    }

    /// The step's process group, waiting up to `wait` for a just-started step to
    /// record it.
    async fn pgid(&self, wait: Duration) -> Option<i32> {
        let deadline = Instant::now() + wait;
        loop {
            match self.read("pgid").await {
                Some(pgid) => return Some(pgid).filter(|&p| p > 1),
                None if Instant::now() < deadline => sleep(POLL).await,
                None => return None,
            }
        }
    }

    async fn remove(&self) {
        for ext in ["pgid", "rc"] {
            let _ = tokio::fs::remove_file(self.file(ext)).await;
        }
    }
}
