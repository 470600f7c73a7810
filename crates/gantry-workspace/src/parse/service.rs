//! Reads the `services:` section: each service's artifact, how it runs (`run.rs`), port,
//! health checks, hooks, rollout strategy and release retention.

use std::path::PathBuf;
use std::time::Duration;

use gantry_core::did_you_mean;
use gantry_pipeline::yaml::{Kind, Node};
use indexmap::IndexMap;

use super::cx::Cx;
use super::{run, strategy};
use crate::model::Project;
use crate::service::{
    Artifact, DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT,
    DEFAULT_KEEP, Health, HealthCheck, Hooks, Run, Service, Strategy,
};

const SERVICE_KEYS: &[&str] = &[
    "project", "artifact", "run", "port", "health", "hooks", "strategy", "keep",
];
const ARTIFACT_KEYS: &[&str] = &["job", "path"];
const HEALTH_KEYS: &[&str] = &["http", "tcp", "command", "interval", "retries", "timeout"];
const HTTP_KEYS: &[&str] = &["path", "expect", "port", "timeout"];
const TCP_KEYS: &[&str] = &["port", "timeout"];
const HOOK_KEYS: &[&str] = &["pre", "post"];
const MAX_KEEP: u32 = 100;
const MAX_RETRIES: u32 = 1000;

pub fn services(
    cx: &mut Cx,
    node: &Node,
    projects: &IndexMap<String, Project>,
    secrets: &[String],
) -> IndexMap<String, Service> {
    let mut out = IndexMap::new();
    if node.kind == Kind::Null {
        return out;
    }
    let Some(entries) = cx.map(node, "a map of service names to services", "'services'") else {
        return out;
    };
    for (key, value) in entries {
        let name_ok = check_name(cx, key);
        if let Some(service) = service(cx, key, value, projects, secrets)
            && name_ok
        {
            out.insert(service.name.clone(), service);
        }
    }
    out
}

/// `[a-z0-9][a-z0-9_-]{0,62}`: safe in a systemd unit name and a directory name.
fn check_name(cx: &mut Cx, key: &Node) -> bool {
    let name = key.text.as_str();
    let valid = super::cx::is_slug(name);
    if !valid {
        let diag = cx
            .error(key.span, format!("invalid service name '{name}'"))
            .with_label("invalid name")
            .with_help("a service name has lowercase letters, digits, '-' and '_', starts with a letter or digit, and is at most 63 characters long (it names the systemd unit gantry-<service>.service)");
        cx.push(diag);
    }
    valid
}

fn service(
    cx: &mut Cx,
    key: &Node,
    node: &Node,
    projects: &IndexMap<String, Project>,
    secrets: &[String],
) -> Option<Service> {
    let name = key.text.clone();
    let what = format!("service '{name}'");
    if node.kind == Kind::Null {
        let diag = cx
            .error(key.span, format!("{what} has no 'run'"))
            .with_help(
                "add `run: { systemd: { exec: \"{{ release_dir }}/app --port {{ port }}\" } }`",
            );
        cx.push(diag);
        return None;
    }
    let entries = cx.map(
        node,
        "a map (artifact, run, port, health, hooks, strategy, keep)",
        &what,
    )?;
    cx.check_keys(entries, SERVICE_KEYS, &format!("in {what}"));

    let project = node.get("project").map(|n| {
        let p = cx.text(n, &format!("'project' in {what}"))?;
        if projects.contains_key(&p) {
            return Some(p);
        }
        let help = match did_you_mean(&p, projects.keys().map(String::as_str)) {
            Some(s) => format!("did you mean '{s}'?"),
            None => "name a project of `projects:`".to_string(),
        };
        let diag = cx
            .error(n.span, format!("unknown project '{p}' in {what}"))
            .with_help(help);
        cx.push(diag);
        None
    });
    let artifact = match node.get("artifact") {
        Some(n) => artifact(cx, n, &what),
        None => Some(Artifact {
            job: None,
            path: None,
        }),
    };
    let run = match node.get("run") {
        Some(n) => run::run(cx, n, &what, secrets),
        None => {
            cx.require(
                node,
                "run",
                &what,
                "add `run: { systemd: { exec: \"{{ release_dir }}/app --port {{ port }}\" } }`",
            );
            None
        }
    };
    let port = node
        .get("port")
        .map(|n| port(cx, n, &format!("'port' in {what}")));
    let port_value = port.flatten();
    let run = run.and_then(|r| docker_fits(cx, key, node, r, port.is_some()));
    let health = node
        .get("health")
        .map(|n| health(cx, n, &what, port.is_some()));
    let hooks = match node.get("hooks") {
        Some(n) => hooks(cx, n, &what),
        None => Some(Hooks::default()),
    };
    let strategy = match node.get("strategy") {
        Some(n) => strategy::strategy(cx, n, &what)
            .and_then(|s| strategy::slots_fit(cx, n, s, port_value, &what)),
        None => Some(Strategy::default()),
    };
    let keep = match node.get("keep") {
        Some(n) => cx.count(n, &format!("'keep' in {what}"), 2, MAX_KEEP),
        None => Some(DEFAULT_KEEP),
    };
    Some(Service {
        name,
        project: project.map_or(Some(None), |p| p.map(Some))?,
        artifact: artifact?,
        run: run?,
        port: match port {
            Some(None) => return None,
            _ => port_value,
        },
        health: health.map_or(Some(None), |h| h.map(Some))?,
        hooks: hooks?,
        strategy: strategy?,
        keep: keep?,
        span: key.span,
    })
}

/// What a docker service needs of the rest of the service: a name that can name its
/// images (`gantry/<service>:<version>`), and the service's `port` to publish the
/// container's on.
fn docker_fits(cx: &mut Cx, key: &Node, node: &Node, run: Run, has_port: bool) -> Option<Run> {
    let Run::Docker(docker) = &run else {
        return Some(run);
    };
    let mut ok = true;
    // A name that is no slug at all is reported once, by `check_name`.
    if super::cx::is_slug(&key.text) && !run::is_image_component(&key.text) {
        let diag = cx
            .error(
                key.span,
                format!(
                    "service name '{}' cannot name a Docker image (gantry/{}:<version>)",
                    key.text, key.text
                ),
            )
            .with_label("not a Docker image name")
            .with_help("a service run with `docker:` starts and ends with a letter or digit and separates words with '-', '_' or '__' (e.g. web-api)");
        cx.push(diag);
        ok = false;
    }
    if docker.port.is_some() && !has_port {
        let span = node
            .get("run")
            .and_then(|r| r.get("docker"))
            .and_then(|d| d.as_map())
            .and_then(|e| e.iter().find(|(k, _)| k.text == "port"))
            .map_or(key.span, |(k, _)| k.span);
        let diag = cx
            .error(
                span,
                format!("service '{}' publishes the container's port but has no 'port'", key.text),
            )
            .with_help("add `port:` to the service: the host port the container's port is published on, where health checks and nginx reach it");
        cx.push(diag);
        ok = false;
    }
    ok.then_some(run)
}

pub(super) fn port(cx: &mut Cx, node: &Node, what: &str) -> Option<u16> {
    cx.count(node, what, 1, 65535)
        .and_then(|p| u16::try_from(p).ok())
}

fn artifact(cx: &mut Cx, node: &Node, what: &str) -> Option<Artifact> {
    let entries = cx.map(node, "a map (path, job)", &format!("'artifact' in {what}"))?;
    cx.check_keys(entries, ARTIFACT_KEYS, &format!("in 'artifact' of {what}"));
    let job = node
        .get("job")
        .map(|n| cx.text(n, &format!("'job' in 'artifact' of {what}")));
    let path = node.get("path").map(|n| {
        let p = cx.text(n, &format!("'path' in 'artifact' of {what}"))?;
        Some(PathBuf::from(p))
    });
    Some(Artifact {
        job: job.map_or(Some(None), |j| j.map(Some))?,
        path: path.map_or(Some(None), |p| p.map(Some))?,
    })
}

fn health(cx: &mut Cx, node: &Node, what: &str, has_port: bool) -> Option<Health> {
    let place = format!("'health' in {what}");
    let entries = cx.map(
        node,
        "a map (http, tcp, command, interval, retries, timeout)",
        &place,
    )?;
    cx.check_keys(entries, HEALTH_KEYS, &format!("in {place}"));
    let mut ok = true;
    let mut checks = Vec::new();
    for (key, value) in entries {
        let check = match key.text.as_str() {
            "http" => http(cx, value, &place, has_port),
            "tcp" => tcp(cx, value, &place, has_port),
            "command" => cx
                .text(value, &format!("'command' in {place}"))
                .map(|run| HealthCheck::Command { run }),
            _ => continue,
        };
        match check {
            Some(c) => checks.push(c),
            None => ok = false,
        }
    }
    if checks.is_empty() && ok {
        let diag = cx
            .error(node.span, format!("{place} has no check"))
            .with_help("add `http: { path: /healthz }`, `tcp: {}` or `command: \"…\"`");
        cx.push(diag);
        ok = false;
    }
    let interval = duration_or(cx, node, "interval", &place, DEFAULT_HEALTH_INTERVAL);
    let timeout = duration_or(cx, node, "timeout", &place, DEFAULT_HEALTH_TIMEOUT);
    let retries = match node.get("retries") {
        Some(n) => cx.count(n, &format!("'retries' in {place}"), 0, MAX_RETRIES),
        None => Some(DEFAULT_HEALTH_RETRIES),
    };
    if !ok {
        return None;
    }
    Some(Health {
        checks,
        interval: interval?,
        retries: retries?,
        timeout: timeout?,
    })
}

fn duration_or(
    cx: &mut Cx,
    node: &Node,
    key: &str,
    place: &str,
    default: Duration,
) -> Option<Duration> {
    match node.get(key) {
        Some(n) => cx.duration(n, &format!("'{key}' in {place}")),
        None => Some(default),
    }
}

fn http(cx: &mut Cx, node: &Node, place: &str, has_port: bool) -> Option<HealthCheck> {
    let place = format!("'http' in {place}");
    let entries = cx.map(node, "a map (path, expect, port, timeout)", &place)?;
    cx.check_keys(entries, HTTP_KEYS, &format!("in {place}"));
    let path = match node.get("path") {
        Some(n) => cx.text(n, &format!("'path' in {place}")).and_then(|p| {
            if p.starts_with('/') && !p.chars().any(char::is_whitespace) {
                Some(p)
            } else {
                let diag = cx
                    .error(
                        n.span,
                        format!("'path' in {place} must start with '/' and have no spaces"),
                    )
                    .with_help("e.g. /healthz");
                cx.push(diag);
                None
            }
        }),
        None => Some("/".to_string()),
    };
    let expect = match node.get("expect") {
        Some(n) => cx
            .count(n, &format!("'expect' in {place}"), 100, 599)
            .and_then(|c| u16::try_from(c).ok()),
        None => Some(200),
    };
    let port_node = node.get("port");
    let check_port = port_node.map(|n| port(cx, n, &format!("'port' in {place}")));
    let timeout = node
        .get("timeout")
        .map(|n| cx.duration(n, &format!("'timeout' in {place}")));
    if port_node.is_none() && !has_port {
        let diag = cx
            .error(node.span, format!("{place} has no port to probe"))
            .with_help("set `port:` on the service, or `port:` in the check");
        cx.push(diag);
        return None;
    }
    Some(HealthCheck::Http {
        path: path?,
        expect: expect?,
        port: check_port.map_or(Some(None), |p| p.map(Some))?,
        timeout: timeout.map_or(Some(None), |t| t.map(Some))?,
    })
}

fn tcp(cx: &mut Cx, node: &Node, place: &str, has_port: bool) -> Option<HealthCheck> {
    let place = format!("'tcp' in {place}");
    let empty = Node {
        kind: Kind::Map(Vec::new()),
        span: node.span,
        text: String::new(),
        style: node.style,
    };
    let node = if node.kind == Kind::Null {
        &empty
    } else {
        node
    };
    let entries = cx.map(node, "a map (port, timeout)", &place)?;
    cx.check_keys(entries, TCP_KEYS, &format!("in {place}"));
    let port_node = node.get("port");
    let check_port = port_node.map(|n| port(cx, n, &format!("'port' in {place}")));
    let timeout = node
        .get("timeout")
        .map(|n| cx.duration(n, &format!("'timeout' in {place}")));
    if port_node.is_none() && !has_port {
        let diag = cx
            .error(node.span, format!("{place} has no port to probe"))
            .with_help("set `port:` on the service, or `port:` in the check");
        cx.push(diag);
        return None;
    }
    Some(HealthCheck::Tcp {
        port: check_port.map_or(Some(None), |p| p.map(Some))?,
        timeout: timeout.map_or(Some(None), |t| t.map(Some))?,
    })
}

fn hooks(cx: &mut Cx, node: &Node, what: &str) -> Option<Hooks> {
    let place = format!("'hooks' in {what}");
    let entries = cx.map(node, "a map (pre, post)", &place)?;
    cx.check_keys(entries, HOOK_KEYS, &format!("in {place}"));
    let pre = node
        .get("pre")
        .map(|n| cx.text(n, &format!("'pre' in {place}")));
    let post = node
        .get("post")
        .map(|n| cx.text(n, &format!("'post' in {place}")));
    Some(Hooks {
        pre: pre.map_or(Some(None), |p| p.map(Some))?,
        post: post.map_or(Some(None), |p| p.map(Some))?,
    })
}
