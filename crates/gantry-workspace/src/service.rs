//! Services (`services:`): what is deployed (the artifact), how it runs on a host (a
//! systemd unit rendered from `run.systemd`, or one running a container of `run.docker`),
//! how its health is judged, the hooks around a deploy, the rollout strategy and how many
//! releases stay on a host. Plain data.

use std::path::PathBuf;
use std::time::Duration;

use gantry_core::Span;
use indexmap::IndexMap;
use serde::Serialize;

use crate::model::serialize_duration;

/// Releases kept on a host unless `keep` says otherwise.
pub const DEFAULT_KEEP: u32 = 5;
/// Time between two health attempts unless `health.interval` says otherwise.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// Attempts after the first unless `health.retries` says otherwise.
pub const DEFAULT_HEALTH_RETRIES: u32 = 10;
/// How long one probe may take unless a check or `health.timeout` says otherwise.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// One deployable service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    /// The project that builds it (`project`), when named.
    pub project: Option<String>,
    pub artifact: Artifact,
    pub run: Run,
    /// The port the service listens on (`port`), given to templates and health checks.
    pub port: Option<u16>,
    /// No `health:` means a host is healthy once its unit is active.
    pub health: Option<Health>,
    pub hooks: Hooks,
    pub strategy: Strategy,
    /// Releases kept on each host (`keep`), current and previous always among them.
    pub keep: u32,
    /// Where the service's name is written.
    #[serde(skip)]
    pub span: Span,
}

/// What is shipped: a file or directory (relative to the workspace), later a pipeline
/// job's artifact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Artifact {
    /// `job`: the pipeline job whose artifact this is (kept for the server).
    pub job: Option<String>,
    /// `path`: the file or directory to ship.
    pub path: Option<PathBuf>,
}

/// How the service runs on a host.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Run {
    Systemd(SystemdRun),
    /// A container on the host's Docker Engine, started and stopped by a systemd unit
    /// (so every strategy works on it as on a plain unit).
    Docker(DockerRun),
}

impl Run {
    /// The environment variables of the service (`run.systemd.env` or `run.docker.env`),
    /// the only templates that may read `secrets.NAME`.
    pub fn env(&self) -> &IndexMap<String, String> {
        match self {
            Run::Systemd(s) => &s.env,
            Run::Docker(d) => &d.env,
        }
    }

    /// The names of the `secrets:` the env values read, sorted, each once: what a
    /// deployer resolves for this service.
    pub fn secrets_used(&self) -> Vec<String> {
        let names: std::collections::BTreeSet<String> = self
            .env()
            .values()
            .flat_map(|t| crate::secret_uses(t))
            .filter_map(|u| match u {
                crate::SecretUse::Named(name) => Some(name),
                crate::SecretUse::Whole => None,
            })
            .collect();
        names.into_iter().collect()
    }
}

/// `run: { systemd: { exec, env, user } }`.
#[derive(Clone, PartialEq, Serialize)]
pub struct SystemdRun {
    /// `ExecStart`, a minijinja template (`release_dir`, `port`, `version`, `service`,
    /// the host's vars).
    pub exec: String,
    /// Environment variables; values are templates as `exec` is.
    pub env: IndexMap<String, String>,
    /// The user the service runs as (`user`); `None`: root.
    pub user: Option<String>,
}

/// `run: { docker: { image, port, env, args, volumes, network, user, name } }`. Every
/// text is a template, as `exec` is.
#[derive(Clone, PartialEq, Serialize)]
pub struct DockerRun {
    /// The image a release runs (`web:{{ version }}`): one the release's image archive
    /// holds, or one already on the host.
    pub image: String,
    /// The port the container listens on, published on the service's `port` (or a
    /// slot's); `None`: the container listens on that port itself.
    pub port: Option<u16>,
    /// Environment variables of the container; values are templates.
    pub env: IndexMap<String, String>,
    /// The container's command line after the image (its `CMD`), one argument each.
    pub args: Vec<String>,
    /// `-v` mounts, as docker writes them (`/srv/data:/data:ro`).
    pub volumes: Vec<String>,
    /// `--network`: a network name, `host`, or `container:<name>`; `None`: the default
    /// bridge.
    pub network: Option<String>,
    /// `--user` inside the container; `None`: the image's.
    pub user: Option<String>,
    /// The container's name; `None`: `gantry-<service>`. A blue-green slot adds `.blue`
    /// or `.green`.
    pub name: Option<String>,
}

/// Environment values may hold credentials: `Debug` shows the names only.
struct EnvNames<'a>(&'a IndexMap<String, String>);

impl std::fmt::Debug for EnvNames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "***")))
            .finish()
    }
}

impl std::fmt::Debug for SystemdRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemdRun")
            .field("exec", &self.exec)
            .field("env", &EnvNames(&self.env))
            .field("user", &self.user)
            .finish()
    }
}

impl std::fmt::Debug for DockerRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRun")
            .field("image", &self.image)
            .field("port", &self.port)
            .field("env", &EnvNames(&self.env))
            .field("args", &self.args)
            .field("volumes", &self.volumes)
            .field("network", &self.network)
            .field("user", &self.user)
            .field("name", &self.name)
            .finish()
    }
}

/// `health:`: every check must pass in one attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub checks: Vec<HealthCheck>,
    #[serde(serialize_with = "serialize_duration")]
    pub interval: Duration,
    pub retries: u32,
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
}

/// One probe of a host.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthCheck {
    /// An HTTP GET from the deployer to `http://<host address>:<port><path>`.
    Http {
        path: String,
        /// The expected status code (`expect`, default 200).
        expect: u16,
        port: Option<u16>,
        #[serde(serialize_with = "serialize_opt_duration")]
        timeout: Option<Duration>,
    },
    /// A TCP connection from the deployer to the host's address and port.
    Tcp {
        port: Option<u16>,
        #[serde(serialize_with = "serialize_opt_duration")]
        timeout: Option<Duration>,
    },
    /// A command run on the host; exit code 0 is healthy.
    Command { run: String },
}

/// `hooks:`: commands run once per deploy, on the first host.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hooks {
    /// Before any host is switched; failing stops the deploy.
    pub pre: Option<String>,
    /// After every host is switched and healthy.
    pub post: Option<String>,
}

/// How a release is rolled out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Rolling(Rolling),
    /// `blue_green`: per host, the new release starts in the idle slot beside the live
    /// one, is health-gated there, then nginx is switched to it with a graceful reload.
    #[serde(rename = "blue_green")]
    BlueGreen(BlueGreen),
    /// `canary`: the new release starts in the idle slot and nginx gives it a growing
    /// share of the requests, step by step, while an analysis watches its error rate and
    /// latency; it goes live after the last step, or traffic returns to the stable slot.
    Canary(Canary),
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy::Rolling(Rolling {
            batch: Batch::Count(1),
            pause: None,
        })
    }
}

/// `rolling: { batch, pause }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rolling {
    pub batch: Batch,
    /// Wait between two batches.
    #[serde(serialize_with = "serialize_opt_duration")]
    pub pause: Option<Duration>,
}

/// How long the old slot keeps running after nginx left it unless `drain` says otherwise.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

/// `blue_green: { ports: [blue, green], drain, batch }`. The service's `port` is where
/// nginx listens; the slots listen on `ports`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlueGreen {
    /// The blue and the green slot's ports.
    pub ports: [u16; 2],
    /// How long the old slot keeps running after the switch, for requests in flight.
    #[serde(serialize_with = "serialize_duration")]
    pub drain: Duration,
    /// Hosts switched at once (all of them unless `batch` says otherwise).
    pub batch: Batch,
}

/// `canary: { ports, steps, analysis, drain }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Canary {
    /// The blue and the green slot's ports, as for blue-green.
    pub ports: [u16; 2],
    /// The canary's share of requests, step by step.
    pub steps: Vec<CanaryStep>,
    pub analysis: Analysis,
    /// How long the old slot keeps running after the canary went live.
    #[serde(serialize_with = "serialize_duration")]
    pub drain: Duration,
}

impl Canary {
    /// The blue-green switch over the same slots, on every host at once: how a canary
    /// goes live where there is no stable release yet, and how it is rolled back.
    pub fn as_blue_green(&self) -> BlueGreen {
        BlueGreen {
            ports: self.ports,
            drain: self.drain,
            batch: Batch::Percent(100),
        }
    }
}

/// `{ weight: 10, hold: 1m }`: 10% of requests to the canary for a minute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryStep {
    /// Percent of requests, 1 to 99.
    pub weight: u32,
    #[serde(serialize_with = "serialize_duration")]
    pub hold: Duration,
}

/// What a canary step must show to pass, evaluated every `interval` while it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    #[serde(serialize_with = "serialize_duration")]
    pub interval: Duration,
    /// Highest share (0–1) of the canary's requests answered with a 5xx.
    pub max_error_rate: f64,
    /// Highest 95th percentile of the canary's response time.
    #[serde(serialize_with = "serialize_opt_duration")]
    pub max_latency: Option<Duration>,
    /// Fewest requests the canary must have had by the end of a step.
    pub min_requests: u32,
    pub prometheus: Option<PrometheusCheck>,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            interval: Duration::from_secs(5),
            max_error_rate: 0.05,
            max_latency: None,
            min_requests: 0,
            prometheus: None,
        }
    }
}

/// `prometheus: { url, query, max }`: an instant query whose value must stay at or
/// under `max`. The URL may carry credentials (`https://user:token@…`): `Debug` and
/// `Serialize` show it without them.
#[derive(Clone, PartialEq, Serialize)]
pub struct PrometheusCheck {
    /// The server's base URL, without a trailing `/`.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: String,
    pub query: String,
    pub max: f64,
}

impl std::fmt::Debug for PrometheusCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusCheck")
            .field("url", &crate::url::redact_url(&self.url))
            .field("query", &self.query)
            .field("max", &self.max)
            .finish()
    }
}

fn serialize_redacted_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::url::redact_url(url))
}

/// How many hosts switch at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Batch {
    /// `batch: 2`.
    Count(u32),
    /// `batch: "25%"`, of the environment's hosts, rounded up.
    Percent(u32),
}

impl Batch {
    /// Hosts per batch for `hosts` hosts: at least 1.
    pub fn size(self, hosts: usize) -> usize {
        let n = match self {
            Batch::Count(n) => n as usize,
            Batch::Percent(p) => (hosts * p as usize).div_ceil(100),
        };
        n.max(1)
    }
}

fn serialize_opt_duration<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => serialize_duration(d, s),
        None => s.serialize_none(),
    }
}
