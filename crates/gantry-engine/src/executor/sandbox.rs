//! The sandbox executor: each step runs under bubblewrap (`bwrap`) in its own pid, ipc,
//! uts, cgroup and (unless the job asks for the network) network namespaces, with the
//! host's root read-only and only the workspace and state directory writable. The
//! process handling (environment, streaming, timeouts) is the host executor's.

use futures_util::future::BoxFuture;
use gantry_pipeline::ExecutorKind;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::process;
use super::{ExecError, Executor, GuestPaths, JobSession, JobSpec, StepCommand, StepExit};
use crate::log::LogSink;

/// The hostname steps see inside the sandbox.
pub const SANDBOX_HOSTNAME: &str = "gantry-sandbox";

/// How long the start-up check may take before bwrap is declared unusable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs steps in bubblewrap sandboxes. Never falls back to running a step unsandboxed:
/// if bwrap cannot start a sandbox, `prepare` fails with `SandboxUnavailable`.
#[derive(Debug)]
pub struct SandboxExecutor {
    bwrap: PathBuf,
    /// The absolute path of a bwrap that can start a sandbox, or why there is none;
    /// checked once per network mode (a kernel may allow some namespaces and not
    /// others).
    probes: [OnceCell<Result<PathBuf, String>>; 2],
}

impl Default for SandboxExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl SandboxExecutor {
    /// Uses `bwrap` from `PATH`.
    pub fn new() -> Self {
        Self::with_bwrap("bwrap")
    }

    /// Uses the bubblewrap binary at `bwrap` (a path, or a name looked up in `PATH`).
    pub fn with_bwrap(bwrap: impl Into<PathBuf>) -> Self {
        SandboxExecutor {
            bwrap: bwrap.into(),
            probes: Default::default(),
        }
    }

    async fn check(&self, network: bool) -> Result<PathBuf, ExecError> {
        let cell = &self.probes[usize::from(network)];
        let outcome = cell.get_or_init(|| probe(&self.bwrap, network)).await;
        outcome.clone().map_err(ExecError::SandboxUnavailable)
    }
}

/// Where `program` is: itself if it names a path, else the first match in Gantry's own
/// `PATH`. Resolved up front because a step may set a `PATH` without bwrap in it.
fn resolve(program: &Path) -> PathBuf {
    if program.components().count() > 1 {
        return program.to_path_buf();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| program.to_path_buf())
}

/// Starts `bwrap <namespace flags> --ro-bind / / true` and reports why it failed.
async fn probe(bwrap: &Path, network: bool) -> Result<PathBuf, String> {
    let bwrap = resolve(bwrap);
    let mut command = process::command(&bwrap, &[]);
    command
        .args(namespace_args(network))
        .args(["--ro-bind", "/", "/", "true"]);
    let shown = bwrap.display();
    let output = match tokio::time::timeout(PROBE_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => return Err(format!("cannot run '{shown}': {err}")),
        Err(_) => {
            return Err(format!(
                "'{shown}' did not start a test sandbox within {PROBE_TIMEOUT:?}"
            ));
        }
    };
    if output.status.success() {
        return Ok(bwrap);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = stderr.trim();
    Err(if stderr.is_empty() {
        format!(
            "'{shown}' could not start a test sandbox ({})",
            output.status
        )
    } else {
        format!("'{shown}' could not start a test sandbox: {stderr}")
    })
}

/// The isolation flags, shared by the start-up check and every step.
fn namespace_args(network: bool) -> Vec<&'static str> {
    let mut args = vec![
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        // A step must not reach Gantry's terminal (TIOCSTI injection).
        "--new-session",
        // When Gantry runs as root, bwrap would otherwise keep every capability and a
        // step could simply remount the read-only root writable.
        "--cap-drop",
        "ALL",
        "--hostname",
        SANDBOX_HOSTNAME,
    ];
    if !network {
        args.push("--unshare-net");
    }
    args
}

/// The full bwrap command line before `--` and the step's argv. Order matters: later
/// mounts go on top of earlier ones, so the private /tmp comes before the workspace
/// bind, which may itself live under /tmp on the host.
fn sandbox_args(paths: &GuestPaths, network: bool, cwd: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = namespace_args(network)
        .into_iter()
        .map(OsString::from)
        .collect();
    for arg in ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"] {
        args.push(arg.into());
    }
    for dir in ["/tmp", "/var/tmp", "/run"] {
        args.push("--tmpfs".into());
        args.push(dir.into());
    }
    for dir in [&paths.workspace, &paths.state_dir] {
        args.push("--bind".into());
        args.push(dir.into());
        args.push(dir.into());
    }
    args.push("--chdir".into());
    args.push(cwd.into());
    args
}

impl Executor for SandboxExecutor {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::Sandbox
    }

    fn prepare<'a>(
        &'a self,
        job: &'a JobSpec,
        log: &'a LogSink,
    ) -> BoxFuture<'a, Result<Box<dyn JobSession>, ExecError>> {
        Box::pin(async move {
            let bwrap = match self.check(job.network).await {
                Ok(bwrap) => bwrap,
                Err(err) => {
                    log.system(&err.to_string()).await;
                    return Err(err);
                }
            };
            let session = SandboxSession {
                bwrap,
                network: job.network,
                paths: GuestPaths {
                    workspace: job.workspace.clone(),
                    state_dir: job.state_dir.clone(),
                },
            };
            Ok(Box::new(session) as Box<dyn JobSession>)
        })
    }
}

#[derive(Debug)]
struct SandboxSession {
    bwrap: PathBuf,
    network: bool,
    /// Inside the sandbox the directories keep their host paths.
    paths: GuestPaths,
}

impl JobSession for SandboxSession {
    fn paths(&self) -> &GuestPaths {
        &self.paths
    }

    fn exec<'a>(
        &'a self,
        cmd: &'a StepCommand,
        log: &'a LogSink,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<StepExit, ExecError>> {
        Box::pin(async move {
            process::split_argv(&cmd.argv)?;
            // bwrap passes its own environment on to the step unchanged.
            let mut command = process::command(&self.bwrap, &cmd.env);
            command
                .args(sandbox_args(&self.paths, self.network, &cmd.cwd))
                .arg("--")
                .args(&cmd.argv);
            // The group is bwrap itself (the step gets a session of its own). Killing
            // bwrap kills the namespace's init, and with it every process in the sandbox.
            process::run(command, log, cmd.timeout, cancel).await
        })
    }

    fn cleanup(self: Box<Self>) -> BoxFuture<'static, Result<(), ExecError>> {
        // Each step's pid namespace is gone when its exec returns; nothing to remove.
        Box::pin(async { Ok(()) })
    }
}
