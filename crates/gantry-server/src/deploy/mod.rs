//! Deployments in the server: deploys and rollbacks asked for through the API, the UI,
//! pipeline deploy jobs and `auto_deploy`, run by `gantry-deploy` on a blocking thread
//! with the workspace loaded fresh from disk. Each is a stored deployment (its commit
//! range and changelog since the environment's previous one, who and what triggered
//! it) whose progress lines move each host's phase as they come; the live hub tells the
//! pages. The environment's lock is gantry-deploy's own (a file under `flock` on its
//! first host), so a deploy from the server and one from `gantry deploy` on a laptop
//! still exclude each other.

pub mod auto;
pub mod environment;
pub mod pipeline;
pub mod progress;
pub mod source;
pub mod versions;

use std::path::PathBuf;
use std::sync::Arc;

use gantry_deploy::lock::LockError;
use gantry_deploy::{Cancel, DeployError, DeploymentReport, Options, Outcome};
use gantry_store::{
    ChangelogEntry, DeployState, Deployment, DeploymentFilter, DeploymentId, FinishedDeployment,
    NewDeployment, NewEvent, RunId, StoreError, kinds,
};
use gantry_workspace::{LoadError, Loaded};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::live::Change;
use crate::state::ServerState;
use source::Source;

/// Commits listed at most in a deployment's changelog.
const CHANGELOG_LIMIT: usize = 100;

/// What to deploy (or roll back) where, and on whose behalf.
#[derive(Debug, Clone, Default)]
pub struct DeployAsk {
    pub service: String,
    pub environment: String,
    /// The release's name; see `source::version` for the default.
    pub version: Option<String>,
    /// A rollback (to `version`, or to the previous release) instead of a deploy.
    pub rollback: bool,
    /// `api`, `ui`, `pipeline`, `auto`.
    pub trigger: String,
    /// The user or token (its approvals do not count for this deployment).
    pub triggered_by: String,
    /// The run whose `artifact.job` artifact is shipped (newest good one when `None`).
    pub run: Option<RunId>,
    /// Ship this file or directory instead (a pipeline deploy job's work directory).
    pub artifact: Option<PathBuf>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub outside_window: bool,
    /// Promote: deploy exactly what this environment last deployed successfully (its
    /// run's build, its version).
    pub from: Option<String>,
    /// Shared with whoever may cancel it besides the server's Cancel (a pipeline run).
    pub cancel: Option<Cancel>,
}

/// The deployments this server is running, with the flag that cancels each.
#[derive(Debug, Default)]
pub struct Deploys {
    running: std::sync::Mutex<std::collections::HashMap<DeploymentId, Cancel>>,
}

impl Deploys {
    fn add(&self, id: DeploymentId, cancel: Cancel) {
        if let Ok(mut m) = self.running.lock() {
            m.insert(id, cancel);
        }
    }

    fn remove(&self, id: DeploymentId) {
        if let Ok(mut m) = self.running.lock() {
            m.remove(&id);
        }
    }

    /// Asks deployment `id` to give up; false when this server is not running it.
    pub fn cancel(&self, id: DeploymentId) -> bool {
        match self.running.lock().ok().and_then(|m| m.get(&id).cloned()) {
            Some(c) => {
                c.cancel();
                true
            }
            None => false,
        }
    }
}

/// Why a deployment could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A bad request or a workspace that cannot serve it (rendered, with file:line).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// Refused by the environment's protection (branch, window) or by who asks.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Called with every progress line as it comes (a pipeline job's log).
pub type Observer = Arc<dyn Fn(&str) + Send + Sync>;

fn load(dir: &std::path::Path) -> Result<Loaded, StartError> {
    gantry_workspace::load(dir).map_err(|e| match e {
        LoadError::Invalid(invalid) => StartError::Invalid(invalid.render(false)),
        other => StartError::Invalid(other.to_string()),
    })
}

/// Runs `work` (file IO: the workspace, secret files) on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StartError> + Send + 'static,
) -> Result<T, StartError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StartError::Invalid(format!("reading the workspace stopped: {e}")))?
}

async fn load_async(state: &ServerState) -> Result<Loaded, StartError> {
    let dir = state.workspace_dir.clone();
    blocking(move || load(&dir)).await
}

fn resolve_error(e: DeployError) -> StartError {
    match e {
        e @ (DeployError::UnknownService { .. } | DeployError::UnknownEnvironment { .. }) => {
            StartError::NotFound(e.to_string())
        }
        DeployError::Protected(why) => StartError::Refused(why),
        other => StartError::Invalid(other.to_string()),
    }
}

/// The environment's newest successful deployment of the service.
async fn previous(
    state: &ServerState,
    service: &str,
    environment: &str,
) -> Result<Option<Deployment>, StoreError> {
    Ok(state
        .store
        .list_deployments(&DeploymentFilter {
            service: Some(service.to_string()),
            environment: Some(environment.to_string()),
            state: Some(DeployState::Succeeded),
            limit: 1,
        })
        .await?
        .into_iter()
        .next())
}

/// The commits `commit` brings since `since`, from the project's repository (its mirror,
/// or its own directory); empty when either is unknown or git cannot tell.
async fn changelog(
    state: &ServerState,
    project: Option<&str>,
    since: Option<&str>,
    commit: Option<&str>,
) -> Vec<ChangelogEntry> {
    let (Some(project), Some(commit)) = (project.and_then(|p| state.project(p)), commit) else {
        return Vec::new();
    };
    let repo = project
        .local_dir
        .clone()
        .unwrap_or_else(|| state.mirror_dir(&project.name));
    // Without a previous deployment the commit itself is the changelog.
    let limit = if since.is_some() { CHANGELOG_LIMIT } else { 1 };
    match state.git.commits_between(&repo, since, commit, limit).await {
        Ok(list) => list
            .into_iter()
            .map(|e| ChangelogEntry {
                sha: e.sha,
                author: e.author,
                subject: e.subject,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(project = %project.name, "changelog of a deployment: {e}");
            Vec::new()
        }
    }
}

/// A promotion (`from`) becomes a deploy of the run and version the other environment
/// last deployed successfully.
async fn promoted(state: &ServerState, ask: DeployAsk) -> Result<DeployAsk, StartError> {
    let Some(from) = ask.from.clone() else {
        return Ok(ask);
    };
    if ask.rollback || ask.run.is_some() || ask.version.is_some() || ask.artifact.is_some() {
        return Err(StartError::Invalid(
            "a promotion deploys what the other environment runs: give `from` alone, without a version or run".into(),
        ));
    }
    if from == ask.environment {
        return Err(StartError::Invalid(format!(
            "from: promoting {from} to itself"
        )));
    }
    let Some(passed) = previous(state, &ask.service, &from).await? else {
        return Err(StartError::Invalid(format!(
            "from: the server has no successful deployment of {} to {from} to promote",
            ask.service
        )));
    };
    let Some(run) = passed.run_id else {
        return Err(StartError::Invalid(format!(
            "from: {} {} reached {from} without a build of this server (deployment {}); promote it with `gantry promote`, which copies it from {from}'s host",
            ask.service, passed.version, passed.id
        )));
    };
    Ok(DeployAsk {
        version: Some(passed.version),
        run: Some(run),
        commit: passed.commit_sha,
        trigger: "promote".into(),
        ..ask
    })
}

/// Checks the ask against the workspace, records the deployment and starts it. The
/// handle ends with the finished deployment.
pub async fn start(
    state: Arc<ServerState>,
    ask: DeployAsk,
    observer: Option<Observer>,
) -> Result<(Deployment, JoinHandle<Result<Deployment, StoreError>>), StartError> {
    let ask = promoted(&state, ask).await?;
    let (service_name, env_name) = (ask.service.clone(), ask.environment.clone());
    let dir = state.workspace_dir.clone();
    let (loaded, service, hosts, protection, secrets) = blocking(move || {
        let loaded = load(&dir)?;
        let r = gantry_deploy::resolve(&loaded.workspace, &loaded.dir, &service_name, &env_name)
            .map_err(resolve_error)?;
        let hosts: Vec<String> = r.hosts.iter().map(|h| h.name.clone()).collect();
        // The secrets the service's env reads, from the server's environment and files,
        // as infra reads them: a missing one refuses the deploy before it is recorded.
        let secrets = loaded
            .workspace
            .inventory
            .resolve_named_secrets(
                &loaded.workspace.file,
                &r.secrets_used(),
                |name| std::env::var(name).ok(),
                |path| std::fs::read_to_string(path),
            )
            .map_err(|diags| StartError::Invalid(loaded.render(&diags, false)))?;
        let (service, protection) = (r.service.clone(), r.environment.clone());
        Ok((loaded, service, hosts, protection, secrets))
    })
    .await?;
    let mut source = Source {
        artifact: ask.artifact.clone(),
        run: ask.run,
        commit: ask.commit.clone(),
        branch: ask.branch.clone(),
        built_version: None,
    };
    if !ask.rollback
        && ask.artifact.is_none()
        && let Some(job) = &service.artifact.job
    {
        let found = source::from_run(&state, &service, job, ask.run).await?;
        source = Source {
            commit: ask.commit.clone().or(found.commit.clone()),
            branch: ask.branch.clone().or(found.branch.clone()),
            ..found
        };
    }
    let prev = previous(&state, &ask.service, &ask.environment).await?;
    let version = if ask.rollback {
        match (&ask.version, &prev) {
            (Some(v), _) => v.clone(),
            (None, Some(p)) => p
                .previous_version
                .clone()
                .unwrap_or_else(|| "previous".into()),
            (None, None) => "previous".into(),
        }
    } else {
        source::version(ask.version.as_deref(), &source)?
    };
    if version != "previous" {
        gantry_deploy::check_version(&version).map_err(StartError::Invalid)?;
    }
    if !ask.rollback {
        gantry_deploy::protect::check_branch(
            &protection.name,
            &protection.branches,
            source.branch.as_deref(),
        )
        .map_err(StartError::Refused)?;
        if !ask.outside_window {
            gantry_deploy::protect::check_window(
                &protection.name,
                &protection.windows,
                jiff::Timestamp::now(),
            )
            .map_err(StartError::Refused)?;
        }
    }
    let previous_commit = prev.as_ref().and_then(|p| p.commit_sha.clone());
    let changelog = changelog(
        &state,
        service.project.as_deref(),
        previous_commit.as_deref(),
        source.commit.as_deref(),
    )
    .await;
    let deployment = state
        .store
        .create_deployment(NewDeployment {
            service: ask.service.clone(),
            environment: ask.environment.clone(),
            version: version.clone(),
            kind: if ask.rollback { "rollback" } else { "deploy" }.into(),
            trigger: ask.trigger.clone(),
            triggered_by: ask.triggered_by.clone(),
            project: service.project.clone(),
            run_id: source.run,
            commit_sha: source.commit.clone(),
            previous_version: prev.as_ref().map(|p| p.version.clone()),
            previous_commit,
            changelog,
            hosts: hosts.clone(),
        })
        .await?;
    state.hub.publish(Change::Deployment(deployment.id));
    let options = Options {
        branch: source.branch.clone(),
        outside_window: ask.outside_window,
        identity: ask.triggered_by.clone(),
        trigger: ask.trigger.clone(),
        secrets,
        cancel: ask.cancel.clone().unwrap_or_default(),
        ..Options::default()
    };
    state.deploys.add(deployment.id, options.cancel.clone());
    let job = Job {
        id: deployment.id,
        loaded,
        ask,
        version,
        artifact: source.artifact,
        options,
        hosts,
    };
    let handle = tokio::spawn(run(state, job, observer));
    Ok((deployment, handle))
}

/// A started deployment, handed to its blocking thread.
struct Job {
    id: DeploymentId,
    loaded: Loaded,
    ask: DeployAsk,
    version: String,
    artifact: Option<PathBuf>,
    options: Options,
    hosts: Vec<String>,
}

/// Runs the deployment to its end, storing its lines as they come.
async fn run(
    state: Arc<ServerState>,
    job: Job,
    observer: Option<Observer>,
) -> Result<Deployment, StoreError> {
    let id = job.id;
    let hosts = job.hosts.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let work = tokio::task::spawn_blocking(move || {
        let progress = |line: &str| {
            if let Some(o) = &observer {
                o(line);
            }
            let _ = tx.send(line.to_string());
        };
        let dir = job.loaded.dir.clone();
        let resolved = gantry_deploy::resolve(
            &job.loaded.workspace,
            &dir,
            &job.ask.service,
            &job.ask.environment,
        )?;
        if job.ask.rollback {
            let to = (job.version != "previous").then_some(job.version.as_str());
            gantry_deploy::rollback(&resolved, to, &job.options, &progress)
        } else {
            gantry_deploy::deploy(
                &resolved,
                &job.version,
                job.artifact.as_deref(),
                &job.options,
                &progress,
            )
        }
    });
    while let Some(line) = rx.recv().await {
        let facts = progress::facts(&line, &hosts);
        if let Some(waiting) = facts.waiting
            && let Err(e) = state.store.set_deployment_waiting(id, waiting).await
        {
            tracing::error!(deployment = %id, "recording an approval wait: {e}");
        }
        if let Err(e) = state.store.add_deployment_line(id, facts.host, &line).await {
            tracing::error!(deployment = %id, "recording a deployment line: {e}");
        }
        state.hub.publish(Change::Deployment(id));
    }
    let finished = match work.await {
        Ok(Ok(report)) => finished(&report),
        Ok(Err(e)) => FinishedDeployment {
            state: if matches!(
                e,
                DeployError::Cancelled(_) | DeployError::Lock(LockError::Cancelled { .. })
            ) {
                DeployState::Cancelled
            } else {
                DeployState::Failed
            },
            report: json!({ "error": e.to_string() }),
        },
        Err(e) => FinishedDeployment {
            state: DeployState::Failed,
            report: json!({ "error": format!("the deployment stopped: {e}") }),
        },
    };
    let done = state.store.finish_deployment(id, finished).await;
    if let Err(e) = &done {
        // The next start marks it failed (`fail_interrupted_deployments`).
        tracing::error!(deployment = %id, "recording the end of a deployment: {e}");
    }
    state.deploys.remove(id);
    state.hub.publish(Change::Deployment(id));
    done
}

/// Cancels a deployment that has not changed a host yet (waiting for approvals or the
/// lock); one past that finishes or rolls back on its own. Appends `deploy.cancel_requested`.
pub async fn cancel(
    state: &ServerState,
    id: DeploymentId,
    by: &str,
) -> Result<Deployment, StartError> {
    let d = state
        .store
        .get_deployment(id)
        .await?
        .ok_or_else(|| StartError::NotFound(format!("no deployment {id}")))?;
    if d.state.is_final() {
        return Err(StartError::Refused(format!(
            "deployment {id} is {} already",
            d.state
        )));
    }
    if !state.deploys.cancel(id) {
        return Err(StartError::Refused(format!(
            "deployment {id} is not running on this server"
        )));
    }
    state
        .store
        .append_event(
            NewEvent::new(kinds::DEPLOY_CANCEL_REQUESTED)
                .actor(Some(by))
                .data(json!({
                    "deployment_id": id,
                    "service": d.service,
                    "environment": d.environment,
                    "version": d.version,
                    "state": d.state.as_str(),
                })),
        )
        .await?;
    Ok(d)
}

fn finished(report: &DeploymentReport) -> FinishedDeployment {
    FinishedDeployment {
        state: match report.outcome {
            Outcome::Succeeded => DeployState::Succeeded,
            Outcome::RolledBack => DeployState::RolledBack,
            Outcome::Failed => DeployState::Failed,
        },
        report: serde_json::to_value(report)
            .unwrap_or_else(|e| json!({ "error": format!("the record could not be kept: {e}") })),
    }
}

/// Records `by`'s approval of a waiting deployment's release on the environment's first
/// host (where the waiting deployer looks) and in the event log; returns who approved
/// so far.
pub async fn approve(
    state: &ServerState,
    id: DeploymentId,
    by: &str,
) -> Result<Vec<String>, StartError> {
    let d = state
        .store
        .get_deployment(id)
        .await?
        .ok_or_else(|| StartError::NotFound(format!("no deployment {id}")))?;
    if d.state != DeployState::WaitingApproval {
        return Err(StartError::Refused(format!(
            "deployment {id} is {}, not waiting for approval",
            d.state
        )));
    }
    if d.triggered_by == by {
        return Err(StartError::Refused(format!(
            "deployment {id} was started by {by}: someone else must approve it"
        )));
    }
    let loaded = load_async(state).await?;
    let (service, environment, version, who) = (
        d.service.clone(),
        d.environment.clone(),
        d.version.clone(),
        by.to_string(),
    );
    let approvals = tokio::task::spawn_blocking(move || {
        let dir = loaded.dir.clone();
        let resolved = gantry_deploy::resolve(&loaded.workspace, &dir, &service, &environment)?;
        let options = Options {
            identity: who,
            ..Options::default()
        };
        gantry_deploy::approve(&resolved, &version, &options)
    })
    .await
    .map_err(|e| StartError::Invalid(format!("the approval stopped: {e}")))?
    .map_err(resolve_error)?;
    let names: Vec<String> = approvals.into_iter().map(|a| a.by).collect();
    state
        .store
        .append_event(
            NewEvent::new(kinds::DEPLOY_APPROVED)
                .actor(Some(by))
                .data(json!({
                    "deployment_id": id,
                    "service": d.service,
                    "environment": d.environment,
                    "version": d.version,
                    "approved_by": by,
                    "approvals": names,
                })),
        )
        .await?;
    state.hub.publish(Change::Deployment(id));
    Ok(names)
}
