//! Jobs: `jobs: { <id>: { … } }` with every job setting, services, caches, outputs and
//! deploys. Steps and the matrix have their own files.

use gantry_core::did_you_mean;

use crate::model::{Cache, Deploy, Job, Output, Service, Spanned};
use crate::plan::ExecutorKind;
use crate::yaml::{Kind, Node};

use super::cx::has_typo_of;
use super::{Cx, matrix, step};

pub const JOB_KEYS: &[&str] = &[
    "name",
    "needs",
    "if",
    "executor",
    "network",
    "image",
    "services",
    "matrix",
    "timeout",
    "retry",
    "continue_on_error",
    "env",
    "cache",
    "artifacts",
    "outputs",
    "steps",
    "deploy",
    "runs_on",
];
const EXECUTORS: &[&str] = &["host", "sandbox", "docker"];
const SERVICE_KEYS: &[&str] = &["image", "env", "command"];
const CACHE_KEYS: &[&str] = &["key", "paths", "restore_keys"];
const DEPLOY_KEYS: &[&str] = &["service", "environment", "version"];

pub fn jobs(cx: &mut Cx, node: &Node) -> Vec<Job> {
    let Some(entries) = cx.map(node, "a map of job ids to jobs", "'jobs'") else {
        return Vec::new();
    };
    if entries.is_empty() {
        let diag = cx
            .error(node.span, "'jobs' is empty")
            .with_help("add a job, e.g. `jobs: { build: { steps: [make] } }`");
        cx.push(diag);
    }
    entries
        .iter()
        .filter_map(|(key, value)| cx.ident(key, "job id").map(|id| job(cx, id, value)))
        .collect()
}

fn job_hint(key: &str) -> Option<String> {
    Some(
        match key {
            "run" | "script" => "commands go in steps: `steps: [{ run: make }]`",
            "runs-on" | "tags" => {
                "did you mean 'runs_on'? e.g. `runs_on: [linux, docker]` picks agents with both labels"
            }
            "container" => "use `executor: docker` with `image: <image>`",
            "uses" => "Gantry has no actions; write the commands in a step's `run`",
            "depends_on" | "dependencies" | "after" | "requires" => "did you mean 'needs'?",
            "when" | "condition" | "rules" | "only" => {
                "did you mean 'if'? e.g. `if: ${{ git.branch == 'main' }}`"
            }
            "strategy" => "write the matrix directly under the job: `matrix: { os: [linux, mac] }`",
            "variables" | "environment" => {
                "did you mean 'env'? (for deployments, use `deploy: { environment: … }`)"
            }
            "timeout-minutes" | "timeout_minutes" => {
                "did you mean 'timeout'? write a duration with its unit, e.g. `timeout: 30m`"
            }
            "retries" => "did you mean 'retry'?",
            _ => return None,
        }
        .to_string(),
    )
}

fn job(cx: &mut Cx, id: Spanned<String>, node: &Node) -> Job {
    let mut job = Job::new(id.clone());
    let jid = id.value.as_str();
    if node.kind == Kind::Null {
        let diag = cx
            .error(id.span, format!("job '{jid}' is empty"))
            .with_help("give it steps: `steps: [{ run: make }]`");
        cx.push(diag);
        return job;
    }
    let Some(entries) = cx.map(node, "a map of job settings", &format!("job '{jid}'")) else {
        return job;
    };
    cx.check_keys(entries, JOB_KEYS, &format!("in job '{jid}'"), job_hint);
    for (key, value) in entries {
        let what = format!("'{}' in job '{jid}'", key.text);
        match key.text.as_str() {
            "name" => job.name = cx.nonempty_text(value, &what),
            "needs" => job.needs = needs(cx, value, &what),
            "if" => job.condition = cx.nonempty_text(value, &what),
            "executor" => {
                if let Some(kind) = executor(cx, value, &what) {
                    job.executor = kind;
                    job.executor_span = Some(value.span);
                } else {
                    job.executor_known = false;
                }
            }
            "network" => job.network = cx.bool(value, &what).unwrap_or(false),
            "image" => job.image = cx.nonempty_text(value, &what),
            "services" => {
                job.services_span = Some(key.span.to(value.span));
                job.services = services(cx, value, jid);
            }
            "matrix" => {
                job.matrix = matrix::matrix(cx, value, jid).map(|mut m| {
                    m.span = key.span.to(value.span);
                    m
                })
            }
            "timeout" => job.timeout = cx.duration(value, &what),
            "retry" => job.retry = cx.count(value, &what, 10).unwrap_or(0),
            "continue_on_error" => job.continue_on_error = cx.bool(value, &what).unwrap_or(false),
            "env" => job.env = cx.env(value, &what),
            "cache" => job.cache = caches(cx, value, jid),
            "artifacts" => job.artifacts = cx.texts(value, "a path or a list of paths", &what),
            "outputs" => job.outputs = outputs(cx, value, &what),
            "steps" => job.steps = steps(cx, value, jid),
            "deploy" => job.deploy = deploy(cx, value, jid),
            "runs_on" => job.runs_on = labels(cx, value, &what),
            _ => {}
        }
    }
    if node.get("steps").is_none()
        && node.get("deploy").is_none()
        && !has_typo_of(node, "steps")
        && !has_typo_of(node, "deploy")
    {
        let diag = cx
            .error(id.span, format!("job '{jid}' has no steps"))
            .with_help("add `steps:` with at least one `run`, or `deploy:` for a deploy job");
        cx.push(diag);
    }
    job
}

fn needs(cx: &mut Cx, node: &Node, what: &str) -> Vec<Spanned<String>> {
    let items: Vec<&Node> = match &node.kind {
        Kind::Str => vec![node],
        Kind::Seq(items) => items.iter().collect(),
        _ => {
            let diag = cx.error(
                node.span,
                format!(
                    "expected a job id or a list of job ids for {what}, found {}",
                    node.describe()
                ),
            );
            cx.push(diag);
            return Vec::new();
        }
    };
    let mut out: Vec<Spanned<String>> = Vec::new();
    for item in items {
        if item.kind != Kind::Str {
            let diag = cx.error(
                item.span,
                format!("expected a job id in {what}, found {}", item.describe()),
            );
            cx.push(diag);
        } else if out.iter().any(|n| n.value == item.text) {
            let diag = cx.warning(
                item.span,
                format!("'{}' is listed twice in {what}", item.text),
            );
            cx.push(diag);
        } else {
            out.push(Spanned {
                value: item.text.clone(),
                span: item.span,
            });
        }
    }
    out
}

fn executor(cx: &mut Cx, node: &Node, what: &str) -> Option<ExecutorKind> {
    let text = cx.text(node, what)?;
    match text.value.as_str() {
        "host" => Some(ExecutorKind::Host),
        "sandbox" => Some(ExecutorKind::Sandbox),
        "docker" => Some(ExecutorKind::Docker),
        other => {
            let help = if other == "kubernetes" {
                "the kubernetes executor is not available yet; use host, sandbox or docker"
                    .to_string()
            } else {
                did_you_mean(other, EXECUTORS.iter().copied()).map_or_else(
                    || format!("the executors are: {}", EXECUTORS.join(", ")),
                    |s| format!("did you mean '{s}'?"),
                )
            };
            let diag = cx
                .error(text.span, format!("unknown executor '{other}' for {what}"))
                .with_help(help);
            cx.push(diag);
            None
        }
    }
}

fn services(cx: &mut Cx, node: &Node, jid: &str) -> Vec<Service> {
    let Some(entries) = cx.map(
        node,
        "a map of service names to images or settings",
        &format!("'services' in job '{jid}'"),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let Some(name) = cx.ident(key, "service name") else {
            continue;
        };
        let what = format!("service '{}' of job '{jid}'", name.value);
        if matches!(value.kind, Kind::Str) {
            if let Some(image) = cx.nonempty_text(value, &what) {
                out.push(Service {
                    name,
                    image,
                    env: Vec::new(),
                    command: None,
                });
            }
            continue;
        }
        let Some(fields) = cx.map(value, "an image name or a map (image, env, command)", &what)
        else {
            continue;
        };
        cx.check_keys(fields, SERVICE_KEYS, &format!("in {what}"), |key| {
            matches!(key, "ports" | "volumes" | "options").then(|| "services are reached by name on the job's network; ports and volumes are not configurable".to_string())
        });
        let mut image = None;
        let mut env = Vec::new();
        let mut command = None;
        for (k, v) in fields {
            let field = format!("'{}' of {what}", k.text);
            match k.text.as_str() {
                "image" => image = cx.nonempty_text(v, &field),
                "env" => env = cx.env(v, &field),
                "command" => {
                    command = match &v.kind {
                        // A string is split at spaces; a list keeps arguments with spaces intact.
                        Kind::Str => cx.nonempty_text(v, &field).map(|t| {
                            t.value
                                .split_whitespace()
                                .map(|part| crate::model::Text {
                                    value: part.to_string(),
                                    span: t.span,
                                    style: t.style,
                                })
                                .collect()
                        }),
                        _ => Some(cx.texts(v, "a command string or a list of arguments", &field)),
                    }
                }
                _ => {}
            }
        }
        match image {
            Some(image) => out.push(Service {
                name,
                image,
                env,
                command,
            }),
            None => cx.require(value, "image", &what, "write e.g. `image: postgres:16`"),
        }
    }
    out
}

fn caches(cx: &mut Cx, node: &Node, jid: &str) -> Vec<Cache> {
    let items: Vec<&Node> = match &node.kind {
        Kind::Seq(items) => items.iter().collect(),
        Kind::Map(_) => vec![node],
        _ => {
            let diag = cx
                .error(node.span, format!("expected a list of caches for 'cache' in job '{jid}', found {}", node.describe()))
                .with_help("write `cache: [{ key: \"cargo-${{ hash_files('Cargo.lock') }}\", paths: [target] }]`");
            cx.push(diag);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let what = format!("cache {} of job '{jid}'", i + 1);
        let Some(fields) = cx.map(item, "a map (key, paths, restore_keys)", &what) else {
            continue;
        };
        cx.check_keys(fields, CACHE_KEYS, &format!("in {what}"), |key| {
            (key == "path").then(|| "did you mean 'paths'?".to_string())
        });
        let mut key = None;
        let mut paths = Vec::new();
        let mut restore_keys = Vec::new();
        for (k, v) in fields {
            let field = format!("'{}' of {what}", k.text);
            match k.text.as_str() {
                "key" => key = cx.nonempty_text(v, &field),
                "paths" => paths = cx.texts(v, "a path or a list of paths", &field),
                "restore_keys" => {
                    restore_keys = cx.texts(v, "a key prefix or a list of them", &field)
                }
                _ => {}
            }
        }
        cx.require(
            item,
            "key",
            &what,
            "write e.g. `key: \"cargo-${{ hash_files('Cargo.lock') }}\"`",
        );
        cx.require(
            item,
            "paths",
            &what,
            "list the directories to cache, e.g. `paths: [target]`",
        );
        if let (Some(key), false) = (key, paths.is_empty()) {
            out.push(Cache {
                key,
                paths,
                restore_keys,
            });
        }
    }
    out
}

fn outputs(cx: &mut Cx, node: &Node, what: &str) -> Vec<Output> {
    let Some(entries) = cx.map(node, "a map of output names to values", what) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let Some(name) = cx.ident(key, "output name") else {
            continue;
        };
        if let Some(value) = cx.text(value, &format!("output '{}'", name.value)) {
            out.push(Output { name, value });
        }
    }
    out
}

fn steps(cx: &mut Cx, node: &Node, jid: &str) -> Vec<crate::model::Step> {
    let Some(items) = node.as_seq() else {
        let mut diag = cx.error(
            node.span,
            format!(
                "expected a list of steps for 'steps' in job '{jid}', found {}",
                node.describe()
            ),
        );
        if node.kind == Kind::Str {
            diag = diag.with_help("write `steps: [{ run: … }]`, or put a dash before each step");
        }
        cx.push(diag);
        return Vec::new();
    };
    if items.is_empty() {
        let diag = cx
            .error(node.span, format!("job '{jid}' has no steps"))
            .with_help("add at least one step: `- run: make`");
        cx.push(diag);
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| step::step(cx, item, i, jid))
        .collect()
}

fn deploy(cx: &mut Cx, node: &Node, jid: &str) -> Option<Deploy> {
    let what = format!("'deploy' in job '{jid}'");
    let fields = cx.map(node, "a map (service, environment, version)", &what)?;
    cx.check_keys(
        fields,
        DEPLOY_KEYS,
        &format!("in the deploy of job '{jid}'"),
        |key| {
            matches!(key, "env" | "to" | "target")
                .then(|| "did you mean 'environment'?".to_string())
        },
    );
    let mut service = None;
    let mut environment = None;
    let mut version = None;
    for (k, v) in fields {
        let field = format!("'deploy.{}' in job '{jid}'", k.text);
        match k.text.as_str() {
            "service" => service = cx.nonempty_text(v, &field),
            "environment" => environment = cx.nonempty_text(v, &field),
            "version" => version = cx.nonempty_text(v, &field),
            _ => {}
        }
    }
    for (key, example) in [
        ("service", "service: web"),
        ("environment", "environment: staging"),
    ] {
        cx.require(node, key, &what, &format!("write e.g. `{example}`"));
    }
    Some(Deploy {
        service: service?,
        environment: environment?,
        version,
    })
}

/// `runs_on`: one label or a list; labels are lowercase letters, digits, `-`, `_`, `.`
/// and `:` (what agents may declare), so a typo cannot silently match no agent.
fn labels(cx: &mut Cx, node: &Node, what: &str) -> Vec<crate::model::Text> {
    let labels = cx.texts(node, "a label or a list of labels", what);
    labels
        .into_iter()
        .filter(|label| {
            let ok = label.value.len() <= 64
                && label
                    .value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.:".contains(c));
            if !ok {
                let diag = cx
                    .error(
                        label.span,
                        format!("'{}' is not a valid agent label", label.value),
                    )
                    .with_help(
                        "labels are up to 64 lowercase letters, digits, '-', '_', '.' or ':'",
                    );
                cx.push(diag);
            }
            ok
        })
        .collect()
}
