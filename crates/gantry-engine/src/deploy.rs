//! Deploy jobs (`deploy: { service, environment, version }`): the hook through which a
//! runner that can deploy does so. The engine renders the job's deploy fields, hands a
//! [`DeployRequest`] to the [`Deployer`] it was given (see
//! [`Executors::with_deployer`](crate::Executors::with_deployer)), streams its progress
//! into the job's log and maps how the deployment ended to the job's result. It knows
//! nothing of hosts, SSH or workspaces: `gantry run` and the server implement
//! `Deployer` with gantry-deploy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gantry_expr::Scope;
use gantry_pipeline::{DeploySpec, PlannedJob};
use tokio_util::sync::CancellationToken;

use crate::context::GitFacts;
use crate::job::render;
use crate::log::{LogSink, Stream};
use crate::report::JobResult;
use crate::run::{RunControl, RunShared};

/// Rolls a release out. Blocking: the engine calls it on a blocking thread.
pub trait Deployer: Send + Sync {
    /// Deploys `request` and returns once the deployment has ended: succeeded, or
    /// rolled back or failed on its own. `log` takes progress lines (from any thread);
    /// each becomes a line of the job's log, masked and timestamped like step output.
    /// `Err` means nothing was deployed (an unknown service, a protected environment, a
    /// missing artifact, the lock not obtained); its text is the job's failure reason.
    fn deploy(
        &self,
        request: &DeployRequest,
        log: &(dyn Fn(&str) + Sync),
    ) -> Result<DeployOutcome, String>;
}

/// What a deploy job asks for, its templates rendered.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub service: String,
    pub environment: String,
    /// `deploy.version` rendered, or the run's short commit sha (`git.short_sha`) when
    /// the job does not say.
    pub version: String,
    /// The deploy job's work directory: a copy of the checkout with the artifacts of the
    /// jobs it needs restored into it (at the paths those jobs saved them from).
    pub work_dir: PathBuf,
    /// The job ids the deploy job needs (whose artifacts are in `work_dir`).
    pub needs: Vec<String>,
    /// The run's commit: its branch is what an environment's `branches` protect against.
    pub git: GitFacts,
    pub run_id: String,
    pub run_number: u64,
    /// The pipeline's name and the deploy job's key, for the deployment record.
    pub pipeline: String,
    pub job: String,
    /// Cancelled when the run (or this job) is. A deployer may give up on it before it
    /// changes a host (waiting for approvals or the lock); once hosts change it must
    /// finish or roll back on its own, never stop mid-switch.
    pub cancel: CancellationToken,
}

/// How a deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployResult {
    /// Every host runs the release, healthy.
    Succeeded,
    /// A host failed its health gate; every switched host is back on its release.
    RolledBack,
    /// Anything else (including a rollback that failed).
    Failed,
}

/// A finished deployment: how it ended and one line saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOutcome {
    pub result: DeployResult,
    pub summary: String,
}

/// Renders the job's `deploy:` into a request.
fn request(
    shared: &RunShared,
    job: &PlannedJob,
    spec: &DeploySpec,
    work_dir: &Path,
    scope: &Scope,
    cancel: CancellationToken,
) -> Result<DeployRequest, String> {
    let field = |name: &str, src: &str| -> Result<String, String> {
        let value = render(&format!("deploy.{name}"), src, scope)?;
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(format!(
                "deploy.{name} is empty: `{src}` rendered to nothing (is the output it reads written to $GANTRY_OUTPUT?)"
            ));
        }
        Ok(value)
    };
    let git = shared.options.git.clone();
    let version = match &spec.version {
        Some(src) => field("version", src)?,
        None => {
            let short: String = git.sha.chars().take(8).collect();
            if short.is_empty() {
                return Err(
                    "deploy.version is not set and the run has no commit to name the release after: give the job a `version`".into(),
                );
            }
            short
        }
    };
    Ok(DeployRequest {
        service: field("service", &spec.service)?,
        environment: field("environment", &spec.environment)?,
        version,
        work_dir: work_dir.to_path_buf(),
        needs: job.needs.clone(),
        git,
        run_id: shared.options.run_id.clone(),
        run_number: shared.options.run_number,
        pipeline: shared.plan.name.clone(),
        job: job.key.clone(),
        cancel,
    })
}

/// Runs the job's deploy and returns the job's result with the reason for a failure.
pub(crate) async fn run(
    shared: &Arc<RunShared>,
    job: &PlannedJob,
    spec: &DeploySpec,
    work_dir: &Path,
    scope: &Scope<'_>,
    control: &RunControl,
    log: &LogSink,
) -> (JobResult, Option<String>) {
    let deployer = match shared.executors.deployer() {
        Ok(d) => d,
        Err(why) => return failed(log, why).await,
    };
    if control.cancel.is_cancelled() {
        // Nothing started yet: not deploying is the whole of cancelling.
        return (JobResult::Cancelled, Some("run cancelled".into()));
    }
    let request = match request(
        shared,
        job,
        spec,
        work_dir,
        scope,
        control.cancel.child_token(),
    ) {
        Ok(r) => r,
        Err(e) => return failed(log, shared.masker.mask(&e)).await,
    };
    log.system(&format!(
        "deploying {} {} to {}",
        request.service, request.version, request.environment
    ))
    .await;

    // The deployer's lines cross from its blocking thread(s) through an unbounded
    // channel (a deploy prints a few lines a second), so sending never blocks or panics
    // there; this task feeds them to the sink in order.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let forward = {
        let log = log.clone();
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                log.line(Stream::Stdout, &line).await;
            }
        })
    };
    // Masked: the fields are templates, which could read a secret, and this text goes
    // into the job's reason as well as its log.
    let what = shared.masker.mask(&format!(
        "{} {} to {}",
        request.service, request.version, request.environment
    ));
    let mut task = tokio::task::spawn_blocking(move || {
        let emit = move |text: &str| {
            for line in text.lines() {
                let _ = tx.send(line.to_string());
            }
        };
        deployer.deploy(&request, &emit)
    });
    // Cancelling does not stop a deploy: killing it between two hosts' switches would
    // leave the environment half on each release. It finishes or rolls back on its own.
    let mut told = false;
    let joined = loop {
        tokio::select! {
            joined = &mut task => break joined,
            _ = control.cancel.cancelled(), if !told => {
                told = true;
                log.system(&format!(
                    "run cancelled: the deploy of {what} is not interrupted; it goes on until it has finished or rolled back"
                ))
                .await;
            }
        }
    };
    let _ = forward.await;
    match joined {
        Err(e) => {
            let e = shared.masker.mask(&e.to_string());
            failed(log, format!("internal error: the deployer stopped: {e}")).await
        }
        // Nothing was deployed: after a cancel, that is the cancel's doing.
        Ok(Err(e)) if control.cancel.is_cancelled() => {
            let reason = format!(
                "run cancelled; nothing deployed: {}",
                shared.masker.mask(&e)
            );
            log.system(&reason).await;
            (JobResult::Cancelled, Some(reason))
        }
        Ok(Err(e)) => {
            let e = shared.masker.mask(&e);
            failed(log, format!("could not deploy {what}: {e}")).await
        }
        Ok(Ok(outcome)) => {
            let summary = shared.masker.mask(&outcome.summary);
            match outcome.result {
                DeployResult::Succeeded => {
                    log.system(&format!("deployed {what}")).await;
                    (JobResult::Success, None)
                }
                DeployResult::RolledBack => {
                    failed(
                        log,
                        format!("the deploy of {what} was rolled back: {summary}"),
                    )
                    .await
                }
                DeployResult::Failed => {
                    failed(log, format!("the deploy of {what} failed: {summary}")).await
                }
            }
        }
    }
}

async fn failed(log: &LogSink, reason: String) -> (JobResult, Option<String>) {
    log.system(&reason).await;
    (JobResult::Failure, Some(reason))
}

/// What a pipeline deploy ships, given the service's `artifact: { job, path }` and the
/// deploy job's request (its work directory and needs) — the rule `gantry run` and the
/// server share:
/// - `artifact.job` set: `artifact.path` inside the work directory, where that job's
///   artifacts were restored — an error if the deploy job does not need that job or the
///   file is not there;
/// - `artifact.job` not set: `artifact.path` inside the work directory if it is there,
///   else `None`: the path relative to the workspace, as `gantry deploy` ships.
///
/// `None` too when the service names no `artifact.path` (gantry-deploy then deploys only
/// a release already on the hosts).
pub fn pipeline_artifact(
    artifact_job: Option<&str>,
    artifact_path: Option<&Path>,
    service: &str,
    request: &DeployRequest,
) -> Result<Option<PathBuf>, String> {
    let (work_dir, needs, job) = (&request.work_dir, &request.needs, &request.job);
    let Some(path) = artifact_path else {
        return match artifact_job {
            Some(from) => Err(format!(
                "service '{service}' ships an artifact of job '{from}' but has no `artifact.path`: say which of its files to ship"
            )),
            None => Ok(None),
        };
    };
    let in_work_dir = path
        .to_str()
        .and_then(|p| crate::fsutil::contained(work_dir, p));
    let Some(from) = artifact_job else {
        return Ok(in_work_dir.filter(|p| p.exists()));
    };
    if !needs.iter().any(|n| n == from) {
        return Err(format!(
            "service '{service}' ships the artifact of job '{from}' (`artifact.job` in gantry.yml), but deploy job '{job}' does not need '{from}': add it to the job's `needs`"
        ));
    }
    let Some(candidate) = in_work_dir else {
        return Err(format!(
            "service '{service}': `artifact.path` '{}' must be a relative path (without `..`) to ship the artifact of job '{from}'",
            path.display()
        ));
    };
    if !candidate.exists() {
        return Err(format!(
            "job '{from}' left no '{}' for deploy job '{job}': list it in the `artifacts:` of job '{from}'",
            path.display()
        ));
    }
    Ok(Some(candidate))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A service's `artifact: { job, path }`.
    fn artifact(
        job: Option<&'static str>,
        path: Option<&'static str>,
    ) -> (Option<&'static str>, Option<PathBuf>) {
        (job, path.map(PathBuf::from))
    }

    #[test]
    fn the_artifact_comes_from_the_work_directory_of_the_deploy_job() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path();
        std::fs::create_dir_all(work.join("dist")).unwrap();
        std::fs::write(work.join("dist/app"), "x").unwrap();
        let request = DeployRequest {
            service: "web".into(),
            environment: "staging".into(),
            version: "v1".into(),
            work_dir: work.to_path_buf(),
            needs: vec!["build".to_string()],
            git: GitFacts::default(),
            run_id: "1".into(),
            run_number: 1,
            pipeline: "ci".into(),
            job: "ship".into(),
            cancel: CancellationToken::new(),
        };
        let choose = |(job, path): (Option<&str>, Option<PathBuf>)| {
            pipeline_artifact(job, path.as_deref(), "web", &request)
        };

        assert_eq!(
            choose(artifact(Some("build"), Some("dist/app"))),
            Ok(Some(work.join("dist/app")))
        );
        let not_needed = choose(artifact(Some("compile"), Some("dist/app"))).unwrap_err();
        assert!(
            not_needed.contains("deploy job 'ship' does not need 'compile'"),
            "{not_needed}"
        );
        let missing = choose(artifact(Some("build"), Some("dist/other"))).unwrap_err();
        assert!(
            missing.contains("job 'build' left no 'dist/other'"),
            "{missing}"
        );
        let outside = choose(artifact(Some("build"), Some("../app"))).unwrap_err();
        assert!(outside.contains("must be a relative path"), "{outside}");
        assert!(choose(artifact(Some("build"), None)).is_err());

        // Without artifact.job the work directory wins when it has the file; otherwise
        // the workspace's path is shipped (None: gantry-deploy's own default).
        assert_eq!(
            choose(artifact(None, Some("dist/app"))),
            Ok(Some(work.join("dist/app")))
        );
        assert_eq!(choose(artifact(None, Some("target/app"))), Ok(None));
        assert_eq!(choose(artifact(None, Some("/abs/app"))), Ok(None));
        assert_eq!(choose(artifact(None, None)), Ok(None));
    }
}
