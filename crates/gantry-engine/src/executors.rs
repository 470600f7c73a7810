//! The set of executors a run can use, created on first use (the Docker Engine is only
//! contacted when a docker job runs).

use std::sync::Arc;
use tokio::sync::OnceCell;

use gantry_pipeline::ExecutorKind;

use crate::executor::docker::DockerExecutor;
use crate::executor::host::HostExecutor;
use crate::executor::sandbox::SandboxExecutor;
use crate::executor::{ExecError, Executor};

#[derive(Default)]
pub struct Executors {
    host: OnceCell<Arc<dyn Executor>>,
    sandbox: OnceCell<Arc<dyn Executor>>,
    docker: OnceCell<Result<Arc<dyn Executor>, String>>,
}

impl std::fmt::Debug for Executors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executors").finish_non_exhaustive()
    }
}

impl Executors {
    pub fn new() -> Self {
        Self::default()
    }

    pub async fn get(&self, kind: ExecutorKind) -> Result<Arc<dyn Executor>, ExecError> {
        match kind {
            ExecutorKind::Host => Ok(self
                .host
                .get_or_init(|| async { Arc::new(HostExecutor::new()) as Arc<dyn Executor> })
                .await
                .clone()),
            ExecutorKind::Sandbox => Ok(self
                .sandbox
                .get_or_init(|| async { Arc::new(SandboxExecutor::new()) as Arc<dyn Executor> })
                .await
                .clone()),
            ExecutorKind::Docker => self
                .docker
                .get_or_init(|| async {
                    DockerExecutor::connect()
                        .await
                        .map(|d| Arc::new(d) as Arc<dyn Executor>)
                        .map_err(|e| e.to_string())
                })
                .await
                .clone()
                .map_err(ExecError::DockerUnavailable),
        }
    }
}
