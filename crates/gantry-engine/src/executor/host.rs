//! The host executor: a job's steps run as plain processes on the machine Gantry runs
//! on, each in its own process group with a cleared environment (see `process`). No
//! isolation beyond that; the sandbox and docker executors provide it.

use futures_util::future::BoxFuture;
use gantry_pipeline::ExecutorKind;
use tokio_util::sync::CancellationToken;

use super::process;
pub use super::process::{BASE_ENV, KILL_GRACE};
use super::{ExecError, Executor, GuestPaths, JobSession, JobSpec, StepCommand, StepExit};
use crate::log::LogSink;

/// Runs steps directly on this machine. Guest paths are the host paths.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostExecutor;

impl HostExecutor {
    pub fn new() -> Self {
        HostExecutor
    }
}

impl Executor for HostExecutor {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::Host
    }

    fn prepare<'a>(
        &'a self,
        job: &'a JobSpec,
        _log: &'a LogSink,
    ) -> BoxFuture<'a, Result<Box<dyn JobSession>, ExecError>> {
        let session = HostSession {
            paths: GuestPaths {
                workspace: job.workspace.clone(),
                state_dir: job.state_dir.clone(),
            },
        };
        Box::pin(async move { Ok(Box::new(session) as Box<dyn JobSession>) })
    }
}

#[derive(Debug)]
struct HostSession {
    paths: GuestPaths,
}

impl JobSession for HostSession {
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
            let (program, args) = process::split_argv(&cmd.argv)?;
            let mut command = process::command(program, &cmd.env);
            command.args(args).current_dir(&cmd.cwd);
            match process::run(command, log, cmd.timeout, cancel).await {
                // The OS reports a missing working directory as a missing program.
                Err(ExecError::Spawn { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && !cmd.cwd.is_dir() =>
                {
                    Err(ExecError::Io {
                        context: format!(
                            "the step's working directory '{}' does not exist",
                            cmd.cwd.display()
                        ),
                        source,
                    })
                }
                other => other,
            }
        })
    }

    fn cleanup(self: Box<Self>) -> BoxFuture<'static, Result<(), ExecError>> {
        // Every step's process group is already gone when its exec returns.
        Box::pin(async { Ok(()) })
    }
}
