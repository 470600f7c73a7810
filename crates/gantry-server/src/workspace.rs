//! Loading `gantry.yml` into the server's project set: parse and validate (diagnostics
//! with file:line as `gantry validate` prints them), resolve secret references, and turn
//! each project into what the triggers and dispatcher use. A reload (SIGHUP or the API)
//! that fails keeps the current projects.

use std::net::SocketAddr;
use std::path::Path;

use gantry_scm::Forge;
use gantry_workspace::{ForgeKind, LoadError, ProjectSource};

use crate::projects::{ForgeTarget, Project};
use crate::serve::ServeError;
use crate::state::{ProjectSet, ServerState};

/// A loaded workspace, ready for the server.
#[derive(Debug)]
pub struct Ready {
    pub projects: ProjectSet,
    pub parallelism: usize,
    pub public_url: String,
    pub agents: crate::agents::AgentSettings,
    pub warnings: String,
}

fn forge_of(kind: ForgeKind) -> Forge {
    match kind {
        ForgeKind::Github => Forge::GitHub,
        ForgeKind::Gitea | ForgeKind::Forgejo => Forge::Gitea,
        ForgeKind::Gitlab => Forge::GitLab,
    }
}

/// Reads `dir/gantry.yml` (blocking work off the runtime) into the server's projects.
pub async fn load_ready(dir: &Path, listen: SocketAddr) -> Result<Ready, String> {
    let dir = dir.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || gantry_workspace::load(&dir))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| match e {
            LoadError::Invalid(invalid) => invalid.render(false),
            other => other.to_string(),
        })?;
    let secrets = loaded
        .resolve_secrets()
        .map_err(|diags| loaded.render(&diags, false))?;
    let warnings = loaded.render(&loaded.diagnostics, false);
    let mut set = ProjectSet {
        warnings: warnings.clone(),
        inventory: loaded.workspace.inventory.clone(),
        environments: loaded.workspace.environments.clone(),
        services: loaded.workspace.services.clone(),
        ..Default::default()
    };
    for (name, p) in &loaded.workspace.projects {
        let secret = secrets.project(name);
        let local_dir = match &p.source {
            ProjectSource::Path(path) => Some(path.clone()),
            ProjectSource::Repo(_) => None,
        };
        set.projects.insert(
            name.clone(),
            Project {
                name: name.clone(),
                git_url: p.git_url(),
                local_dir,
                branch: p.branch.clone(),
                poll: p.poll,
                pipelines_dir: p.pipelines_dir.to_string_lossy().into_owned(),
                webhook_secret: secret.and_then(|s| s.webhook_secret.clone()),
                forge: p.forge.as_ref().map(|f| ForgeTarget {
                    forge: forge_of(f.kind),
                    api_url: f.reporter_base_url().to_string(),
                    repo: f.repo.clone(),
                    token: secret.and_then(|s| s.forge_token.clone()),
                }),
            },
        );
    }
    Ok(Ready {
        projects: set,
        parallelism: loaded.workspace.server.effective_parallelism(),
        agents: crate::agents::AgentSettings {
            lease: loaded
                .workspace
                .server
                .agent_lease
                .unwrap_or(gantry_workspace::DEFAULT_AGENT_LEASE),
            unlabeled: loaded.workspace.server.unlabeled_jobs,
        },
        public_url: loaded
            .workspace
            .server
            .public_url(listen)
            .trim_end_matches('/')
            .to_string(),
        warnings,
    })
}

pub async fn load(dir: &Path, listen: SocketAddr) -> Result<Ready, ServeError> {
    load_ready(dir, listen).await.map_err(ServeError::Workspace)
}

/// Reloads the workspace the server was started with. On error the current projects
/// stay and the rendered diagnostics are returned.
pub async fn reload(state: &ServerState) -> Result<String, String> {
    let ready = load_ready(&state.workspace_dir, state.listen).await?;
    let warnings = ready.warnings.clone();
    state.agents.set_settings(ready.agents);
    state.replace_projects(ready.projects);
    state.hub.publish(crate::live::Change::Enqueued);
    Ok(warnings)
}
