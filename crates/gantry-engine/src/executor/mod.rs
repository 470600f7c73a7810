//! Executors: where a job's steps run. One trait, one file per executor (`host`,
//! `sandbox`, `docker`). The engine prepares everything executor-independent (work
//! directory, step script files, the step environment, output files); an executor only
//! knows how to start a job's environment, run one command in it, and tear it down.

pub mod docker;
pub mod host;
mod process;
pub mod sandbox;

use futures_util::future::BoxFuture;
use gantry_pipeline::ExecutorKind;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::log::LogSink;

/// What an executor needs to set up a job's environment.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub run_id: String,
    /// `PlannedJob::key`.
    pub job_key: String,
    /// Host path of the job's work directory (its copy of the checkout). Writable.
    pub workspace: PathBuf,
    /// Host path of a job-private directory for step scripts and `$GANTRY_OUTPUT` files.
    pub state_dir: PathBuf,
    /// Docker image (rendered), for the docker executor.
    pub image: Option<String>,
    /// Sidecar services (rendered), for the docker executor.
    pub services: Vec<ServiceRun>,
    /// The job may reach the network (sandbox: shares the host network namespace).
    pub network: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRun {
    /// The name other containers reach it by.
    pub name: String,
    pub image: String,
    pub env: Vec<(String, String)>,
    pub command: Option<Vec<String>>,
}

/// Where the job's directories appear to its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestPaths {
    pub workspace: PathBuf,
    pub state_dir: PathBuf,
}

/// One command to run inside a prepared job environment.
#[derive(Debug, Clone)]
pub struct StepCommand {
    /// Program and arguments; paths in it are guest paths.
    pub argv: Vec<String>,
    /// The step's declared environment plus Gantry's variables. The executor adds only
    /// its base environment (host/sandbox: the allow-list PATH, HOME, USER, LANG,
    /// LC_ALL, TERM, TZ; docker: the image's own env); nothing else is inherited.
    pub env: Vec<(String, String)>,
    /// Working directory, a guest path.
    pub cwd: PathBuf,
    pub timeout: Option<Duration>,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepExit {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub cancelled: bool,
}

impl StepExit {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out && !self.cancelled
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The job's image is not on the Docker Engine (and cannot be pulled here).
    #[error(
        "docker image '{0}' is not available on this Docker Engine; build or load it first (`docker build -t {0} .` or `docker load`)"
    )]
    ImageMissing(String),
    #[error(
        "the sandbox executor cannot start: {0}; install bubblewrap (`apt-get install bubblewrap`) or use `executor: host` — Gantry never runs a sandbox job unsandboxed"
    )]
    SandboxUnavailable(String),
    #[error("the docker executor cannot reach the Docker Engine: {0}")]
    DockerUnavailable(String),
    #[error("docker: {0}")]
    Docker(String),
    #[error("cannot start '{program}': {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// Creates job environments of one kind.
pub trait Executor: Send + Sync {
    fn kind(&self) -> ExecutorKind;

    /// Sets up the job's environment (container and service sidecars, sandbox checks…).
    /// Problems go to `log` as system lines and come back as an error.
    fn prepare<'a>(
        &'a self,
        job: &'a JobSpec,
        log: &'a LogSink,
    ) -> BoxFuture<'a, Result<Box<dyn JobSession>, ExecError>>;
}

/// A prepared job environment. `cleanup` must be called (also after cancellation) and
/// removes everything `prepare` created.
pub trait JobSession: Send + Sync {
    fn paths(&self) -> &GuestPaths;

    /// Runs one command to completion, streaming its stdout/stderr lines to `log`.
    /// On timeout or when `cancel` fires, the whole process tree is killed (SIGTERM,
    /// then SIGKILL after a grace period) and the exit says so.
    fn exec<'a>(
        &'a self,
        cmd: &'a StepCommand,
        log: &'a LogSink,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<StepExit, ExecError>>;

    fn cleanup(self: Box<Self>) -> BoxFuture<'static, Result<(), ExecError>>;
}
