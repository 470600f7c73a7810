//! The workspace model: what `gantry.yml` declares once it has been parsed and checked.
//! Plain data; `Debug` and `Serialize` never show a secret or a URL's credentials.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use gantry_core::Span;
use indexmap::IndexMap;
use serde::{Serialize, Serializer};

use crate::secret_ref::SecretRef;
use crate::url::redact_url;

/// Poll interval when a project does not set `poll`.
pub const DEFAULT_POLL: Duration = Duration::from_secs(60);
/// The shortest `poll` accepted: a faster `git ls-remote` loop only loads the forge.
pub const MIN_POLL: Duration = Duration::from_secs(5);
/// Branch built when a project does not set `branch`.
pub const DEFAULT_BRANCH: &str = "main";
/// Where pipeline files live inside a repository unless `pipelines` says otherwise.
pub const DEFAULT_PIPELINES_DIR: &str = ".gantry/pipelines";

/// One parsed and validated `gantry.yml`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workspace {
    /// The name diagnostics carry (as the caller named the file).
    #[serde(skip)]
    pub file: String,
    pub server: ServerSettings,
    /// Projects in file order.
    pub projects: IndexMap<String, Project>,
    /// `hosts:`, `groups:` and `infra:`. Not part of the server API's workspace view
    /// (yet): `gantry infra` reads it.
    #[serde(skip)]
    pub inventory: crate::inventory::Inventory,
    /// `environments:` in file order. Read by `gantry deploy`, not (yet) part of the
    /// server API's view.
    #[serde(skip)]
    pub environments: IndexMap<String, crate::environment::Environment>,
    /// `services:` in file order.
    #[serde(skip)]
    pub services: IndexMap<String, crate::service::Service>,
}

impl Workspace {
    pub fn project(&self, name: &str) -> Option<&Project> {
        self.projects.get(name)
    }
}

/// The `server:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerSettings {
    /// Public base URL used in links sent to forges, without a trailing `/`.
    pub url: Option<String>,
    /// Jobs the server's own executor pool runs at once; `None` means one per CPU.
    pub parallelism: Option<u32>,
    /// Where jobs without `runs_on` run (`unlabeled_jobs`).
    pub unlabeled_jobs: UnlabeledJobs,
    /// How long an agent's job lease lasts without renewal (`agent_lease`).
    #[serde(skip)]
    pub agent_lease: Option<std::time::Duration>,
}

/// Where jobs without `runs_on` may run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnlabeledJobs {
    /// Only on the server's own executor pool (the default: a server with no agents
    /// still runs everything).
    #[default]
    Server,
    /// Only on agents (the server runs no jobs itself).
    Agents,
    /// Whichever of the two is free first.
    Any,
}

/// The default agent lease.
pub const DEFAULT_AGENT_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

impl ServerSettings {
    /// The public base URL: `url`, or `http://<listen>` when it is not set.
    pub fn public_url(&self, listen: std::net::SocketAddr) -> String {
        match &self.url {
            Some(url) => url.clone(),
            None => format!("http://{listen}"),
        }
    }

    /// `parallelism`, or the number of CPUs (at least 1). Reading the CPU count is kept
    /// out of parsing (it reads cgroup files on Linux), so it happens here, on demand.
    pub fn effective_parallelism(&self) -> usize {
        match self.parallelism {
            Some(n) => (n as usize).max(1),
            None => std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// A git repository Gantry builds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub name: String,
    pub source: ProjectSource,
    /// Where `repo:` or `path:` is written, for diagnostics found after parsing.
    #[serde(skip)]
    pub source_span: Span,
    /// The default branch.
    pub branch: String,
    /// How often `git ls-remote` looks for new commits; `None` when polling is off.
    #[serde(serialize_with = "serialize_poll")]
    pub poll: Option<Duration>,
    /// The directory of pipeline files, relative to the repository root.
    #[serde(rename = "pipelines")]
    pub pipelines_dir: PathBuf,
    pub webhook_secret: Option<SecretRef>,
    pub forge: Option<ForgeSettings>,
}

impl Project {
    /// The URL git clones from: the `repo` URL, or `file://<path>` for a `path:` project
    /// (absolute once [`crate::load`] has resolved it against the workspace directory).
    pub fn git_url(&self) -> String {
        match &self.source {
            ProjectSource::Repo(url) => url.clone(),
            ProjectSource::Path(path) => format!("file://{}", path.display()),
        }
    }
}

/// Where a project's code comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum ProjectSource {
    /// A git URL, as written (credentials included: git needs them).
    Repo(String),
    /// A local directory: as written after [`crate::parse`], absolute after
    /// [`crate::load`].
    Path(PathBuf),
}

// By hand, so that a `https://user:token@host/…` URL never reaches a log or the API.
impl fmt::Debug for ProjectSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectSource::Repo(url) => f.debug_tuple("Repo").field(&redact_url(url)).finish(),
            ProjectSource::Path(path) => f.debug_tuple("Path").field(path).finish(),
        }
    }
}

impl Serialize for ProjectSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            ProjectSource::Repo(url) => map.serialize_entry("repo", &redact_url(url))?,
            ProjectSource::Path(path) => map.serialize_entry("path", path)?,
        }
        map.end()
    }
}

/// Where a project's commit statuses are reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForgeSettings {
    pub kind: ForgeKind,
    /// The forge's API root (default per kind, see [`ForgeKind::default_api_url`]).
    pub api_url: String,
    /// `owner/name` on GitHub, Gitea and Forgejo; the project path or numeric id on GitLab.
    pub repo: String,
    pub token: SecretRef,
}

impl ForgeSettings {
    /// The base URL `gantry_scm`'s commit status reporter takes: the API root on GitHub,
    /// the instance root on Gitea, Forgejo and GitLab (the reporter adds `/api/v1` or
    /// `/api/v4` itself).
    pub fn reporter_base_url(&self) -> &str {
        match self.kind.api_suffix() {
            Some(suffix) => self.api_url.strip_suffix(suffix).unwrap_or(&self.api_url),
            None => &self.api_url,
        }
    }
}

/// The forges Gantry reports commit statuses to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    Github,
    Gitea,
    Forgejo,
    Gitlab,
}

impl ForgeKind {
    pub const ALL: [ForgeKind; 4] = [
        ForgeKind::Github,
        ForgeKind::Gitea,
        ForgeKind::Forgejo,
        ForgeKind::Gitlab,
    ];

    /// The name written in `gantry.yml`.
    pub fn name(self) -> &'static str {
        match self {
            ForgeKind::Github => "github",
            ForgeKind::Gitea => "gitea",
            ForgeKind::Forgejo => "forgejo",
            ForgeKind::Gitlab => "gitlab",
        }
    }

    pub fn from_name(name: &str) -> Option<ForgeKind> {
        ForgeKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The path of the API root under the instance root, where the forge has a fixed
    /// one; `api_url` may be written either way and is kept as the API root.
    pub fn api_suffix(self) -> Option<&'static str> {
        match self {
            ForgeKind::Github => None,
            ForgeKind::Gitea | ForgeKind::Forgejo => Some("/api/v1"),
            ForgeKind::Gitlab => Some("/api/v4"),
        }
    }

    /// The API root used when `api_url` is not set. Gitea and Forgejo have no public
    /// default instance, so their `api_url` is required.
    pub fn default_api_url(self) -> Option<&'static str> {
        match self {
            ForgeKind::Github => Some("https://api.github.com"),
            ForgeKind::Gitlab => Some("https://gitlab.com/api/v4"),
            ForgeKind::Gitea | ForgeKind::Forgejo => None,
        }
    }
}

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A duration as [`format_duration`] writes it.
pub(crate) fn serialize_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

fn serialize_poll<S: Serializer>(poll: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match poll {
        Some(d) => s.serialize_str(&format_duration(*d)),
        None => s.serialize_str("off"),
    }
}

/// A duration in the form `gantry.yml` accepts back: `90s`, `5m`, `2h`, `1500ms`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 {
        format!("{}ms", d.as_millis())
    } else if secs != 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_in_the_largest_whole_unit() {
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_millis(5500)), "5500ms");
    }

    #[test]
    fn debug_hides_url_credentials() {
        let source = ProjectSource::Repo("https://bot:s3cret@git.example.com/a.git".into());
        let debug = format!("{source:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("git.example.com/a.git"));
    }
}
