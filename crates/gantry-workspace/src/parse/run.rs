//! Reads a service's `run:`: exactly one of `systemd` (a unit running `exec`) and
//! `docker` (a unit running a container of `image`), every template checked for syntax
//! and for where it reads `secrets.NAME`: only env values may (they go to a file only
//! root reads), and only secrets declared in `secrets:`.

use gantry_core::Span;
use gantry_pipeline::yaml::{Kind, Node, Style};
use indexmap::IndexMap;

use gantry_core::did_you_mean;

use super::cx::{Cx, has_typo_of};
use super::service::port;
use crate::secret_use::{SecretUse, secret_uses};
use crate::service::{DockerRun, Run, SystemdRun};

const RUN_KEYS: &[&str] = &["systemd", "docker"];
const SYSTEMD_KEYS: &[&str] = &["exec", "env", "user"];
const DOCKER_KEYS: &[&str] = &[
    "image", "port", "env", "args", "volumes", "network", "user", "name",
];
const RUN_HELP: &str = "add `systemd: { exec: \"{{ release_dir }}/app --port {{ port }}\" }` (a unit running a program of the release) or `docker: { image: \"web:{{ version }}\" }` (a container)";

/// Where a template may read `secrets.NAME`.
#[derive(Debug, Clone, Copy)]
enum Secrets<'a> {
    /// An env value: any of these names (the workspace's `secrets:`).
    Declared(&'a [String]),
    /// Everything else ends up in the unit file or on a command line (`ps`, `docker
    /// inspect`), which anyone on the host can read.
    Refused,
}

pub(super) fn run(cx: &mut Cx, node: &Node, what: &str, secrets: &[String]) -> Option<Run> {
    let place = format!("'run' in {what}");
    let entries = cx.map(node, "a map (systemd or docker)", &place)?;
    cx.check_keys(entries, RUN_KEYS, &format!("in {place}"));
    match (node.get("systemd"), node.get("docker")) {
        (Some(s), None) => systemd(cx, s, what, secrets),
        (None, Some(d)) => docker(cx, d, what, secrets),
        (Some(s), Some(d)) => {
            // Both are read, so the mistakes inside each are reported too.
            systemd(cx, s, what, secrets);
            docker(cx, d, what, secrets);
            let span = key_span(entries, "docker").unwrap_or(node.span);
            let diag = cx
                .error(span, format!("{place} has both 'systemd' and 'docker'"))
                .with_label("second way to run")
                .with_help("a service runs one way: as a systemd unit (`systemd:`) or as a container (`docker:`); keep one");
            cx.push(diag);
            None
        }
        (None, None) => {
            // A misspelt key was reported as unknown, with the suggestion.
            if !has_typo_of(node, "systemd") && !has_typo_of(node, "docker") {
                let diag = cx
                    .error(
                        node.span,
                        format!("{place} has neither 'systemd' nor 'docker'"),
                    )
                    .with_help(RUN_HELP);
                cx.push(diag);
            }
            None
        }
    }
}

fn key_span(entries: &[(Node, Node)], key: &str) -> Option<Span> {
    entries
        .iter()
        .find(|(k, _)| k.text == key)
        .map(|(k, _)| k.span)
}

fn systemd(cx: &mut Cx, node: &Node, what: &str, secrets: &[String]) -> Option<Run> {
    let place = format!("'systemd' in {what}");
    let entries = cx.map(node, "a map (exec, env, user)", &place)?;
    cx.check_keys(entries, SYSTEMD_KEYS, &format!("in {place}"));
    let exec = match node.get("exec") {
        Some(n) => cx
            .text(n, &format!("'exec' in {place}"))
            .and_then(|t| template(cx, n, t, &format!("'exec' in {place}"), Secrets::Refused)),
        None => {
            cx.require(
                node,
                "exec",
                &place,
                "add `exec:` with the command line, e.g. \"{{ release_dir }}/app --port {{ port }}\"",
            );
            None
        }
    };
    let env = match node.get("env") {
        Some(n) => env(cx, n, &format!("'env' in {place}"), false, secrets),
        None => Some(IndexMap::new()),
    };
    let user = node
        .get("user")
        .map(|n| cx.text(n, &format!("'user' in {place}")));
    Some(Run::Systemd(SystemdRun {
        exec: exec?,
        env: env?,
        user: user.map_or(Some(None), |u| u.map(Some))?,
    }))
}

fn docker(cx: &mut Cx, node: &Node, what: &str, secrets: &[String]) -> Option<Run> {
    let place = format!("'docker' in {what}");
    let entries = cx.map(
        node,
        "a map (image, port, env, args, volumes, network, user, name)",
        &place,
    )?;
    cx.check_keys(entries, DOCKER_KEYS, &format!("in {place}"));
    let image = match node.get("image") {
        Some(n) => text_template(cx, n, &format!("'image' in {place}")),
        None => {
            cx.require(
                node,
                "image",
                &place,
                "add `image:` with the image a release runs, e.g. \"web:{{ version }}\"",
            );
            None
        }
    };
    let port_node = node.get("port");
    let container_port = port_node.map(|n| port(cx, n, &format!("'port' in {place}")));
    let env = match node.get("env") {
        Some(n) => env(cx, n, &format!("'env' in {place}"), true, secrets),
        None => Some(IndexMap::new()),
    };
    let args = match node.get("args") {
        Some(n) => templates(cx, n, &format!("'args' in {place}"), true),
        None => Some(Vec::new()),
    };
    let volumes = match node.get("volumes") {
        Some(n) => templates(cx, n, &format!("'volumes' in {place}"), false),
        None => Some(Vec::new()),
    };
    let network = node
        .get("network")
        .map(|n| text_template(cx, n, &format!("'network' in {place}")));
    let user = node
        .get("user")
        .map(|n| cx.text(n, &format!("'user' in {place}")));
    let name = node
        .get("name")
        .map(|n| text_template(cx, n, &format!("'name' in {place}")));
    // Docker refuses `-p` beside a network mode that has no ports of its own; said here,
    // where it is written, rather than at the first deploy.
    if let (Some(Some(network)), Some(port_node)) = (&network, port_node)
        && shares_network(network)
    {
        let diag = cx
            .error(
                port_node.span,
                format!("'port' in {place} cannot be published with `network: {network}`"),
            )
            .with_label("no port mapping in this network mode")
            .with_help("the container uses that network's ports directly: remove `port:` and have it listen on the service's port (\"{{ port }}\" in `args` or `env`)");
        cx.push(diag);
        return None;
    }
    Some(Run::Docker(DockerRun {
        image: image?,
        port: container_port.map_or(Some(None), |p| p.map(Some))?,
        env: env?,
        args: args?,
        volumes: volumes?,
        network: network.map_or(Some(None), |n| n.map(Some))?,
        user: user.map_or(Some(None), |u| u.map(Some))?,
        name: name.map_or(Some(None), |n| n.map(Some))?,
    }))
}

/// `host` and `container:<name>`: the container has no network namespace of its own,
/// so nothing can be published.
fn shares_network(network: &str) -> bool {
    network == "host" || network.starts_with("container:")
}

/// Whether `name` can be the last component of a Docker image name (a docker service's
/// releases are tagged `gantry/<service>:<version>` on the host): lowercase letters and
/// digits, separated by one `_`, two `_` or any number of `-`.
pub(crate) fn is_image_component(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(|&b| alnum(b)) || !bytes.last().is_some_and(|&b| alnum(b)) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &name[start..i];
        let ok = sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A non-empty string that is a valid template.
fn text_template(cx: &mut Cx, node: &Node, what: &str) -> Option<String> {
    cx.text(node, what)
        .and_then(|t| template(cx, node, t, what, Secrets::Refused))
}

/// A list of templates, one per argument; `allow_empty`: an empty string is an argument
/// too (`--prefix ""`).
fn templates(cx: &mut Cx, node: &Node, what: &str, allow_empty: bool) -> Option<Vec<String>> {
    let Kind::Seq(items) = &node.kind else {
        cx.type_error(node, "a list of strings", what);
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (n, item) in items.iter().enumerate() {
        let place = format!("item {} of {what}", n + 1);
        let text = match item.kind {
            Kind::Str if allow_empty => Some(item.text.clone()),
            _ => cx.text(item, &place),
        };
        match text.and_then(|t| template(cx, item, t, &place, Secrets::Refused)) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `text` when it is a valid minijinja template reading only the secrets `secrets`
/// allows; else diagnostics at `node`.
fn template(
    cx: &mut Cx,
    node: &Node,
    text: String,
    what: &str,
    secrets: Secrets<'_>,
) -> Option<String> {
    let env = minijinja::Environment::new();
    match env.template_from_str(&text) {
        Ok(_) => secrets_allowed(cx, node, &text, what, secrets).then_some(text),
        Err(err) => {
            let diag = cx
                .error(node.span, format!("invalid template in {what}: {}", err.kind()))
                .with_label(err.detail().unwrap_or("here").to_string())
                .with_help("templates use {{ name }}: release_dir, port, version, service and the host's vars");
            cx.push(diag);
            None
        }
    }
}

/// Environment variables: valid names, template values. `docker`: names the docker CLI
/// reads itself are refused (the unit hands the container its environment through the
/// CLI's own, `-e NAME`).
fn env(
    cx: &mut Cx,
    node: &Node,
    what: &str,
    docker: bool,
    secrets: &[String],
) -> Option<IndexMap<String, String>> {
    let mut out = IndexMap::new();
    if node.kind == Kind::Null {
        return Some(out);
    }
    let entries = cx.map(node, "a map of variable names to values", what)?;
    let mut ok = true;
    for (key, value) in entries {
        let name = key.text.as_str();
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            let diag = cx
                .error(
                    key.span,
                    format!("invalid environment variable name '{name}' in {what}"),
                )
                .with_help(
                    "a variable name has letters, digits and '_', and does not start with a digit",
                );
            cx.push(diag);
            ok = false;
            continue;
        }
        if docker && name.starts_with("DOCKER_") {
            let diag = cx
                .error(key.span, format!("'{name}' in {what} would configure the docker CLI"))
                .with_label("read by the docker CLI that starts the container")
                .with_help("the unit passes the container's variables through the docker CLI's own environment, where DOCKER_* names change what the CLI does; rename it");
            cx.push(diag);
            ok = false;
            continue;
        }
        let item = format!("'{name}' in {what}");
        match &value.kind {
            Kind::Seq(_) | Kind::Map(_) => {
                cx.type_error(value, "a string", &item);
                ok = false;
            }
            Kind::Null => {
                out.insert(name.to_string(), String::new());
            }
            _ => match template(
                cx,
                value,
                value.text.clone(),
                &item,
                Secrets::Declared(secrets),
            ) {
                Some(t) => {
                    out.insert(name.to_string(), t);
                }
                None => ok = false,
            },
        }
    }
    ok.then_some(out)
}

const REFUSED_LABEL: &str = "would be in the unit file or on a command line, readable on the host";
const REFUSED_HELP: &str = "pass it in `env:` (`DB_PASSWORD: \"{{ secrets.db }}\"`), which the service reads from a file only root can read, and use the variable";

/// Reports each use of `secrets` in `text` that `secrets` does not allow; true when
/// there is none.
fn secrets_allowed(cx: &mut Cx, node: &Node, text: &str, what: &str, secrets: Secrets<'_>) -> bool {
    let mut ok = true;
    for used in secret_uses(text) {
        let diag = match (&used, secrets) {
            (SecretUse::Named(name), Secrets::Declared(declared))
                if declared.iter().any(|d| d == name) =>
            {
                continue;
            }
            (SecretUse::Named(name), Secrets::Declared(declared)) => {
                let help = match did_you_mean(name, declared.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean '{s}'?"),
                    None if declared.is_empty() => format!(
                        "declare it at the top level, e.g. `secrets: {{ {name}: {{ file: keys/{name} }} }}` or `{{ env: VARIABLE }}`"
                    ),
                    None => format!("the secrets declared are: {}", declared.join(", ")),
                };
                let needle = format!("secrets.{name}");
                cx.error(
                    sub_span(node, &needle),
                    format!("unknown secret '{name}' in {what}"),
                )
                .with_label("not in `secrets:`")
                .with_help(help)
            }
            (SecretUse::Whole, Secrets::Declared(_)) => cx
                .error(
                    sub_span(node, "secrets"),
                    format!("{what} reads `secrets` as a whole"),
                )
                .with_label("which secret?")
                .with_help("name one secret: {{ secrets.NAME }}"),
            (_, Secrets::Refused) => cx
                .error(
                    sub_span(node, "secrets"),
                    format!("secrets cannot be used in {what}"),
                )
                .with_label(REFUSED_LABEL)
                .with_help(REFUSED_HELP),
        };
        cx.push(diag);
        ok = false;
    }
    ok
}

/// The span of `needle` inside a one-line scalar, when the source can be told to hold
/// the text as read (plain, or quoted without escapes); else the whole scalar.
fn sub_span(node: &Node, needle: &str) -> Span {
    let text = &node.text;
    let Some(pos) = text.find(needle) else {
        return node.span;
    };
    // An escape (`\"`, `''`) makes the source longer than the text before the match.
    let escaped = |c: char| c.is_control() || matches!(c, '\\' | '"' | '\'');
    let quote = match node.style {
        Style::Plain => 0,
        Style::DoubleQuoted | Style::SingleQuoted if !text.contains(escaped) => 1,
        _ => return node.span,
    };
    if node.span.len < text.len() + 2 * quote {
        return node.span;
    }
    node.span.sub(pos + quote, needle.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_components_follow_dockers_grammar() {
        for good in ["web", "web-api", "a--b", "a_b", "a__b", "api2"] {
            assert!(is_image_component(good), "{good}");
        }
        for bad in ["web-", "_web", "a___b", "a_-b", "a-_b", "", "Web"] {
            assert!(!is_image_component(bad), "{bad}");
        }
    }
}
