//! The docker executor: a job runs in a long-lived container of its `image` on a private
//! network shared with its service sidecars; each step is a `docker exec` in it (see
//! `docker/step.rs`). Talks to the local Docker Engine through bollard.
//!
//! Images are never pulled: a missing image is an error the user fixes by building or
//! loading it. Everything created for a job (containers, network) carries the labels
//! `gantry.run` and `gantry.job`, and cleanup removes by those labels, so a half-done
//! `prepare` or a cancelled job leaves nothing behind.

mod step;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, EndpointSettings, HealthStatusEnum, HostConfig,
    Mount, MountType, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;
use futures_util::future::{BoxFuture, join_all};
use gantry_pipeline::ExecutorKind;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use super::{
    ExecError, Executor, GuestPaths, JobSession, JobSpec, ServiceRun, StepCommand, StepExit,
};
use crate::log::LogSink;

/// Where the job's workspace appears inside its container.
pub const GUEST_WORKSPACE: &str = "/gantry/workspace";
/// Where the job's state directory appears inside its container.
pub const GUEST_STATE_DIR: &str = "/gantry/state";

/// Label holding the run id on every container and network Gantry creates.
pub const LABEL_RUN: &str = "gantry.run";
/// Label holding the job key on every container and network Gantry creates.
pub const LABEL_JOB: &str = "gantry.job";

/// How long a service may take to be running (or healthy, if its image has a
/// HEALTHCHECK) before the job fails.
pub const SERVICE_READY_TIMEOUT: Duration = Duration::from_secs(60);
const READY_POLL: Duration = Duration::from_millis(100);

/// Keeps the job container alive between steps; exits at once on `docker stop`. Plain
/// POSIX sh, so it works with busybox as well as with bash or dash images.
const KEEPALIVE: &str = "trap 'exit 0' TERM; while :; do sleep 3600 & wait; done";

/// Lines of a failed service's own log copied into the job log.
const SERVICE_LOG_TAIL: &str = "20";

/// Runs jobs in containers on the local Docker Engine.
#[derive(Debug, Clone)]
pub struct DockerExecutor {
    docker: Docker,
}

impl DockerExecutor {
    /// Connects to the local engine (`DOCKER_HOST` if it is a `unix://` address, else
    /// `/var/run/docker.sock`) and agrees on an API version with it.
    pub async fn connect() -> Result<Self, ExecError> {
        let docker = Docker::connect_with_unix_defaults()
            .map_err(|e| ExecError::DockerUnavailable(e.to_string()))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| ExecError::DockerUnavailable(e.to_string()))?;
        Ok(DockerExecutor { docker })
    }

    /// Uses an already connected client.
    pub fn with_client(docker: Docker) -> Self {
        DockerExecutor { docker }
    }

    async fn prepare_job(&self, job: &JobSpec, log: &LogSink) -> Result<DockerSession, ExecError> {
        let image = job
            .image
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                ExecError::Docker(
                    "the job has no `image`; a job with `executor: docker` needs one".to_string(),
                )
            })?;
        // Every image is checked before anything is created: the common mistake (an
        // image nobody built) then costs nothing to clean up.
        self.require_image(image).await?;
        for service in &job.services {
            self.require_image(&service.image).await?;
        }

        let names = Names::new(&job.run_id, &job.job_key);
        let labels = labels(&job.run_id, &job.job_key);
        let workspace = absolute(&job.workspace)?;
        let state_dir = absolute(&job.state_dir)?;

        // Docker allows two networks with one name; the id is unambiguous.
        let network = self
            .docker
            .create_network(NetworkCreateRequest {
                name: names.network.clone(),
                driver: Some("bridge".to_string()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| docker_error(&format!("cannot create network '{}'", names.network), e))?
            .id;

        let mut services = Vec::new();
        for service in &job.services {
            services.push((
                service,
                self.start_service(service, &network, &names, &labels, log)
                    .await?,
            ));
        }

        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint: Some(vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                KEEPALIVE.to_string(),
            ]),
            working_dir: Some(GUEST_WORKSPACE.to_string()),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                mounts: Some(vec![
                    bind(&workspace, GUEST_WORKSPACE),
                    bind(&state_dir, GUEST_STATE_DIR),
                ]),
                network_mode: Some(network.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::new()
                        .name(&names.job)
                        .build(),
                ),
                body,
            )
            .await
            .map_err(|e| {
                docker_error(
                    &format!("cannot create the job container from '{image}'"),
                    e,
                )
            })?;
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(|e| {
                docker_error(
                    &format!("cannot start the job container from '{image}' (it needs /bin/sh)"),
                    e,
                )
            })?;

        log.system(&format!(
            "job container '{}' started from '{image}'",
            names.job
        ))
        .await;

        // A service without a health check counts as ready once it runs; one that
        // crashes right after starting is caught here, before any step depends on it.
        for (service, id) in services {
            self.check_still_running(service, &id, log).await?;
        }

        Ok(DockerSession {
            docker: self.docker.clone(),
            run_id: job.run_id.clone(),
            job_key: job.job_key.clone(),
            container: created.id,
            host_state_dir: state_dir,
            paths: GuestPaths {
                workspace: PathBuf::from(GUEST_WORKSPACE),
                state_dir: PathBuf::from(GUEST_STATE_DIR),
            },
            next_step: AtomicU64::new(0),
        })
    }

    async fn require_image(&self, image: &str) -> Result<(), ExecError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(()),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(ExecError::ImageMissing(image.to_string())),
            Err(e) => Err(docker_error(&format!("cannot inspect image '{image}'"), e)),
        }
    }

    async fn start_service(
        &self,
        service: &ServiceRun,
        network: &str,
        names: &Names,
        labels: &HashMap<String, String>,
        log: &LogSink,
    ) -> Result<String, ExecError> {
        let name = &service.name;
        log.system(&format!("starting service '{name}' ({})", service.image))
            .await;
        let body = ContainerCreateBody {
            image: Some(service.image.clone()),
            env: Some(
                service
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
            cmd: service.command.clone(),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                network_mode: Some(network.to_string()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.to_string(),
                    EndpointSettings {
                        aliases: Some(vec![name.clone()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let container_name = names.service(name);
        let created = self
            .docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::new()
                        .name(&container_name)
                        .build(),
                ),
                body,
            )
            .await
            .map_err(|e| docker_error(&format!("cannot create service '{name}'"), e))?;
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(|e| docker_error(&format!("cannot start service '{name}'"), e))?;
        match self.wait_ready(&created.id).await {
            Ok(health) => {
                log.system(&format!("service '{name}' is {health}")).await;
                Ok(created.id)
            }
            Err(problem) => {
                self.copy_service_log(&created.id, name, log).await;
                Err(ExecError::Docker(format!(
                    "service '{name}' ({}) {problem}",
                    service.image
                )))
            }
        }
    }

    async fn check_still_running(
        &self,
        service: &ServiceRun,
        id: &str,
        log: &LogSink,
    ) -> Result<(), ExecError> {
        let state = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| docker_error(&format!("cannot inspect service '{}'", service.name), e))?
            .state
            .unwrap_or_default();
        if state.running == Some(true) {
            return Ok(());
        }
        self.copy_service_log(id, &service.name, log).await;
        Err(ExecError::Docker(format!(
            "service '{}' ({}) stopped (exit code {}) while the job was starting",
            service.name,
            service.image,
            exit_code_text(state.exit_code)
        )))
    }

    /// Waits until the container runs and, if it has a health check, is healthy.
    /// Returns how it ended up ("running" or "healthy"), or what went wrong.
    async fn wait_ready(&self, id: &str) -> Result<&'static str, String> {
        let deadline = Instant::now() + SERVICE_READY_TIMEOUT;
        let mut last = "not running".to_string();
        while Instant::now() < deadline {
            let state = self
                .docker
                .inspect_container(id, None)
                .await
                .map_err(|e| format!("could not be inspected: {}", error_text(&e)))?
                .state
                .unwrap_or_default();
            if state.running != Some(true) {
                if state.status == Some(ContainerStateStatusEnum::CREATED) {
                    sleep(READY_POLL).await;
                    continue;
                }
                return Err(format!(
                    "stopped (exit code {}) before it was ready",
                    exit_code_text(state.exit_code)
                ));
            }
            match state.health.and_then(|h| h.status) {
                None | Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY) => {
                    return Ok("running");
                }
                Some(HealthStatusEnum::HEALTHY) => return Ok("healthy"),
                Some(other) => last = other.to_string(),
            }
            sleep(READY_POLL).await;
        }
        Err(format!(
            "was not ready within {}s (health: {last})",
            SERVICE_READY_TIMEOUT.as_secs()
        ))
    }

    /// The tail of a failed service's output, so the user sees why it failed.
    async fn copy_service_log(&self, id: &str, name: &str, log: &LogSink) {
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail(SERVICE_LOG_TAIL)
            .build();
        let mut lines = self.docker.logs(id, Some(options));
        let mut text = Vec::new();
        while let Some(Ok(chunk)) = lines.next().await {
            text.extend_from_slice(&chunk.into_bytes());
        }
        for line in String::from_utf8_lossy(&text).lines() {
            log.system(&format!("service '{name}': {line}")).await;
        }
    }
}

impl Executor for DockerExecutor {
    fn kind(&self) -> ExecutorKind {
        ExecutorKind::Docker
    }

    fn prepare<'a>(
        &'a self,
        job: &'a JobSpec,
        log: &'a LogSink,
    ) -> BoxFuture<'a, Result<Box<dyn JobSession>, ExecError>> {
        Box::pin(async move {
            match self.prepare_job(job, log).await {
                Ok(session) => Ok(Box::new(session) as Box<dyn JobSession>),
                Err(err) => {
                    log.system(&err.to_string()).await;
                    if let Err(cleanup) =
                        remove_job_resources(&self.docker, &job.run_id, &job.job_key).await
                    {
                        log.system(&cleanup.to_string()).await;
                    }
                    Err(err)
                }
            }
        })
    }
}

/// A job's running container.
#[derive(Debug)]
struct DockerSession {
    docker: Docker,
    run_id: String,
    job_key: String,
    /// Id of the job container.
    container: String,
    /// Host path of the state directory (mounted at `GUEST_STATE_DIR`).
    host_state_dir: PathBuf,
    paths: GuestPaths,
    /// Numbers the steps' marker files in the state directory.
    next_step: AtomicU64,
}

impl JobSession for DockerSession {
    fn paths(&self) -> &GuestPaths {
        &self.paths
    }

    fn exec<'a>(
        &'a self,
        cmd: &'a StepCommand,
        log: &'a LogSink,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<StepExit, ExecError>> {
        Box::pin(step::run(self, cmd, log, cancel))
    }

    fn cleanup(self: Box<Self>) -> BoxFuture<'static, Result<(), ExecError>> {
        Box::pin(
            async move { remove_job_resources(&self.docker, &self.run_id, &self.job_key).await },
        )
    }
}

/// Force-removes every container and network labelled with this run and job.
async fn remove_job_resources(
    docker: &Docker,
    run_id: &str,
    job_key: &str,
) -> Result<(), ExecError> {
    let filters = HashMap::from([(
        "label",
        vec![
            format!("{LABEL_RUN}={run_id}"),
            format!("{LABEL_JOB}={job_key}"),
        ],
    )]);
    let mut problems = Vec::new();

    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| docker_error("cannot list the job's containers", e))?;
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    let removals = containers.iter().filter_map(|c| c.id.as_deref()).map(|id| {
        let options = options.clone();
        async move { (id, docker.remove_container(id, Some(options)).await) }
    });
    for (id, result) in join_all(removals).await {
        if let Err(e) = result.or_else(ignore_not_found) {
            problems.push(format!("container {}: {}", short_id(id), error_text(&e)));
        }
    }

    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|e| docker_error("cannot list the job's networks", e))?;
    for network in networks {
        let Some(id) = network.id.as_deref() else {
            continue;
        };
        if let Err(e) = docker.remove_network(id).await.or_else(ignore_not_found) {
            problems.push(format!(
                "network {}: {}",
                network.name.as_deref().unwrap_or(id),
                error_text(&e)
            ));
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(ExecError::Docker(format!(
            "cleanup left resources behind: {}",
            problems.join("; ")
        )))
    }
}

fn ignore_not_found(e: DockerError) -> Result<(), DockerError> {
    match e {
        DockerError::DockerResponseServerError {
            status_code: 404, ..
        } => Ok(()),
        e => Err(e),
    }
}

/// Names of the job's Docker objects: `gantry-<run>-<job>` plus a suffix per service.
/// Docker names allow only `[a-zA-Z0-9_.-]`, so the job key is slugged; a short hash
/// keeps two keys that slug alike (`build (a)`, `build-a`) apart.
#[derive(Debug)]
struct Names {
    network: String,
    job: String,
}

impl Names {
    fn new(run_id: &str, job_key: &str) -> Self {
        let job_slug = slug(job_key);
        let mut base = format!("gantry-{}-{job_slug}", slug(run_id));
        if job_slug != job_key {
            let digest = Sha256::digest(job_key.as_bytes());
            base.push('-');
            for byte in digest.iter().take(4) {
                base.push_str(&format!("{byte:02x}"));
            }
        }
        Names {
            network: base.clone(),
            job: base,
        }
    }

    fn service(&self, name: &str) -> String {
        format!("{}-svc-{}", self.job, slug(name))
    }
}

/// Lowercase ASCII letters, digits, `.`, `_` and `-`, at most 40 characters.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    out.trim_matches('-').to_string()
}

fn labels(run_id: &str, job_key: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_RUN.to_string(), run_id.to_string()),
        (LABEL_JOB.to_string(), job_key.to_string()),
    ])
}

fn bind(source: &Path, target: &str) -> Mount {
    Mount {
        source: Some(source.to_string_lossy().into_owned()),
        target: Some(target.to_string()),
        typ: Some(MountType::BIND),
        read_only: Some(false),
        ..Default::default()
    }
}

/// Bind mounts need absolute host paths.
fn absolute(path: &Path) -> Result<PathBuf, ExecError> {
    std::path::absolute(path).map_err(|source| ExecError::Io {
        context: format!("cannot resolve '{}'", path.display()),
        source,
    })
}

fn exit_code_text(code: Option<i64>) -> String {
    code.map_or_else(|| "unknown".to_string(), |c| c.to_string())
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The engine's own message for server errors, bollard's text for the rest.
fn error_text(e: &DockerError) -> String {
    match e {
        DockerError::DockerResponseServerError { message, .. } => message.trim().to_string(),
        other => other.to_string(),
    }
}

fn docker_error(context: &str, e: DockerError) -> ExecError {
    ExecError::Docker(format!("{context}: {}", error_text(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_docker_names_and_distinct() {
        let a = Names::new("r1", "build (a)");
        let b = Names::new("r1", "build-a");
        assert_eq!(b.job, "gantry-r1-build-a");
        assert!(a.job.starts_with("gantry-r1-build-a-"), "{}", a.job);
        assert_ne!(a.job, b.job);
        let valid = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        };
        assert!(
            valid(&a.job) && valid(&a.service("My DB")),
            "{}",
            a.service("My DB")
        );
        assert_eq!(a.service("My DB"), format!("{}-svc-my-db", a.job));
        assert!(valid(&Names::new("ü", "ジョブ").job));
    }

    #[test]
    fn slug_is_bounded() {
        assert_eq!(slug(&"x".repeat(100)).len(), 40);
        assert_eq!(slug("--a  b--"), "a-b");
    }
}
