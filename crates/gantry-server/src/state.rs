//! The server's shared state: the store, the live hub, log files, the executor pool's
//! bookkeeping and the current set of projects (replaced whole on reload).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use gantry_engine::Executors;
use gantry_scm::Git;
use gantry_store::logs::LogFiles;
use gantry_store::{GitFacts, Run, RunId, RunStatus, Store};
use indexmap::IndexMap;

use crate::dispatch::{Running, Sessions};
use crate::live::{Change, LiveHub};
use crate::projects::{PipelineFile, Project, compile_files, read_local_pipelines};

/// The projects of the loaded workspace.
#[derive(Debug, Default)]
pub struct ProjectSet {
    pub projects: IndexMap<String, Project>,
    /// Warnings from loading the workspace, rendered.
    pub warnings: String,
    /// The workspace's hosts and groups (`/infra/hosts` lists them).
    pub inventory: gantry_workspace::Inventory,
    /// The workspace's environments and services (the environments pages list them;
    /// a deployment reads the workspace afresh).
    pub environments: IndexMap<String, gantry_workspace::Environment>,
    pub services: IndexMap<String, gantry_workspace::Service>,
}

pub struct ServerState {
    pub store: Arc<dyn Store>,
    pub hub: LiveHub,
    pub logs: LogFiles,
    pub data_dir: PathBuf,
    pub executors: Arc<Executors>,
    /// Jobs the server's own pool runs at once.
    pub parallelism: usize,
    pub running: Running,
    pub sessions: Sessions,
    pub projects: RwLock<Arc<ProjectSet>>,
    /// Base URL for links (commit statuses, CLI output), without a trailing slash.
    pub public_url: String,
    pub git: Git,
    /// The workspace directory and listen address, for reloads.
    pub workspace_dir: PathBuf,
    pub listen: std::net::SocketAddr,
    /// Agents: registry cache, their logs and files, settings.
    pub agents: crate::agents::Agents,
    /// What `/metrics` reports.
    pub metrics: crate::metrics::Metrics,
    /// Infra runs (drift checks, plans, applies): one at a time.
    pub infra: crate::infra::Infra,
    /// Deployments running here, each with its cancel flag.
    pub deploys: crate::deploy::Deploys,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("backend", &self.store.backend())
            .field("data_dir", &self.data_dir)
            .field("parallelism", &self.parallelism)
            .finish_non_exhaustive()
    }
}

impl ServerState {
    pub fn projects(&self) -> Arc<ProjectSet> {
        self.projects
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    pub fn project(&self, name: &str) -> Option<Project> {
        self.projects().projects.get(name).cloned()
    }

    pub fn replace_projects(&self, set: ProjectSet) {
        match self.projects.write() {
            Ok(mut p) => *p = Arc::new(set),
            Err(e) => *e.into_inner() = Arc::new(set),
        }
    }

    pub(crate) fn mirror_dir(&self, project: &str) -> PathBuf {
        self.data_dir.join("mirrors").join(format!("{project}.git"))
    }

    /// The project's pipeline files at commit `sha` (for a `path:` project: its current
    /// files), compiled.
    pub async fn pipelines_at(
        &self,
        project: &Project,
        sha: Option<&str>,
    ) -> Result<Vec<PipelineFile>, String> {
        let files = if let Some(dir) = &project.local_dir {
            let (dir, sub) = (dir.clone(), project.pipelines_dir.clone());
            tokio::task::spawn_blocking(move || read_local_pipelines(&dir, &sub))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("reading the pipelines of '{}': {e}", project.name))?
        } else {
            let sha = sha.ok_or("a commit is needed to read a repository's pipelines")?;
            let mirror = self.mirror_dir(&project.name);
            self.git
                .update_mirror(&mirror, &project.git_url)
                .await
                .map_err(|e| e.to_string())?;
            // A pull request's head (maybe from a fork) is on no branch of the mirror.
            if self.git.commit_summary(&mirror, sha).await.is_err() {
                let _ = self.git.fetch(&mirror, &project.git_url, sha).await;
            }
            self.git
                .yaml_files_at(&mirror, sha, &project.pipelines_dir)
                .await
                .map_err(|e| e.to_string())?
        };
        tokio::task::spawn_blocking(move || compile_files(files))
            .await
            .map_err(|e| e.to_string())
    }

    /// Where a run's jobs come from: a `path:` project's directory (its current files),
    /// or the project's mirror with the run's commit — the engine checks that commit
    /// out straight from the mirror, which the trigger has just fetched, so starting a
    /// run costs no second fetch from the remote.
    pub async fn prepare_source(&self, run: &Run) -> Result<(PathBuf, Option<String>), String> {
        let project = self
            .project(&run.project)
            .ok_or_else(|| format!("project '{}' is no longer in the workspace", run.project))?;
        if let Some(dir) = project.local_dir {
            return Ok((dir, None));
        }
        let mirror = self.mirror_dir(&project.name);
        // The mirror may lack the commit (a rerun after the branch moved and was
        // pruned, a run queued before a restart that lost the mirror): fetch it.
        if self
            .git
            .commit_summary(&mirror, &run.git.sha)
            .await
            .is_err()
        {
            self.git
                .update_mirror(&mirror, &project.git_url)
                .await
                .map_err(|e| format!("fetching {}: {e}", project.name))?;
            if self
                .git
                .commit_summary(&mirror, &run.git.sha)
                .await
                .is_err()
            {
                self.git
                    .fetch(&mirror, &project.git_url, &run.git.sha)
                    .await
                    .map_err(|e| format!("fetching {}: {e}", run.git.sha))?;
            }
        }
        Ok((mirror, Some(run.git.sha.clone())))
    }

    /// The commit at the tip of `branch` of `project` (for a `path:` project: the
    /// checkout's HEAD, whatever branch is asked), as git facts for a new run.
    pub async fn resolve_branch(
        &self,
        project: &Project,
        branch: &str,
    ) -> Result<GitFacts, String> {
        let sha = if let Some(dir) = &project.local_dir {
            let out = tokio::process::Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["rev-parse", "HEAD"])
                .output()
                .await
                .map_err(|e| format!("running git: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "{} is not in a git checkout with a commit",
                    dir.display()
                ));
            }
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        } else {
            let refs = self
                .git
                .ls_remote(&project.git_url)
                .await
                .map_err(|e| e.to_string())?;
            let want = format!("refs/heads/{branch}");
            refs.into_iter()
                .find(|r| r.name == want)
                .map(|r| r.sha)
                .ok_or_else(|| format!("project '{}' has no branch '{branch}'", project.name))?
        };
        let mut git = GitFacts {
            sha,
            branch: Some(branch.to_string()),
            tag: None,
            message: String::new(),
            author: String::new(),
        };
        if project.local_dir.is_none() {
            let mirror = self.mirror_dir(&project.name);
            let _ = self.git.update_mirror(&mirror, &project.git_url).await;
        }
        crate::triggers::enqueue::describe_commit(self, &project.name, &mut git).await;
        Ok(git)
    }

    /// A run reached its final status: tell live viewers and the forge, and start the
    /// automatic deploys it asks for.
    pub async fn run_finished(self: &Arc<Self>, run: RunId, status: RunStatus) {
        self.hub.publish(Change::Run(run));
        self.agents.run_finished(run);
        self.agents.files.forget(self, run).await;
        crate::status::report_run(self, run, Some(status)).await;
        crate::deploy::auto::after_run(self, run, status);
    }
}
