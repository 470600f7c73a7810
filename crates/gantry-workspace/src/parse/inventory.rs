//! Reads the `hosts:`, `groups:` and `infra:` sections into the inventory.

use std::path::PathBuf;

use gantry_pipeline::yaml::{Kind, Node};
use indexmap::IndexMap;

use super::cx::Cx;
use crate::inventory::{
    ALL_GROUP, Connection, DEFAULT_INFRA_GLOB, DEFAULT_SSH_PORT, DriftSchedule, Group, Host,
    Inventory, LOCAL_HOST, SshTarget,
};

const HOST_KEYS: &[&str] = &[
    "address",
    "port",
    "user",
    "ssh_key",
    "known_hosts",
    "sudo",
    "groups",
    "vars",
];
const LOCAL_KEYS: &[&str] = &["groups", "vars", "sudo"];
const GROUP_KEYS: &[&str] = &["vars", "drift"];
const DRIFT_KEYS: &[&str] = &["every"];
/// Longest host or group name: it appears in reports, metric labels and file names.
const MAX_NAME: usize = 63;

pub fn inventory(cx: &mut Cx, root: &Node) -> Inventory {
    let mut inventory = Inventory::default();
    if let Some(node) = root.get("groups") {
        inventory.groups = groups(cx, node);
    }
    if let Some(node) = root.get("hosts") {
        inventory.hosts = hosts(cx, node);
    }
    if let Some(node) = root.get("infra") {
        inventory.infra = infra(cx, node);
    }
    if let Some(node) = root.get("secrets") {
        inventory.secrets = secrets(cx, node);
    }
    inventory
}

/// `secrets: { db_password: { env: DB_PASSWORD }, tls_key: { file: keys/tls.key } }`.
fn secrets(cx: &mut Cx, node: &Node) -> IndexMap<String, crate::SecretRef> {
    let mut out = IndexMap::new();
    if node.kind == Kind::Null {
        return out;
    }
    let Some(entries) = cx.map(
        node,
        "a map of secret names to { env: NAME } or { file: PATH }",
        "'secrets'",
    ) else {
        return out;
    };
    for (key, value) in entries {
        let hint = key.text.to_uppercase().replace(['-', '.'], "_");
        if let Some(r) =
            super::secret::secret_ref(cx, value, &format!("secret '{}'", key.text), &hint)
        {
            out.insert(key.text.clone(), r);
        }
    }
    out
}

fn hosts(cx: &mut Cx, node: &Node) -> IndexMap<String, Host> {
    let mut out = IndexMap::new();
    if node.kind == Kind::Null {
        return out;
    }
    let Some(entries) = cx.map(node, "a map of host names to hosts", "'hosts'") else {
        return out;
    };
    for (key, value) in entries {
        let name_ok = check_name(cx, key, "host");
        if key.text == ALL_GROUP {
            let diag = cx
                .error(
                    key.span,
                    "'all' is the group of every host, not a host name",
                )
                .with_help("rename the host");
            cx.push(diag);
            continue;
        }
        if let Some(host) = host(cx, key, value)
            && name_ok
        {
            out.insert(host.name.clone(), host);
        }
    }
    out
}

fn host(cx: &mut Cx, key: &Node, node: &Node) -> Option<Host> {
    let name = key.text.clone();
    let what = format!("host '{name}'");
    let local = name == LOCAL_HOST;
    if node.kind == Kind::Null {
        if local {
            return Some(local_host(key, Vec::new(), IndexMap::new(), false));
        }
        let diag = cx
            .error(key.span, format!("{what} has no 'address'"))
            .with_help("add `address:` with the host's name or IP address");
        cx.push(diag);
        return None;
    }
    let entries = cx.map(
        node,
        "a map (address, port, user, ssh_key, known_hosts, sudo, groups, vars)",
        &what,
    )?;
    if local {
        for (k, _) in entries {
            if HOST_KEYS.contains(&k.text.as_str()) && !LOCAL_KEYS.contains(&k.text.as_str()) {
                let diag = cx
                    .error(
                        k.span,
                        format!("'{}' does not apply to the built-in host 'local'", k.text),
                    )
                    .with_help("'local' is this machine, reached without SSH; it takes only `groups`, `vars` and `sudo`");
                cx.push(diag);
            }
        }
        let others: Vec<(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| !HOST_KEYS.contains(&k.text.as_str()))
            .cloned()
            .collect();
        cx.check_keys(&others, LOCAL_KEYS, &format!("in {what}"));
    } else {
        cx.check_keys(entries, HOST_KEYS, &format!("in {what}"));
    }

    let groups = match node.get("groups") {
        Some(n) => string_list(cx, n, &format!("'groups' in {what}"))
            .into_iter()
            .filter(|(g, span)| {
                if g == ALL_GROUP {
                    let diag = cx
                        .warning(*span, "every host is in 'all' already")
                        .with_help("remove it from the list");
                    cx.push(diag);
                    false
                } else {
                    true
                }
            })
            .map(|(g, _)| g)
            .collect(),
        None => Vec::new(),
    };
    let vars = node
        .get("vars")
        .map(|n| vars(cx, n, &format!("'vars' in {what}")))
        .unwrap_or_default();
    let sudo = match node.get("sudo") {
        Some(n) => cx.flag(n, &format!("'sudo' in {what}")).unwrap_or(false),
        None => false,
    };
    if local {
        return Some(local_host(key, groups, vars, sudo));
    }

    let address = match node.get("address") {
        Some(n) => cx.text(n, &format!("'address' in {what}")),
        None => {
            cx.require(
                node,
                "address",
                &what,
                "add `address:` with the host's name or IP address",
            );
            None
        }
    };
    let port = match node.get("port") {
        Some(n) => cx
            .count(n, &format!("'port' in {what}"), 1, 65535)
            .and_then(|p| u16::try_from(p).ok()),
        None => Some(DEFAULT_SSH_PORT),
    };
    let user = node
        .get("user")
        .map(|n| cx.text(n, &format!("'user' in {what}")));
    let ssh_key = node.get("ssh_key").map(|n| {
        cx.text(n, &format!("'ssh_key' in {what}"))
            .map(PathBuf::from)
    });
    let known_hosts = node.get("known_hosts").map(|n| {
        cx.text(n, &format!("'known_hosts' in {what}"))
            .map(PathBuf::from)
    });
    Some(Host {
        name,
        connection: Connection::Ssh(SshTarget {
            address: address?,
            port: port?,
            user: user.map_or(Some(None), |u| u.map(Some))?,
            ssh_key: ssh_key.map_or(Some(None), |k| k.map(Some))?,
            known_hosts: known_hosts.map_or(Some(None), |k| k.map(Some))?,
        }),
        groups,
        vars,
        sudo,
        span: key.span,
    })
}

fn local_host(
    key: &Node,
    groups: Vec<String>,
    vars: IndexMap<String, serde_json::Value>,
    sudo: bool,
) -> Host {
    Host {
        name: LOCAL_HOST.to_string(),
        connection: Connection::Local,
        groups,
        vars,
        sudo,
        span: key.span,
    }
}

fn groups(cx: &mut Cx, node: &Node) -> IndexMap<String, Group> {
    let mut out = IndexMap::new();
    if node.kind == Kind::Null {
        return out;
    }
    let Some(entries) = cx.map(node, "a map of group names to groups", "'groups'") else {
        return out;
    };
    for (key, value) in entries {
        let name_ok = check_name(cx, key, "group");
        let what = format!("group '{}'", key.text);
        let (vars, drift) = match &value.kind {
            Kind::Null => (IndexMap::new(), None),
            _ => {
                let Some(entries) = cx.map(value, "a map (vars, drift)", &what) else {
                    continue;
                };
                cx.check_keys(entries, GROUP_KEYS, &format!("in {what}"));
                let vars = value
                    .get("vars")
                    .map(|n| vars(cx, n, &format!("'vars' in {what}")))
                    .unwrap_or_default();
                let drift = value.get("drift").and_then(|n| drift(cx, n, &what));
                (vars, drift)
            }
        };
        if name_ok {
            out.insert(
                key.text.clone(),
                Group {
                    name: key.text.clone(),
                    vars,
                    drift,
                },
            );
        }
    }
    out
}

/// `drift: { every: 30m }` in a group.
fn drift(cx: &mut Cx, node: &Node, group: &str) -> Option<DriftSchedule> {
    let what = format!("'drift' in {group}");
    let entries = cx.map(node, "a map like { every: 30m }", &what)?;
    cx.check_keys(entries, DRIFT_KEYS, &format!("in {what}"));
    let Some(every) = node.get("every") else {
        let diag = cx
            .error(node.span, format!("{what} needs 'every'"))
            .with_label("missing 'every'");
        cx.push(diag);
        return None;
    };
    let every = cx.duration(every, &format!("'every' in {what}"))?;
    Some(DriftSchedule { every })
}

fn infra(cx: &mut Cx, node: &Node) -> Vec<String> {
    if node.kind == Kind::Null {
        return vec![DEFAULT_INFRA_GLOB.to_string()];
    }
    let globs: Vec<String> = match &node.kind {
        Kind::Seq(_) => string_list(cx, node, "'infra'")
            .into_iter()
            .map(|(g, _)| g)
            .collect(),
        _ => cx.text(node, "'infra'").into_iter().collect(),
    };
    for item in node.as_seq().unwrap_or(std::slice::from_ref(node)) {
        if item.text.starts_with('/') || item.text.split('/').any(|c| c == "..") {
            let diag = cx
                .error(item.span, "an 'infra' glob must stay inside the workspace")
                .with_help("write it relative to the workspace directory, e.g. infra/*.yml");
            cx.push(diag);
        }
    }
    globs
}

/// A list of non-empty strings, each with its span.
pub(super) fn string_list(
    cx: &mut Cx,
    node: &Node,
    what: &str,
) -> Vec<(String, gantry_core::Span)> {
    let Some(items) = node.as_seq() else {
        cx.type_error(node, "a list of names", what);
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            cx.text(item, &format!("an item of {what}"))
                .map(|t| (t, item.span))
        })
        .collect()
}

fn vars(cx: &mut Cx, node: &Node, what: &str) -> IndexMap<String, serde_json::Value> {
    let mut out = IndexMap::new();
    if node.kind == Kind::Null {
        return out;
    }
    let Some(entries) = cx.map(node, "a map of names to values", what) else {
        return out;
    };
    for (key, value) in entries {
        let name = key.text.as_str();
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            let diag = cx
                .error(key.span, format!("invalid var name '{name}' in {what}"))
                .with_help("a var name has letters, digits and '_', and does not start with a digit (templates refer to it by name)");
            cx.push(diag);
            continue;
        }
        out.insert(name.to_string(), to_json(value));
    }
    out
}

/// A YAML value as JSON (vars are data for templates, any shape is fine).
pub fn to_json(node: &Node) -> serde_json::Value {
    match &node.kind {
        Kind::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Kind::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.text.clone(), to_json(v)))
                .collect(),
        ),
        _ => node.scalar_json().unwrap_or(serde_json::Value::Null),
    }
}

/// `[a-z0-9][a-z0-9_.-]{0,62}`.
pub(super) fn check_name(cx: &mut Cx, key: &Node, kind: &str) -> bool {
    let name = key.text.as_str();
    let valid = name.len() <= MAX_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        });
    if !valid {
        let diag = cx
            .error(key.span, format!("invalid {kind} name '{name}'"))
            .with_label("invalid name")
            .with_help(format!("a {kind} name has lowercase letters, digits, '-', '_' and '.', starts with a letter or digit, and is at most 63 characters long"));
        cx.push(diag);
    }
    valid
}
