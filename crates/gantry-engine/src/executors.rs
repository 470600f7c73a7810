//! The set of executors a run can use, created on first use (the Docker Engine is only
//! contacted when a docker job runs), and the deployer that runs its deploy jobs, if
//! this runner has one.

use std::sync::Arc;
use tokio::sync::OnceCell;

use gantry_pipeline::ExecutorKind;

use crate::deploy::Deployer;
use crate::executor::docker::DockerExecutor;
use crate::executor::host::HostExecutor;
use crate::executor::sandbox::SandboxExecutor;
use crate::executor::{ExecError, Executor};

#[derive(Default)]
pub struct Executors {
    host: OnceCell<Arc<dyn Executor>>,
    sandbox: OnceCell<Arc<dyn Executor>>,
    docker: OnceCell<Result<Arc<dyn Executor>, String>>,
    /// Runs `deploy:` jobs; without one they fail, saying why (`no_deployer`).
    deployer: Option<Arc<dyn Deployer>>,
    no_deployer: Option<String>,
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

    /// Deploy jobs go to `deployer` (`gantry run` and the server's own pool).
    pub fn with_deployer(mut self, deployer: Arc<dyn Deployer>) -> Self {
        self.deployer = Some(deployer);
        self
    }

    /// Deploy jobs fail with `why` (e.g. an agent's "agents do not deploy: …"), a
    /// clearer reason than the default one.
    pub fn refusing_deploys(mut self, why: impl Into<String>) -> Self {
        self.deployer = None;
        self.no_deployer = Some(why.into());
        self
    }

    /// The deployer, or the reason a deploy job fails here.
    pub fn deployer(&self) -> Result<Arc<dyn Deployer>, String> {
        self.deployer.clone().ok_or_else(|| {
            format!(
                "this runner cannot deploy: {}",
                self.no_deployer
                    .as_deref()
                    .unwrap_or("it was started without a deployer")
            )
        })
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
